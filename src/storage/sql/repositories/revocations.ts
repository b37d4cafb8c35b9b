import type { Kysely } from 'kysely';
import type { RevocationRepository } from '../../types.js';
import { precompiled } from '../precompiled.js';
import type { Database } from '../schema.js';
import { JOINED_API as api } from './apis.js';
import { JOINED_APPLICATION as app } from './applications.js';

/** Every JWT introspection and userinfo call asks this (#16): compiled once. */
const IS_REVOKED = precompiled(1, (db, jti: string) =>
  db.selectFrom('revoked_tokens').select('jti').where('jti', '=', jti),
);

/** The application, whether the jti is revoked, and the API of that identifier. */
const WITH_APPLICATION = precompiled(3, (db, clientId: string, jti: string, audience: string) =>
  db
    .selectFrom('applications as a')
    .leftJoin('apis as p', (j) => j.on('p.identifier', '=', audience))
    .select((eb) => [
      ...app.select(),
      ...api.select(),
      eb.exists(eb.selectFrom('revoked_tokens').select('jti').where('jti', '=', jti)).as('revoked'),
    ])
    .where('a.client_id', '=', clientId),
);

/** Revoked JWTs, remembered by jti until they expire. */
export function revocationRepository(db: Kysely<Database>): RevocationRepository {
  return {
    async revoke(jti, expiresAt) {
      await db
        .insertInto('revoked_tokens')
        .values({ jti, expires_at: expiresAt })
        .onConflict((oc) => oc.column('jti').doNothing())
        .execute();
    },
    async isRevoked(jti) {
      const { rows } = await IS_REVOKED(db, jti);
      return rows.length > 0;
    },
    async withApplication(clientId, jti, audience) {
      const row = (await WITH_APPLICATION(db, clientId, jti, audience)).rows[0] as
        | Record<string, unknown>
        | undefined;
      const application = row && app.read(row);
      // SQLite answers EXISTS with 0 or 1, PostgreSQL with a boolean
      return application ? { application, revoked: Number(row.revoked) === 1, api: api.read(row) } : null;
    },
    async purgeExpired(now) {
      const res = await db.deleteFrom('revoked_tokens').where('expires_at', '<=', now).executeTakeFirst();
      return Number(res.numDeletedRows);
    },
  };
}
