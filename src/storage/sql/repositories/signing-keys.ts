import type { Kysely, Selectable } from 'kysely';
import type { SigningAlg } from '../../../config/schema.js';
import type { SigningKeyRecord, SigningKeyRepository } from '../../types.js';
import type { Database } from '../schema.js';

type Row = Selectable<Database['signing_keys']>;

const num = (v: number | null) => (v === null ? null : Number(v));

function toKey(row: Row): SigningKeyRecord {
  return {
    kid: row.kid,
    alg: row.alg as SigningAlg,
    publicJwk: JSON.parse(row.public_jwk),
    privateKeyEncrypted: row.private_key,
    createdAt: Number(row.created_at),
    activatesAt: Number(row.activates_at),
    retiresAt: num(row.retires_at),
    publishedUntil: num(row.published_until),
    revokedAt: num(row.revoked_at),
  };
}

/** Signing keys in SQL, shared by every instance. */
export function signingKeyRepository(db: Kysely<Database>): SigningKeyRepository {
  return {
    async insert(key) {
      await db
        .insertInto('signing_keys')
        .values({
          kid: key.kid,
          alg: key.alg,
          public_jwk: JSON.stringify(key.publicJwk),
          private_key: key.privateKeyEncrypted,
          created_at: key.createdAt,
          activates_at: key.activatesAt,
          retires_at: key.retiresAt,
          published_until: key.publishedUntil,
          revoked_at: key.revokedAt,
        })
        .execute();
    },
    async listPublished(now) {
      const rows = await db
        .selectFrom('signing_keys')
        .selectAll()
        .where((eb) => eb.or([eb('published_until', 'is', null), eb('published_until', '>', now)]))
        .where('revoked_at', 'is', null)
        .orderBy('activates_at')
        .orderBy('kid')
        .execute();
      return rows.map(toKey);
    },
    async listAll() {
      const rows = await db
        .selectFrom('signing_keys')
        .selectAll()
        .orderBy('activates_at', 'desc')
        .orderBy('kid')
        .execute();
      return rows.map(toKey);
    },
    async get(kid) {
      const row = await db.selectFrom('signing_keys').selectAll().where('kid', '=', kid).executeTakeFirst();
      return row ? toKey(row) : null;
    },
    async revoke(kid, now) {
      const res = await db
        .updateTable('signing_keys')
        .set({ revoked_at: now })
        .where('kid', '=', kid)
        .where('revoked_at', 'is', null)
        .executeTakeFirst();
      return Number(res.numUpdatedRows) > 0;
    },
    async retire(kid, retiresAt, publishedUntil) {
      await db
        .updateTable('signing_keys')
        .set({ retires_at: retiresAt, published_until: publishedUntil })
        .where('kid', '=', kid)
        .execute();
    },
  };
}
