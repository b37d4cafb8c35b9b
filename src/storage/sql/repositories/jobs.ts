import type { Kysely, Selectable } from 'kysely';
import type { JobRecord, JobRepository } from '../../types.js';
import type { Database } from '../schema.js';

type Row = Selectable<Database['jobs']>;

function toJob(r: Row): JobRecord {
  return {
    id: r.id,
    type: r.type as JobRecord['type'],
    status: r.status as JobRecord['status'],
    connectionId: r.connection_id,
    ...(r.external_id !== null ? { externalId: r.external_id } : {}),
    summary: JSON.parse(r.summary),
    errors: JSON.parse(r.errors),
    createdAt: Number(r.created_at),
    expiresAt: Number(r.expires_at),
  };
}

/** Jobs, each one row with its summary and errors as JSON. */
export function jobRepository(db: Kysely<Database>): JobRepository {
  return {
    async create(j) {
      await db
        .insertInto('jobs')
        .values({
          id: j.id,
          type: j.type,
          status: j.status,
          connection_id: j.connectionId,
          external_id: j.externalId ?? null,
          summary: JSON.stringify(j.summary),
          errors: JSON.stringify(j.errors),
          created_at: j.createdAt,
          expires_at: j.expiresAt,
        })
        .execute();
    },
    async get(id) {
      const row = await db.selectFrom('jobs').selectAll().where('id', '=', id).executeTakeFirst();
      return row ? toJob(row) : null;
    },
  };
}
