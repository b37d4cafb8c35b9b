import type { Kysely, Selectable } from 'kysely';
import type { ClientGrant, ClientGrantRepository } from '../../types.js';
import type { Database } from '../schema.js';

type Row = Selectable<Database['client_grants']>;

function toGrant(row: Row): ClientGrant {
  return {
    clientId: row.client_id,
    apiId: row.api_id,
    scopes: JSON.parse(row.scopes),
    createdAt: Number(row.created_at),
  };
}

/** Client grants (which API scopes an application may request) in SQL. */
export function clientGrantRepository(db: Kysely<Database>): ClientGrantRepository {
  return {
    async upsert(grant) {
      await db
        .insertInto('client_grants')
        .values({
          client_id: grant.clientId,
          api_id: grant.apiId,
          scopes: JSON.stringify(grant.scopes),
          created_at: grant.createdAt,
        })
        .onConflict((oc) =>
          oc.columns(['client_id', 'api_id']).doUpdateSet({ scopes: JSON.stringify(grant.scopes) }),
        )
        .execute();
    },
    async get(clientId, apiId) {
      const row = await db
        .selectFrom('client_grants')
        .selectAll()
        .where('client_id', '=', clientId)
        .where('api_id', '=', apiId)
        .executeTakeFirst();
      return row ? toGrant(row) : null;
    },
    async listForClient(clientId) {
      const rows = await db
        .selectFrom('client_grants')
        .selectAll()
        .where('client_id', '=', clientId)
        .orderBy('created_at')
        .orderBy('api_id')
        .execute();
      return rows.map(toGrant);
    },
    async delete(clientId, apiId) {
      const res = await db
        .deleteFrom('client_grants')
        .where('client_id', '=', clientId)
        .where('api_id', '=', apiId)
        .executeTakeFirst();
      return Number(res.numDeletedRows) > 0;
    },
  };
}
