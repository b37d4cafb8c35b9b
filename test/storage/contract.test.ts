import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { migrations } from '../../src/storage/sql/migrations/index.js';
import type {
  Api,
  Application,
  AuthorizationCodeRecord,
  SigningKeyRecord,
  Storage,
} from '../../src/storage/types.js';
import { randomToken, sha256 } from '../../src/util/crypto.js';
import { TestClock } from '../support/app.js';
import { createTestDatabase, describeEachBackend, type TestDatabase } from '../support/databases.js';

const T0 = 1_700_000_000;

const unique = (prefix: string) => `${prefix}-${randomToken(9)}`;

function application(overrides: Partial<Application> = {}): Application {
  return {
    clientId: unique('client'),
    name: 'Contract App',
    type: 'web',
    secretHash: sha256('s3cret'),
    callbacks: ['https://app.example/cb', 'http://127.0.0.1:8080/cb'],
    logoutCallbacks: ['https://app.example/bye'],
    grantTypes: ['authorization_code', 'refresh_token'],
    settings: { skipConsent: true, idTokenSigningAlg: 'ES256' },
    createdAt: T0,
    updatedAt: T0,
    ...overrides,
  };
}

function api(overrides: Partial<Api> = {}): Api {
  return {
    id: unique('api'),
    identifier: `https://api.example/${randomToken(9)}`,
    name: 'Contract API',
    scopes: [
      { name: 'read:things', description: 'Read things' },
      { name: 'write:things', description: 'Write things' },
    ],
    tokenLifetime: 3600,
    signingAlg: 'ES256',
    allowOfflineAccess: true,
    createdAt: T0,
    ...overrides,
  };
}

function signingKey(overrides: Partial<SigningKeyRecord> = {}): SigningKeyRecord {
  const kid = unique('kid');
  return {
    kid,
    alg: 'ES256',
    publicJwk: { kty: 'EC', crv: 'P-256', x: 'x-coord', y: 'y-coord', kid, alg: 'ES256', use: 'sig' },
    privateKeyEncrypted: 'v1.iv.tag.ct',
    createdAt: T0,
    activatesAt: T0,
    retiresAt: null,
    publishedUntil: null,
    ...overrides,
  };
}

function code(overrides: Partial<AuthorizationCodeRecord> = {}): AuthorizationCodeRecord {
  return {
    hash: sha256(randomToken()),
    clientId: unique('client'),
    grantId: unique('grant'),
    expiresAt: T0 + 60,
    payload: {
      redirectUri: 'https://app.example/cb',
      codeChallenge: 'abc',
      scopes: ['openid', 'profile'],
      authTime: T0 - 5,
    },
    consumedAt: null,
    ...overrides,
  };
}

