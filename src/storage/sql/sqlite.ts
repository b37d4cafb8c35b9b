import { dirname } from 'node:path';
import BetterSqlite3 from 'better-sqlite3';
import {
  type CompiledQuery,
  type DatabaseConnection,
  type Driver,
  type Kysely,
  Kysely as KyselyClass,
  type KyselyConfig,
  type QueryResult,
  type SqliteDatabase,
  SqliteDialect,
  SqliteDriver,
  sql,
} from 'kysely';
import { createPrivateFile, makePrivateDir } from '../file-modes.js';
import type { Database } from './schema.js';
import { WalSync } from './wal-sync.js';

/**
 * Opens (creating if needed, readable by this user only) a SQLite file in WAL mode with a busy
 * timeout and foreign keys on. A write is durable when its query (or its transaction) returns:
 * commits are synced to disk in groups (wal-sync.ts), with `synchronous = NORMAL` keeping the
 * file consistent at checkpoints.
 */
export function openSqlite(
  file: string,
  walSync?: WalSync,
  log?: KyselyConfig['log'],
  /** What the file's directory is, for the refusal of a file in its place. */
  folder = "the SQLite database's directory (SESAME_DATABASE_URL, databaseUrl)",
): Kysely<Database> {
  const memory = file === ':memory:';
  if (!memory) {
    makePrivateDir(dirname(file), folder);
    createPrivateFile(file);
  }
  const database = new BetterSqlite3(file);
  database.pragma('journal_mode = WAL');
  database.pragma('busy_timeout = 10000');
  database.pragma(memory ? 'synchronous = FULL' : 'synchronous = NORMAL');
  database.pragma('foreign_keys = ON');
  const cached = withStatementCache(database);
  const version = database.prepare('pragma data_version').pluck();
  const wal = memory ? null : (walSync ?? new WalSync(`${file}-wal`));
  const db = new KyselyClass<Database>({
    dialect: new DurableSqliteDialect(cached, database, wal),
    ...(log ? { log } : {}),
  });
  dataVersions.set(db, () => version.get() as number);
  return db;
}

const dataVersions = new WeakMap<Kysely<Database>, () => number>();

/**
 * SQLite's `PRAGMA data_version` for a handle `openSqlite` made: it moves each time another
 * connection (another process) commits, which is how caches learn of changes made elsewhere.
 */
export function sqliteDataVersion(db: Kysely<Database>): () => number {
  const read = dataVersions.get(db);
  if (!read) throw new Error('not a handle openSqlite made');
  return read;
}

/** Kysely's SQLite dialect with a driver that waits for the group sync after each write. */
class DurableSqliteDialect extends SqliteDialect {
  constructor(
    private readonly cached: SqliteDatabase,
    private readonly database: BetterSqlite3.Database,
    private readonly wal: WalSync | null,
  ) {
    super({ database: cached });
  }

  override createDriver(): Driver {
    const inner = new SqliteDriver({ database: this.cached });
    return this.wal ? new DurableDriver(inner, this.cached, this.database, this.wal) : inner;
  }
}

/**
 * Watches what a connection's holder executes; when it committed a write (an autocommit write,
 * or a COMMIT after writes), the holder waits for the WAL's group sync after releasing the
 * connection, so that other requests use the database meanwhile.
 */
class DurableDriver implements Driver {
  constructor(
    private readonly inner: SqliteDriver,
    private readonly cached: SqliteDatabase,
    private readonly database: BetterSqlite3.Database,
    private readonly wal: WalSync,
  ) {}

  init = () => this.inner.init();
  beginTransaction = (c: DatabaseConnection) => this.inner.beginTransaction(c);
  commitTransaction = (c: DatabaseConnection) => this.inner.commitTransaction(c);
  rollbackTransaction = (c: DatabaseConnection) => this.inner.rollbackTransaction(c);
  destroy = async () => {
    await this.inner.destroy();
    this.wal.close();
  };

  async acquireConnection(): Promise<DatabaseConnection> {
    return new WatchedConnection(await this.inner.acquireConnection(), this.cached, this.database);
  }

  async releaseConnection(connection: DatabaseConnection): Promise<void> {
    const watched = connection as WatchedConnection;
    await this.inner.releaseConnection();
    if (watched.committed) await this.wal.sync();
  }
}

class WatchedConnection implements DatabaseConnection {
  /** A write was committed through this connection since it was acquired. */
  committed = false;
  private uncommitted = false;

  constructor(
    readonly inner: DatabaseConnection,
    private readonly cached: SqliteDatabase,
    private readonly database: BetterSqlite3.Database,
  ) {}

  async executeQuery<R>(query: CompiledQuery): Promise<QueryResult<R>> {
    const result = await this.inner.executeQuery<R>(query);
    // BEGIN IMMEDIATE counts as a write to SQLite; transaction control is judged by its outcome.
    const control = /^\s*(begin|commit|end|rollback)\b/i.exec(query.sql)?.[1]?.toLowerCase();
    const writes =
      !control && !(this.cached.prepare(query.sql) as unknown as BetterSqlite3.Statement).readonly;
    if (this.database.inTransaction) this.uncommitted ||= writes;
    else if (control === 'rollback') this.uncommitted = false;
    else if (writes || this.uncommitted) {
      this.committed = true;
      this.uncommitted = false;
    }
    return result;
  }

  streamQuery<R>(query: CompiledQuery, chunkSize?: number): AsyncIterableIterator<QueryResult<R>> {
    return this.inner.streamQuery<R>(query, chunkSize);
  }
}

/**
 * Kysely prepares every query anew; better-sqlite3 statements can be reused, so keep them by
 * SQL text (parameterised, so a bounded set), a measured share of every request (bench/).
 */
function withStatementCache(database: BetterSqlite3.Database): SqliteDatabase {
  const cache = new Map<string, BetterSqlite3.Statement>();
  return {
    prepare(sqlText: string) {
      let stmt = cache.get(sqlText);
      if (!stmt) {
        stmt = database.prepare(sqlText);
        if (cache.size >= 1000) cache.clear();
        cache.set(sqlText, stmt);
      }
      return stmt as unknown as ReturnType<SqliteDatabase['prepare']>;
    },
    close: () => database.close(),
  };
}

/**
 * A write transaction on SQLite. BEGIN IMMEDIATE takes the write lock up front, so that a
 * transaction that reads and then writes never fails on lock upgrade when another process writes.
 */
export function sqliteTransaction<T>(
  db: Kysely<Database>,
  fn: (db: Kysely<Database>) => Promise<T>,
): Promise<T> {
  return db.connection().execute(async (conn) => {
    await sql`begin immediate`.execute(conn);
    try {
      const result = await fn(conn);
      await sql`commit`.execute(conn);
      return result;
    } catch (err) {
      await sql`rollback`.execute(conn);
      throw err;
    }
  });
}
