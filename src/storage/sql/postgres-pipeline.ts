import {
  CompiledQuery,
  type DatabaseConnection,
  type Driver,
  PostgresDialect,
  type QueryResult,
  type TransactionSettings,
} from 'kysely';
import type pg from 'pg';
import { UNREAD } from './precompiled.js';

/**
 * Kysely's PostgreSQL dialect with fewer round trips per transaction (#16). The pool's clients run
 * in pg's pipeline mode (several statements on the wire at once, each answered on its own, in
 * order), and a connection holds back what it need not send yet:
 *
 * - BEGIN waits to go with the transaction's first statement;
 * - a statement whose result nobody reads (`UNREAD`, precompiled.ts) waits to go with the next
 *   statement or the COMMIT.
 *
 * What is held back goes in one write with the statement that sends it, and that statement
 * answers once all of them have. So a token response (BEGIN, a read, signing, a write, COMMIT)
 * costs two round trips instead of four, and still runs in one transaction. A held statement that
 * fails fails the statement it went with (at the latest the COMMIT): the transaction is rolled
 * back as a whole, as before. A transaction whose BEGIN never went (nothing ran in it) sends
 * nothing to commit or roll back.
 *
 * Every statement still passes through kysely's `executeQuery`, so the query listeners see each
 * one; a held one is marked (`wasHeld`) and reported as taking no time (the one it went with
 * carries the round trip).
 */
export class PipelinedPostgresDialect extends PostgresDialect {
  constructor(private readonly pool: () => Promise<pg.Pool>) {
    super({ pool });
  }

  override createDriver(): Driver {
    return new PipelinedDriver(this.pool);
  }
}

/** Statements a connection held back to send with a later one (for the query listeners). */
const heldBack = new WeakSet<CompiledQuery>();

/** Whether a statement was held back to go with a later one (no round trip of its own). */
export function wasHeld(query: CompiledQuery): boolean {
  return heldBack.has(query);
}

type Control = 'begin' | 'commit' | 'rollback';
/** The transaction-control statements this driver makes (told apart by identity, not by text). */
const control = new WeakMap<CompiledQuery, Control>();

function controlQuery(kind: Control, sql: string): CompiledQuery {
  const query = CompiledQuery.raw(sql);
  control.set(query, kind);
  return query;
}

const COMMIT = controlQuery('commit', 'commit');
const ROLLBACK = controlQuery('rollback', 'rollback');

/** A BEGIN of its own each time (each is held back, and marked, on its own). */
function begin(settings: TransactionSettings): CompiledQuery {
  let sql = 'begin';
  if (settings.isolationLevel || settings.accessMode) {
    sql = 'start transaction';
    if (settings.isolationLevel) sql += ` isolation level ${settings.isolationLevel}`;
    if (settings.accessMode) sql += ` ${settings.accessMode}`;
  }
  return controlQuery('begin', sql);
}

const NOTHING: QueryResult<never> = Object.freeze({ rows: [] as never[] });

class PipelinedDriver implements Driver {
  private pool: pg.Pool | undefined;
  private readonly connections = new WeakMap<pg.PoolClient, PipelinedConnection>();

  constructor(private readonly create: () => Promise<pg.Pool>) {}

  async init(): Promise<void> {
    this.pool = await this.create();
  }

  async acquireConnection(): Promise<DatabaseConnection> {
    const pool = this.pool;
    if (!pool) throw new Error('the PostgreSQL pool is closed');
    const client = await pool.connect();
    let connection = this.connections.get(client);
    if (!connection) {
      connection = new PipelinedConnection(client);
      this.connections.set(client, connection);
    }
    return connection;
  }

  // Through `executeQuery`, so that kysely's query log (the listeners) sees them.
  async beginTransaction(c: DatabaseConnection, settings: TransactionSettings): Promise<void> {
    await c.executeQuery(begin(settings));
  }

  async commitTransaction(c: DatabaseConnection): Promise<void> {
    await c.executeQuery(COMMIT);
  }

  async rollbackTransaction(c: DatabaseConnection): Promise<void> {
    await c.executeQuery(ROLLBACK);
  }

  async releaseConnection(c: DatabaseConnection): Promise<void> {
    (c as PipelinedConnection).release();
  }

  async destroy(): Promise<void> {
    const pool = this.pool;
    this.pool = undefined;
    await pool?.end();
  }
}

class PipelinedConnection implements DatabaseConnection {
  /** Statements held back, in order, to go with the next one sent. */
  private waiting: CompiledQuery[] = [];
  /** Inside a transaction (its BEGIN sent or waiting). */
  private open = false;

  constructor(private readonly client: pg.PoolClient) {}

  executeQuery<R>(query: CompiledQuery): Promise<QueryResult<R>> {
    const kind = control.get(query);
    if (kind === 'begin') {
      this.open = true;
      return this.hold(query);
    }
    if (this.open && (query as { [UNREAD]?: true })[UNREAD]) return this.hold(query);
    if (kind === 'commit' || kind === 'rollback') {
      this.open = false;
      // BEGIN still waiting: the transaction never reached the server
      if (this.waiting.length > 0 && control.get(this.waiting[0]!) === 'begin') {
        const rest = this.waiting;
        this.waiting = [];
        // a commit still owes the server what was held (BEGIN included); a rollback owes nothing
        if (kind === 'rollback' || rest.length === 1) return Promise.resolve(NOTHING);
        return this.send(rest.concat(query));
      }
      // what was held back is dropped by a rollback, never sent
      if (kind === 'rollback') this.waiting = [];
    }
    const batch = this.waiting;
    if (batch.length === 0) return this.send([query]);
    this.waiting = [];
    batch.push(query);
    return this.send(batch);
  }

  streamQuery<R>(): AsyncIterableIterator<QueryResult<R>> {
    throw new Error('streaming queries are not supported on PostgreSQL here');
  }

  release(): void {
    this.waiting = [];
    this.open = false;
    this.client.release();
  }

  private hold<R>(query: CompiledQuery): Promise<QueryResult<R>> {
    this.waiting.push(query);
    heldBack.add(query);
    return Promise.resolve(NOTHING);
  }

  /** Sends the statements in one write; answers with the last one's result, or the first failure. */
  private async send<R>(batch: CompiledQuery[]): Promise<QueryResult<R>> {
    const { client } = this;
    if (batch.length === 1) return answer<R>(await client.query(batch[0]!.sql, batch[0]!.parameters.slice()));
    const stream = client.connection.stream;
    stream.cork();
    let sent: Promise<pg.QueryResult>[];
    try {
      sent = batch.map((q) => client.query(q.sql, q.parameters.slice()));
    } finally {
      stream.uncork();
    }
    const settled = await Promise.allSettled(sent);
    for (const s of settled) if (s.status === 'rejected') throw s.reason;
    return answer<R>((settled.at(-1) as PromiseFulfilledResult<pg.QueryResult>).value);
  }
}

/** pg's result as kysely's (as kysely's own PostgreSQL driver reads it). */
function answer<R>({ command, rowCount, rows }: pg.QueryResult): QueryResult<R> {
  const counted = command === 'INSERT' || command === 'UPDATE' || command === 'DELETE' || command === 'MERGE';
  return counted ? { numAffectedRows: BigInt(rowCount ?? 0), rows: rows ?? [] } : { rows: rows ?? [] };
}