describeEachBackend('storage contract', (backend) => {
  const clock = new TestClock(T0);
  let db: TestDatabase;
  let storage: Storage;
  let firstMigrate: string[];
  let secondMigrate: string[];

  beforeAll(async () => {
    db = await createTestDatabase(backend);
    storage = db.open(clock);
    firstMigrate = await storage.migrate();
    secondMigrate = await storage.migrate();
  });

  afterAll(async () => {
    await storage?.close();
    await db?.drop();
  });

  describe('lifecycle', () => {
    it('reports its dialect', () => {
      expect(storage.dialect).toBe(backend);
    });

    it('migrate() applies every migration once; a second run applies nothing', () => {
      expect(firstMigrate).toEqual(migrations.map((m) => m.name));
      expect(firstMigrate[0]).toBe('001-initial');
      expect(secondMigrate).toEqual([]);
    });

    it('ping() resolves', async () => {
      await expect(storage.ping()).resolves.toBeUndefined();
    });
  });

  describe('applications', () => {
    it('creates and gets an application with every field intact', async () => {
      const app = application({ type: 'spa', secretHash: null, settings: {} });
      await storage.applications.create(app);
      expect(await storage.applications.get(app.clientId)).toEqual(app);
    });

    it('gets null for an unknown client id', async () => {
      expect(await storage.applications.get(unique('nobody'))).toBeNull();
    });

    it('rejects a second application with the same client id', async () => {
      const app = application();
      await storage.applications.create(app);
      await expect(storage.applications.create({ ...app, name: 'Other' })).rejects.toThrow();
      expect((await storage.applications.get(app.clientId))?.name).toBe('Contract App');
    });

    it('lists by creation time, then client id', async () => {
      const before = new Set((await storage.applications.list()).map((a) => a.clientId));
      const b = application({ clientId: `zz-${randomToken(6)}`, createdAt: T0 + 200 });
      const c = application({ clientId: `mm-${randomToken(6)}`, createdAt: T0 + 100 });
      const a = application({ clientId: `aa-${randomToken(6)}`, createdAt: T0 + 200 });
      for (const x of [b, c, a]) await storage.applications.create(x);
      const listed = (await storage.applications.list()).filter((x) => !before.has(x.clientId));
      expect(listed.map((x) => x.clientId)).toEqual([c.clientId, a.clientId, b.clientId]);
      expect(listed[0]).toEqual(c);
    });

    it('setSecretHash replaces the hash and updatedAt; false for an unknown client', async () => {
      const app = application();
      await storage.applications.create(app);
      expect(await storage.applications.setSecretHash(app.clientId, sha256('rotated'), T0 + 30)).toBe(true);
      const got = await storage.applications.get(app.clientId);
      expect(got?.secretHash).toBe(sha256('rotated'));
      expect(got?.updatedAt).toBe(T0 + 30);
      expect(got?.createdAt).toBe(T0);
      expect(await storage.applications.setSecretHash(unique('nobody'), sha256('x'), T0)).toBe(false);
    });

    it('delete removes the application and its client grants', async () => {
      const app = application({ type: 'm2m' });
      const a1 = api();
      const a2 = api();
      await storage.applications.create(app);
      await storage.apis.create(a1);
      await storage.apis.create(a2);
      await storage.clientGrants.upsert({
        clientId: app.clientId,
        apiId: a1.id,
        scopes: ['r'],
        createdAt: T0,
      });
      await storage.clientGrants.upsert({
        clientId: app.clientId,
        apiId: a2.id,
        scopes: ['w'],
        createdAt: T0,
      });
      expect(await storage.clientGrants.listForClient(app.clientId)).toHaveLength(2);

      expect(await storage.applications.delete(app.clientId)).toBe(true);
      expect(await storage.applications.get(app.clientId)).toBeNull();
      expect(await storage.clientGrants.listForClient(app.clientId)).toEqual([]);
      expect(await storage.clientGrants.get(app.clientId, a1.id)).toBeNull();
      // The APIs themselves stay.
      expect(await storage.apis.get(a1.id)).toEqual(a1);
      expect(await storage.applications.delete(app.clientId)).toBe(false);
    });
  });

  describe('apis', () => {
    it('creates, gets by id and by identifier', async () => {
      const a = api({ signingAlg: 'PS256', allowOfflineAccess: false, tokenLifetime: 120 });
      await storage.apis.create(a);
      expect(await storage.apis.get(a.id)).toEqual(a);
      expect(await storage.apis.getByIdentifier(a.identifier)).toEqual(a);
      expect(await storage.apis.get(unique('none'))).toBeNull();
      expect(await storage.apis.getByIdentifier('https://api.example/unknown')).toBeNull();
    });

    it('keeps allowOfflineAccess true and the scope list in order', async () => {
      const a = api({
        allowOfflineAccess: true,
        scopes: [
          { name: 'z', description: 'Z' },
          { name: 'a', description: '' },
        ],
      });
      await storage.apis.create(a);
      const got = await storage.apis.get(a.id);
      expect(got?.allowOfflineAccess).toBe(true);
      expect(got?.scopes).toEqual([
        { name: 'z', description: 'Z' },
        { name: 'a', description: '' },
      ]);
    });

    it('rejects a second API with the same identifier', async () => {
      const first = api();
      await storage.apis.create(first);
      await expect(storage.apis.create(api({ identifier: first.identifier, name: 'Dup' }))).rejects.toThrow();
      const byIdentifier = await storage.apis.getByIdentifier(first.identifier);
      expect(byIdentifier).toEqual(first);
    });

    it('lists by creation time, then id', async () => {
      const before = new Set((await storage.apis.list()).map((a) => a.id));
      const late = api({ id: `aa-${randomToken(6)}`, createdAt: T0 + 50 });
      const early = api({ id: `zz-${randomToken(6)}`, createdAt: T0 + 10 });
      await storage.apis.create(late);
      await storage.apis.create(early);
      const listed = (await storage.apis.list()).filter((a) => !before.has(a.id));
      expect(listed.map((a) => a.id)).toEqual([early.id, late.id]);
    });

    it('delete removes the API and the client grants for it, and only those', async () => {
      const gone = api();
      const kept = api();
      const app = application({ type: 'm2m' });
      await storage.apis.create(gone);
      await storage.apis.create(kept);
      await storage.applications.create(app);
      await storage.clientGrants.upsert({
        clientId: app.clientId,
        apiId: gone.id,
        scopes: ['a'],
        createdAt: T0,
      });
      await storage.clientGrants.upsert({
        clientId: app.clientId,
        apiId: kept.id,
        scopes: ['b'],
        createdAt: T0,
      });

      expect(await storage.apis.delete(gone.id)).toBe(true);
      expect(await storage.apis.get(gone.id)).toBeNull();
      expect(await storage.apis.getByIdentifier(gone.identifier)).toBeNull();
      expect(await storage.clientGrants.get(app.clientId, gone.id)).toBeNull();
      expect(await storage.clientGrants.listForClient(app.clientId)).toEqual([
        { clientId: app.clientId, apiId: kept.id, scopes: ['b'], createdAt: T0 },
      ]);
      expect(await storage.applications.get(app.clientId)).toEqual(app);
      expect(await storage.apis.delete(gone.id)).toBe(false);
    });

    it('frees the identifier of a deleted API for reuse', async () => {
      const a = api();
      await storage.apis.create(a);
      await storage.apis.delete(a.id);
      const again = api({ identifier: a.identifier });
      await storage.apis.create(again);
      expect(await storage.apis.getByIdentifier(a.identifier)).toEqual(again);
    });
  });

  describe('clientGrants', () => {
    it('upsert creates, then replaces the scopes and keeps createdAt', async () => {
      const app = application({ type: 'm2m' });
      const a = api();
      await storage.applications.create(app);
      await storage.apis.create(a);
      await storage.clientGrants.upsert({
        clientId: app.clientId,
        apiId: a.id,
        scopes: ['read:things'],
        createdAt: T0 + 1,
      });
      expect(await storage.clientGrants.get(app.clientId, a.id)).toEqual({
        clientId: app.clientId,
        apiId: a.id,
        scopes: ['read:things'],
        createdAt: T0 + 1,
      });
      await storage.clientGrants.upsert({
        clientId: app.clientId,
        apiId: a.id,
        scopes: ['write:things', 'read:things'],
        createdAt: T0 + 99,
      });
      expect(await storage.clientGrants.get(app.clientId, a.id)).toEqual({
        clientId: app.clientId,
        apiId: a.id,
        scopes: ['write:things', 'read:things'],
        createdAt: T0 + 1,
      });
      expect(await storage.clientGrants.listForClient(app.clientId)).toHaveLength(1);
    });

    it('upsert to empty scopes keeps an empty list', async () => {
      const app = application({ type: 'm2m' });
      const a = api();
      await storage.applications.create(app);
      await storage.apis.create(a);
      await storage.clientGrants.upsert({
        clientId: app.clientId,
        apiId: a.id,
        scopes: ['x'],
        createdAt: T0,
      });
      await storage.clientGrants.upsert({ clientId: app.clientId, apiId: a.id, scopes: [], createdAt: T0 });
      expect((await storage.clientGrants.get(app.clientId, a.id))?.scopes).toEqual([]);
    });

    it('get returns null for a pair without a grant', async () => {
      const app = application({ type: 'm2m' });
      const a = api();
      await storage.applications.create(app);
      await storage.apis.create(a);
      expect(await storage.clientGrants.get(app.clientId, a.id)).toBeNull();
    });

    it('listForClient lists only that client, by creation time then api id', async () => {
      const app = application({ type: 'm2m' });
      const other = application({ type: 'm2m' });
      const apis = [api({ id: `b-${randomToken(6)}` }), api({ id: `a-${randomToken(6)}` }), api()];
      await storage.applications.create(app);
      await storage.applications.create(other);
      for (const a of apis) await storage.apis.create(a);
      const [b, a, c] = apis as [Api, Api, Api];
      await storage.clientGrants.upsert({
        clientId: app.clientId,
        apiId: b.id,
        scopes: ['1'],
        createdAt: T0 + 5,
      });
      await storage.clientGrants.upsert({
        clientId: app.clientId,
        apiId: a.id,
        scopes: ['2'],
        createdAt: T0 + 5,
      });
      await storage.clientGrants.upsert({
        clientId: app.clientId,
        apiId: c.id,
        scopes: ['3'],
        createdAt: T0 + 1,
      });
      await storage.clientGrants.upsert({
        clientId: other.clientId,
        apiId: a.id,
        scopes: ['4'],
        createdAt: T0,
      });
      const listed = await storage.clientGrants.listForClient(app.clientId);
      expect(listed.map((g) => [g.apiId, g.scopes])).toEqual([
        [c.id, ['3']],
        [a.id, ['2']],
        [b.id, ['1']],
      ]);
      expect(await storage.clientGrants.listForClient(unique('nobody'))).toEqual([]);
    });

    it('delete removes one grant; false when there is none', async () => {
      const app = application({ type: 'm2m' });
      const a = api();
      const b = api();
      await storage.applications.create(app);
      await storage.apis.create(a);
      await storage.apis.create(b);
      await storage.clientGrants.upsert({
        clientId: app.clientId,
        apiId: a.id,
        scopes: ['x'],
        createdAt: T0,
      });
      await storage.clientGrants.upsert({
        clientId: app.clientId,
        apiId: b.id,
        scopes: ['y'],
        createdAt: T0,
      });
      expect(await storage.clientGrants.delete(app.clientId, a.id)).toBe(true);
      expect(await storage.clientGrants.get(app.clientId, a.id)).toBeNull();
      expect((await storage.clientGrants.get(app.clientId, b.id))?.scopes).toEqual(['y']);
      expect(await storage.clientGrants.delete(app.clientId, a.id)).toBe(false);
    });

    it('refuses a grant for an unknown application or API', async () => {
      const app = application({ type: 'm2m' });
      const a = api();
      await storage.applications.create(app);
      await storage.apis.create(a);
      await expect(
        storage.clientGrants.upsert({ clientId: unique('nobody'), apiId: a.id, scopes: [], createdAt: T0 }),
      ).rejects.toThrow();
      await expect(
        storage.clientGrants.upsert({
          clientId: app.clientId,
          apiId: unique('none'),
          scopes: [],
          createdAt: T0,
        }),
      ).rejects.toThrow();
    });
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

    it('wasReplayed is false after the one consume, true once the code is presented again', async () => {
      const c = code();
      await storage.authorizationCodes.create(c);
      expect(await storage.authorizationCodes.wasReplayed(c.hash)).toBe(false);
      await storage.authorizationCodes.consume(c.hash, T0 + 3);
      expect(await storage.authorizationCodes.wasReplayed(c.hash)).toBe(false);
      await storage.authorizationCodes.consume(c.hash, T0 + 4);
      expect(await storage.authorizationCodes.wasReplayed(c.hash)).toBe(true);
      expect(await storage.authorizationCodes.wasReplayed(sha256('never issued'))).toBe(false);
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

  describe('transaction', () => {
    it('commits every write of the callback and returns its value', async () => {
      const app = application({ type: 'm2m' });
      const a = api();
      const jti = unique('jti');
      const result = await storage.transaction(async (tx) => {
        await tx.applications.create(app);
        await tx.apis.create(a);
        await tx.clientGrants.upsert({ clientId: app.clientId, apiId: a.id, scopes: ['s'], createdAt: T0 });
        await tx.revocations.revoke(jti, T0 + 60);
        // Reads in the transaction see its own writes.
        return (await tx.applications.get(app.clientId))?.name;
      });
      expect(result).toBe('Contract App');
      expect(await storage.applications.get(app.clientId)).toEqual(app);
      expect(await storage.apis.get(a.id)).toEqual(a);
      expect((await storage.clientGrants.get(app.clientId, a.id))?.scopes).toEqual(['s']);
      expect(await storage.revocations.isRevoked(jti)).toBe(true);
    });

    it('rolls back every write when the callback throws, and rethrows', async () => {
      const app = application({ type: 'm2m' });
      const a = api();
      const c = code();
      const jti = unique('jti');
      const boom = new Error('boom');
      await expect(
        storage.transaction(async (tx) => {
          await tx.applications.create(app);
          await tx.apis.create(a);
          await tx.clientGrants.upsert({ clientId: app.clientId, apiId: a.id, scopes: ['s'], createdAt: T0 });
          await tx.revocations.revoke(jti, T0 + 60);
          await tx.authorizationCodes.create(c);
          throw boom;
        }),
      ).rejects.toBe(boom);
      expect(await storage.applications.get(app.clientId)).toBeNull();
      expect(await storage.apis.get(a.id)).toBeNull();
      expect(await storage.clientGrants.get(app.clientId, a.id)).toBeNull();
      expect(await storage.revocations.isRevoked(jti)).toBe(false);
      expect(await storage.authorizationCodes.consume(c.hash, T0)).toBeNull();
    });

    it('rolls back a consume and earlier writes when a later statement fails', async () => {
      const c = code();
      await storage.authorizationCodes.create(c);
      const dup = application();
      await storage.applications.create(dup);
      const jti = unique('jti');
      await expect(
        storage.transaction(async (tx) => {
          expect((await tx.authorizationCodes.consume(c.hash, T0))?.replayed).toBe(false);
          await tx.revocations.revoke(jti, T0 + 60);
          await tx.applications.create(dup); // primary key conflict
        }),
      ).rejects.toThrow();
      expect(await storage.revocations.isRevoked(jti)).toBe(false);
      expect(await storage.authorizationCodes.consume(c.hash, T0 + 1)).toEqual({
        code: { ...c, consumedAt: T0 + 1 },
        replayed: false,
      });
    });

    it('storage stays usable after a rolled back transaction', async () => {
      await expect(
        storage.transaction(async () => {
          throw new Error('nope');
        }),
      ).rejects.toThrow('nope');
      await expect(storage.ping()).resolves.toBeUndefined();
      const app = application();
      await storage.transaction((tx) => tx.applications.create(app));
      expect(await storage.applications.get(app.clientId)).toEqual(app);
    });
  });

  describe('two instances on a fresh database', () => {
    let fresh: TestDatabase;
    const handles: Storage[] = [];

    beforeAll(async () => {
      fresh = await createTestDatabase(backend);
    });

    afterAll(async () => {
      for (const h of handles) await h.close();
      await fresh?.drop();
    });

    it('a second instance finds every migration applied and sees what the first wrote', async () => {
      handles.push(fresh.open(clock), fresh.open(clock));
      const [a, b] = handles as [Storage, Storage];
      expect(await a.migrate()).toEqual(migrations.map((m) => m.name));
      expect(await b.migrate()).toEqual([]);
      const app = application();
      await a.applications.create(app);
      expect(await b.applications.get(app.clientId)).toEqual(app);
    });

    // Only PostgreSQL: two better-sqlite3 handles in ONE process cannot overlap transactions (the
    // waiting handle busy-waits synchronously and blocks the event loop the holder needs).
    it.runIf(backend === 'postgres')(
      'concurrent migrate() from two instances applies each migration once',
      async () => {
        const other = await createTestDatabase(backend);
        const a = other.open(clock);
        const b = other.open(clock);
        try {
          const results = await Promise.all([a.migrate(), b.migrate(), a.migrate()]);
          expect(results.flat().sort()).toEqual(migrations.map((m) => m.name).sort());
        } finally {
          await a.close();
          await b.close();
          await other.drop();
        }
      },
    );
  });
});
