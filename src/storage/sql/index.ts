import { join, resolve } from 'node:path';
import { type Kysely, sql } from 'kysely';
import type { Clock } from '../../util/clock.js';
import type { Repositories, Storage } from '../types.js';
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
    transaction: <T>(fn: (tx: Repositories) => Promise<T>) =>
      inTransaction((trx) => fn(repositories(trx, dialect))),
    async ping() {
      await sql`select 1`.execute(db);
    },
    migrate: () =>
      runMigrations(dialect === 'sqlite' ? inTransaction : postgresMigrationLock(db), () => opts.clock.now()),
    close: () => db.destroy(),
  };
}
