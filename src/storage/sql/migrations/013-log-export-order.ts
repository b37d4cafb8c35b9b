import { type Kysely, PostgresAdapter, sql } from 'kysely';

/**
 * PostgreSQL: each log event records the transaction that wrote it (`xid`, from
 * `txid_current()`), so that an export (`from`) can go in an order no later commit can fall
 * behind. `seq` is handed out when a row is inserted, not when its transaction commits: an event
 * written early in a longer transaction could commit after a later one that a reader had already
 * passed, and was never exported. SQLite writes one transaction at a time, so `seq` is already
 * commit order there; nothing changes.
 */
// biome-ignore lint/suspicious/noExplicitAny: migrations run against the schema as it was then
export async function up(db: Kysely<any>): Promise<void> {
  if (!(db.getExecutor().adapter instanceof PostgresAdapter)) return;
  // A constant default first: PostgreSQL then writes no row (a volatile one rewrites the table
  // under its lock), and the events before it, at 0, come before every later one.
  await db.schema
    .alterTable('logs')
    .addColumn('xid', 'bigint', (c) => c.notNull().defaultTo(0))
    .execute();
  await db.schema
    .alterTable('logs')
    .alterColumn('xid', (c) => c.setDefault(sql`txid_current()`))
    .execute();
  await db.schema.createIndex('logs_xid_idx').on('logs').columns(['xid', 'seq']).execute();
}
