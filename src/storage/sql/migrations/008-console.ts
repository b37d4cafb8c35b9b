import type { Kysely } from 'kysely';

/**
 * The web console: its own application (`sesame-console`, a first-party regular web app that
 * is part of Sesame; its callback URLs and secret follow the issuer and the instance secret
 * at every start), and its sessions, which keep each admin's Management API token on the
 * server (encrypted), never in the browser.
 */
// biome-ignore lint/suspicious/noExplicitAny: migrations run against the schema as it was then
export async function up(db: Kysely<any>): Promise<void> {
  const now = Math.floor(Date.now() / 1000);
  await db
    .insertInto('applications')
    .values({
      client_id: 'sesame-console',
      name: 'Sesame Console',
      type: 'web',
      secret_hash: null,
      callbacks: '[]',
      logout_callbacks: '[]',
      grant_types: JSON.stringify(['authorization_code']),
      settings: JSON.stringify({ skipConsent: true, description: 'The web console of this Sesame' }),
      is_system: 1,
      created_at: now,
      updated_at: now,
    })
    .onConflict((oc) => oc.column('client_id').doNothing())
    .execute();

  await db.schema
    .createTable('console_sessions')
    .addColumn('id_hash', 'varchar(64)', (c) => c.primaryKey())
    .addColumn('user_id', 'varchar(64)', (c) => c.notNull().references('users.id').onDelete('cascade'))
    .addColumn('token', 'text', (c) => c.notNull())
    .addColumn('csrf', 'varchar(64)', (c) => c.notNull())
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .addColumn('expires_at', 'bigint', (c) => c.notNull())
    .execute();
  await db.schema
    .createIndex('console_sessions_expires_idx')
    .on('console_sessions')
    .column('expires_at')
    .execute();
}
