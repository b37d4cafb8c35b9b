import type { Kysely } from 'kysely';

/**
 * Hardening (#14): the successor a rotated refresh token hands out again within the grace
 * period (sealed, so that a reader of the database cannot use it); the places an account has
 * signed in from, which a lock does not shut out; and an index on each expiry the janitor
 * purges by.
 */
// biome-ignore lint/suspicious/noExplicitAny: migrations run against the schema as it was then
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema.alterTable('refresh_tokens').addColumn('successor', 'text').execute();
  await db.schema
    .createTable('known_sign_ins')
    .addColumn('user_id', 'varchar(64)', (c) => c.notNull().references('users.id').onDelete('cascade'))
    .addColumn('kind', 'varchar(16)', (c) => c.notNull())
    .addColumn('value', 'varchar(128)', (c) => c.notNull())
    .addColumn('last_at', 'bigint', (c) => c.notNull())
    .addPrimaryKeyConstraint('known_sign_ins_pk', ['user_id', 'kind', 'value'])
    .execute();
  const expiries: [string, string][] = [
    ['known_sign_ins', 'last_at'],
    ['authorization_codes', 'expires_at'],
    ['interactions', 'expires_at'],
    ['sessions', 'expires_at'],
    ['device_codes', 'expires_at'],
    ['refresh_tokens', 'expires_at'],
    ['grant_tokens', 'expires_at'],
    ['login_attempts', 'window_start'],
  ];
  for (const [table, column] of expiries) {
    await db.schema.createIndex(`${table}_${column}_idx`).on(table).column(column).execute();
  }
}
