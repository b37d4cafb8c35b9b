import { type DatabaseConnection, type Driver, PostgresDialect, type TransactionSettings } from 'kysely';
import type pg from 'pg';
import { begin, commit, PipelinedConnection, rollback } from './postgres-connection.js';

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
 * costs two round trips instead of four, and still runs in one transaction. Only a statement
 * whose parameters `pg` cannot fail to send (strings, numbers, booleans, null) is held, so a held
 * statement that fails has failed in the server, which then rolls the transaction back: the
 * statement it went with fails (at the latest the COMMIT), and so does the transaction, as a
 * whole. A COMMIT that the server answers with ROLLBACK (the transaction had failed before) is a
 * failure too. A transaction whose BEGIN never went (nothing ran in it) sends nothing to commit
 * or roll back; what a rollback drops was never sent.
 *
 * Every statement still passes through kysely's `executeQuery`, so the query listeners see each
 * one; a held one is marked (`wasHeld`) and reported as taking no time and succeeding (the one it
 * went with carries the round trip, and its failure).
 */
export class PipelinedPostgresDialect extends PostgresDialect {
  constructor(private readonly pool: () => Promise<pg.Pool>) {
    super({ pool });
  }

  override createDriver(): Driver {
    return new PipelinedDriver(this.pool);
  }
}

/** Clients whose errors are listened to (once each). */
const listened = new WeakSet<pg.PoolClient>();

class PipelinedDriver implements Driver {
  private pool: pg.Pool | undefined;

  constructor(private readonly create: () => Promise<pg.Pool>) {}

  async init(): Promise<void> {
    this.pool = await this.create();
  }

  async acquireConnection(): Promise<DatabaseConnection> {
    // One per checkout, never kept by client: a connection may swap its client (`elsewhere`).
    return new PipelinedConnection(await this.client(), () => this.client(), this.pool?.options.max ?? 10);
  }

  /** A client of the pool. */
  private async client(): Promise<pg.PoolClient> {
    const pool = this.pool;
    if (!pool) throw new Error('the PostgreSQL pool is closed');
    const client = await pool.connect();
    if (!this.pool) {
      client.release();
      throw new Error('the PostgreSQL pool is closed');
    }
    if (!listened.has(client)) {
      listened.add(client);
      // The pool listens for a client's errors only while it is idle. A connection lost while
      // checked out (or destroyed by a query timeout, in pipeline mode) must not be an uncaught
      // 'error': its queries fail, and the pool drops it when it comes back.
      client.on('error', () => {});
    }
    return client;
  }

  // Through `executeQuery`, so that kysely's query log (the listeners) sees them.
  async beginTransaction(c: DatabaseConnection, settings: TransactionSettings): Promise<void> {
    await c.executeQuery(begin(settings));
  }

  async commitTransaction(c: DatabaseConnection): Promise<void> {
    await c.executeQuery(commit());
  }

  async rollbackTransaction(c: DatabaseConnection): Promise<void> {
    await c.executeQuery(rollback());
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
