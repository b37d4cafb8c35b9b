import { CompiledQuery, type Kysely, type Selectable, sql } from 'kysely';
import type { LogEvent, LogFilter, LogRepository } from '../../types.js';
import type { Database } from '../schema.js';

type Row = Selectable<Database['logs']>;

const OPTIONAL = {
  clientId: 'client_id',
  clientName: 'client_name',
  ip: 'ip',
  userAgent: 'user_agent',
  userId: 'user_id',
  userName: 'user_name',
  audience: 'audience',
  scope: 'scope',
} as const;

function toEvent(row: Row): LogEvent {
  const e: LogEvent = {
    logId: row.log_id,
    date: Number(row.date),
    type: row.type,
    description: row.description,
    details: JSON.parse(row.details),
  };
  for (const [field, column] of Object.entries(OPTIONAL)) {
    const v = row[column];
    if (v !== null) e[field as keyof typeof OPTIONAL] = v;
  }
  return e;
}

/** The columns an event is written to, in the order of its parameters. */
const COLUMNS = ['log_id', 'date', 'type', 'description', 'details', ...Object.values(OPTIONAL)] as const;
const FIELDS = Object.keys(OPTIONAL) as (keyof typeof OPTIONAL)[];

const DAY_MS = 86_400_000;

/** Rows per INSERT: under the parameter limits of both databases. */
const CHUNK = 100;

function pushParams(params: unknown[], e: LogEvent): void {
  params.push(e.logId, e.date, e.type, e.description, JSON.stringify(e.details));
  for (const field of FIELDS) params.push(e[field] ?? null);
}

/**
 * The INSERT text for `n` rows, compiled by Kysely once per row count: a batch is written
 * without building a query tree of every value (a measured share of the token endpoint).
 */
const TEXTS = new Map<string, string>();
function insertText(db: Kysely<Database>, dialect: string, n: number): string {
  const key = `${dialect}:${n}`;
  let text = TEXTS.get(key);
  if (text === undefined) {
    const row = Object.fromEntries(COLUMNS.map((col) => [col, null])) as never;
    text = db
      .insertInto('logs')
      .values(Array.from({ length: n }, () => row))
      .compile().sql;
    TEXTS.set(key, text);
  }
  return text;
}

/**
 * The first transaction id whose events may not all be visible yet: the oldest transaction the
 * statement's snapshot sees running (`xip`; those of other databases cannot write here, so they
 * are left out when pg_stat_activity says where they run), else the snapshot's `xmax`, from
 * which on nothing had finished. A running transaction of an unknown database counts.
 */
const HORIZON = sql`(
  SELECT coalesce(min(x), txid_snapshot_xmax(txid_current_snapshot()))
  FROM txid_snapshot_xip(txid_current_snapshot()) AS x
  WHERE (x % 4294967296)::text::xid NOT IN (
    SELECT backend_xid FROM pg_stat_activity
    WHERE datname IS DISTINCT FROM current_database() AND backend_xid IS NOT NULL
  )
)`;

