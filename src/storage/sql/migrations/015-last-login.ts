import type { Kysely } from 'kysely';

/**
 * Auth0's `logins_count`, `last_login` and `last_ip` on users: how often and when each last
 * signed in with their password, and from where. `last_login` is 0 until the first sign-in (not
 * null, so that both databases sort never-signed-in users alike); both sorts have an index.
 */
// biome-ignore lint/suspicious/noExplicitAny: migrations run against the schema as it was then
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .alterTable('users')
    .addColumn('logins_count', 'integer', (c) => c.notNull().defaultTo(0))
    .execute();
  await db.schema
    .alterTable('users')
    .addColumn('last_login', 'bigint', (c) => c.notNull().defaultTo(0))
    .execute();
  await db.schema.alterTable('users').addColumn('last_ip', 'text').execute();
  await db.schema.createIndex('users_last_login_idx').on('users').columns(['last_login', 'id']).execute();
  await db.schema.createIndex('users_logins_count_idx').on('users').columns(['logins_count', 'id']).execute();
}
