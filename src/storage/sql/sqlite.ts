import { dirname } from 'node:path';
import BetterSqlite3 from 'better-sqlite3';
import { type Kysely, Kysely as KyselyClass, type SqliteDatabase, SqliteDialect, sql } from 'kysely';
import { createPrivateFile, makePrivateDir } from '../file-modes.js';
import type { Database } from './schema.js';

/**
 * Opens (creating if needed, readable by this user only) a SQLite file in WAL mode with a busy
 * timeout and foreign keys on.
 */
export function openSqlite(file: string): Kysely<Database> {
  if (file !== ':memory:') {
    makePrivateDir(dirname(file));
    createPrivateFile(file);
  }
  const database = new BetterSqlite3(file);
  database.pragma('journal_mode = WAL');
  database.pragma('busy_timeout = 10000');
  database.pragma('synchronous = FULL');
  database.pragma('foreign_keys = ON');
  return new KyselyClass<Database>({
    dialect: new SqliteDialect({ database: withStatementCache(database) }),
  });
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
