import { beforeAll, describe, expect, it } from 'vitest';
import type { RefreshTokenRecord, Storage } from '../../src/storage/types.js';
import { randomToken } from '../../src/util/crypto.js';
import { describeEachBackend } from '../support/databases.js';
import { refreshToken, T0, unique } from '../support/records.js';
import { byJti, contractStorage } from './contract-records.js';

describeEachBackend('storage contract: refresh and grant tokens', (backend) => {
  const env = contractStorage(backend);
  let storage: Storage;

  beforeAll(() => {
    ({ storage } = env);
  });

  describe('refreshTokens', () => {
    it('listLive lists the live member of each family of a user, newest sign-in (family) first, in slices', async () => {
      const userId = unique('user');
      const c1 = unique('client');
      const c2 = unique('client');
      const now = T0 + 100;
      const family1 = unique('family');
      // A family's expiry is its sign-in plus a fixed lifetime: the order of sign-ins, which a
      // rotation (a newer row in an older family, live1 here) leaves alone.
      const f1 = { familyId: family1, familyExpiresAt: T0 + 86_400 };
      const rotated = refreshToken({ userId, clientId: c1, ...f1, rotatedAt: T0 + 10 });
      const live1 = refreshToken({ userId, clientId: c1, ...f1, createdAt: T0 + 90 });
      const live2 = refreshToken({ userId, clientId: c2, createdAt: T0 + 20, familyExpiresAt: T0 + 86_420 });
      const revoked = refreshToken({ userId, clientId: c1, createdAt: T0 + 30, revokedAt: T0 + 31 });
      // Expiry is exclusive: at that second the token is gone.
      const idle = refreshToken({ userId, clientId: c1, createdAt: T0 + 40, expiresAt: now });
      const old = refreshToken({ userId, clientId: c1, createdAt: T0 + 50, familyExpiresAt: now });
      const live3 = refreshToken({
        userId,
        clientId: c1,
        createdAt: T0 + 60,
        expiresAt: T0 + 200,
        familyExpiresAt: T0 + 86_460,
      });
      const otherUser = refreshToken({ clientId: c1, createdAt: T0 + 70 });
      for (const x of [rotated, live1, live2, revoked, idle, old, live3, otherUser])
        await storage.refreshTokens.create(x);

      expect(await storage.refreshTokens.listLive({ userId }, now)).toEqual([live3, live2, live1]);
      expect(await storage.refreshTokens.listLive({ userId, clientId: c1 }, now)).toEqual([live3, live1]);
      expect(await storage.refreshTokens.listLive({ userId, clientId: c2 }, now)).toEqual([live2]);
      expect(await storage.refreshTokens.listLive({ userId }, now, { offset: 1, limit: 1 })).toEqual([live2]);
      expect(await storage.refreshTokens.listLive({ userId }, now, { offset: 0, limit: 2 })).toEqual([
        live3,
        live2,
      ]);
      expect(await storage.refreshTokens.listLive({ userId }, now, { offset: 3, limit: 2 })).toEqual([]);
      expect(await storage.refreshTokens.listLive({ userId }, T0 + 200)).toEqual([live2, live1]);
      expect(await storage.refreshTokens.listLive({ userId: unique('nobody') }, now)).toEqual([]);
    });

    it('liveOfFamily returns the live member, or null when the family has none', async () => {
      const now = T0 + 100;
      const familyId = unique('family');
      const first = refreshToken({ familyId, rotatedAt: T0 + 5 });
      const second = refreshToken({ familyId, createdAt: T0 + 5 });
      await storage.refreshTokens.create(first);
      await storage.refreshTokens.create(second);
      expect(await storage.refreshTokens.liveOfFamily(familyId, now)).toEqual(second);
      expect(await storage.refreshTokens.liveOfFamily(familyId, second.expiresAt)).toBeNull();

      const revoked = refreshToken({ revokedAt: T0 + 1 });
      const expired = refreshToken({ familyExpiresAt: now });
      const rotatedOnly = refreshToken({ rotatedAt: T0 + 1 });
      for (const x of [revoked, expired, rotatedOnly]) await storage.refreshTokens.create(x);
      expect(await storage.refreshTokens.liveOfFamily(revoked.familyId, now)).toBeNull();
      expect(await storage.refreshTokens.liveOfFamily(expired.familyId, now)).toBeNull();
      expect(await storage.refreshTokens.liveOfFamily(rotatedOnly.familyId, now)).toBeNull();
      expect(await storage.refreshTokens.liveOfFamily(unique('family'), now)).toBeNull();

      await storage.refreshTokens.revokeFamily(familyId, T0 + 7);
      expect(await storage.refreshTokens.liveOfFamily(familyId, now)).toBeNull();
    });

    it('rotate marks a live token rotated with its sealed successor, for exactly one caller', async () => {
      const now = T0 + 100;
      const live = refreshToken({ createdAt: T0 + 1 });
      const revoked = refreshToken({ revokedAt: T0 + 1 });
      const rotatedBefore = refreshToken({ rotatedAt: T0 + 2 });
      const idle = refreshToken({ expiresAt: now });
      const old = refreshToken({ familyExpiresAt: now });
      for (const x of [live, revoked, rotatedBefore, idle, old]) await storage.refreshTokens.create(x);
      const rotation = { clientId: live.clientId, now, successor: 'sealed-successor' };

      expect(
        await storage.refreshTokens.rotate(live.hash, { ...rotation, clientId: unique('client') }),
      ).toBeNull();
      expect(await storage.refreshTokens.get(live.hash)).toEqual(live);
      const [a, b] = await Promise.all([
        storage.refreshTokens.rotate(live.hash, rotation),
        storage.refreshTokens.rotate(live.hash, rotation),
      ]);
      const rotated = { ...live, rotatedAt: now, successor: 'sealed-successor' };
      expect([a, b].filter((x) => x !== null)).toEqual([rotated]);
      expect(await storage.refreshTokens.get(live.hash)).toEqual(rotated);
      for (const x of [revoked, rotatedBefore, idle, old]) {
        expect(await storage.refreshTokens.rotate(x.hash, { ...rotation, clientId: x.clientId })).toBeNull();
        expect(await storage.refreshTokens.get(x.hash)).toEqual(x);
      }
      expect(await storage.refreshTokens.rotate(unique('hash'), rotation)).toBeNull();
    });

    it('revokeWhere revokes every token of a user or of an application, keeping earlier revocation times', async () => {
      const u1 = unique('user');
      const u2 = unique('user');
      const c1 = unique('client');
      const c2 = unique('client');
      const u1c1 = refreshToken({ userId: u1, clientId: c1 });
      const u1c1Rotated = refreshToken({
        userId: u1,
        clientId: c1,
        familyId: u1c1.familyId,
        rotatedAt: T0 + 1,
      });
      const u1c2 = refreshToken({ userId: u1, clientId: c2 });
      const u2c1 = refreshToken({ userId: u2, clientId: c1 });
      const u2c1Revoked = refreshToken({ userId: u2, clientId: c1, revokedAt: T0 + 1 });
      const u2c2 = refreshToken({ userId: u2, clientId: c2 });
      for (const x of [u1c1, u1c1Rotated, u1c2, u2c1, u2c1Revoked, u2c2])
        await storage.refreshTokens.create(x);
      const get = async (t: RefreshTokenRecord) => storage.refreshTokens.get(t.hash);

      await storage.refreshTokens.revokeWhere({ clientId: c1 }, T0 + 50);
      expect(await get(u1c1)).toEqual({ ...u1c1, revokedAt: T0 + 50 });
      expect(await get(u1c1Rotated)).toEqual({ ...u1c1Rotated, revokedAt: T0 + 50 });
      expect(await get(u2c1)).toEqual({ ...u2c1, revokedAt: T0 + 50 });
      expect(await get(u2c1Revoked)).toEqual(u2c1Revoked);
      expect(await get(u1c2)).toEqual(u1c2);
      expect(await get(u2c2)).toEqual(u2c2);

      await storage.refreshTokens.revokeWhere({ userId: u1 }, T0 + 60);
      expect(await get(u1c2)).toEqual({ ...u1c2, revokedAt: T0 + 60 });
      expect(await get(u1c1)).toEqual({ ...u1c1, revokedAt: T0 + 50 });
      expect(await get(u2c2)).toEqual(u2c2);
      expect(await storage.refreshTokens.listLive({ userId: u1 }, T0 + 61)).toEqual([]);
      expect(await storage.refreshTokens.listLive({ userId: u2 }, T0 + 61)).toEqual([u2c2]);
    });
  });

  describe('grantTokens', () => {
    it('add with an owner; listWhere lists the unexpired tokens of a user, an application or one consent', async () => {
      const u = unique('user');
      const other = unique('user');
      const c1 = unique('client');
      const c2 = unique('client');
      const aud = `https://api.example/${randomToken(6)}`;
      const now = T0 + 50;
      const g1 = unique('grant');
      const jti = () => unique('jti');
      const signIn = { jti: jti(), expiresAt: T0 + 100 };
      const apiToken = { jti: jti(), expiresAt: T0 + 101 };
      const otherClient = { jti: jti(), expiresAt: T0 + 102 };
      const expired = { jti: jti(), expiresAt: now };
      const otherUser = { jti: jti(), expiresAt: T0 + 103 };
      const ownerless = { jti: jti(), expiresAt: T0 + 104 };
      await storage.grantTokens.add(g1, signIn.jti, signIn.expiresAt, {
        userId: u,
        clientId: c1,
        audience: '',
      });
      await storage.grantTokens.add(g1, apiToken.jti, apiToken.expiresAt, {
        userId: u,
        clientId: c1,
        audience: aud,
      });
      await storage.grantTokens.add(unique('grant'), otherClient.jti, otherClient.expiresAt, {
        userId: u,
        clientId: c2,
        audience: aud,
      });
      await storage.grantTokens.add(unique('grant'), expired.jti, expired.expiresAt, {
        userId: u,
        clientId: c1,
        audience: aud,
      });
      await storage.grantTokens.add(unique('grant'), otherUser.jti, otherUser.expiresAt, {
        userId: other,
        clientId: c1,
        audience: '',
      });
      const g6 = unique('grant');
      await storage.grantTokens.add(g6, ownerless.jti, ownerless.expiresAt);

      const where = async (filter: Parameters<Storage['grantTokens']['listWhere']>[0]) =>
        byJti(await storage.grantTokens.listWhere(filter, now));
      expect(await where({ userId: u })).toEqual(byJti([signIn, apiToken, otherClient]));
      expect(await where({ userId: u, clientId: c1 })).toEqual(byJti([signIn, apiToken]));
      expect(await where({ userId: u, clientId: c1, audience: aud })).toEqual([apiToken]);
      expect(await where({ userId: u, clientId: c1, audience: '' })).toEqual([signIn]);
      expect(await where({ userId: u, audience: aud })).toEqual(byJti([apiToken, otherClient]));
      expect(await where({ clientId: c1 })).toEqual(byJti([signIn, apiToken, otherUser]));
      expect(await where({ clientId: c2 })).toEqual([otherClient]);
      expect(await where({ userId: unique('nobody') })).toEqual([]);
      expect(byJti(await storage.grantTokens.listWhere({ userId: u }, now - 1))).toEqual(
        byJti([signIn, apiToken, otherClient, expired]),
      );

      // list by grant still sees every token, with or without an owner.
      expect(byJti(await storage.grantTokens.list(g1))).toEqual(byJti([signIn, apiToken]));
      expect(await storage.grantTokens.list(g6)).toEqual([ownerless]);
    });
  });
});
