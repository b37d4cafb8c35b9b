import type { Kysely, Selectable } from 'kysely';
import type { AuthorizationCodeRecord, AuthorizationCodeRepository } from '../../types.js';
import { precompiled } from '../precompiled.js';
import type { Database } from '../schema.js';

type Row = Selectable<Database['authorization_codes']>;

function toCode(row: Row): AuthorizationCodeRecord {
  return {
    hash: row.hash,
    clientId: row.client_id,
    grantId: row.grant_id,
    expiresAt: Number(row.expires_at),
    payload: JSON.parse(row.payload),
    consumedAt: row.consumed_at === null ? null : Number(row.consumed_at),
  };
}

/** Authorization codes by hash; `consume` is one conditional UPDATE, atomic on every backend. */
/** Every code exchange consumes its code (#16): compiled once. */
const CONSUME = precompiled(2, (db, hash: string, now: number) =>
  db
    .updateTable('authorization_codes')
    .set({ consumed_at: now })
    .where('hash', '=', hash)
    .where('consumed_at', 'is', null)
    .returningAll(),
);

export function authorizationCodeRepository(db: Kysely<Database>): AuthorizationCodeRepository {
  return {
    async create(code) {
      await db
        .insertInto('authorization_codes')
        .values({
          hash: code.hash,
          client_id: code.clientId,
          grant_id: code.grantId,
          expires_at: code.expiresAt,
          payload: JSON.stringify(code.payload),
          consumed_at: code.consumedAt,
        })
        .execute();
    },
    async consume(hash, now) {
      // One statement: the row lock (PostgreSQL) or the write lock (SQLite) lets exactly one caller win.
      const [won] = (await CONSUME(db, hash, now)).rows;
      if (won) return { code: toCode(won), replayed: false };
      const seen = await db
        .updateTable('authorization_codes')
        .set({ replayed_at: now })
        .where('hash', '=', hash)
        .returningAll()
        .executeTakeFirst();
      return seen ? { code: toCode(seen), replayed: true } : null;
    },
  };
}
