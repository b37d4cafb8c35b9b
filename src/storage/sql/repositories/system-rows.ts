/**
 * Runs `upsert`, an `insert … on conflict (id) do update` of a row Sesame keeps for itself (the
 * Management API, the Sesame Admin role), which two processes starting at once both run. On
 * PostgreSQL the second insert can meet the first's row in another unique index (an identifier,
 * a name) while it is being committed: `on conflict (id)` covers only the id, so that is a
 * unique violation. Once the row is there, the statement takes its update path: it runs again.
 */
export async function upsertSystemRow(
  upsert: () => Promise<unknown>,
  exists: () => Promise<boolean>,
): Promise<void> {
  try {
    await upsert();
  } catch (err) {
    if (!(await exists())) throw err;
    await upsert();
  }
}
