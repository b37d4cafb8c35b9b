import { type Kysely, type Selectable, sql } from 'kysely';
import type { SigningAlg } from '../../../config/schema.js';
import type { Api, ApiRepository } from '../../types.js';
import type { Database } from '../schema.js';
import { joinedTable } from './joined.js';
import { sliced } from './slice.js';
import { upsertSystemRow } from './system-rows.js';

type Row = Selectable<Database['apis']>;

/** APIs in a query that joins them to other tables, as `apis as p` (joined.ts). */
export const JOINED_API = joinedTable<Row, Api>(
  'p',
  {
    id: true,
    identifier: true,
    name: true,
    scopes: true,
    token_lifetime: true,
    signing_alg: true,
    allow_offline_access: true,
    options: true,
    is_system: true,
    created_at: true,
    updated_at: true,
  },
  toApi,
);

export function toApi(row: Row): Api {
  return {
    id: row.id,
    identifier: row.identifier,
    name: row.name,
    scopes: JSON.parse(row.scopes),
    tokenLifetime: Number(row.token_lifetime),
    signingAlg: row.signing_alg as SigningAlg,
    allowOfflineAccess: Number(row.allow_offline_access) === 1,
    options: JSON.parse(row.options),
    isSystem: Number(row.is_system) === 1,
    createdAt: Number(row.created_at),
    updatedAt: Number(row.updated_at),
  };
}

function toRow(api: Api): Row {
  return {
    id: api.id,
    identifier: api.identifier,
    name: api.name,
    scopes: JSON.stringify(api.scopes),
    token_lifetime: api.tokenLifetime,
    signing_alg: api.signingAlg,
    allow_offline_access: api.allowOfflineAccess ? 1 : 0,
    options: JSON.stringify(api.options),
    is_system: api.isSystem ? 1 : 0,
    created_at: api.createdAt,
    updated_at: api.updatedAt,
  };
}

/** APIs (resource servers) in SQL. */
export function apiRepository(db: Kysely<Database>): ApiRepository {
  return {
    async create(api) {
      await db.insertInto('apis').values(toRow(api)).execute();
    },
    async ensureSystem(api, withIdentifier) {
      const row = toRow(api);
      const set = withIdentifier
        ? { identifier: row.identifier, name: row.name, scopes: row.scopes }
        : { name: row.name, scopes: row.scopes };
      await upsertSystemRow(
        () =>
          db
            .insertInto('apis')
            .values(row)
            .onConflict((oc) => oc.column('id').doUpdateSet(set))
            .execute(),
        async () =>
          (await db.selectFrom('apis').select('id').where('id', '=', api.id).executeTakeFirst()) !==
          undefined,
      );
    },
    async get(id) {
      const row = await db.selectFrom('apis').selectAll().where('id', '=', id).executeTakeFirst();
      return row ? toApi(row) : null;
    },
    async getByIdentifier(identifier) {
      const row = await db
        .selectFrom('apis')
        .selectAll()
        .where('identifier', '=', identifier)
        .executeTakeFirst();
      return row ? toApi(row) : null;
    },
    async list(slice) {
      const q = db.selectFrom('apis').selectAll().orderBy('created_at').orderBy('id');
      return (await sliced(q, slice).execute()).map(toApi);
    },
    async count() {
      const row = await db
        .selectFrom('apis')
        .select((eb) => eb.fn.countAll().as('n'))
        .executeTakeFirstOrThrow();
      return Number(row.n);
    },
    async delete(id) {
      await db.deleteFrom('client_grants').where('api_id', '=', id).execute();
      const res = await db.deleteFrom('apis').where('id', '=', id).executeTakeFirst();
      return Number(res.numDeletedRows) > 0;
    },
    async hold(id) {
      const res = await db.updateTable('apis').set({ id: sql`id` }).where('id', '=', id).executeTakeFirst();
      return Number(res.numUpdatedRows) > 0;
    },
    async update(id, patch, now) {
      const set: Partial<Row> = { updated_at: now };
      if (patch.name !== undefined) set.name = patch.name;
      if (patch.scopes !== undefined) set.scopes = JSON.stringify(patch.scopes);
      if (patch.tokenLifetime !== undefined) set.token_lifetime = patch.tokenLifetime;
      if (patch.signingAlg !== undefined) set.signing_alg = patch.signingAlg;
      if (patch.allowOfflineAccess !== undefined) set.allow_offline_access = patch.allowOfflineAccess ? 1 : 0;
      if (patch.options !== undefined) set.options = JSON.stringify(patch.options);
      const res = await db.updateTable('apis').set(set).where('id', '=', id).executeTakeFirst();
      return Number(res.numUpdatedRows) > 0;
    },
  };
}
