import type { Kysely } from 'kysely';
import type { RevocationRepository } from '../../types.js';
import { precompiled } from '../precompiled.js';
import type { Database } from '../schema.js';

/** Every JWT introspection and userinfo call asks this (#16): compiled once. */
const IS_REVOKED = precompiled(1, (db, jti: string) =>
  db.selectFrom('revoked_tokens').select('jti').where('jti', '=', jti),
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
    async purgeExpired(now) {
      const res = await db.deleteFrom('revoked_tokens').where('expires_at', '<=', now).executeTakeFirst();
      return Number(res.numDeletedRows);
    },
  };
}
