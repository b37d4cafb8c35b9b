import type { Kysely } from 'kysely';

/**
 * The Management API's log events of ticket requests (POST /tickets/password-change and
 * /tickets/email-verification) kept the ticket link of the answer, which opens the account to
 * whoever reads the log. New events store it as "[redacted]"; this does the same to the ones
 * already written.
 */
// biome-ignore lint/suspicious/noExplicitAny: migrations run against the schema as it was then
export async function up(db: Kysely<any>): Promise<void> {
  const rows: { seq: number | string; details: string }[] = await db
    .selectFrom('logs')
    .select(['seq', 'details'])
    .where('type', '=', 'sapi')
    .where('description', 'like', '%/tickets/%')
    .execute();
  for (const row of rows) {
    let details: { response?: { body?: { ticket?: unknown } } };
    try {
      details = JSON.parse(row.details);
    } catch {
      continue;
    }
    const body = details.response?.body;
    if (body === undefined || body === null || typeof body.ticket !== 'string') continue;
    body.ticket = '[redacted]';
    await db
      .updateTable('logs')
      .set({ details: JSON.stringify(details) })
      .where('seq', '=', row.seq)
      .execute();
  }
}
