import type { Kysely, Selectable } from 'kysely';
import type { Consent, ConsentFilter, ConsentRepository } from '../../types.js';
import type { Database } from '../schema.js';
import { joinedTable } from './joined.js';
import { sliced } from './slice.js';

type Row = Selectable<Database['consents']>;

const toConsent = (row: Row): Consent => ({
  id: row.id,
  userId: row.user_id,
  clientId: row.client_id,
  audience: row.audience,
  scopes: JSON.parse(row.scopes),
  updatedAt: Number(row.updated_at),
});

/** Consents in a query that joins them to other tables, as `consents as c` (user_id, of the key, first). */
export const JOINED_CONSENT = joinedTable<Row, Consent>(
  'c',
  {
    user_id: true,
    id: true,
    client_id: true,
    audience: true,
    scopes: true,
    updated_at: true,
  },
  toConsent,
);

/** Consents per user, application and audience. */
export function consentRepository(db: Kysely<Database>): ConsentRepository {
  const filtered = (f: ConsentFilter) => {
    let q = db.selectFrom('consents');
    if (f.userId !== undefined) q = q.where('user_id', '=', f.userId);
    if (f.clientId !== undefined) q = q.where('client_id', '=', f.clientId);
    if (f.audience !== undefined) q = q.where('audience', '=', f.audience);
    return q;
  };
  return {
    async get(userId, clientId, audience) {
      const row = await filtered({ userId, clientId, audience }).selectAll().executeTakeFirst();
      return row ? toConsent(row) : null;
    },
    async getById(id) {
      const row = await db.selectFrom('consents').selectAll().where('id', '=', id).executeTakeFirst();
      return row ? toConsent(row) : null;
    },
    async upsert(c) {
      const scopes = JSON.stringify(c.scopes);
      await db
        .insertInto('consents')
        .values({
          id: c.id,
          user_id: c.userId,
          client_id: c.clientId,
          audience: c.audience,
          scopes,
          updated_at: c.updatedAt,
        })
        .onConflict((oc) =>
          oc.columns(['user_id', 'client_id', 'audience']).doUpdateSet({ scopes, updated_at: c.updatedAt }),
        )
        .execute();
    },
    async list(filter, slice) {
      const q = filtered(filter).selectAll().orderBy('updated_at', 'desc').orderBy('id');
      return (await sliced(q, slice).execute()).map(toConsent);
    },
    async count(filter) {
      const row = await filtered(filter)
        .select((eb) => eb.fn.countAll().as('n'))
        .executeTakeFirstOrThrow();
      return Number(row.n);
    },
    async deleteById(id) {
      const res = await db.deleteFrom('consents').where('id', '=', id).executeTakeFirst();
      return Number(res.numDeletedRows) > 0;
    },
    async deleteWhere(filter) {
      await ('userId' in filter
        ? db.deleteFrom('consents').where('user_id', '=', filter.userId)
        : db.deleteFrom('consents').where('client_id', '=', filter.clientId)
      ).execute();
    },
  };
}
