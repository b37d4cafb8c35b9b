import { type Kysely, type Selectable, sql } from 'kysely';
import { CLIENT_GRANT_ORDER } from '../../list-orders.js';
import type { ClientGrant, ClientGrantFilter, ClientGrantRepository, SubjectType } from '../../types.js';
import { precompiled } from '../precompiled.js';
import type { Database } from '../schema.js';
import { JOINED_API as api } from './apis.js';
import { JOINED_APPLICATION as app } from './applications.js';
import { joinedTable } from './joined.js';
import { keyset } from './slice.js';

type Row = Selectable<Database['client_grants']>;

const grant = joinedTable<Row, ClientGrant>(
  'g',
  {
    id: true,
    client_id: true,
    api_id: true,
    subject_type: true,
    scopes: true,
    created_at: true,
  },
  toGrant,
);

/** The application, the API with the identifier (or nulls), its machine grant to it (or nulls). */
const MACHINE_ACCESS = precompiled(2, (db, clientId: string, audience: string) =>
  db
    .selectFrom('applications as a')
    .leftJoin('apis as p', (j) => j.on('p.identifier', '=', audience))
    .leftJoin('client_grants as g', (j) =>
      j
        .onRef('g.client_id', '=', 'a.client_id')
        .onRef('g.api_id', '=', 'p.id')
        .on('g.subject_type', '=', 'client'),
    )
    .select([...app.select(), ...api.select(), ...grant.select()])
    .where('a.client_id', '=', clientId),
);

function toGrant(row: Row): ClientGrant {
  return {
    id: row.id,
    clientId: row.client_id,
    apiId: row.api_id,
    scopes: JSON.parse(row.scopes),
    ...(row.subject_type === 'user' ? { subjectType: 'user' as const } : {}),
    createdAt: Number(row.created_at),
  };
}

/** Client grants (which API scopes an application may request) in SQL. */
export function clientGrantRepository(db: Kysely<Database>): ClientGrantRepository {
  const filtered = (f: ClientGrantFilter) => {
    let q = db.selectFrom('client_grants');
    if (f.clientId !== undefined) q = q.where('client_id', '=', f.clientId);
    if (f.apiId !== undefined) q = q.where('api_id', '=', f.apiId);
    if (f.subjectType !== undefined) q = q.where('subject_type', '=', f.subjectType);
    return q;
  };
  const getOne = async (clientId: string, apiId: string, subjectType: SubjectType = 'client') => {
    const row = await filtered({ clientId, apiId, subjectType }).selectAll().executeTakeFirst();
    return row ? toGrant(row) : null;
  };
  return {
    async upsert(grant) {
      const scopes = JSON.stringify(grant.scopes);
      const row = await db
        .insertInto('client_grants')
        .values({
          id: grant.id,
          client_id: grant.clientId,
          api_id: grant.apiId,
          subject_type: grant.subjectType ?? 'client',
          scopes,
          created_at: grant.createdAt,
        })
        .onConflict((oc) => oc.columns(['client_id', 'api_id', 'subject_type']).doUpdateSet({ scopes }))
        .returningAll()
        .executeTakeFirstOrThrow();
      return toGrant(row);
    },
    get: getOne,
    async machineAccess(clientId, audience) {
      const joinedRow = (await MACHINE_ACCESS(db, clientId, audience)).rows[0] as
        | Record<string, unknown>
        | undefined;
      const application = joinedRow && app.read(joinedRow);
      if (!application) return null;
      return { application, api: api.read(joinedRow), grant: grant.read(joinedRow) };
    },
    async getById(id) {
      const row = await db.selectFrom('client_grants').selectAll().where('id', '=', id).executeTakeFirst();
      return row ? toGrant(row) : null;
    },
    async listForClient(clientId, subjectType = 'client') {
      const rows = await filtered({ clientId, subjectType })
        .selectAll()
        .orderBy('created_at')
        .orderBy('api_id')
        .execute();
      return rows.map(toGrant);
    },
    async list(filter, slice) {
      return (await keyset(filtered(filter).selectAll(), CLIENT_GRANT_ORDER.columns, slice).execute()).map(
        toGrant,
      );
    },
    async count(filter) {
      const row = await filtered(filter)
        .select((eb) => eb.fn.countAll().as('n'))
        .executeTakeFirstOrThrow();
      return Number(row.n);
    },
    async setScopes(id, scopes) {
      const res = await db
        .updateTable('client_grants')
        .set({ scopes: JSON.stringify(scopes) })
        .where('id', '=', id)
        .executeTakeFirst();
      return Number(res.numUpdatedRows) > 0;
    },
    async delete(clientId, apiId, subjectType = 'client') {
      const res = await db
        .deleteFrom('client_grants')
        .where('client_id', '=', clientId)
        .where('api_id', '=', apiId)
        .where('subject_type', '=', subjectType)
        .executeTakeFirst();
      return Number(res.numDeletedRows) > 0;
    },
    async hold(id) {
      const res = await db
        .updateTable('client_grants')
        .set({ id: sql`id` })
        .where('id', '=', id)
        .executeTakeFirst();
      return Number(res.numUpdatedRows) > 0;
    },
    async deleteById(id) {
      const res = await db.deleteFrom('client_grants').where('id', '=', id).executeTakeFirst();
      return Number(res.numDeletedRows) > 0;
    },
  };
}
