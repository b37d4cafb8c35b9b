import type { Kysely, QueryCreator, Selectable } from 'kysely';
import { REFRESH_TOKEN_ORDER } from '../../list-orders.js';
import type {
  GrantTokenOwner,
  GrantTokenRepository,
  RefreshTokenRecord,
  RefreshTokenRepository,
} from '../../types.js';
import { precompiled } from '../precompiled.js';
import type { Database } from '../schema.js';
import { keyset } from './slice.js';
import { JOINED_USER, userById } from './users.js';

const num = (v: number | null) => (v === null ? null : Number(v));

const toToken = (row: Row): RefreshTokenRecord => ({
  hash: row.hash,
  familyId: row.family_id,
  grantId: row.grant_id,
  clientId: row.client_id,
  userId: row.user_id,
  payload: JSON.parse(row.payload),
  createdAt: Number(row.created_at),
  expiresAt: Number(row.expires_at),
  familyExpiresAt: Number(row.family_expires_at),
  rotatedAt: num(row.rotated_at),
  revokedAt: num(row.revoked_at),
  ...(row.successor !== null ? { successor: row.successor } : {}),
});

type Row = Selectable<Database['refresh_tokens']>;

/** Marks a live token of the client rotated, keeping its successor sealed; returns it. */
const rotation = (
  db: QueryCreator<Database>,
  hash: string,
  clientId: string,
  now: number,
  successor: string,
) =>
  db
    .updateTable('refresh_tokens')
    .set({ rotated_at: now, successor })
    .where('hash', '=', hash)
    .where('client_id', '=', clientId)
    .where('rotated_at', 'is', null)
    .where('revoked_at', 'is', null)
    .where('expires_at', '>', now)
    .where('family_expires_at', '>', now)
    .returningAll();

/** The hot statements of a refresh (#16), compiled once. */
const ROTATE = precompiled(4, rotation);
/** PostgreSQL: the rotation and the token's user in one statement (a data-modifying CTE). */
const ROTATE_WITH_USER = precompiled(
  4,
  (db, hash: string, clientId: string, now: number, successor: string) =>
    db
      .with('r', (qc) => rotation(qc, hash, clientId, now, successor))
      .selectFrom('r')
      .leftJoin('users as u', 'u.id', 'r.user_id')
      .selectAll('r')
      .select(JOINED_USER.select()),
);
const refreshTokenRow = (v: unknown[]) =>
  ({
    hash: v[0],
    family_id: v[1],
    grant_id: v[2],
    client_id: v[3],
    user_id: v[4],
    payload: v[5],
    created_at: v[6],
    expires_at: v[7],
    family_expires_at: v[8],
    rotated_at: v[9],
    revoked_at: v[10],
    successor: v[11],
    access_jti: v[12],
    access_expires_at: v[13],
  }) as never;
const grantTokenRow = (v: unknown[]) =>
  ({
    grant_id: v[0],
    jti: v[1],
    expires_at: v[2],
    user_id: v[3],
    client_id: v[4],
    audience: v[5],
  }) as never;
const insertRefreshToken = (db: Kysely<Database>, ...v: unknown[]) =>
  db.insertInto('refresh_tokens').values(refreshTokenRow(v));
const INSERT = precompiled(14, insertRefreshToken);
// their results are not read: in a transaction on PostgreSQL they go with the next statement or
// the COMMIT (postgres-pipeline.ts)
const ADD_GRANT_TOKEN = precompiled(
  6,
  (db, ...v: unknown[]) => db.insertInto('grant_tokens').values(grantTokenRow(v)),
  { unread: true },
);
/** A refresh token with the access token issued beside it, on its row (#16). */
const ADD_WITH_ACCESS_TOKEN = precompiled(14, insertRefreshToken, { unread: true });

/** A refresh token's values in INSERT's order; `access`: the access token issued with it. */
const refreshTokenValues = (t: RefreshTokenRecord, access?: { jti: string; expiresAt: number }) => [
  t.hash,
  t.familyId,
  t.grantId,
  t.clientId,
  t.userId,
  JSON.stringify(t.payload),
  t.createdAt,
  t.expiresAt,
  t.familyExpiresAt,
  t.rotatedAt,
  t.revokedAt,
  t.successor ?? null,
  access?.jti ?? null,
  access?.expiresAt ?? null,
];

/** An access token's grant row in INSERT's order. */
const grantTokenValues = (grantId: string, jti: string, expiresAt: number, owner?: GrantTokenOwner) => [
  grantId,
  jti,
  expiresAt,
  owner?.userId ?? null,
  owner?.clientId ?? null,
  owner?.audience ?? null,
];

