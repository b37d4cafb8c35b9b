import { CompiledQuery, type DatabaseConnection, type QueryResult, type TransactionSettings } from 'kysely';
import type pg from 'pg';
import { isDatabaseUnavailable } from '../unavailable.js';
import { UNREAD } from './precompiled.js';

/*
 * One checked-out client of the pipelined PostgreSQL driver (postgres-pipeline.ts says what it
 * holds back and why), and the statements it tells apart.
 */

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

/** Each a statement of its own, like BEGIN: one that ends a transaction never begun is marked on its own. */
export const commit = () => controlQuery('commit', 'commit');
export const rollback = () => controlQuery('rollback', 'rollback');

/** A BEGIN of its own each time (each is held back, and marked, on its own). */
export function begin(settings: TransactionSettings): CompiledQuery {
  let sql = 'begin';
  if (settings.isolationLevel || settings.accessMode) {
    sql = 'start transaction';
    if (settings.isolationLevel) sql += ` isolation level ${settings.isolationLevel}`;
    if (settings.accessMode) sql += ` ${settings.accessMode}`;
  }
  return controlQuery('begin', sql);
}

const NOTHING: QueryResult<never> = Object.freeze({ rows: Object.freeze([]) as never[] });

/** Parameters `pg` sends as they are: nothing of theirs can fail on the client's side. */
const plain = (query: CompiledQuery) =>
  query.parameters.every(
    (p) => p === null || typeof p === 'string' || typeof p === 'number' || typeof p === 'boolean',
  );

export class PipelinedConnection implements DatabaseConnection {
  /** Statements held back, in order, to go with the next one sent. */
  private waiting: CompiledQuery[] = [];
  /** Inside a transaction (its BEGIN sent or waiting). */
  private open = false;
  /** Why this connection has no client: its own was lost, and no other could be had. */
  private lost: unknown;
  /** Its client's connection is lost (a failure said so): destroyed when given back. */
  private broken = false;

  /**
   * `another`: a client of the same pool (of `poolSize`), to take the place of one whose
   * connection was lost under a read (`elsewhere`); `undefined` once given back for good.
   */
  constructor(
    private client: pg.PoolClient | undefined,
    private readonly another: () => Promise<pg.PoolClient>,
    private readonly poolSize: number,
  ) {}

