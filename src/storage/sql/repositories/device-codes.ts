import { type Kysely, type Selectable, sql } from 'kysely';
import type { DeviceCodeRecord, DeviceCodeRepository, DeviceCodeStatus } from '../../types.js';
import type { Database } from '../schema.js';

const num = (v: number | null) => (v === null ? null : Number(v));

const toCode = (row: Selectable<Database['device_codes']>): DeviceCodeRecord => ({
  hash: row.hash,
  userCode: row.user_code,
  clientId: row.client_id,
  payload: JSON.parse(row.payload),
  status: row.status as DeviceCodeStatus,
  userId: row.user_id,
  authTime: num(row.auth_time),
  interval: Number(row.poll_interval),
  lastPolledAt: num(row.last_polled_at),
  createdAt: Number(row.created_at),
  expiresAt: Number(row.expires_at),
});

/** Device authorizations; every state change is one conditional UPDATE. */
export function deviceCodeRepository(db: Kysely<Database>): DeviceCodeRepository {
  return {
    async create(d) {
      await db
        .insertInto('device_codes')
        .values({
          hash: d.hash,
          user_code: d.userCode,
          client_id: d.clientId,
          payload: JSON.stringify(d.payload),
          status: d.status,
          user_id: d.userId,
          auth_time: d.authTime,
          poll_interval: d.interval,
          last_polled_at: d.lastPolledAt,
          created_at: d.createdAt,
          expires_at: d.expiresAt,
        })
        .execute();
    },
    async get(hash) {
      const row = await db.selectFrom('device_codes').selectAll().where('hash', '=', hash).executeTakeFirst();
      return row ? toCode(row) : null;
    },
    async getByUserCode(userCode) {
      const row = await db
        .selectFrom('device_codes')
        .selectAll()
        .where('user_code', '=', userCode)
        .executeTakeFirst();
      return row ? toCode(row) : null;
    },
    async poll(hash, now) {
      // Too soon: slow down, and the interval grows by 5 s (RFC 8628 §3.5).
      const slowed = await db
        .updateTable('device_codes')
        .set({ poll_interval: sql`poll_interval + 5`, last_polled_at: now })
        .where('hash', '=', hash)
        .where('last_polled_at', 'is not', null)
        .where(sql<boolean>`last_polled_at + poll_interval > ${now}`)
        .executeTakeFirst();
      if (Number(slowed.numUpdatedRows) > 0) return 'slow_down';
      await db.updateTable('device_codes').set({ last_polled_at: now }).where('hash', '=', hash).execute();
      return 'ok';
    },
    async decide(userCode, d) {
      const res = await db
        .updateTable('device_codes')
        .set({ status: d.approved ? 'approved' : 'denied', user_id: d.userId, auth_time: d.authTime })
        .where('user_code', '=', userCode)
        .where('status', '=', 'pending')
        .executeTakeFirst();
      return Number(res.numUpdatedRows) === 1;
    },
    async consume(hash) {
      const res = await db
        .updateTable('device_codes')
        .set({ status: 'consumed' })
        .where('hash', '=', hash)
        .where('status', '=', 'approved')
        .executeTakeFirst();
      return Number(res.numUpdatedRows) === 1;
    },
  };
}