/** Refresh tokens by hash; rotation is one conditional UPDATE, so exactly one caller wins it. */
export function refreshTokenRepository(
  db: Kysely<Database>,
  dialect: 'sqlite' | 'postgres',
): RefreshTokenRepository {
  const live = (now: number) =>
    db
      .selectFrom('refresh_tokens')
      .selectAll()
      .where('rotated_at', 'is', null)
      .where('revoked_at', 'is', null)
      .where('expires_at', '>', now)
      .where('family_expires_at', '>', now);
  return {
    async create(t) {
      await INSERT(db, ...refreshTokenValues(t));
    },
    async get(hash) {
      const row = await db
        .selectFrom('refresh_tokens')
        .selectAll()
        .where('hash', '=', hash)
        .executeTakeFirst();
      return row ? toToken(row) : null;
    },
    async rotate(hash, { clientId, now, successor }) {
      const { rows } = await ROTATE(db, hash, clientId, now, successor);
      return rows[0] ? toToken(rows[0] as Row) : null;
    },
    async rotateWithUser(hash, r) {
      if (dialect === 'sqlite') {
        const token = await this.rotate(hash, r);
        return token && { token, user: await userById(db, token.userId) };
      }
      const [row] = (await ROTATE_WITH_USER(db, hash, r.clientId, r.now, r.successor)).rows;
      return row ? { token: toToken(row as Row), user: JOINED_USER.read(row) } : null;
    },
    async hold(hash) {
      // A write that changes nothing: it takes the row lock (PostgreSQL) or the write lock (SQLite).
      const res = await db
        .updateTable('refresh_tokens')
        .set({ revoked_at: null })
        .where('hash', '=', hash)
        .where('revoked_at', 'is', null)
        .executeTakeFirst();
      return Number(res.numUpdatedRows) === 1;
    },
    async revokeFamily(familyId, now) {
      await db
        .updateTable('refresh_tokens')
        .set({ revoked_at: now })
        .where('family_id', '=', familyId)
        .where('revoked_at', 'is', null)
        .execute();
    },
    async revokeGrant(grantId, now) {
      await db
        .updateTable('refresh_tokens')
        .set({ revoked_at: now })
        .where('grant_id', '=', grantId)
        .where('revoked_at', 'is', null)
        .execute();
    },
    async listLive(filter, now, slice) {
      let q = live(now).where('user_id', '=', filter.userId);
      if (filter.clientId !== undefined) q = q.where('client_id', '=', filter.clientId);
      const rows = await keyset(q, REFRESH_TOKEN_ORDER.columns, slice).execute();
      return rows.map(toToken);
    },
    async liveOfFamily(familyId, now) {
      const row = await live(now).where('family_id', '=', familyId).executeTakeFirst();
      return row ? toToken(row) : null;
    },
    async revokeWhere(filter, now) {
      let q = db.updateTable('refresh_tokens').set({ revoked_at: now }).where('revoked_at', 'is', null);
      q =
        'userId' in filter
          ? q.where('user_id', '=', filter.userId)
          : q.where('client_id', '=', filter.clientId);
      await q.execute();
    },
  };
}

/** An access token on record: its jti and expiry. */
type Recorded = { jti: string; expiresAt: number };
const recorded = (rows: { jti: string | null; expires_at: number | null }[]): Recorded[] =>
  rows.map((r) => ({ jti: r.jti as string, expiresAt: Number(r.expires_at) }));

/**
 * Access-token jtis per grant: a row of `grant_tokens` for an access token issued alone, the
 * row of the refresh token issued beside it otherwise (#16: one row written, not two).
 */
export function grantTokenRepository(db: Kysely<Database>): GrantTokenRepository {
  const besideRefresh = () =>
    db
      .selectFrom('refresh_tokens')
      .select(['access_jti as jti', 'access_expires_at as expires_at'])
      .where('access_jti', 'is not', null);
  return {
    async add(grantId, jti, expiresAt, owner) {
      await ADD_GRANT_TOKEN(db, ...grantTokenValues(grantId, jti, expiresAt, owner));
    },
    async addWithRefreshToken(jti, expiresAt, refreshToken) {
      await ADD_WITH_ACCESS_TOKEN(db, ...refreshTokenValues(refreshToken, { jti, expiresAt }));
    },
    async listWhere(filter, now) {
      let alone = db.selectFrom('grant_tokens').select(['jti', 'expires_at']).where('expires_at', '>', now);
      let beside = besideRefresh().select('payload').where('access_expires_at', '>', now);
      if ('userId' in filter) {
        alone = alone.where('user_id', '=', filter.userId);
        beside = beside.where('user_id', '=', filter.userId);
        if (filter.audience !== undefined) alone = alone.where('audience', '=', filter.audience);
      }
      if (filter.clientId !== undefined) {
        alone = alone.where('client_id', '=', filter.clientId);
        beside = beside.where('client_id', '=', filter.clientId);
      }
      const audience = 'userId' in filter ? filter.audience : undefined;
      // a refresh token's audience is in its grant (the payload), '' for a sign-in without an API
      const rows = (await beside.execute()).filter(
        (r) => audience === undefined || (JSON.parse(r.payload).audience ?? '') === audience,
      );
      return [...recorded(await alone.execute()), ...recorded(rows)];
    },
    async list(grantId) {
      const alone = db
        .selectFrom('grant_tokens')
        .select(['jti', 'expires_at'])
        .where('grant_id', '=', grantId);
      const beside = besideRefresh().where('grant_id', '=', grantId);
      return [...recorded(await alone.execute()), ...recorded(await beside.execute())];
    },
  };
}
