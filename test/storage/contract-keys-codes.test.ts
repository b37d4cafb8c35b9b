import { beforeAll, describe, expect, it } from 'vitest';
import type { SigningKeyRecord, Storage } from '../../src/storage/types.js';
import { randomToken, sha256 } from '../../src/util/crypto.js';
import { describeEachBackend, type TestDatabase } from '../support/databases.js';
import { T0, unique } from '../support/records.js';
import { code, contractStorage, signingKey } from './contract-records.js';

describeEachBackend('storage contract: signing keys, revocations and authorization codes', (backend) => {
  const env = contractStorage(backend);
  const clock = env.clock;
  let db: TestDatabase;
  let storage: Storage;

  beforeAll(() => {
    ({ db, storage } = env);
  });

  describe('signingKeys', () => {
    it('inserts keys and lists those published at a time, by activation then kid', async () => {
      const base = T0 + 10_000;
      const current = signingKey({ kid: `k1-${randomToken(6)}`, activatesAt: base });
      const next = signingKey({ kid: `k2-${randomToken(6)}`, alg: 'RS256', activatesAt: base + 60 });
      const retiring = signingKey({
        kid: `k0-${randomToken(6)}`,
        activatesAt: base - 1000,
        retiresAt: base,
        publishedUntil: base + 100,
      });
      for (const k of [next, current, retiring]) await storage.signingKeys.insert(k);
      const mine = (list: SigningKeyRecord[]) =>
        list.filter((k) => [current.kid, next.kid, retiring.kid].includes(k.kid));

      expect(mine(await storage.signingKeys.listPublished(base))).toEqual([retiring, current, next]);
      expect(mine(await storage.signingKeys.listPublished(base + 99)).map((k) => k.kid)).toEqual([
        retiring.kid,
        current.kid,
        next.kid,
      ]);
      // publishedUntil is exclusive: at that second the key is gone.
      expect(mine(await storage.signingKeys.listPublished(base + 100)).map((k) => k.kid)).toEqual([
        current.kid,
        next.kid,
      ]);
    });

    it('rejects a second key with the same kid', async () => {
      const k = signingKey();
      await storage.signingKeys.insert(k);
      await expect(storage.signingKeys.insert({ ...k, alg: 'EdDSA' })).rejects.toThrow();
    });

    it('retire sets retiresAt and publishedUntil', async () => {
      const base = T0 + 20_000;
      const k = signingKey({ activatesAt: base });
      await storage.signingKeys.insert(k);
      await storage.signingKeys.retire(k.kid, base + 60, base + 600);
      const found = (await storage.signingKeys.listPublished(base + 599)).find((x) => x.kid === k.kid);
      expect(found).toEqual({ ...k, retiresAt: base + 60, publishedUntil: base + 600 });
      const after = await storage.signingKeys.listPublished(base + 600);
      expect(after.some((x) => x.kid === k.kid)).toBe(false);
      // called off: published and current again, with no end
      await storage.signingKeys.retire(k.kid, null, null);
      expect(await storage.signingKeys.get(k.kid)).toEqual({ ...k, retiresAt: null, publishedUntil: null });
      expect((await storage.signingKeys.listPublished(base + 10_000)).some((x) => x.kid === k.kid)).toBe(
        true,
      );
    });

    it('listAll lists every key, retired and revoked ones too, newest first', async () => {
      const base = T0 + 30_000;
      const old = signingKey({ activatesAt: base - 1000, retiresAt: base - 500, publishedUntil: base - 100 });
      const current = signingKey({ activatesAt: base });
      const revoked = signingKey({ alg: 'RS256', activatesAt: base + 10, revokedAt: base + 20 });
      const next = signingKey({ activatesAt: base + 60 });
      for (const k of [current, next, old, revoked]) await storage.signingKeys.insert(k);
      const kids = [old.kid, current.kid, revoked.kid, next.kid];
      const mine = (await storage.signingKeys.listAll()).filter((k) => kids.includes(k.kid));
      expect(mine).toEqual([next, revoked, current, old]);
      // listPublished leaves out the expired and the revoked.
      const published = (await storage.signingKeys.listPublished(base + 30)).filter((k) =>
        kids.includes(k.kid),
      );
      expect(published).toEqual([current, next]);
    });

    it('get returns a key with every field; null for an unknown kid', async () => {
      const k = signingKey({ alg: 'EdDSA', retiresAt: T0 + 5, publishedUntil: T0 + 50, revokedAt: T0 + 9 });
      await storage.signingKeys.insert(k);
      expect(await storage.signingKeys.get(k.kid)).toEqual(k);
      expect(await storage.signingKeys.get(unique('kid'))).toBeNull();
    });

    it('revoke takes a key out of listPublished at once, once; false for an unknown or revoked key', async () => {
      const base = T0 + 40_000;
      const k = signingKey({ activatesAt: base });
      const kept = signingKey({ activatesAt: base + 1 });
      await storage.signingKeys.insert(k);
      await storage.signingKeys.insert(kept);
      expect(await storage.signingKeys.revoke(k.kid, base + 5)).toBe(true);
      expect(await storage.signingKeys.get(k.kid)).toEqual({ ...k, revokedAt: base + 5 });
      const published = await storage.signingKeys.listPublished(base + 5);
      expect(published.some((x) => x.kid === k.kid)).toBe(false);
      expect(published.find((x) => x.kid === kept.kid)).toEqual(kept);
      expect((await storage.signingKeys.listAll()).find((x) => x.kid === k.kid)?.revokedAt).toBe(base + 5);

      expect(await storage.signingKeys.revoke(k.kid, base + 9)).toBe(false);
      expect((await storage.signingKeys.get(k.kid))?.revokedAt).toBe(base + 5);
      expect(await storage.signingKeys.revoke(unique('kid'), base)).toBe(false);
    });

    it('a retired key that is revoked leaves listPublished before its publishedUntil', async () => {
      const base = T0 + 50_000;
      const k = signingKey({ activatesAt: base });
      await storage.signingKeys.insert(k);
      await storage.signingKeys.retire(k.kid, base + 10, base + 1000);
      expect((await storage.signingKeys.listPublished(base + 20)).some((x) => x.kid === k.kid)).toBe(true);
      expect(await storage.signingKeys.revoke(k.kid, base + 20)).toBe(true);
      expect((await storage.signingKeys.listPublished(base + 20)).some((x) => x.kid === k.kid)).toBe(false);
      expect(await storage.signingKeys.get(k.kid)).toEqual({
        ...k,
        retiresAt: base + 10,
        publishedUntil: base + 1000,
        revokedAt: base + 20,
      });
    });
  });

  describe('revocations', () => {
    it('revoke is idempotent and isRevoked tells', async () => {
      const jti = unique('jti');
      expect(await storage.revocations.isRevoked(jti)).toBe(false);
      await storage.revocations.revoke(jti, T0 + 100);
      await expect(storage.revocations.revoke(jti, T0 + 100)).resolves.toBeUndefined();
      expect(await storage.revocations.isRevoked(jti)).toBe(true);
      expect(await storage.revocations.isRevoked(unique('jti'))).toBe(false);
    });

    it('purgeExpired forgets revocations whose expiry has passed and counts them', async () => {
      const far = T0 + 1_000_000;
      // Clear whatever earlier tests left that expires before `far`.
      await storage.revocations.purgeExpired(far - 1);
      const expired1 = unique('jti');
      const expired2 = unique('jti');
      const living = unique('jti');
      await storage.revocations.revoke(expired1, far);
      await storage.revocations.revoke(expired2, far + 5);
      await storage.revocations.revoke(living, far + 6);
      expect(await storage.revocations.purgeExpired(far + 5)).toBe(2);
      expect(await storage.revocations.isRevoked(expired1)).toBe(false);
      expect(await storage.revocations.isRevoked(expired2)).toBe(false);
      expect(await storage.revocations.isRevoked(living)).toBe(true);
      expect(await storage.revocations.purgeExpired(far + 5)).toBe(0);
    });
  });

  describe('authorizationCodes', () => {
    it('consume returns the code unreplayed exactly once, then replayed', async () => {
      const c = code();
      await storage.authorizationCodes.create(c);
      const first = await storage.authorizationCodes.consume(c.hash, T0 + 3);
      expect(first).toEqual({ code: { ...c, consumedAt: T0 + 3 }, replayed: false });
      const second = await storage.authorizationCodes.consume(c.hash, T0 + 9);
      expect(second).toEqual({ code: { ...c, consumedAt: T0 + 3 }, replayed: true });
      const third = await storage.authorizationCodes.consume(c.hash, T0 + 10);
      expect(third?.replayed).toBe(true);
    });

    it('consume of an unknown hash is null', async () => {
      expect(await storage.authorizationCodes.consume(sha256('never issued'), T0)).toBeNull();
    });

    it('a code stored as consumed is only ever replayed', async () => {
      const c = code({ consumedAt: T0 - 1 });
      await storage.authorizationCodes.create(c);
      expect(await storage.authorizationCodes.consume(c.hash, T0)).toEqual({ code: c, replayed: true });
    });

    it('rejects a second code with the same hash', async () => {
      const c = code();
      await storage.authorizationCodes.create(c);
      await expect(storage.authorizationCodes.create({ ...c, grantId: 'other' })).rejects.toThrow();
    });

    it('20 concurrent consume() calls of one code: exactly one wins', async () => {
      const c = code();
      await storage.authorizationCodes.create(c);
      const results = await Promise.all(
        Array.from({ length: 20 }, (_, i) => storage.authorizationCodes.consume(c.hash, T0 + i)),
      );
      const winners = results.filter((r) => r?.replayed === false);
      expect(winners).toHaveLength(1);
      expect(results.filter((r) => r?.replayed === true)).toHaveLength(19);
      const winnerAt = winners[0]!.code.consumedAt;
      // Every replay sees the consumption the winner made.
      for (const r of results) expect(r?.code.consumedAt).toBe(winnerAt);
    });

    it('two storage instances on one database racing consume: exactly one wins', async () => {
      const other = db.open(clock);
      try {
        const codes = Array.from({ length: 5 }, () => code());
        for (const c of codes) await storage.authorizationCodes.create(c);
        for (const c of codes) {
          const results = await Promise.all(
            Array.from({ length: 10 }, (_, i) =>
              (i % 2 === 0 ? storage : other).authorizationCodes.consume(c.hash, T0 + i),
            ),
          );
          expect(results.filter((r) => r?.replayed === false)).toHaveLength(1);
          expect(results.filter((r) => r?.replayed === true)).toHaveLength(9);
        }
      } finally {
        await other.close();
      }
    });
  });
});
