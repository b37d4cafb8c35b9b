import type { Kysely, Selectable } from 'kysely';
import type { Application, ApplicationRepository, ApplicationType } from '../../types.js';
import type { Database } from '../schema.js';

type Row = Selectable<Database['applications']>;

function toApplication(row: Row): Application {
  return {
    clientId: row.client_id,
    name: row.name,
    type: row.type as ApplicationType,
    secretHash: row.secret_hash,
    callbacks: JSON.parse(row.callbacks),
    logoutCallbacks: JSON.parse(row.logout_callbacks),
    grantTypes: JSON.parse(row.grant_types),
    settings: JSON.parse(row.settings),
    createdAt: Number(row.created_at),
    updatedAt: Number(row.updated_at),
  };
}

/** Applications (clients) in SQL. */
export function applicationRepository(db: Kysely<Database>): ApplicationRepository {
  return {
    async create(app) {
      await db
        .insertInto('applications')
        .values({
          client_id: app.clientId,
          name: app.name,
          type: app.type,
          secret_hash: app.secretHash,
          callbacks: JSON.stringify(app.callbacks),
          logout_callbacks: JSON.stringify(app.logoutCallbacks),
          grant_types: JSON.stringify(app.grantTypes),
          settings: JSON.stringify(app.settings),
          created_at: app.createdAt,
          updated_at: app.updatedAt,
        })
        .execute();
    },
    async get(clientId) {
      const row = await db
        .selectFrom('applications')
        .selectAll()
        .where('client_id', '=', clientId)
        .executeTakeFirst();
      return row ? toApplication(row) : null;
    },
    async list() {
      const rows = await db
        .selectFrom('applications')
        .selectAll()
        .orderBy('created_at')
        .orderBy('client_id')
        .execute();
      return rows.map(toApplication);
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
  };
}
