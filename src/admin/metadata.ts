/**
 * Auth0's PATCH of a metadata object (user_metadata, app_metadata, client_metadata): its
 * top-level keys are merged into what is stored, a key sent as null is removed, and an empty
 * object removes them all ("Manage Metadata Using the Management API"). Deeper levels are
 * replaced whole.
 */
export function patchedMetadata<T>(
  current: Record<string, T>,
  patch: Record<string, T | null>,
): Record<string, T> {
  const entries = Object.entries(patch);
  if (entries.length === 0) return {};
  // a Map, then own properties: a key such as "__proto__" stays a key, never a prototype
  const out = new Map(Object.entries(current));
  for (const [k, v] of entries) {
    if (v === null) out.delete(k);
    else out.set(k, v);
  }
  return Object.fromEntries(out);
}
