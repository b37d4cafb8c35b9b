import { type Kysely, PostgresAdapter, sql } from 'kysely';
import { randomToken } from '../../../util/crypto.js';

/** Gives each row of `table` a random public id with `prefix`, one UPDATE per row (tables are small here). */
// biome-ignore lint/suspicious/noExplicitAny: migrations run against the schema as it was then
async function backfillIds(db: Kysely<any>, table: string, keys: string[], prefix: string): Promise<void> {
  const rows = await db.selectFrom(table).select(keys).execute();
  for (const row of rows) {
    let q = db.updateTable(table).set({ id: `${prefix}${randomToken(12)}` });
    for (const k of keys) q = q.where(k, '=', row[k]);
    await q.execute();
  }
}

/**
 * The Management API: system rows, public ids for client grants and consents, the fields of
 * Auth0's shapes (user name and metadata, API options), what listing and cascades need indexed
 * (users by creation and name, applications by type, refresh and access tokens by user and
 * client), revoked signing keys, session details, and the tenant settings.
 */
// biome-ignore lint/suspicious/noExplicitAny: migrations run against the schema as it was then
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .alterTable('applications')
    .addColumn('is_system', 'integer', (c) => c.notNull().defaultTo(0))
    .execute();
  await db.schema
    .createIndex('applications_type_idx')
    .on('applications')
    .columns(['type', 'created_at'])
    .execute();
  await db.schema
    .createIndex('applications_created_idx')
    .on('applications')
    .columns(['created_at', 'client_id'])
    .execute();

  await db.schema
    .alterTable('apis')
    .addColumn('is_system', 'integer', (c) => c.notNull().defaultTo(0))
    .execute();
  await db.schema
    .alterTable('apis')
    .addColumn('options', 'text', (c) => c.notNull().defaultTo('{}'))
    .execute();
  await db.schema
    .alterTable('apis')
    .addColumn('updated_at', 'bigint', (c) => c.notNull().defaultTo(0))
    .execute();
  await sql`update apis set updated_at = created_at`.execute(db);

  await db.schema.alterTable('client_grants').addColumn('id', 'varchar(64)').execute();
  await backfillIds(db, 'client_grants', ['client_id', 'api_id'], 'cgr_');
  await db.schema.createIndex('client_grants_id_idx').on('client_grants').column('id').unique().execute();

  await db.schema.alterTable('consents').addColumn('id', 'varchar(64)').execute();
  await backfillIds(db, 'consents', ['user_id', 'client_id', 'audience'], 'cgt_');
  await db.schema.createIndex('consents_id_idx').on('consents').column('id').unique().execute();
  await db.schema.createIndex('consents_client_idx').on('consents').column('client_id').execute();

  // The name as lists search and sort it: lower case, '' for none (the same order everywhere).
  await db.schema
    .alterTable('users')
    .addColumn('name', 'varchar(255)', (c) => c.notNull().defaultTo(''))
    .execute();
  await db.schema
    .alterTable('users')
    .addColumn('app_metadata', 'text', (c) => c.notNull().defaultTo('{}'))
    .execute();
  await db.schema
    .alterTable('users')
    .addColumn('user_metadata', 'text', (c) => c.notNull().defaultTo('{}'))
    .execute();
  const users = await db.selectFrom('users').select(['id', 'claims']).execute();
  for (const u of users) {
    const name = JSON.parse(u.claims).name;
    if (typeof name === 'string')
      await db.updateTable('users').set({ name: name.toLowerCase() }).where('id', '=', u.id).execute();
  }
  await db.schema.createIndex('users_created_idx').on('users').columns(['created_at', 'id']).execute();
  await db.schema.createIndex('users_name_idx').on('users').columns(['name', 'id']).execute();
  if (db.getExecutor().adapter instanceof PostgresAdapter) {
    // LIKE 'prefix%' uses an index only with pattern ops under a non-C collation.
    await sql`create index users_email_pattern_idx on users (email varchar_pattern_ops)`.execute(db);
    // A page of users by email is read from the index alone, then its rows are fetched.
    await sql`create unique index users_email_id_idx on users (email) include (id)`.execute(db);
  }

  await db.schema.createIndex('refresh_tokens_user_idx').on('refresh_tokens').column('user_id').execute();
  await db.schema.createIndex('refresh_tokens_client_idx').on('refresh_tokens').column('client_id').execute();

  await db.schema.alterTable('grant_tokens').addColumn('user_id', 'varchar(64)').execute();
  await db.schema.alterTable('grant_tokens').addColumn('client_id', 'varchar(64)').execute();
  await db.schema.alterTable('grant_tokens').addColumn('audience', 'varchar(2048)').execute();
  await db.schema.createIndex('grant_tokens_user_idx').on('grant_tokens').column('user_id').execute();
  await db.schema.createIndex('grant_tokens_client_idx').on('grant_tokens').column('client_id').execute();

  await db.schema.alterTable('sessions').addColumn('last_seen_at', 'bigint').execute();
  await db.schema.alterTable('sessions').addColumn('initial_ip', 'varchar(64)').execute();
  await db.schema.alterTable('sessions').addColumn('initial_user_agent', 'varchar(512)').execute();
  await sql`update sessions set last_seen_at = created_at`.execute(db);

  await db.schema.alterTable('signing_keys').addColumn('revoked_at', 'bigint').execute();

  await db.schema
    .createTable('settings')
    .addColumn('key', 'varchar(64)', (c) => c.primaryKey())
    .addColumn('value', 'text', (c) => c.notNull())
    .addColumn('updated_at', 'bigint', (c) => c.notNull())
    .execute();
}
