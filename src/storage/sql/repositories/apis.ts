import type { Kysely, Selectable } from 'kysely';
import type { SigningAlg } from '../../../config/schema.js';
import type { Api, ApiRepository } from '../../types.js';
import type { Database } from '../schema.js';

type Row = Selectable<Database['apis']>;

function toApi(row: Row): Api {
  return {
    id: row.id,
    identifier: row.identifier,
    name: row.name,
    scopes: JSON.parse(row.scopes),
    tokenLifetime: Number(row.token_lifetime),
    signingAlg: row.signing_alg as SigningAlg,
    allowOfflineAccess: Number(row.allow_offline_access) === 1,
    createdAt: Number(row.created_at),
  };
}

/** APIs (resource servers) in SQL. */
export function apiRepository(db: Kysely<Database>): ApiRepository {
  return {
    async create(api) {
      await db
        .insertInto('apis')
        .values({
          id: api.id,
          identifier: api.identifier,
          name: api.name,
          scopes: JSON.stringify(api.scopes),
          token_lifetime: api.tokenLifetime,
          signing_alg: api.signingAlg,
          allow_offline_access: api.allowOfflineAccess ? 1 : 0,
          created_at: api.createdAt,
        })
        .execute();
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
    async list() {
      const rows = await db.selectFrom('apis').selectAll().orderBy('created_at').orderBy('id').execute();
      return rows.map(toApi);
    },
    async delete(id) {
      await db.deleteFrom('client_grants').where('api_id', '=', id).execute();
      const res = await db.deleteFrom('apis').where('id', '=', id).executeTakeFirst();
      return Number(res.numDeletedRows) > 0;
    },
  };
}
