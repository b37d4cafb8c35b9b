import { type Kysely, type QueryCreator, type Selectable, sql } from 'kysely';
import type { AuthorizationCodeRecord, AuthorizationCodeRepository } from '../../types.js';
import { precompiled } from '../precompiled.js';
import type { Database } from '../schema.js';
import { JOINED_USER, userById } from './users.js';

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

/** Marks an unused code used and returns it: one conditional UPDATE, atomic on every backend. */
const consumption = (db: QueryCreator<Database>, hash: string, now: number) =>
  db
    .updateTable('authorization_codes')
    .set({ consumed_at: now })
    .where('hash', '=', hash)
    .where('consumed_at', 'is', null)
    .returningAll();

/** Every code exchange consumes its code (#16): compiled once. */
const CONSUME = precompiled(2, consumption);
/**
 * PostgreSQL: the consumption, the code's user and whether its session is live, in one
 * statement (a data-modifying CTE). The live session's row is locked (FOR KEY SHARE) until the
 * exchange commits: a sign-out that deletes it meanwhile waits, then sees the refresh token this
 * exchange issued and ends it; one that deleted it first (not yet committed) makes this wait and
 * find no session.
 */
const CONSUME_WITH_USER = precompiled(2, (db, hash: string, now: number) =>
  db
    .with('c', (qc) => consumption(qc, hash, now))
    .selectFrom('c')
    .leftJoin('users as u', (join) => join.on(sql<boolean>`u.id = (c.payload::json ->> 'userId')`))
    .selectAll('c')
    .select(JOINED_USER.select())
    .select((eb) =>
      eb
        .selectFrom('sessions as s')
        .select('s.sid')
        .where(sql<boolean>`s.sid = (c.payload::json ->> 'sid')`)
        .where('s.expires_at', '>', now)
        .forKeyShare()
        .as('live_sid'),
    ),
);

/** SQLite: the code's user and whether a session with its `sid` is unexpired at `now`, in one statement. */
const USER_SIGNED_IN = precompiled(3, (db, userId: string, sid: string, now: number) =>
  db
    .selectFrom('users as u')
    .select(JOINED_USER.select())
    .select((eb) =>
      eb
        .exists(eb.selectFrom('sessions').select('sid').where('sid', '=', sid).where('expires_at', '>', now))
        .as('live'),
    )
    .where('u.id', '=', userId),
);

/** Every signed-in `/authorize` stores a code (#16): compiled once. */
const CREATE = precompiled(
  6,
  (
    db,
    hash: string,
    clientId: string,
    grantId: string,
    expiresAt: number,
    payload: string,
    consumedAt: unknown,
  ) =>
    db.insertInto('authorization_codes').values({
      hash,
      client_id: clientId,
      grant_id: grantId,
      expires_at: expiresAt,
      payload,
      consumed_at: consumedAt as number | null,
    }),
);

/** Authorization codes by hash; `consume` lets exactly one caller win a code. */
export function authorizationCodeRepository(
  db: Kysely<Database>,
  dialect: 'sqlite' | 'postgres',
): AuthorizationCodeRepository {
  /** The caller lost the race (or the code was used before): marked replayed, returned. */
  const replayed = async (hash: string, now: number) => {
    const seen = await db
      .updateTable('authorization_codes')
      .set({ replayed_at: now })
      .where('hash', '=', hash)
      .returningAll()
      .executeTakeFirst();
    return seen ? { code: toCode(seen), replayed: true } : null;
  };
  return {
    async create(code) {
      const payload = JSON.stringify(code.payload);
      await CREATE(db, code.hash, code.clientId, code.grantId, code.expiresAt, payload, code.consumedAt);
    },
    async consume(hash, now) {
      // One statement: the row lock (PostgreSQL) or the write lock (SQLite) lets exactly one caller win.
      const [won] = (await CONSUME(db, hash, now)).rows;
      return won ? { code: toCode(won), replayed: false } : replayed(hash, now);
    },
    async consumeWithUser(hash, now) {
      if (dialect === 'sqlite') {
        const result = await this.consume(hash, now);
        if (!result || result.replayed) return result;
        const { payload } = result.code;
        if (typeof payload.userId !== 'string') return { code: result.code, replayed: false, user: null };
        if (typeof payload.sid !== 'string')
          return { code: result.code, replayed: false, user: await userById(db, payload.userId) };
        const [row] = (await USER_SIGNED_IN(db, payload.userId, payload.sid, now)).rows as {
          live: number;
        }[];
        // no row: the user is gone, and so is every session of theirs
        return {
          code: result.code,
          replayed: false,
          user: row ? JOINED_USER.read(row) : null,
          signedIn: row ? Boolean(row.live) : false,
        };
      }
      const [won] = (await CONSUME_WITH_USER(db, hash, now)).rows;
      if (!won) return replayed(hash, now);
      const code = toCode(won as Row);
      const user = JOINED_USER.read(won);
      if (typeof code.payload.sid !== 'string') return { code, replayed: false, user };
      return {
        code,
        replayed: false,
        user,
        signedIn: (won as { live_sid: string | null }).live_sid !== null,
      };
    },
  };
}
