import { type Kysely, sql } from 'kysely';
import { ConfigError } from '../../config/load.js';
import { migrations } from './migrations/index.js';
import type { Database } from './schema.js';

/** Runs `fn` in a transaction that holds the database-wide migration lock. */
export type LockedTransaction = <T>(fn: (db: Kysely<Database>) => Promise<T>) => Promise<T>;

/**
 * Applies pending migrations in order, each in its own transaction under the migration lock,
 * so that instances starting together apply each migration exactly once. A database that a newer
 * Sesame has migrated is refused: this version would not know where that one keeps things (since
 * 011, an access token issued with a refresh token is recorded on the refresh token's row), so
 * its revocations and purges could miss them.
 */
export async function runMigrations(locked: LockedTransaction, now: () => number): Promise<string[]> {
  const newer = await locked(async (db) => {
    await db.schema
      .createTable('sesame_migrations')
      .ifNotExists()
      .addColumn('name', 'varchar(255)', (c) => c.primaryKey())
      .addColumn('applied_at', 'bigint', (c) => c.notNull())
      .execute();
    const known = new Set(migrations.map((m) => m.name));
    const rows = await db.selectFrom('sesame_migrations').select('name').orderBy('name').execute();
    return rows.map((r) => r.name).filter((name) => !known.has(name));
  });
  if (newer.length > 0) {
    throw new ConfigError(
      `the database was migrated by a newer version of Sesame (${newer.join(', ')}); this version must not use it: run that version or a later one`,
    );
  }
  const applied: string[] = [];
  for (const migration of migrations) {
    const done = await locked(async (db) => {
      const row = await db
        .selectFrom('sesame_migrations')
        .select('name')
        .where('name', '=', migration.name)
        .executeTakeFirst();
      if (row) return false;
      await migration.up(db);
      await db.insertInto('sesame_migrations').values({ name: migration.name, applied_at: now() }).execute();
      return true;
    });
    if (done) applied.push(migration.name);
  }
  return applied;
}

/** PostgreSQL: a transaction-scoped advisory lock serialises migrators across instances. */
export function postgresMigrationLock(db: Kysely<Database>): LockedTransaction {
  return (fn) =>
    db.transaction().execute(async (trx) => {
      await sql`select pg_advisory_xact_lock(5365736)`.execute(trx);
      return fn(trx);
    });
}