  executeQuery<R>(query: CompiledQuery): Promise<QueryResult<R>> {
    const kind = control.get(query);
    if (kind === 'begin') {
      this.open = true;
      return this.hold(query);
    }
    if (this.open && (query as { [UNREAD]?: true })[UNREAD] && plain(query)) return this.hold(query);
    if (kind === 'commit' || kind === 'rollback') {
      this.open = false;
      // The connection lost (the server ended the transaction with it): nothing to roll back.
      if (kind === 'rollback' && (this.broken || !this.client)) return this.unsent(query);
      const held = this.waiting;
      this.waiting = [];
      // BEGIN still waiting: the transaction never reached the server
      const unsent = held.length > 0 && control.get(held[0]!) === 'begin';
      // a rollback drops what was held (never sent); a commit sends it, unless it is a lone BEGIN
      if (unsent && (kind === 'rollback' || held.length === 1)) return this.unsent(query);
      if (kind === 'rollback') return this.send([query]);
      held.push(query);
      return this.send(held);
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
    // A lost connection is destroyed, not put back: pg may not know yet, and would hand it out.
    this.client?.release(this.broken);
    this.broken = false;
  }

  /**
   * A statement that does not go now: held back for a later one, or the end of a transaction
   * whose BEGIN never went (nothing to send). Marked for the listeners; answered at once.
   */
  private unsent<R>(query: CompiledQuery): Promise<QueryResult<R>> {
    heldBack.add(query);
    return Promise.resolve(NOTHING);
  }

  /**
   * What met its connection lost (the server ended it, or restarted, while it sat idle in the
   * pool and before the pool had read the notice) runs again on another connection, when running
   * it twice is safe (`again`): a read outside a transaction, or a transaction's first round trip
   * (BEGIN and what was held with it, without COMMIT: nothing of it can have been saved). The
   * lost client goes back first (the pool drops it, which frees its place) and another takes its
   * place here. The pool may hand out more such clients (every idle one was lost at once); after
   * at most all of them it makes a new one. Should that one fail too, the database is down: that
   * failure is the answer.
   */
  private async elsewhere<R>(batch: CompiledQuery[], failure: unknown): Promise<QueryResult<R>> {
    for (let tries = 1; tries <= this.poolSize; tries++) {
      this.client?.release(true); // lost: destroyed, not put back
      this.client = undefined;
      try {
        this.client = await this.another();
      } catch {
        this.lost = failure;
        throw failure;
      }
      this.broken = false;
      try {
        return await this.sendNow<R>(batch);
      } catch (err) {
        if (!isDatabaseUnavailable(err)) throw err;
        this.broken = true;
        failure = err;
      }
    }
    throw failure;
  }

  private live(): pg.PoolClient {
    if (this.lost && !this.client) throw this.lost;
    if (!this.client) throw new Error('the PostgreSQL connection was given back');
    return this.client;
  }

  private hold<R>(query: CompiledQuery): Promise<QueryResult<R>> {
    this.waiting.push(query);
    return this.unsent(query);
  }

  /** Sends the batch (`sendNow`); on a lost connection, once more elsewhere when that is safe. */
  private async send<R>(batch: CompiledQuery[]): Promise<QueryResult<R>> {
    try {
      return await this.sendNow<R>(batch);
    } catch (err) {
      if (!isDatabaseUnavailable(err)) throw err;
      this.broken = true;
      if (!this.again(batch)) throw err;
      return this.elsewhere<R>(batch, err);
    }
  }

  /** Whether `batch` may run twice: a read outside a transaction, or a transaction's first round trip. */
  private again(batch: CompiledQuery[]): boolean {
    const [first] = batch as [CompiledQuery];
    if (batch.length === 1) return !this.open && isRead(first);
    return control.get(first) === 'begin' && control.get(batch.at(-1)!) !== 'commit';
  }

  /** Sends the statements in one write; answers with the last one's result, or the first failure. */
  private async sendNow<R>(batch: CompiledQuery[]): Promise<QueryResult<R>> {
    const client = this.live();
    const [first] = batch as [CompiledQuery];
    if (batch.length === 1) return answer<R>(await client.query(first.sql, first.parameters.slice()), first);
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
    return answer<R>((settled.at(-1) as PromiseFulfilledResult<pg.QueryResult>).value, batch.at(-1)!);
  }
}

/**
 * A statement that only reads: a SELECT built by kysely (precompiled ones keep their node) whose
 * WITH clauses, if any, only read too (`WITH x AS (UPDATE …) SELECT …` writes).
 */
export function isRead(query: CompiledQuery): boolean {
  const node = query.query;
  if (node?.kind !== 'SelectQueryNode') return false;
  const ctes = (node as { with?: { expressions: readonly { expression: { kind: string } }[] } }).with;
  return !ctes || ctes.expressions.every((cte) => cte.expression.kind === 'SelectQueryNode');
}

/**
 * pg's result as kysely's (as kysely's own PostgreSQL driver reads it). A COMMIT answered with
 * ROLLBACK (the transaction had failed, and the failure was caught) saved nothing: a failure.
 */
function answer<R>({ command, rowCount, rows }: pg.QueryResult, query: CompiledQuery): QueryResult<R> {
  if (command === 'ROLLBACK' && control.get(query) === 'commit')
    throw new Error('the transaction had failed and was rolled back, not committed');
  const counted = command === 'INSERT' || command === 'UPDATE' || command === 'DELETE' || command === 'MERGE';
  return counted ? { numAffectedRows: BigInt(rowCount ?? 0), rows: rows ?? [] } : { rows: rows ?? [] };
}
