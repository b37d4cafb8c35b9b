import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { migrations } from '../../src/storage/sql/migrations/index.js';
import type { Storage } from '../../src/storage/types.js';
import { randomToken } from '../../src/util/crypto.js';
import { createTestDatabase, describeEachBackend, type TestDatabase } from '../support/databases.js';
import { refreshToken, T0, unique } from '../support/records.js';
import { api, application, code, consent, contractStorage, session, user } from './contract-records.js';

describeEachBackend('storage contract: settings, transactions and fresh databases', (backend) => {
  const env = contractStorage(backend);
  const clock = env.clock;
  let db: TestDatabase;
  let storage: Storage;

  beforeAll(() => {
    ({ db, storage } = env);
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
      const beforeWeb = await s.applications.count({ types: ['web'] });
      const beforeM2m = await s.applications.count({ types: ['m2m'] });
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
      expect(await s.applications.count({ types: ['web'] })).toBe(beforeWeb + 3);
      expect(await s.applications.count({ types: ['m2m'] })).toBe(beforeM2m + 2);
      expect(await s.applications.count({ types: ['native'] })).toBe(
        (await s.applications.list({ types: ['native'] })).length,
      );
      expect(await s.applications.list({}, { offset: before, limit: 50 })).toEqual([w1, w2, m1, w3, m2]);
      expect(await s.applications.list(undefined, { offset: before + 1, limit: 2 })).toEqual([w2, m1]);
      expect(await s.applications.list({}, { offset: before + 5, limit: 2 })).toEqual([]);
      expect(await s.applications.list({ types: ['web'] }, { offset: beforeWeb, limit: 2 })).toEqual([
        w1,
        w2,
      ]);
      expect(await s.applications.list({ types: ['web'] }, { offset: beforeWeb + 2, limit: 2 })).toEqual([
        w3,
      ]);
      expect(await s.applications.list({ types: ['m2m'] }, { offset: beforeM2m, limit: 10 })).toEqual([
        m1,
        m2,
      ]);
      expect((await s.applications.list({ types: ['m2m'] })).every((a) => a.type === 'm2m')).toBe(true);
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
