import type { Kysely } from 'kysely';

/**
 * A link records whether the person asked for it (sign-up, forgot password, "send again"): only
 * those count toward their hourly email budget, so links an administrator makes do not use it up.
 * Links made before this migration count, as they did.
 */
// biome-ignore lint/suspicious/noExplicitAny: migrations run against the schema as it was then
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .alterTable('account_tickets')
    .addColumn('requested', 'integer', (c) => c.notNull().defaultTo(1))
    .execute();
}
