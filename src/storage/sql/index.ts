import { join, resolve } from 'node:path';
import { type Kysely, sql } from 'kysely';
import type { Clock } from '../../util/clock.js';
import type { Storage } from '../types.js';
import { postgresMigrationLock, runMigrations } from './migrate.js';
import { openPostgres } from './postgres.js';
import { repositories } from './repositories/index.js';
import type { Database } from './schema.js';
import { openSqlite, sqliteTransaction } from './sqlite.js';

/** Where the data lives: `postgres://…`, `sqlite:PATH`, or nothing for DATA_DIR/sesame.db. */
export interface StorageOptions {
  databaseUrl?: string | undefined;
  dataDir: string;
  clock: Clock;
}

/** The SQLite file a configuration points at, or null for PostgreSQL. */
export function sqliteFile(opts: Pick<StorageOptions, 'databaseUrl' | 'dataDir'>): string | null {
  const url = opts.databaseUrl;
  if (url && /^postgres(ql)?:\/\//.test(url)) return null;
  if (url?.startsWith('sqlite:')) return resolve(url.slice('sqlite:'.length).replace(/^\/\/(?=\/)/, ''));
  return resolve(join(opts.dataDir, 'sesame.db'));
}

/**
 * Storage bound to an open transaction: its repositories run in it, and a nested `transaction`
 * joins it (on SQLite the transaction holds the only connection, so it cannot open another).
 */
function joined(trx: Kysely<Database>, dialect: Storage['dialect']): Storage {
  const tx: Storage = {
    dialect,
    ...repositories(trx, dialect),
    transaction: (fn) => fn(tx),
    async ping() {
      await sql`select 1`.execute(trx);
    },
    migrate: () => Promise.reject(new Error('migrations do not run inside a transaction')),
    close: () => Promise.reject(new Error('a transaction is not closed, it commits or rolls back')),
  };
  return tx;
}

/** Opens storage on SQLite or PostgreSQL (migrations are not run here; see `migrate`). */
export function openStorage(opts: StorageOptions): Storage {
  const file = sqliteFile(opts);
  const dialect = file === null ? 'postgres' : 'sqlite';
  const db: Kysely<Database> = file === null ? openPostgres(opts.databaseUrl!) : openSqlite(file);
  const inTransaction = <T>(fn: (trx: Kysely<Database>) => Promise<T>): Promise<T> =>
    dialect === 'sqlite' ? sqliteTransaction(db, fn) : db.transaction().execute(fn);
  return {
    dialect,
    ...repositories(db, dialect),
    transaction: <T>(fn: (tx: Storage) => Promise<T>) => inTransaction((trx) => fn(joined(trx, dialect))),
    async ping() {
      await sql`select 1`.execute(db);
    },
    migrate: () =>
      runMigrations(dialect === 'sqlite' ? inTransaction : postgresMigrationLock(db), () => opts.clock.now()),
    close: () => db.destroy(),
  };
}
