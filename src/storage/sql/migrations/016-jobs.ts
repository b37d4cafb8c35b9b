import type { Kysely } from 'kysely';

/**
 * Auth0's jobs: a users import (`POST /jobs/users-imports`) is kept with its summary and the
 * users it could not import, for `GET /jobs/{id}` and `/jobs/{id}/errors`, until it expires.
 */
// biome-ignore lint/suspicious/noExplicitAny: migrations run against the schema as it was then
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .createTable('jobs')
    .addColumn('id', 'varchar(64)', (c) => c.primaryKey())
    .addColumn('type', 'varchar(32)', (c) => c.notNull())
    .addColumn('status', 'varchar(16)', (c) => c.notNull())
    .addColumn('connection_id', 'varchar(64)', (c) => c.notNull())
    .addColumn('external_id', 'varchar(255)')
    .addColumn('summary', 'text', (c) => c.notNull())
    .addColumn('errors', 'text', (c) => c.notNull())
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .addColumn('expires_at', 'bigint', (c) => c.notNull())
    .execute();
  await db.schema.createIndex('jobs_expires_at_idx').on('jobs').column('expires_at').execute();
}
