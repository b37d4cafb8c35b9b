import { type Kysely, type Selectable, sql } from 'kysely';
import type { Application, ApplicationFilter, ApplicationRepository, ApplicationType } from '../../types.js';
import type { Database } from '../schema.js';
import { joinedTable } from './joined.js';
import { sliced } from './slice.js';

type Row = Selectable<Database['applications']>;

/** Applications in a query that joins them to other tables, as `applications as a` (joined.ts). */
export const JOINED_APPLICATION = joinedTable<Row, Application>(
  'a',
  {
    client_id: true,
    name: true,
    type: true,
    secret_hash: true,
    callbacks: true,
    logout_callbacks: true,
    grant_types: true,
    settings: true,
    is_system: true,
    created_at: true,
    updated_at: true,
  },
  toApplication,
);

export function toApplication(row: Row): Application {
  return {
    clientId: row.client_id,
    name: row.name,
    type: row.type as ApplicationType,
    secretHash: row.secret_hash,
    callbacks: JSON.parse(row.callbacks),
    logoutCallbacks: JSON.parse(row.logout_callbacks),
    grantTypes: JSON.parse(row.grant_types),
    settings: JSON.parse(row.settings),
    isSystem: Number(row.is_system) === 1,
    createdAt: Number(row.created_at),
    updatedAt: Number(row.updated_at),
  };
}

function toRow(app: Application): Row {
  return {
    client_id: app.clientId,
    name: app.name,
    type: app.type,
    secret_hash: app.secretHash,
    callbacks: JSON.stringify(app.callbacks),
    logout_callbacks: JSON.stringify(app.logoutCallbacks),
    grant_types: JSON.stringify(app.grantTypes),
    settings: JSON.stringify(app.settings),
    is_system: app.isSystem ? 1 : 0,
    created_at: app.createdAt,
    updated_at: app.updatedAt,
  };
}

/** Applications (clients) in SQL. */
export function applicationRepository(
  db: Kysely<Database>,
  dialect: 'sqlite' | 'postgres',
): ApplicationRepository {
  // settings is JSON text; a flag missing from it is false
  const firstParty =
    dialect === 'sqlite'
      ? sql<boolean>`coalesce(json_extract(settings, '$.skipConsent'), 0) = 1`
      : sql<boolean>`coalesce((settings::jsonb ->> 'skipConsent') = 'true', false)`;
  const filtered = ({ types, firstParty: first, clientIds }: ApplicationFilter) => {
    let q = db.selectFrom('applications');
    if (types !== undefined) q = q.where('type', 'in', types.length > 0 ? types : ['']);
    if (clientIds !== undefined) q = q.where('client_id', 'in', clientIds.length > 0 ? clientIds : ['']);
    if (first !== undefined) q = q.where(first ? firstParty : sql<boolean>`not (${firstParty})`);
    return q;
  };
  return {
    async create(app) {
      await db.insertInto('applications').values(toRow(app)).execute();
    },
    async ensureSystem(app) {
      await db
        .insertInto('applications')
        .values(toRow(app))
        .onConflict((oc) => oc.column('client_id').doNothing())
        .execute();
    },
    async listMentioning(text) {
      const pattern = `%${text.toLowerCase().replace(/[\\%_]/g, (ch) => `\\${ch}`)}%`;
      const rows = await db
        .selectFrom('applications')
        .selectAll()
        .where((eb) =>
          eb.or([
            eb(sql`lower(callbacks)`, 'like', sql`${pattern} escape '\\'`),
            eb(sql`lower(settings)`, 'like', sql`${pattern} escape '\\'`),
          ]),
        )
        .execute();
      return rows.map(toApplication);
    },
    async get(clientId) {
      const row = await db
        .selectFrom('applications')
        .selectAll()
        .where('client_id', '=', clientId)
        .executeTakeFirst();
      return row ? toApplication(row) : null;
    },
    async list(filter = {}, slice) {
      const q = filtered(filter).selectAll().orderBy('created_at').orderBy('client_id');
      return (await sliced(q, slice).execute()).map(toApplication);
    },
    async count(filter = {}) {
      const row = await filtered(filter)
        .select((eb) => eb.fn.countAll().as('n'))
        .executeTakeFirstOrThrow();
      return Number(row.n);
    },
    async delete(clientId) {
      await db.deleteFrom('client_grants').where('client_id', '=', clientId).execute();
      const res = await db.deleteFrom('applications').where('client_id', '=', clientId).executeTakeFirst();
      return Number(res.numDeletedRows) > 0;
    },
    async setSecretHash(clientId, secretHash, now) {
      const res = await db
        .updateTable('applications')
        .set({ secret_hash: secretHash, updated_at: now })
        .where('client_id', '=', clientId)
        .executeTakeFirst();
      return Number(res.numUpdatedRows) > 0;
    },
    async hold(clientId) {
      const res = await db
        .updateTable('applications')
        .set({ client_id: sql`client_id` })
        .where('client_id', '=', clientId)
        .executeTakeFirst();
      return Number(res.numUpdatedRows) > 0;
    },
    async update(clientId, patch, now) {
      const set: Partial<Row> = { updated_at: now };
      if (patch.name !== undefined) set.name = patch.name;
      if (patch.callbacks !== undefined) set.callbacks = JSON.stringify(patch.callbacks);
      if (patch.logoutCallbacks !== undefined) set.logout_callbacks = JSON.stringify(patch.logoutCallbacks);
      if (patch.grantTypes !== undefined) set.grant_types = JSON.stringify(patch.grantTypes);
      if (patch.settings !== undefined) set.settings = JSON.stringify(patch.settings);
      const res = await db
        .updateTable('applications')
        .set(set)
        .where('client_id', '=', clientId)
        .executeTakeFirst();
      return Number(res.numUpdatedRows) > 0;
    },
  };
}
