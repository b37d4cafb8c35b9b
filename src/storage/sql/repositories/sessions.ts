import type { Kysely, Selectable } from 'kysely';
import { merged } from '../../../util/merged.js';
import { SESSION_ORDER } from '../../list-orders.js';
import type { InteractionRepository, SessionRecord, SessionRepository } from '../../types.js';
import { precompiled } from '../precompiled.js';
import type { Database } from '../schema.js';
import { JOINED_CONSENT } from './consents.js';
import { keyset } from './slice.js';
import { JOINED_USER } from './users.js';

const toSession = (row: Selectable<Database['sessions']>): SessionRecord => ({
  idHash: row.id_hash,
  sid: row.sid,
  userId: row.user_id,
  authTime: Number(row.auth_time),
  createdAt: Number(row.created_at),
  expiresAt: Number(row.expires_at),
  lastSeenAt: Number(row.last_seen_at ?? row.created_at),
  ...(row.initial_ip !== null ? { initialIp: row.initial_ip } : {}),
  ...(row.initial_user_agent !== null ? { initialUserAgent: row.initial_user_agent } : {}),
});

/** A session and its user, as `sessions as s` and `users as u`. */
const withUser = (db: Kysely<Database>, idHash: string) =>
  db
    .selectFrom('sessions as s')
    .leftJoin('users as u', 'u.id', 's.user_id')
    .selectAll('s')
    .select(JOINED_USER.select())
    .where('s.id_hash', '=', idHash);

/** Every signed-in /authorize reads its session and the session's user (#16): compiled once. */
const WITH_USER = precompiled(1, withUser);

/** The same, with the user's consent to one application and audience (a signed-in /authorize). */
const WITH_USER_AND_CONSENT = precompiled(3, (db, idHash: string, clientId: string, audience: string) =>
  withUser(db, idHash)
    .leftJoin('consents as c', (join) =>
      join
        .onRef('c.user_id', '=', 's.user_id')
        .on('c.client_id', '=', clientId)
        .on('c.audience', '=', audience),
    )
    .select(JOINED_CONSENT.select()),
);

/** SSO sessions by the hash of their cookie value. */
export function sessionRepository(db: Kysely<Database>): SessionRepository {
  return {
    async create(s) {
      await db
        .insertInto('sessions')
        .values({
          id_hash: s.idHash,
          sid: s.sid,
          user_id: s.userId,
          auth_time: s.authTime,
          created_at: s.createdAt,
          expires_at: s.expiresAt,
          last_seen_at: s.lastSeenAt,
          initial_ip: s.initialIp ?? null,
          initial_user_agent: s.initialUserAgent ?? null,
        })
        .execute();
    },
    async get(idHash) {
      const row = await db
        .selectFrom('sessions')
        .selectAll()
        .where('id_hash', '=', idHash)
        .executeTakeFirst();
      return row ? toSession(row) : null;
    },
    async getWithUser(idHash, consentOf) {
      const [row] = (
        consentOf === undefined
          ? await WITH_USER(db, idHash)
          : await WITH_USER_AND_CONSENT(db, idHash, consentOf.clientId, consentOf.audience)
      ).rows;
      if (!row) return null;
      const found = {
        session: toSession(row as Selectable<Database['sessions']>),
        user: JOINED_USER.read(row),
      };
      return consentOf === undefined ? found : merged(found, { consent: JOINED_CONSENT.read(row) });
    },
    async getBySid(sid) {
      const row = await db.selectFrom('sessions').selectAll().where('sid', '=', sid).executeTakeFirst();
      return row ? toSession(row) : null;
    },
    async listForUser(userId, now, slice, idle) {
      const q = db
        .selectFrom('sessions')
        .selectAll()
        .where('user_id', '=', userId)
        .where('expires_at', '>', now)
        .$if(idle !== undefined, (w) => w.where('last_seen_at', '>', now - (idle as number)));
      const rows = await keyset(q, SESSION_ORDER.columns, slice).execute();
      return rows.map(toSession);
    },
    async touch(idHash, now) {
      await db.updateTable('sessions').set({ last_seen_at: now }).where('id_hash', '=', idHash).execute();
    },
    async delete(idHash) {
      await db.deleteFrom('sessions').where('id_hash', '=', idHash).execute();
    },
    async deleteBySid(sid) {
      const res = await db.deleteFrom('sessions').where('sid', '=', sid).executeTakeFirst();
      return Number(res.numDeletedRows) > 0;
    },
    async deleteForUser(userId) {
      const res = await db.deleteFrom('sessions').where('user_id', '=', userId).executeTakeFirst();
      return Number(res.numDeletedRows);
    },
  };
}

/** Pending interactions by the hash of their cookie value. */
export function interactionRepository(db: Kysely<Database>): InteractionRepository {
  return {
    async create(i) {
      await db
        .insertInto('interactions')
        .values({
          id_hash: i.idHash,
          csrf: i.csrf,
          payload: JSON.stringify(i.payload),
          expires_at: i.expiresAt,
        })
        .execute();
    },
    async get(idHash) {
      const row = await db
        .selectFrom('interactions')
        .selectAll()
        .where('id_hash', '=', idHash)
        .executeTakeFirst();
      return row
        ? {
            idHash: row.id_hash,
            csrf: row.csrf,
            payload: JSON.parse(row.payload),
            expiresAt: Number(row.expires_at),
          }
        : null;
    },
    async update(idHash, payload) {
      await db
        .updateTable('interactions')
        .set({ payload: JSON.stringify(payload) })
        .where('id_hash', '=', idHash)
        .execute();
    },
    async delete(idHash) {
      await db.deleteFrom('interactions').where('id_hash', '=', idHash).execute();
    },
  };
}
