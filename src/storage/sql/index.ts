import { join, resolve } from 'node:path';
import { type Kysely, type LogEvent, sql } from 'kysely';
import type { Clock } from '../../util/clock.js';
import { randomToken } from '../../util/crypto.js';
import { DATA_DIRECTORY } from '../file-modes.js';
import { type CacheTransaction, ReadCache, withReadCache } from '../read-cache.js';
import type { Repositories, Storage } from '../types.js';
import { postgresMigrationLock, runMigrations } from './migrate.js';
import { CHANGES_CHANNEL, type ListenerReport, listenForChanges, openPostgres } from './postgres.js';
import { wasHeld } from './postgres-connection.js';
import { repositories } from './repositories/index.js';
import type { Database } from './schema.js';
import { openSqlite, sqliteDataVersion, sqliteTransaction } from './sqlite.js';

/**
 * Told of every statement run, with its duration (metrics, and the query budgets' tests). `held`:
 * on PostgreSQL, held back to go with a later statement, in its round trip, or never sent (dropped
 * by a rollback, or the end of a transaction that ran nothing: postgres-pipeline.ts); it is told
 * as taking no time and succeeding.
 */
export type QueryListener = (query: { sql: string; ms: number; failed: boolean; held: boolean }) => void;

/** Where the data lives: `postgres://…`, `sqlite:PATH`, or nothing for DATA_DIR/sesame.db. */
export interface StorageOptions {
  databaseUrl?: string | undefined;
  dataDir: string;
  clock: Clock;
  /** Listeners of every statement; may be added to after opening. */
  queryListeners?: Set<QueryListener>;
  /**
   * On PostgreSQL, listen for other instances' changes to applications, APIs and client grants,
   * so this one's read cache drops them at once (a server; a CLI command has no cache to keep).
   */
  listen?: boolean;
  /** Told when the listening connection is lost and when it listens again (for the log). */
  onListener?: ListenerReport;
}

/** Kysely's log hook, calling the listeners (nothing to do while there are none). */
function queryLog(listeners: Set<QueryListener> | undefined) {
  if (!listeners) return undefined;
  return (event: LogEvent) => {
    if (listeners.size === 0) return;
    const query = {
      sql: event.query.sql,
      ms: event.queryDurationMillis,
      failed: event.level === 'error',
      held: wasHeld(event.query),
    };
    for (const listener of listeners) listener(query);
  };
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
function joined(
  trx: Kysely<Database>,
  dialect: Storage['dialect'],
  cache: ReadCache,
  cached: (handle: Kysely<Database>, tx?: CacheTransaction) => Repositories,
  state: CacheTransaction,
): Storage {
  const tx: Storage = {
    dialect,
    ...cached(trx, state),
    transaction: (fn) => fn(tx),
    beginRequest: () => cache.begin(),
    async ping() {
      await sql`select 1`.execute(trx);
    },
    migrate: () => Promise.reject(new Error('migrations do not run inside a transaction')),
    close: () => Promise.reject(new Error('a transaction is not closed, it commits or rolls back')),
  };
  return tx;
}

/**
 * How a write to what read caches hold is told to the other instances: on PostgreSQL a NOTIFY on
 * the same connection (in a transaction, delivered when it commits); SQLite needs none (each
 * reader sees `data_version` move).
 */
function announcer(
  handle: Kysely<Database>,
  dialect: Storage['dialect'],
  self: string,
  inTransaction: boolean,
) {
  if (dialect === 'sqlite') return undefined;
  return async () => {
    const notify = sql`select pg_notify(${CHANGES_CHANNEL}, ${self})`.execute(handle);
    // In a transaction, a failure fails it (nothing was written). Outside one, the write has
    // committed already: it stands, and the others see it within their cache's 1 s bound.
    if (inTransaction) await notify;
    else await notify.catch(() => {});
  };
}

/** Opens storage on SQLite or PostgreSQL (migrations are not run here; see `migrate`). */
export function openStorage(opts: StorageOptions): Storage {
  const file = sqliteFile(opts);
  const dialect = file === null ? 'postgres' : 'sqlite';
  const log = queryLog(opts.queryListeners);
  const db: Kysely<Database> =
    file === null
      ? openPostgres(opts.databaseUrl!, 10, log)
      : openSqlite(file, undefined, log, opts.databaseUrl ? undefined : DATA_DIRECTORY);
  const inTransaction = <T>(fn: (trx: Kysely<Database>) => Promise<T>): Promise<T> =>
    dialect === 'sqlite' ? sqliteTransaction(db, fn) : db.transaction().execute(fn);
  const cache = new ReadCache(undefined, file === null ? null : sqliteDataVersion(db));
  // what this storage announces (and its listener ignores when it comes back)
  const self = randomToken(12);
  const listener =
    file === null && opts.listen
      ? listenForChanges(opts.databaseUrl!, self, () => cache.clear(), opts.onListener)
      : null;
  // The repositories on `handle` (the database, or a transaction) through the read cache.
  const cached = (handle: Kysely<Database>, tx?: CacheTransaction) =>
    withReadCache(repositories(handle, dialect), cache, {
      tx,
      announce: announcer(handle, dialect, self, tx !== undefined),
      revocations: dialect === 'sqlite',
    });
  const transaction = async <T>(fn: (tx: Storage) => Promise<T>): Promise<T> => {
    const state: CacheTransaction = { wrote: false };
    try {
      return await inTransaction((trx) => fn(joined(trx, dialect, cache, cached, state)));
    } finally {
      // What others read while it ran was the state before it: gone once it commits.
      if (state.wrote) cache.clear(!state.wroteSettings);
    }
  };
  return {
    dialect,
    ...cached(db),
    transaction,
    beginRequest: () => cache.begin(),
    async ping() {
      await sql`select 1`.execute(db);
    },
    migrate: () =>
      runMigrations(dialect === 'sqlite' ? inTransaction : postgresMigrationLock(db), () => opts.clock.now()),
    close: async () => {
      await listener?.close();
      await db.destroy();
    },
  };
}
