import type { Kysely } from 'kysely';

/** When an authorization code was presented again, so that an exchange racing the replay can see it. */
// biome-ignore lint/suspicious/noExplicitAny: migrations run against the schema as it was then
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema.alterTable('authorization_codes').addColumn('replayed_at', 'bigint').execute();
}
