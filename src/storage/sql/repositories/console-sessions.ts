import type { Kysely } from 'kysely';
import type { ConsoleSessionRepository } from '../../types.js';
import type { Database } from '../schema.js';

/** The web console's sessions in SQL. */
export function consoleSessionRepository(db: Kysely<Database>): ConsoleSessionRepository {
  return {
    async create(s) {
      await db
        .insertInto('console_sessions')
        .values({
          id_hash: s.idHash,
          user_id: s.userId,
          token: s.token,
          csrf: s.csrf,
          created_at: s.createdAt,
          expires_at: s.expiresAt,
        })
        .execute();
    },
    async get(idHash) {
      const row = await db
        .selectFrom('console_sessions')
        .selectAll()
        .where('id_hash', '=', idHash)
        .executeTakeFirst();
      if (!row) return null;
      return {
        idHash: row.id_hash,
        userId: row.user_id,
        token: row.token,
        csrf: row.csrf,
        createdAt: Number(row.created_at),
        expiresAt: Number(row.expires_at),
      };
    },
    async delete(idHash) {
      await db.deleteFrom('console_sessions').where('id_hash', '=', idHash).execute();
    },
    async deleteForUser(userId, keep) {
      let q = db.deleteFrom('console_sessions').where('user_id', '=', userId);
      if (keep !== undefined) q = q.where('id_hash', '!=', keep);
      await q.execute();
    },
    async deleteExpired(now) {
      await db.deleteFrom('console_sessions').where('expires_at', '<', now).execute();
    },
  };
}
