import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { migrations } from '../../src/storage/sql/migrations/index.js';
import type {
  Api,
  Application,
  AuthorizationCodeRecord,
  ClientGrant,
  Consent,
  RefreshTokenRecord,
  SessionRecord,
  SigningKeyRecord,
  Storage,
  User,
} from '../../src/storage/types.js';
import { randomToken, sha256 } from '../../src/util/crypto.js';
import { TestClock } from '../support/app.js';
import { createTestDatabase, describeEachBackend, type TestDatabase } from '../support/databases.js';
import { refreshToken, T0, unique } from '../support/records.js';

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
    isSystem: false,
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
    options: {},
    isSystem: false,
    createdAt: T0,
    updatedAt: T0,
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
    revokedAt: null,
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

/** Lower-case letters and digits only: safe in emails, and free of LIKE's % and _. */
const tag = () =>
  `t${randomToken(12)
    .toLowerCase()
    .replace(/[^a-z0-9]/g, '0')}`;

function user(overrides: Partial<User> = {}): User {
  return {
    id: unique('user'),
    email: `${tag()}@example.com`,
    passwordHash: '$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHQ$aGFzaGhhc2hoYXNo',
    blocked: false,
    claims: { name: 'Contract User', email_verified: true },
    appMetadata: {},
    userMetadata: {},
    createdAt: T0,
    updatedAt: T0,
    ...overrides,
  };
}

function consent(overrides: Partial<Consent> = {}): Consent {
  return {
    id: unique('cgt'),
    userId: unique('user'),
    clientId: unique('client'),
    audience: '',
    scopes: ['openid', 'profile'],
    updatedAt: T0,
    ...overrides,
  };
}

function session(overrides: Partial<SessionRecord> = {}): SessionRecord {
  return {
    idHash: sha256(randomToken()),
    sid: unique('sid'),
    userId: unique('user'),
    authTime: T0,
    createdAt: T0,
    expiresAt: T0 + 3600,
    lastSeenAt: T0,
    ...overrides,
  };
}

