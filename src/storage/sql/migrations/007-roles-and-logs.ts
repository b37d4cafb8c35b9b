import { type Kysely, PostgresAdapter, sql } from 'kysely';

/**
 * Roles and permissions (Auth0's RBAC): roles, the API scopes each role holds, users' roles and
 * users' direct permissions. Client grants get a subject type (`client` for client credentials,
 * `user` for applications allowed to ask for user tokens), so one application may hold one of
 * each per API. The log of security events, ordered by `seq` (the order they were written).
 */
// biome-ignore lint/suspicious/noExplicitAny: migrations run against the schema as it was then
export async function up(db: Kysely<any>): Promise<void> {
  const postgres = db.getExecutor().adapter instanceof PostgresAdapter;

  await db.schema
    .createTable('roles')
    .addColumn('id', 'varchar(64)', (c) => c.primaryKey())
    .addColumn('name', 'varchar(255)', (c) => c.notNull().unique())
    // The name in lower case (JavaScript's, for every script): what name_filter searches.
    .addColumn('name_key', 'varchar(255)', (c) => c.notNull())
    .addColumn('description', 'varchar(255)', (c) => c.notNull().defaultTo(''))
    .addColumn('is_system', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .addColumn('updated_at', 'bigint', (c) => c.notNull())
    .execute();

  await db.schema
    .createTable('role_permissions')
    .addColumn('role_id', 'varchar(64)', (c) => c.notNull().references('roles.id').onDelete('cascade'))
    .addColumn('api_id', 'varchar(64)', (c) => c.notNull().references('apis.id').onDelete('cascade'))
    .addColumn('permission', 'varchar(280)', (c) => c.notNull())
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .addPrimaryKeyConstraint('role_permissions_pk', ['role_id', 'api_id', 'permission'])
    .execute();
  await db.schema.createIndex('role_permissions_api_idx').on('role_permissions').column('api_id').execute();

  await db.schema
    .createTable('user_roles')
    .addColumn('user_id', 'varchar(64)', (c) => c.notNull().references('users.id').onDelete('cascade'))
    .addColumn('role_id', 'varchar(64)', (c) => c.notNull().references('roles.id').onDelete('cascade'))
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .addPrimaryKeyConstraint('user_roles_pk', ['user_id', 'role_id'])
    .execute();
  await db.schema
    .createIndex('user_roles_role_idx')
    .on('user_roles')
    .columns(['role_id', 'user_id'])
    .execute();

  await db.schema
    .createTable('user_permissions')
    .addColumn('user_id', 'varchar(64)', (c) => c.notNull().references('users.id').onDelete('cascade'))
    .addColumn('api_id', 'varchar(64)', (c) => c.notNull().references('apis.id').onDelete('cascade'))
    .addColumn('permission', 'varchar(280)', (c) => c.notNull())
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .addPrimaryKeyConstraint('user_permissions_pk', ['user_id', 'api_id', 'permission'])
    .execute();
  await db.schema.createIndex('user_permissions_api_idx').on('user_permissions').column('api_id').execute();

  // Client grants are keyed by their id now; (client, API, subject type) stays unique.
  await db.schema
    .createTable('client_grants_v7')
    .addColumn('id', 'varchar(64)', (c) => c.primaryKey())
    .addColumn('client_id', 'varchar(64)', (c) =>
      c.notNull().references('applications.client_id').onDelete('cascade'),
    )
    .addColumn('api_id', 'varchar(64)', (c) => c.notNull().references('apis.id').onDelete('cascade'))
    .addColumn('subject_type', 'varchar(16)', (c) => c.notNull().defaultTo('client'))
    .addColumn('scopes', 'text', (c) => c.notNull())
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .execute();
  await sql`insert into client_grants_v7 (id, client_id, api_id, subject_type, scopes, created_at)
    select id, client_id, api_id, 'client', scopes, created_at from client_grants`.execute(db);
  await db.schema.dropTable('client_grants').execute();
  await db.schema.alterTable('client_grants_v7').renameTo('client_grants').execute();
  await db.schema
    .createIndex('client_grants_subject_idx')
    .on('client_grants')
    .columns(['client_id', 'api_id', 'subject_type'])
    .unique()
    .execute();
  await db.schema.createIndex('client_grants_api_idx').on('client_grants').column('api_id').execute();
  await db.schema
    .createIndex('client_grants_created_idx')
    .on('client_grants')
    .columns(['created_at', 'id'])
    .execute();

  // Log events; `date` in milliseconds. Lists read newest first by seq, per user/client/type.
  await db.schema
    .createTable('logs')
    .addColumn('seq', postgres ? 'bigserial' : 'integer', (c) =>
      postgres ? c.primaryKey() : c.primaryKey().autoIncrement(),
    )
    .addColumn('log_id', 'varchar(64)', (c) => c.notNull().unique())
    .addColumn('date', 'bigint', (c) => c.notNull())
    .addColumn('type', 'varchar(32)', (c) => c.notNull())
    .addColumn('description', 'varchar(1024)', (c) => c.notNull().defaultTo(''))
    .addColumn('client_id', 'varchar(64)')
    .addColumn('client_name', 'varchar(255)')
    .addColumn('ip', 'varchar(64)')
    .addColumn('user_agent', 'varchar(512)')
    .addColumn('user_id', 'varchar(64)')
    .addColumn('user_name', 'varchar(255)')
    .addColumn('audience', 'varchar(2048)')
    .addColumn('scope', 'text')
    .addColumn('details', 'text', (c) => c.notNull().defaultTo('{}'))
    .execute();
  await db.schema.createIndex('logs_date_idx').on('logs').column('date').execute();
  await db.schema.createIndex('logs_user_idx').on('logs').columns(['user_id', 'seq']).execute();
  await db.schema.createIndex('logs_client_idx').on('logs').columns(['client_id', 'seq']).execute();
  await db.schema.createIndex('logs_type_idx').on('logs').columns(['type', 'seq']).execute();
}
