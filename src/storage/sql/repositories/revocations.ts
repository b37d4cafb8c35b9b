import type { Kysely } from 'kysely';
import type { RevocationRepository } from '../../types.js';
import type { Database } from '../schema.js';

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
      const row = await db
        .selectFrom('revoked_tokens')
        .select('jti')
        .where('jti', '=', jti)
        .executeTakeFirst();
      return row !== undefined;
    },
    async purgeExpired(now) {
      const res = await db.deleteFrom('revoked_tokens').where('expires_at', '<=', now).executeTakeFirst();
      return Number(res.numDeletedRows);
    },
  };
}
