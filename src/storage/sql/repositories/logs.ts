import type { Kysely, Selectable } from 'kysely';
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

function toRow(e: LogEvent): Omit<Row, 'seq'> {
  const row = {
    log_id: e.logId,
    date: e.date,
    type: e.type,
    description: e.description,
    details: JSON.stringify(e.details),
  } as Omit<Row, 'seq'>;
  for (const [field, column] of Object.entries(OPTIONAL))
    row[column] = e[field as keyof typeof OPTIONAL] ?? null;
  return row;
}

/** Log events in SQL, ordered by the sequence they were written in. */
export function logRepository(db: Kysely<Database>): LogRepository {
  const filtered = (f: LogFilter) => {
    let q = db.selectFrom('logs');
    if (f.types !== undefined) q = q.where('type', 'in', f.types.length > 0 ? f.types : ['']);
    if (f.userId !== undefined) q = q.where('user_id', '=', f.userId);
    if (f.clientId !== undefined) q = q.where('client_id', '=', f.clientId);
    if (f.since !== undefined) q = q.where('date', '>=', f.since);
    if (f.until !== undefined) q = q.where('date', '<=', f.until);
    return q;
  };
  return {
    async insert(events) {
      // Many rows in one statement, under the parameter limits of both databases.
      for (let i = 0; i < events.length; i += 200) {
        await db
          .insertInto('logs')
          .values(events.slice(i, i + 200).map(toRow))
          .execute();
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
    async listAfter(filter, logId, limit) {
      let q = filtered(filter);
      if (logId !== undefined) {
        const from = await db.selectFrom('logs').select('seq').where('log_id', '=', logId).executeTakeFirst();
        if (!from) return null;
        q = q.where('seq', '>', from.seq);
      }
      const rows = await q.selectAll().orderBy('seq', 'asc').limit(limit).execute();
      return rows.map(toEvent);
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