/** Log events in SQL, ordered by the sequence they were written in. */
export function logRepository(db: Kysely<Database>, dialect: 'sqlite' | 'postgres'): LogRepository {
  /**
   * Whether `logId` was made before every event still kept: a checkpoint that retention has since
   * removed, from which an export goes on with the oldest event left.
   */
  const olderThanAll = async (logId: string): Promise<boolean> => {
    if (!/^\d{13}/.test(logId)) return false;
    const oldest = await db
      .selectFrom('logs')
      .select((eb) => eb.fn.min('date').as('date'))
      .executeTakeFirst();
    return oldest?.date == null || Number(logId.slice(0, 13)) < Number(oldest.date);
  };
  const filtered = (f: LogFilter) => {
    let q = db.selectFrom('logs');
    if (f.types !== undefined) q = q.where('type', 'in', f.types.length > 0 ? f.types : ['']);
    if (f.userId !== undefined) q = q.where('user_id', '=', f.userId);
    if (f.clientId !== undefined) q = q.where('client_id', '=', f.clientId);
    if (f.since !== undefined) q = q.where('date', '>=', f.since);
    if (f.until !== undefined) q = q.where('date', '<=', f.until);
    return q;
  };
  /**
   * An export on PostgreSQL, in the order of the writing transactions (`xid`, then `seq`), and
   * only events of transactions older than every one of this database still running (HORIZON).
   * A transaction still open has a larger `xid` than every event returned, so whatever it
   * commits later comes after the checkpoint; ordered by `seq` alone, an event it wrote early
   * would fall behind a checkpoint that a later, quicker transaction's event had moved past
   * (migration 013).
   */
  /** PostgreSQL: the events of `filter` no transaction still running can fall behind. */
  const settled = (f: LogFilter) => filtered(f).where(sql<boolean>`xid < ${HORIZON}`);
  const exportOnPostgres = async (filter: LogFilter, logId: string | undefined, limit: number) => {
    let q = settled(filter);
    if (logId !== undefined) {
      const from = await db
        .selectFrom('logs')
        .select(['xid', 'seq'])
        .where('log_id', '=', logId)
        .executeTakeFirst();
      if (from) q = q.where(sql<boolean>`(xid, seq) > (${from.xid}, ${from.seq})`);
      else if (!(await olderThanAll(logId))) return null;
    }
    const rows = await q.selectAll().orderBy('xid', 'asc').orderBy('seq', 'asc').limit(limit).execute();
    return rows.map(toEvent);
  };
  return {
    async insert(events) {
      for (let i = 0; i < events.length; i += CHUNK) {
        const chunk = events.slice(i, i + CHUNK);
        const params: unknown[] = [];
        for (const e of chunk) pushParams(params, e);
        await db.executeQuery(CompiledQuery.raw(insertText(db, dialect, chunk.length), params));
      }
    },
    async get(logId) {
      const row = await db.selectFrom('logs').selectAll().where('log_id', '=', logId).executeTakeFirst();
      return row ? toEvent(row) : null;
    },
    async list(filter, slice, ascending = false) {
      const rows = await filtered(filter)
        .selectAll()
        .orderBy('seq', ascending ? 'asc' : 'desc')
        .limit(slice.limit)
        .offset(slice.offset)
        .execute();
      return rows.map(toEvent);
    },
    async count(filter) {
      const row = await filtered(filter)
        .select((eb) => eb.fn.countAll().as('n'))
        .executeTakeFirstOrThrow();
      return Number(row.n);
    },
    async countByDay(filter) {
      const day = sql<string>`date / ${sql.lit(DAY_MS)}`;
      const rows = await filtered(filter)
        .select((eb) => [
          day.as('day'),
          'type',
          eb.fn.countAll().as('n'),
          eb.fn.min('date').as('first'),
          eb.fn.max('date').as('last'),
        ])
        .groupBy([day, 'type'])
        .execute();
      return rows.map((r) => ({
        day: Number(r.day) * DAY_MS,
        type: r.type,
        count: Number(r.n),
        first: Number(r.first),
        last: Number(r.last),
      }));
    },
    async countUsers(filter) {
      const row = await filtered(filter)
        .where('user_id', 'is not', null)
        .select((eb) => eb.fn.count('user_id').distinct().as('n'))
        .executeTakeFirstOrThrow();
      return Number(row.n);
    },
    async listAfter(filter, logId, limit) {
      if (dialect === 'postgres') return exportOnPostgres(filter, logId, limit);
      let q = filtered(filter);
      if (logId !== undefined) {
        const from = await db.selectFrom('logs').select('seq').where('log_id', '=', logId).executeTakeFirst();
        if (from) q = q.where('seq', '>', from.seq);
        else if (!(await olderThanAll(logId))) return null;
      }
      const rows = await q.selectAll().orderBy('seq', 'asc').limit(limit).execute();
      return rows.map(toEvent);
    },
    async newest(filter, limit) {
      const q =
        dialect === 'postgres'
          ? settled(filter).orderBy('xid', 'desc').orderBy('seq', 'desc')
          : filtered(filter).orderBy('seq', 'desc');
      const rows = await q.selectAll().limit(limit).execute();
      return rows.reverse().map(toEvent);
    },
    async purge(before, limit) {
      const doomed = db
        .selectFrom('logs')
        .select('seq')
        .where('date', '<', before)
        .orderBy('seq')
        .limit(limit);
      const res = await db.deleteFrom('logs').where('seq', 'in', doomed).executeTakeFirst();
      return Number(res.numDeletedRows);
    },
  };
}
