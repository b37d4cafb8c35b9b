// RFC 6749 §3.3: scope = scope-token *( SP scope-token ); scope-token = 1*( %x21 / %x23-5B / %x5D-7E )
const SCOPE_TOKEN = /^[\x21\x23-\x5B\x5D-\x7E]+$/;

/** True when `name` is a valid RFC 6749 §3.3 scope-token. */
export function isScopeToken(name: string): boolean {
  return SCOPE_TOKEN.test(name);
}

/**
 * Parses a `scope` parameter into a de-duplicated list, or null when a token is malformed.
 * Empty or absent yields [].
 */
export function parseScope(value: string | undefined): string[] | null {
  if (value === undefined) return [];
  const parts = value.split(' ').filter((s) => s.length > 0);
  if (parts.some((p) => !isScopeToken(p))) return null;
  return [...new Set(parts)];
}

/** Joins scopes for a response or a token claim. */
export function formatScope(scopes: readonly string[]): string {
  return scopes.join(' ');
}

/** OpenID Connect scopes, reserved: an API may not define them. */
export const OIDC_SCOPES = ['openid', 'profile', 'email', 'address', 'phone', 'offline_access'] as const;
