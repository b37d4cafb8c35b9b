import { Kysely, type KyselyConfig } from 'kysely';
import type pg from 'pg';
import { PipelinedPostgresDialect } from './postgres-pipeline.js';
import type { Database } from './schema.js';

const INT8 = 20;

/**
 * Opens a PostgreSQL pool; bigint columns come back as numbers (seconds fit easily). The `pg`
 * driver is loaded on first use, so a server on SQLite never loads it (#16: memory). Its clients
 * pipeline (postgres-pipeline.ts).
 */
export function openPostgres(url: string, max = 10, log?: KyselyConfig['log']): Kysely<Database> {
  const pool = async (): Promise<pg.Pool> => {
    const { default: driver } = await import('pg');
    const created = new driver.Pool({
      connectionString: url,
      max,
      connectionTimeoutMillis: 10_000,
      // TCP keepalive, as the listener has: a connection dropped without a word (a NAT or a
      // failover) is found out and errs, instead of leaving a request waiting on it for good.
      keepAlive: true,
      keepAliveInitialDelayMillis: 10_000,
      pipeline: true,
      types: {
        getTypeParser: ((oid: number, format?: 'text' | 'binary') =>
          oid === INT8
            ? (v: string) => Number(v)
            : driver.types.getTypeParser(oid, format)) as typeof driver.types.getTypeParser,
      },
    });
    // An idle client that loses its connection must not crash the process; the pool replaces it.
    created.on('error', () => {});
    return created;
  };
  return new Kysely<Database>({ dialect: new PipelinedPostgresDialect(pool), ...(log ? { log } : {}) });
}

/** The channel on which instances announce changes to what their read caches hold. */
export const CHANGES_CHANNEL = 'sesame_cache';

/**
 * What becomes of the listening connection: `lost` when it goes (with the error, if one came),
 * once until it is back; `listening` when it listens again after that.
 */
export type ListenerReport = (state: 'lost' | 'listening', err?: unknown) => void;

/**
 * Listens (one connection of its own) for other instances' changes to what the read cache holds
 * (`NOTIFY sesame_cache`, sent in the transaction that made them, so delivered at its commit)
 * and calls `changed` for each but its own (`self`, the payload this instance sends) (#16).
 * While the connection is down, notifications can be missed: `changed` is called when it is
 * lost (or cannot be made) and again once it listens anew, retried every second.
 */
export function listenForChanges(
  url: string,
  self: string,
  changed: () => void,
  report?: ListenerReport,
): { close(): Promise<void> } {
  let closed = false;
  /** Lost and not yet listening again: reported once, not at every retry. */
  let down = false;
  let client: pg.Client | undefined;
  let retry: NodeJS.Timeout | undefined;
  const lost = (err?: unknown) => {
    changed();
    if (!down && !closed) report?.('lost', err);
    down = true;
    client?.removeAllListeners();
    client?.on('error', () => {});
    client?.end().catch(() => {});
    client = undefined;
    if (!closed) retry = setTimeout(connect, 1000).unref();
  };
  const connect = async () => {
    let c: pg.Client | undefined;
    try {
      const { default: driver } = await import('pg');
      if (closed) return;
      // keepAlive: the connection is idle nearly always, and a middlebox may drop it silently
      c = new driver.Client({ connectionString: url, connectionTimeoutMillis: 10_000, keepAlive: true });
      const mine = c;
      client = mine;
      mine.on('error', (err) => mine === client && lost(err));
      mine.on('end', () => mine === client && lost());
      // its own announcements come back too, after its cache was cleared: not a change by another
      mine.on('notification', (n) => n.payload !== self && changed());
      await mine.connect();
      await mine.query(`LISTEN ${CHANGES_CHANNEL}`);
      if (mine !== client) return; // lost meanwhile: a retry is pending
      changed();
      if (down) report?.('listening');
      down = false;
    } catch (err) {
      // no connection, or not this one any more (closed, or already replaced)
      if (!closed && c === client) lost(err);
    }
  };
  void connect();
  return {
    async close() {
      closed = true;
      clearTimeout(retry);
      const c = client;
      client = undefined;
      await c?.end().catch(() => {});
    },
  };
}