const byJti = (list: { jti: string; expiresAt: number }[]) =>
  [...list].sort((a, b) => (a.jti < b.jti ? -1 : a.jti > b.jti ? 1 : 0));

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
        id: unique('cgr'),
        clientId: app.clientId,
        apiId: a1.id,
        scopes: ['r'],
        createdAt: T0,
      });
      await storage.clientGrants.upsert({
        id: unique('cgr'),
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

    it('keeps isSystem', async () => {
      const app = application({ isSystem: true });
      await storage.applications.create(app);
      expect(await storage.applications.get(app.clientId)).toEqual(app);
    });

    it('update changes the given fields and updatedAt, and nothing else; false for an unknown client', async () => {
      const app = application({ settings: { skipConsent: true, clientMetadata: { team: 'a' } } });
      await storage.applications.create(app);
      expect(await storage.applications.update(app.clientId, { name: 'Renamed' }, T0 + 10)).toBe(true);
      expect(await storage.applications.get(app.clientId)).toEqual({
        ...app,
        name: 'Renamed',
        updatedAt: T0 + 10,
      });

      const patch = {
        callbacks: ['https://new.example/cb'],
        logoutCallbacks: [],
        grantTypes: ['client_credentials'],
        settings: {
          webOrigins: ['https://new.example'],
          tokenEndpointAuthMethod: 'client_secret_post' as const,
        },
      };
      expect(await storage.applications.update(app.clientId, patch, T0 + 20)).toBe(true);
      expect(await storage.applications.get(app.clientId)).toEqual({
        ...app,
        ...patch,
        name: 'Renamed',
        updatedAt: T0 + 20,
      });
      expect(await storage.applications.update(unique('nobody'), { name: 'x' }, T0)).toBe(false);
      expect(await storage.applications.get(app.clientId).then((a) => a?.secretHash)).toBe(app.secretHash);
    });

    it('ensureSystem creates a system application once; later calls change nothing', async () => {
      const app = application({ isSystem: true, name: 'Sesame Console', type: 'web' });
      await storage.applications.ensureSystem(app);
      expect(await storage.applications.get(app.clientId)).toEqual(app);

      await storage.applications.update(app.clientId, { callbacks: ['https://console.example/cb'] }, T0 + 5);
      await storage.applications.ensureSystem({
        ...app,
        name: 'Other name',
        callbacks: ['https://elsewhere.example/cb'],
        createdAt: T0 + 50,
        updatedAt: T0 + 50,
      });
      expect(await storage.applications.get(app.clientId)).toEqual({
        ...app,
        callbacks: ['https://console.example/cb'],
        updatedAt: T0 + 5,
      });
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
        id: unique('cgr'),
        clientId: app.clientId,
        apiId: gone.id,
        scopes: ['a'],
        createdAt: T0,
      });
      const keptGrant = await storage.clientGrants.upsert({
        id: unique('cgr'),
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
        { id: keptGrant.id, clientId: app.clientId, apiId: kept.id, scopes: ['b'], createdAt: T0 },
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

    it('keeps options, isSystem and updatedAt', async () => {
      const a = api({
        options: { skipConsentForVerifiableFirstPartyClients: false },
        isSystem: true,
        updatedAt: T0 + 7,
      });
      await storage.apis.create(a);
      expect(await storage.apis.get(a.id)).toEqual(a);
      expect(await storage.apis.getByIdentifier(a.identifier)).toEqual(a);
    });

    it('update changes the given fields and updatedAt, and nothing else; false for an unknown API', async () => {
      const a = api();
      await storage.apis.create(a);
      expect(await storage.apis.update(a.id, { name: 'Renamed' }, T0 + 10)).toBe(true);
      expect(await storage.apis.get(a.id)).toEqual({ ...a, name: 'Renamed', updatedAt: T0 + 10 });

      const patch = {
        scopes: [{ name: 'admin', description: 'Everything' }],
        tokenLifetime: 600,
        signingAlg: 'RS256' as const,
        allowOfflineAccess: false,
        options: { skipConsentForVerifiableFirstPartyClients: true },
      };
      expect(await storage.apis.update(a.id, patch, T0 + 20)).toBe(true);
      const got = await storage.apis.get(a.id);
      expect(got).toEqual({ ...a, ...patch, name: 'Renamed', updatedAt: T0 + 20 });
      expect(await storage.apis.getByIdentifier(a.identifier)).toEqual(got);
      expect(await storage.apis.update(unique('none'), { name: 'x' }, T0)).toBe(false);
    });

    it('ensureSystem creates the system API, then brings only its name and scopes up to date', async () => {
      const sys = api({ id: unique('sys'), name: 'System API', isSystem: true, tokenLifetime: 86_400 });
      await storage.apis.ensureSystem(sys, false);
      expect(await storage.apis.get(sys.id)).toEqual(sys);

      // An admin's changes to its other settings survive.
      await storage.apis.update(
        sys.id,
        { tokenLifetime: 900, options: { skipConsentForVerifiableFirstPartyClients: false } },
        T0 + 5,
      );
      const moved = `https://moved.example/${randomToken(9)}`;
      const scopes = [{ name: 'read:all', description: 'Read all' }];
      await storage.apis.ensureSystem(
        {
          ...sys,
          identifier: moved,
          name: 'System API v2',
          scopes,
          tokenLifetime: 86_400,
          createdAt: T0 + 50,
        },
        false,
      );
      let got = await storage.apis.get(sys.id);
      expect(got).toMatchObject({
        id: sys.id,
        identifier: sys.identifier,
        name: 'System API v2',
        scopes,
        tokenLifetime: 900,
        options: { skipConsentForVerifiableFirstPartyClients: false },
        isSystem: true,
        createdAt: T0,
      });

      // With the identifier: it follows.
      await storage.apis.ensureSystem({ ...sys, identifier: moved, name: 'System API v2', scopes }, true);
      got = await storage.apis.get(sys.id);
      expect(got?.identifier).toBe(moved);
      expect(got?.tokenLifetime).toBe(900);
      expect(await storage.apis.getByIdentifier(moved)).toEqual(got);
      expect(await storage.apis.getByIdentifier(sys.identifier)).toBeNull();
    });
  });

  describe('clientGrants', () => {
    it('upsert creates, then replaces the scopes and keeps the id and createdAt', async () => {
      const app = application({ type: 'm2m' });
      const a = api();
      await storage.applications.create(app);
      await storage.apis.create(a);
      const first = {
        id: unique('cgr'),
        clientId: app.clientId,
        apiId: a.id,
        scopes: ['read:things'],
        createdAt: T0 + 1,
      };
      expect(await storage.clientGrants.upsert(first)).toEqual(first);
      expect(await storage.clientGrants.get(app.clientId, a.id)).toEqual(first);
      const stored = await storage.clientGrants.upsert({
        id: unique('cgr'),
        clientId: app.clientId,
        apiId: a.id,
        scopes: ['write:things', 'read:things'],
        createdAt: T0 + 99,
      });
      const replaced = { ...first, scopes: ['write:things', 'read:things'] };
      expect(stored).toEqual(replaced);
      expect(await storage.clientGrants.get(app.clientId, a.id)).toEqual(replaced);
      expect(await storage.clientGrants.getById(first.id)).toEqual(replaced);
      expect(await storage.clientGrants.listForClient(app.clientId)).toHaveLength(1);
    });

    it('upsert to empty scopes keeps an empty list', async () => {
      const app = application({ type: 'm2m' });
      const a = api();
      await storage.applications.create(app);
      await storage.apis.create(a);
      await storage.clientGrants.upsert({
        id: unique('cgr'),
        clientId: app.clientId,
        apiId: a.id,
        scopes: ['x'],
        createdAt: T0,
      });
      await storage.clientGrants.upsert({
        id: unique('cgr'),
        clientId: app.clientId,
        apiId: a.id,
        scopes: [],
        createdAt: T0,
      });
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
        id: unique('cgr'),
        clientId: app.clientId,
        apiId: b.id,
        scopes: ['1'],
        createdAt: T0 + 5,
      });
      await storage.clientGrants.upsert({
        id: unique('cgr'),
        clientId: app.clientId,
        apiId: a.id,
        scopes: ['2'],
        createdAt: T0 + 5,
      });
      await storage.clientGrants.upsert({
        id: unique('cgr'),
        clientId: app.clientId,
        apiId: c.id,
        scopes: ['3'],
        createdAt: T0 + 1,
      });
      await storage.clientGrants.upsert({
        id: unique('cgr'),
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
        id: unique('cgr'),
        clientId: app.clientId,
        apiId: a.id,
        scopes: ['x'],
        createdAt: T0,
      });
      await storage.clientGrants.upsert({
        id: unique('cgr'),
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
        storage.clientGrants.upsert({
          id: unique('cgr'),
          clientId: unique('nobody'),
          apiId: a.id,
          scopes: [],
          createdAt: T0,
        }),
      ).rejects.toThrow();
      await expect(
        storage.clientGrants.upsert({
          id: unique('cgr'),
          clientId: app.clientId,
          apiId: unique('none'),
          scopes: [],
          createdAt: T0,
        }),
      ).rejects.toThrow();
    });

    it('getById, list and count by application, by API or both, by creation time then id, in slices', async () => {
      const app1 = application({ type: 'm2m' });
      const app2 = application({ type: 'm2m' });
      const a = api();
      const b = api();
      for (const x of [app1, app2]) await storage.applications.create(x);
      for (const x of [a, b]) await storage.apis.create(x);
      const t = tag();
      const g1: ClientGrant = {
        id: `cgr-${t}-b`,
        clientId: app1.clientId,
        apiId: a.id,
        scopes: ['1'],
        createdAt: T0 + 1,
      };
      const g2: ClientGrant = {
        id: `cgr-${t}-c`,
        clientId: app1.clientId,
        apiId: b.id,
        scopes: ['2'],
        createdAt: T0 + 2,
      };
      const g3: ClientGrant = {
        id: `cgr-${t}-a`,
        clientId: app2.clientId,
        apiId: a.id,
        scopes: ['3'],
        createdAt: T0 + 2,
      };
      for (const g of [g3, g2, g1]) await storage.clientGrants.upsert(g);

      expect(await storage.clientGrants.getById(g2.id)).toEqual(g2);
      expect(await storage.clientGrants.getById(unique('cgr'))).toBeNull();

      expect(await storage.clientGrants.list({ clientId: app1.clientId })).toEqual([g1, g2]);
      expect(await storage.clientGrants.list({ apiId: a.id })).toEqual([g1, g3]);
      expect(await storage.clientGrants.list({ clientId: app1.clientId, apiId: b.id })).toEqual([g2]);
      expect(await storage.clientGrants.list({ clientId: app2.clientId, apiId: b.id })).toEqual([]);
      expect(await storage.clientGrants.list({ clientId: app1.clientId }, { offset: 1, limit: 1 })).toEqual([
        g2,
      ]);
      expect(await storage.clientGrants.list({ apiId: a.id }, { offset: 0, limit: 1 })).toEqual([g1]);
      expect(await storage.clientGrants.list({ apiId: a.id }, { offset: 2, limit: 5 })).toEqual([]);
      // Same creation time: by id.
      const both = (await storage.clientGrants.list({})).filter((g) => g.id.startsWith(`cgr-${t}-`));
      expect(both).toEqual([g1, g3, g2]);

      expect(await storage.clientGrants.count({ clientId: app1.clientId })).toBe(2);
      expect(await storage.clientGrants.count({ apiId: a.id })).toBe(2);
      expect(await storage.clientGrants.count({ clientId: app2.clientId, apiId: a.id })).toBe(1);
      expect(await storage.clientGrants.count({ clientId: unique('nobody') })).toBe(0);
      expect(await storage.clientGrants.count({})).toBe((await storage.clientGrants.list({})).length);
    });

    it('setScopes replaces the scopes of one grant by id; false for an unknown id', async () => {
      const app = application({ type: 'm2m' });
      const a = api();
      const b = api();
      await storage.applications.create(app);
      await storage.apis.create(a);
      await storage.apis.create(b);
      const g = await storage.clientGrants.upsert({
        id: unique('cgr'),
        clientId: app.clientId,
        apiId: a.id,
        scopes: ['x'],
        createdAt: T0,
      });
      const other = await storage.clientGrants.upsert({
        id: unique('cgr'),
        clientId: app.clientId,
        apiId: b.id,
        scopes: ['y'],
        createdAt: T0,
      });
      expect(await storage.clientGrants.setScopes(g.id, ['write:things', 'read:things'])).toBe(true);
      expect(await storage.clientGrants.getById(g.id)).toEqual({
        ...g,
        scopes: ['write:things', 'read:things'],
      });
      expect(await storage.clientGrants.setScopes(g.id, [])).toBe(true);
      expect((await storage.clientGrants.get(app.clientId, a.id))?.scopes).toEqual([]);
      expect(await storage.clientGrants.getById(other.id)).toEqual(other);
      expect(await storage.clientGrants.setScopes(unique('cgr'), ['x'])).toBe(false);
    });

    it('deleteById removes one grant; false when there is none', async () => {
      const app = application({ type: 'm2m' });
      const a = api();
      const b = api();
      await storage.applications.create(app);
      await storage.apis.create(a);
      await storage.apis.create(b);
      const g = await storage.clientGrants.upsert({
        id: unique('cgr'),
        clientId: app.clientId,
        apiId: a.id,
        scopes: ['x'],
        createdAt: T0,
      });
      const kept = await storage.clientGrants.upsert({
        id: unique('cgr'),
        clientId: app.clientId,
        apiId: b.id,
        scopes: ['y'],
        createdAt: T0,
      });
      expect(await storage.clientGrants.deleteById(g.id)).toBe(true);
      expect(await storage.clientGrants.getById(g.id)).toBeNull();
      expect(await storage.clientGrants.get(app.clientId, a.id)).toBeNull();
      expect(await storage.clientGrants.listForClient(app.clientId)).toEqual([kept]);
      expect(await storage.clientGrants.deleteById(g.id)).toBe(false);
    });

    it('rejects a second grant with the same id', async () => {
      const app = application({ type: 'm2m' });
      const a = api();
      const b = api();
      await storage.applications.create(app);
      await storage.apis.create(a);
      await storage.apis.create(b);
      const g = await storage.clientGrants.upsert({
        id: unique('cgr'),
        clientId: app.clientId,
        apiId: a.id,
        scopes: ['x'],
        createdAt: T0,
      });
      await expect(
        storage.clientGrants.upsert({
          id: g.id,
          clientId: app.clientId,
          apiId: b.id,
          scopes: [],
          createdAt: T0,
        }),
      ).rejects.toThrow();
      expect(await storage.clientGrants.getById(g.id)).toEqual(g);
      expect(await storage.clientGrants.get(app.clientId, b.id)).toBeNull();
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

  describe('users', () => {
    it('creates and gets a user with claims and metadata intact, by id and by email', async () => {
      const u = user({
        blocked: true,
        claims: {
          name: 'Ada Lovelace',
          given_name: 'Ada',
          email_verified: false,
          address: { locality: 'London', country: 'GB' },
        },
        appMetadata: {
          plan: 'gold',
          roles: ['admin', 'ops'],
          limits: { seats: 5 },
          active: true,
          none: null,
        },
        userMetadata: { theme: 'dark', greeting: 'Grüß Gott ✓' },
        updatedAt: T0 + 1,
      });
      await storage.users.create(u);
      expect(await storage.users.get(u.id)).toEqual(u);
      expect(await storage.users.getByEmail(u.email)).toEqual(u);
      expect(await storage.users.get(unique('nobody'))).toBeNull();
      expect(await storage.users.getByEmail(`${tag()}@example.com`)).toBeNull();
    });

    it('rejects a second user with the same email', async () => {
      const u = user();
      await storage.users.create(u);
      await expect(storage.users.create(user({ email: u.email }))).rejects.toThrow();
      expect(await storage.users.getByEmail(u.email)).toEqual(u);
    });

    it('update changes the given fields and updatedAt, and nothing else; false for an unknown user', async () => {
      const u = user({ appMetadata: { plan: 'free' }, userMetadata: { theme: 'light' } });
      await storage.users.create(u);
      expect(await storage.users.update(u.id, { appMetadata: { plan: 'gold', seats: 3 } }, T0 + 10)).toBe(
        true,
      );
      expect(await storage.users.get(u.id)).toEqual({
        ...u,
        appMetadata: { plan: 'gold', seats: 3 },
        updatedAt: T0 + 10,
      });
      const patch = {
        email: `${tag()}@example.org`,
        passwordHash: '$argon2id$v=19$m=19456,t=2,p=1$bmV3c2FsdA$bmV3aGFzaA',
        blocked: true,
        claims: { name: 'New Name', nickname: 'nn' },
        userMetadata: {},
      };
      expect(await storage.users.update(u.id, patch, T0 + 20)).toBe(true);
      const got = await storage.users.get(u.id);
      expect(got).toEqual({ ...u, ...patch, appMetadata: { plan: 'gold', seats: 3 }, updatedAt: T0 + 20 });
      expect(await storage.users.getByEmail(patch.email)).toEqual(got);
      expect(await storage.users.getByEmail(u.email)).toBeNull();
      expect(await storage.users.update(unique('nobody'), { blocked: true }, T0)).toBe(false);
    });

    it('update to an email another user has is refused', async () => {
      const a = user();
      const b = user();
      await storage.users.create(a);
      await storage.users.create(b);
      await expect(storage.users.update(b.id, { email: a.email }, T0 + 1)).rejects.toThrow();
      expect(await storage.users.get(b.id)).toEqual(b);
    });

    describe('list and count', () => {
      // Emails and names chosen so that byte order and any locale's order agree.
      const t = tag();
      const alice = user({
        id: `u-${t}-a`,
        email: `${t}.alice@example.com`,
        claims: { name: 'Alice Liddell' },
        createdAt: T0 + 2,
        updatedAt: T0 + 10,
      });
      const bob = user({
        id: `u-${t}-b`,
        email: `${t}.bob@example.org`,
        claims: { name: 'Bob Malice' },
        createdAt: T0 + 1,
        updatedAt: T0 + 30,
      });
      const carol = user({
        id: `u-${t}-c`,
        email: `${t}_carol@example.com`,
        claims: { name: 'Carol Chen' },
        createdAt: T0 + 2,
        updatedAt: T0 + 20,
      });
      const dave = user({
        id: `u-${t}-d`,
        email: `${t}xdave@example.com`,
        claims: { name: 'Dave 100% Real' },
        createdAt: T0 + 4,
        updatedAt: T0 + 40,
      });
      const ids = (list: User[]) => list.map((u) => u.id);
      const mine = { emailPrefix: t };

      beforeAll(async () => {
        for (const u of [dave, carol, bob, alice]) await storage.users.create(u);
      });

      it('by creation time then id by default, in slices', async () => {
        expect(await storage.users.list(mine)).toEqual([bob, alice, carol, dave]);
        expect(ids(await storage.users.list(mine, { offset: 1, limit: 2 }))).toEqual([alice.id, carol.id]);
        expect(ids(await storage.users.list(mine, { offset: 3, limit: 10 }))).toEqual([dave.id]);
        expect(await storage.users.list(mine, { offset: 4, limit: 10 })).toEqual([]);
        expect(await storage.users.count(mine)).toBe(4);
        expect(await storage.users.count()).toBe((await storage.users.list()).length);
      });

      it('sorts by each field, either way; ties by id in the same direction', async () => {
        const sorted = async (field: 'created_at' | 'updated_at' | 'email' | 'name', descending: boolean) =>
          ids(await storage.users.list({ ...mine, sort: { field, descending } }));
        expect(await sorted('created_at', false)).toEqual([bob.id, alice.id, carol.id, dave.id]);
        expect(await sorted('created_at', true)).toEqual([dave.id, carol.id, alice.id, bob.id]);
        expect(await sorted('updated_at', false)).toEqual([alice.id, carol.id, bob.id, dave.id]);
        expect(await sorted('updated_at', true)).toEqual([dave.id, bob.id, carol.id, alice.id]);
        expect(await sorted('email', false)).toEqual([alice.id, bob.id, carol.id, dave.id]);
        expect(await sorted('email', true)).toEqual([dave.id, carol.id, bob.id, alice.id]);
        expect(await sorted('name', false)).toEqual([alice.id, bob.id, carol.id, dave.id]);
        expect(await sorted('name', true)).toEqual([dave.id, carol.id, bob.id, alice.id]);
        expect(
          ids(
            await storage.users.list(
              { ...mine, sort: { field: 'email', descending: true } },
              { offset: 1, limit: 2 },
            ),
          ),
        ).toEqual([carol.id, bob.id]);
      });

      it('emailPrefix matches the start of the email only, its _ and % literally', async () => {
        expect(ids(await storage.users.list({ emailPrefix: `${t}.` }))).toEqual([bob.id, alice.id]);
        expect(ids(await storage.users.list({ emailPrefix: `${t}_` }))).toEqual([carol.id]);
        expect(await storage.users.list({ emailPrefix: `${t}%` })).toEqual([]);
        expect(ids(await storage.users.list({ emailPrefix: `${t}.alice@example.com` }))).toEqual([alice.id]);
        expect(await storage.users.list({ emailPrefix: t.slice(1) })).toEqual([]);
        expect(await storage.users.count({ emailPrefix: `${t}_` })).toBe(1);
        expect(await storage.users.count({ emailPrefix: `${t}.` })).toBe(2);
      });

      it('email matches exactly', async () => {
        expect(await storage.users.list({ email: bob.email })).toEqual([bob]);
        expect(await storage.users.count({ email: bob.email })).toBe(1);
        expect(await storage.users.list({ email: `${t}.bob@example.or` })).toEqual([]);
        expect(await storage.users.count({ email: `${t}.bob` })).toBe(0);
      });

      it('text matches a substring of the email or the name, ignoring case, its _ and % literally', async () => {
        const found = async (text: string) => ids(await storage.users.list({ ...mine, text }));
        // "alice" is in alice's email and in bob's name.
        expect(await found('ALICE')).toEqual([bob.id, alice.id]);
        expect(await found('example.org')).toEqual([bob.id]);
        expect(await found('chen')).toEqual([carol.id]);
        expect(await found('%')).toEqual([dave.id]);
        expect(await found('100%')).toEqual([dave.id]);
        expect(await found('_')).toEqual([carol.id]);
        expect(await found('\\')).toEqual([]);
        expect(await found('nobody-has-this')).toEqual([]);
        // On its own, without a prefix: every user whose email holds the tag.
        expect(ids(await storage.users.list({ text: t.toUpperCase() }))).toEqual([
          bob.id,
          alice.id,
          carol.id,
          dave.id,
        ]);
        expect(await storage.users.count({ ...mine, text: 'alice' })).toBe(2);
        expect(await storage.users.count({ text: t })).toBe(4);
      });

      it('filters combine, and sort and slice apply to the filtered rows', async () => {
        const query = { ...mine, text: 'e', sort: { field: 'name' as const, descending: true } };
        // Every name holds an "e" (case-insensitively), and every email does.
        expect(ids(await storage.users.list(query))).toEqual([dave.id, carol.id, bob.id, alice.id]);
        expect(
          ids(await storage.users.list({ ...query, emailPrefix: `${t}.` }, { offset: 1, limit: 5 })),
        ).toEqual([alice.id]);
        expect(await storage.users.list({ email: alice.email, text: 'bob' })).toEqual([]);
        expect(await storage.users.count({ email: alice.email, text: 'lidd' })).toBe(1);
      });

      it('text finds a user by the name an update gave', async () => {
        const u = user({ email: `${t}zed@example.com`, claims: { name: 'Before' } });
        await storage.users.create(u);
        await storage.users.update(u.id, { claims: { name: 'Quentin After' } }, T0 + 50);
        expect(ids(await storage.users.list({ ...mine, text: 'quentin' }))).toEqual([u.id]);
        expect(await storage.users.list({ ...mine, text: 'before' })).toEqual([]);
        await storage.users.update(u.id, { claims: {} }, T0 + 51);
        expect(await storage.users.list({ ...mine, text: 'quentin' })).toEqual([]);
        expect(await storage.users.delete(u.id)).toBe(true);
      });
    });
  });

  describe('consents', () => {
    it('upsert creates, then replaces the scopes and updatedAt, keeping the id', async () => {
      const c = consent({ audience: 'https://api.example/x' });
      await storage.consents.upsert(c);
      expect(await storage.consents.get(c.userId, c.clientId, c.audience)).toEqual(c);
      expect(await storage.consents.getById(c.id)).toEqual(c);

      const again = { ...c, id: unique('cgt'), scopes: ['read:things'], updatedAt: T0 + 9 };
      await storage.consents.upsert(again);
      const replaced = { ...c, scopes: ['read:things'], updatedAt: T0 + 9 };
      expect(await storage.consents.get(c.userId, c.clientId, c.audience)).toEqual(replaced);
      expect(await storage.consents.getById(c.id)).toEqual(replaced);
      expect(await storage.consents.getById(again.id)).toBeNull();
      expect(await storage.consents.get(c.userId, c.clientId, '')).toBeNull();
      expect(await storage.consents.getById(unique('cgt'))).toBeNull();
    });

    it('list and count by user, application and audience, newest first then id, in slices', async () => {
      const userId = unique('user');
      const c1 = unique('client');
      const c2 = unique('client');
      const aud = `https://api.example/${randomToken(6)}`;
      const t = tag();
      const a = consent({ id: `cgt-${t}-a`, userId, clientId: c1, audience: '', updatedAt: T0 + 1 });
      const b = consent({ id: `cgt-${t}-b`, userId, clientId: c1, audience: aud, updatedAt: T0 + 3 });
      const c = consent({ id: `cgt-${t}-c`, userId, clientId: c2, audience: '', updatedAt: T0 + 2 });
      const d = consent({ id: `cgt-${t}-d`, clientId: c1, audience: '', updatedAt: T0 + 4 });
      const e = consent({ id: `cgt-${t}-e`, userId, clientId: c2, audience: aud, updatedAt: T0 + 2 });
      for (const x of [a, b, c, d, e]) await storage.consents.upsert(x);

      expect(await storage.consents.list({ userId })).toEqual([b, c, e, a]);
      expect(await storage.consents.list({ clientId: c1 })).toEqual([d, b, a]);
      expect(await storage.consents.list({ userId, clientId: c1 })).toEqual([b, a]);
      expect(await storage.consents.list({ userId, audience: '' })).toEqual([c, a]);
      expect(await storage.consents.list({ userId, clientId: c2, audience: aud })).toEqual([e]);
      expect(await storage.consents.list({ userId }, { offset: 1, limit: 2 })).toEqual([c, e]);
      expect(await storage.consents.list({ userId }, { offset: 4, limit: 2 })).toEqual([]);
      expect(await storage.consents.list({ userId: unique('nobody') })).toEqual([]);

      expect(await storage.consents.count({ userId })).toBe(4);
      expect(await storage.consents.count({ clientId: c1 })).toBe(3);
      expect(await storage.consents.count({ userId, audience: aud })).toBe(2);
      expect(await storage.consents.count({ clientId: unique('nobody') })).toBe(0);
      expect(await storage.consents.count({})).toBe((await storage.consents.list({})).length);
    });

    it('deleteById removes one consent; false when there is none', async () => {
      const c = consent();
      const kept = consent({ userId: c.userId, clientId: c.clientId, audience: 'https://api.example/k' });
      await storage.consents.upsert(c);
      await storage.consents.upsert(kept);
      expect(await storage.consents.deleteById(c.id)).toBe(true);
      expect(await storage.consents.getById(c.id)).toBeNull();
      expect(await storage.consents.get(c.userId, c.clientId, c.audience)).toBeNull();
      expect(await storage.consents.list({ userId: c.userId })).toEqual([kept]);
      expect(await storage.consents.deleteById(c.id)).toBe(false);
    });

    it('deleteWhere removes every consent of a user, or given to an application, and only those', async () => {
      const u1 = unique('user');
      const u2 = unique('user');
      const c1 = unique('client');
      const c2 = unique('client');
      const u1c1 = consent({ userId: u1, clientId: c1 });
      const u1c1api = consent({ userId: u1, clientId: c1, audience: 'https://api.example/d' });
      const u1c2 = consent({ userId: u1, clientId: c2 });
      const u2c1 = consent({ userId: u2, clientId: c1 });
      const u2c2 = consent({ userId: u2, clientId: c2 });
      for (const x of [u1c1, u1c1api, u1c2, u2c1, u2c2]) await storage.consents.upsert(x);

      await storage.consents.deleteWhere({ clientId: c1 });
      expect(await storage.consents.list({ clientId: c1 })).toEqual([]);
      expect(await storage.consents.getById(u1c2.id)).toEqual(u1c2);
      expect(await storage.consents.getById(u2c2.id)).toEqual(u2c2);

      await storage.consents.deleteWhere({ userId: u1 });
      expect(await storage.consents.list({ userId: u1 })).toEqual([]);
      expect(await storage.consents.list({ userId: u2 })).toEqual([u2c2]);
    });
  });

  describe('refreshTokens', () => {
    it('listLive lists the live member of each family of a user, newest first, in slices', async () => {
      const userId = unique('user');
      const c1 = unique('client');
      const c2 = unique('client');
      const now = T0 + 100;
      const family1 = unique('family');
      const rotated = refreshToken({ userId, clientId: c1, familyId: family1, rotatedAt: T0 + 10 });
      const live1 = refreshToken({ userId, clientId: c1, familyId: family1, createdAt: T0 + 10 });
      const live2 = refreshToken({ userId, clientId: c2, createdAt: T0 + 20 });
      const revoked = refreshToken({ userId, clientId: c1, createdAt: T0 + 30, revokedAt: T0 + 31 });
      // Expiry is exclusive: at that second the token is gone.
      const idle = refreshToken({ userId, clientId: c1, createdAt: T0 + 40, expiresAt: now });
      const old = refreshToken({ userId, clientId: c1, createdAt: T0 + 50, familyExpiresAt: now });
      const live3 = refreshToken({ userId, clientId: c1, createdAt: T0 + 60, expiresAt: T0 + 200 });
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

  describe('sessions', () => {
    it('creates and gets a session with every field, by id hash and by sid', async () => {
      const s = session({
        initialIp: '203.0.113.7',
        initialUserAgent: 'Mozilla/5.0 (X11) Firefox/140.0',
        lastSeenAt: T0 + 3,
      });
      const bare = session();
      await storage.sessions.create(s);
      await storage.sessions.create(bare);
      expect(await storage.sessions.get(s.idHash)).toStrictEqual(s);
      expect(await storage.sessions.getBySid(s.sid)).toStrictEqual(s);
      expect(await storage.sessions.getBySid(bare.sid)).toStrictEqual(bare);
      expect(await storage.sessions.getBySid(unique('sid'))).toBeNull();
    });

    it('touch records the last use and changes nothing else', async () => {
      const s = session();
      const other = session({ userId: s.userId });
      await storage.sessions.create(s);
      await storage.sessions.create(other);
      await storage.sessions.touch(s.idHash, T0 + 42);
      expect(await storage.sessions.get(s.idHash)).toEqual({ ...s, lastSeenAt: T0 + 42 });
      expect(await storage.sessions.get(other.idHash)).toEqual(other);
      await expect(storage.sessions.touch(sha256('no such session'), T0)).resolves.toBeUndefined();
    });

    it('listForUser lists the unexpired sessions of the user, newest first, in slices', async () => {
      const userId = unique('user');
      const now = T0 + 100;
      const s1 = session({ userId, createdAt: T0 });
      const s2 = session({ userId, createdAt: T0 + 10, initialIp: '198.51.100.1' });
      const s3 = session({ userId, createdAt: T0 + 20 });
      // Expiry is exclusive: at that second the session is gone.
      const expired = session({ userId, createdAt: T0 + 30, expiresAt: now });
      const otherUser = session({ createdAt: T0 + 40 });
      for (const x of [s2, expired, s1, otherUser, s3]) await storage.sessions.create(x);

      expect(await storage.sessions.listForUser(userId, now)).toEqual([s3, s2, s1]);
      expect(await storage.sessions.listForUser(userId, now, { offset: 1, limit: 1 })).toEqual([s2]);
      expect(await storage.sessions.listForUser(userId, now, { offset: 0, limit: 2 })).toEqual([s3, s2]);
      expect(await storage.sessions.listForUser(userId, now, { offset: 3, limit: 2 })).toEqual([]);
      expect(await storage.sessions.listForUser(userId, now - 1)).toEqual([expired, s3, s2, s1]);
      expect(await storage.sessions.listForUser(unique('nobody'), now)).toEqual([]);
    });

    it('deleteForUser ends every session of the user and counts them; deleteBySid ends one', async () => {
      const userId = unique('user');
      const a = session({ userId });
      const b = session({ userId });
      const other = session();
      for (const x of [a, b, other]) await storage.sessions.create(x);
      expect(await storage.sessions.deleteForUser(userId)).toBe(2);
      expect(await storage.sessions.get(a.idHash)).toBeNull();
      expect(await storage.sessions.getBySid(b.sid)).toBeNull();
      expect(await storage.sessions.get(other.idHash)).toEqual(other);
      expect(await storage.sessions.deleteForUser(userId)).toBe(0);

      expect(await storage.sessions.deleteBySid(other.sid)).toBe(true);
      expect(await storage.sessions.get(other.idHash)).toBeNull();
      expect(await storage.sessions.deleteBySid(other.sid)).toBe(false);
    });
  });

  describe('settings', () => {
    it('get is null for an unknown key; put stores a JSON document and replaces it whole', async () => {
      const key = unique('settings');
      const other = unique('settings');
      expect(await storage.settings.get(key)).toBeNull();
      const doc = {
        friendly_name: 'Grüß Gott ✓',
        session_lifetime: 168,
        flags: { enable_client_connections: false },
        allowed_logout_urls: ['https://a.example', 'https://b.example'],
        nothing: null,
      };
      await storage.settings.put(key, doc, T0);
      await storage.settings.put(other, { x: 1 }, T0);
      expect(await storage.settings.get(key)).toEqual(doc);

      await storage.settings.put(key, { session_lifetime: 24 }, T0 + 1);
      expect(await storage.settings.get(key)).toEqual({ session_lifetime: 24 });
      expect(await storage.settings.get(other)).toEqual({ x: 1 });
      await storage.settings.put(key, {}, T0 + 2);
      expect(await storage.settings.get(key)).toEqual({});
    });

    it('a second instance reads what the first put', async () => {
      const key = unique('settings');
      await storage.settings.put(key, { a: 1 }, T0);
      const second = db.open(clock);
      try {
        expect(await second.settings.get(key)).toEqual({ a: 1 });
        await second.settings.put(key, { a: 2 }, T0 + 1);
      } finally {
        await second.close();
      }
      expect(await storage.settings.get(key)).toEqual({ a: 2 });
    });
  });

  describe('slices and counts on a fresh database', () => {
    let fresh: TestDatabase;
    let s: Storage;

    beforeAll(async () => {
      fresh = await createTestDatabase(backend);
      s = fresh.open(clock);
      await s.migrate();
    });

    afterAll(async () => {
      await s?.close();
      await fresh?.drop();
    });

    it('applications: list and count all of them or those of one type', async () => {
      // Whatever a fresh database starts with comes first (these are created later).
      const existing = await s.applications.list();
      const before = existing.length;
      const beforeWeb = await s.applications.count({ type: 'web' });
      const beforeM2m = await s.applications.count({ type: 'm2m' });
      // (the console's own application is made by a migration, at the time it ran)
      const late = Math.max(T0, ...existing.map((a) => a.createdAt)) + 1_000_000;
      const w1 = application({ clientId: `a-${randomToken(6)}`, type: 'web', createdAt: late });
      const w2 = application({ clientId: `b-${randomToken(6)}`, type: 'web', createdAt: late });
      const m1 = application({ clientId: `c-${randomToken(6)}`, type: 'm2m', createdAt: late + 1 });
      const w3 = application({ clientId: `d-${randomToken(6)}`, type: 'web', createdAt: late + 2 });
      const m2 = application({
        clientId: `e-${randomToken(6)}`,
        type: 'm2m',
        secretHash: null,
        createdAt: late + 3,
      });
      for (const x of [m2, w3, m1, w2, w1]) await s.applications.create(x);

      expect(await s.applications.count()).toBe(before + 5);
      expect(await s.applications.count({})).toBe(before + 5);
      expect(await s.applications.count({ type: 'web' })).toBe(beforeWeb + 3);
      expect(await s.applications.count({ type: 'm2m' })).toBe(beforeM2m + 2);
      expect(await s.applications.count({ type: 'native' })).toBe(
        (await s.applications.list({ type: 'native' })).length,
      );
      expect(await s.applications.list({}, { offset: before, limit: 50 })).toEqual([w1, w2, m1, w3, m2]);
      expect(await s.applications.list(undefined, { offset: before + 1, limit: 2 })).toEqual([w2, m1]);
      expect(await s.applications.list({}, { offset: before + 5, limit: 2 })).toEqual([]);
      expect(await s.applications.list({ type: 'web' }, { offset: beforeWeb, limit: 2 })).toEqual([w1, w2]);
      expect(await s.applications.list({ type: 'web' }, { offset: beforeWeb + 2, limit: 2 })).toEqual([w3]);
      expect(await s.applications.list({ type: 'm2m' }, { offset: beforeM2m, limit: 10 })).toEqual([m1, m2]);
      expect((await s.applications.list({ type: 'm2m' })).every((a) => a.type === 'm2m')).toBe(true);
    });

    it('apis: list and count', async () => {
      const before = (await s.apis.list()).length;
      expect(await s.apis.count()).toBe(before);
      const late = T0 + 1_000_000;
      const a = api({ id: `a-${randomToken(6)}`, createdAt: late });
      const b = api({ id: `b-${randomToken(6)}`, createdAt: late });
      const c = api({ id: `c-${randomToken(6)}`, createdAt: late + 1 });
      for (const x of [c, b, a]) await s.apis.create(x);
      expect(await s.apis.count()).toBe(before + 3);
      expect(await s.apis.list({ offset: before, limit: 10 })).toEqual([a, b, c]);
      expect(await s.apis.list({ offset: before + 1, limit: 1 })).toEqual([b]);
      expect(await s.apis.list({ offset: before + 3, limit: 1 })).toEqual([]);
      await s.apis.delete(b.id);
      expect(await s.apis.count()).toBe(before + 2);
      expect(await s.apis.list({ offset: before, limit: 10 })).toEqual([a, c]);
    });

    it('users: count and list every user, in slices', async () => {
      const before = await s.users.count();
      expect((await s.users.list()).length).toBe(before);
      const late = T0 + 1_000_000;
      const made = [0, 1, 2].map((i) => user({ createdAt: late + i }));
      for (const u of [...made].reverse()) await s.users.create(u);
      expect(await s.users.count()).toBe(before + 3);
      expect(await s.users.count({})).toBe(before + 3);
      expect(await s.users.list({}, { offset: before, limit: 10 })).toEqual(made);
      expect(await s.users.list(undefined, { offset: before + 1, limit: 1 })).toEqual([made[1]]);
      await s.users.delete(made[0]!.id);
      expect(await s.users.count()).toBe(before + 2);
    });
  });

  describe('transaction', () => {
    it('commits every write of the callback and returns its value', async () => {
      const app = application({ type: 'm2m' });
      const a = api();
      const jti = unique('jti');
      const key = unique('settings');
      const u = user();
      const result = await storage.transaction(async (tx) => {
        await tx.applications.create(app);
        await tx.apis.create(a);
        await tx.clientGrants.upsert({
          id: unique('cgr'),
          clientId: app.clientId,
          apiId: a.id,
          scopes: ['s'],
          createdAt: T0,
        });
        await tx.revocations.revoke(jti, T0 + 60);
        await tx.users.create(u);
        await tx.settings.put(key, { committed: true }, T0);
        // Reads in the transaction see its own writes.
        return (await tx.applications.get(app.clientId))?.name;
      });
      expect(result).toBe('Contract App');
      expect(await storage.applications.get(app.clientId)).toEqual(app);
      expect(await storage.apis.get(a.id)).toEqual(a);
      expect((await storage.clientGrants.get(app.clientId, a.id))?.scopes).toEqual(['s']);
      expect(await storage.revocations.isRevoked(jti)).toBe(true);
      expect(await storage.users.get(u.id)).toEqual(u);
      expect(await storage.settings.get(key)).toEqual({ committed: true });
    });

    it('rolls back every write when the callback throws, and rethrows', async () => {
      const app = application({ type: 'm2m' });
      const a = api();
      const c = code();
      const jti = unique('jti');
      const key = unique('settings');
      const con = consent();
      const rt = refreshToken();
      const sess = session();
      const boom = new Error('boom');
      await storage.settings.put(key, { before: true }, T0);
      await expect(
        storage.transaction(async (tx) => {
          await tx.applications.create(app);
          await tx.apis.create(a);
          await tx.clientGrants.upsert({
            id: unique('cgr'),
            clientId: app.clientId,
            apiId: a.id,
            scopes: ['s'],
            createdAt: T0,
          });
          await tx.revocations.revoke(jti, T0 + 60);
          await tx.authorizationCodes.create(c);
          await tx.settings.put(key, { before: false }, T0 + 1);
          await tx.consents.upsert(con);
          await tx.refreshTokens.create(rt);
          await tx.sessions.create(sess);
          throw boom;
        }),
      ).rejects.toBe(boom);
      expect(await storage.settings.get(key)).toEqual({ before: true });
      expect(await storage.consents.getById(con.id)).toBeNull();
      expect(await storage.refreshTokens.get(rt.hash)).toBeNull();
      expect(await storage.sessions.getBySid(sess.sid)).toBeNull();
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
