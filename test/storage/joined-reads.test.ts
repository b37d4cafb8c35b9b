import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApi } from '../../src/admin/apis.js';
import { authorizeApplication, createApplication } from '../../src/admin/applications.js';
import { openStorage } from '../../src/storage/sql/index.js';
import type { Storage } from '../../src/storage/types.js';
import { TestClock } from '../support/app.js';
import { createTestDatabase, describeEachBackend, type TestDatabase } from '../support/databases.js';

/**
 * Reads that bring what a cold request needs in one statement (#16), kept by the read cache as
 * the entries the request then reads:
 * - `clientGrants.machineAccess`: client credentials (the application, the API it names and the
 *   grant between them);
 * - `revocations.withApplication`: introspection of a JWT (the caller, and whether the jti is
 *   revoked).
 */
describeEachBackend('joined reads', (backend) => {
  const clock = new TestClock();
  let db: TestDatabase;
  let s: Storage;
  let n = 0;

  beforeAll(async () => {
    db = await createTestDatabase(backend);
    s = db.open(clock);
    await s.migrate();
  });
  afterAll(async () => {
    await s?.close();
    await db?.drop();
  });

  /** An m2m application and two APIs: `granted` (scopes read, write; it holds read) and `other`. */
  async function setup() {
    n++;
    const { app } = await createApplication(s, clock, { name: `M2M ${n}`, type: 'm2m' });
    const input = (name: string) => ({
      identifier: `https://${name}-${n}.example.com/`,
      name,
      scopes: ['read', 'write'],
    });
    const granted = await createApi(s, clock, input('granted'), 3600);
    const other = await createApi(s, clock, input('other'), 3600);
    const grant = await authorizeApplication(s, clock, app.clientId, granted.identifier, ['read']);
    return { app, granted, other, grant };
  }

  /** A second storage on the database, with the SQL of every statement it runs. */
  function watched() {
    const seen: string[] = [];
    const queryListeners = new Set([(q: { sql: string }) => void seen.push(q.sql)]);
    const storage = openStorage({ databaseUrl: db.url, dataDir: db.dataDir, clock, queryListeners });
    return { storage, seen };
  }

  it('reads the application, the API and the machine grant, each as its own read gives it', async () => {
    const { app, granted } = await setup();
    const found = await s.clientGrants.machineAccess(app.clientId, granted.identifier);
    expect(found).toEqual({
      application: await s.applications.get(app.clientId),
      api: await s.apis.getByIdentifier(granted.identifier),
      grant: await s.clientGrants.get(app.clientId, granted.id),
    });
    expect(found?.grant?.scopes).toEqual(['read']);
    expect(found?.api?.scopes.map((d) => d.name)).toEqual(['read', 'write']);
    expect(found?.application.secretHash).toEqual(expect.any(String));
  });

  it('gives a null API for an unknown identifier, a null grant where the application has none', async () => {
    const { app, other } = await setup();
    expect(await s.clientGrants.machineAccess(app.clientId, 'https://nobody.example.com/')).toEqual({
      application: await s.applications.get(app.clientId),
      api: null,
      grant: null,
    });
    expect(await s.clientGrants.machineAccess(app.clientId, other.identifier)).toEqual({
      application: await s.applications.get(app.clientId),
      api: await s.apis.getByIdentifier(other.identifier),
      grant: null,
    });
  });

  it("is null for an unknown application, and ignores the application's user grants", async () => {
    const { app, granted, other } = await setup();
    expect(await s.clientGrants.machineAccess('nobody', granted.identifier)).toBeNull();
    await authorizeApplication(s, clock, app.clientId, other.identifier, ['write'], 'user');
    expect((await s.clientGrants.machineAccess(app.clientId, other.identifier))?.grant).toBeNull();
    // another application's grant for the API is not this one's
    const { app: second } = await createApplication(s, clock, { name: 'Second', type: 'm2m' });
    expect((await s.clientGrants.machineAccess(second.clientId, granted.identifier))?.grant).toBeNull();
  });

  it('is one statement cold; then it and the reads of the token endpoint are served from memory', async () => {
    const { app, granted } = await setup();
    const { storage: c, seen } = watched();
    try {
      const found = await c.clientGrants.machineAccess(app.clientId, granted.identifier);
      expect(seen).toHaveLength(1);
      expect(await c.applications.get(app.clientId)).toBe(found?.application);
      expect(await c.apis.getByIdentifier(granted.identifier)).toBe(found?.api);
      expect(await c.clientGrants.get(app.clientId, granted.id)).toBe(found?.grant);
      expect(await c.clientGrants.machineAccess(app.clientId, granted.identifier)).toEqual(found);
      expect(seen).toHaveLength(1);
      expect(Object.isFrozen(found?.grant?.scopes)).toBe(true);
    } finally {
      await c.close();
    }
  });

  it('keeps no null: a missing grant is looked up again, and found once it is made', async () => {
    const { app, other } = await setup();
    const { storage: c, seen } = watched();
    try {
      expect((await c.clientGrants.machineAccess(app.clientId, other.identifier))?.grant).toBeNull();
      expect(await c.clientGrants.get(app.clientId, other.id)).toBeNull();
      expect(seen).toHaveLength(2);
      await authorizeApplication(c, clock, app.clientId, other.identifier, ['write']);
      const found = await c.clientGrants.machineAccess(app.clientId, other.identifier);
      expect(found?.grant?.scopes).toEqual(['write']);
    } finally {
      await c.close();
    }
  });

  it('a write while it loads keeps nothing; a write after it is seen by the next read', async () => {
    const { app, granted, grant } = await setup();
    const { storage: c, seen } = watched();
    try {
      const [found] = await Promise.all([
        c.clientGrants.machineAccess(app.clientId, granted.identifier),
        c.clientGrants.setScopes(grant.id, ['read', 'write']),
      ]);
      expect(found?.application.clientId).toBe(app.clientId);
      expect((await c.clientGrants.get(app.clientId, granted.id))?.scopes).toEqual(['read', 'write']);
      await c.clientGrants.setScopes(grant.id, ['write']);
      expect((await c.clientGrants.machineAccess(app.clientId, granted.identifier))?.grant?.scopes).toEqual([
        'write',
      ]);
      await c.applications.update(app.clientId, { name: 'Renamed' }, clock.now());
      expect((await c.applications.get(app.clientId))?.name).toBe('Renamed');
      expect(seen.length).toBeGreaterThan(3);
    } finally {
      await c.close();
    }
  });

  it('inside a transaction that wrote, reads past the cache', async () => {
    const { app, granted, grant } = await setup();
    await s.clientGrants.machineAccess(app.clientId, granted.identifier);
    await s.transaction(async (tx) => {
      await tx.clientGrants.setScopes(grant.id, []);
      expect((await tx.clientGrants.machineAccess(app.clientId, granted.identifier))?.grant?.scopes).toEqual(
        [],
      );
    });
    expect((await s.clientGrants.machineAccess(app.clientId, granted.identifier))?.grant?.scopes).toEqual([]);
  });

  describe('revocations.withApplication', () => {
    /** A fresh storage (nothing kept), whose application lookups are answered by the SQL. */
    it('reads the application and whether the jti is revoked; null for an unknown application', async () => {
      const { app } = await setup();
      const jti = `jti-${n}`;
      const { storage: c } = watched();
      try {
        expect(await c.revocations.withApplication(app.clientId, jti, '')).toEqual({
          application: await s.applications.get(app.clientId),
          revoked: false,
          api: null,
        });
        await s.revocations.revoke(jti, clock.now() + 600);
        await c.applications.update(app.clientId, { name: 'Renamed' }, clock.now()); // empties c's cache
        expect(await c.revocations.withApplication(app.clientId, jti, '')).toEqual({
          application: await c.applications.get(app.clientId),
          revoked: true,
          api: null,
        });
        expect(await c.revocations.withApplication('nobody', jti, '')).toBeNull();
      } finally {
        await c.close();
      }
    });

    it('is one statement cold; then the application comes from memory and the jti is not looked up', async () => {
      const { app } = await setup();
      const jti = `jti-${n}`;
      const { storage: c, seen } = watched();
      try {
        const found = await c.revocations.withApplication(app.clientId, jti, '');
        expect(found?.revoked).toBe(false);
        expect(seen).toHaveLength(1);
        expect(await c.applications.get(app.clientId)).toBe(found?.application);
        expect(await c.revocations.withApplication(app.clientId, jti, '')).toEqual({
          application: found?.application,
          revoked: null,
          api: null,
        });
        expect(seen).toHaveLength(1);
      } finally {
        await c.close();
      }
    });

    it('reads the API of the audience in the same statement and keeps it; an unknown one is null', async () => {
      const { app, granted } = await setup();
      const { storage: c, seen } = watched();
      try {
        const found = await c.revocations.withApplication(app.clientId, `jti-${n}`, granted.identifier);
        expect(found?.api).toEqual(await s.apis.getByIdentifier(granted.identifier));
        expect(seen).toHaveLength(1);
        expect(await c.apis.getByIdentifier(granted.identifier)).toBe(found?.api);
        expect(seen).toHaveLength(1);
        const again = await c.revocations.withApplication(app.clientId, `jti-${n}`, granted.identifier);
        expect([again?.api, again?.revoked, seen.length]).toEqual([found?.api, null, 1]);
        const none = await c.revocations.withApplication(app.clientId, `jti-${n}`, 'https://gone.example/');
        expect(none?.api).toBeNull();
      } finally {
        await c.close();
      }
    });

    it('keeps no answer for the jti it was given (it comes from a token not yet verified)', async () => {
      const { app } = await setup();
      const { storage: c, seen } = watched();
      const lookups = () => seen.filter((q) => q.includes('revoked_tokens')).length;
      try {
        for (let i = 0; i < 3; i++) {
          await c.applications.update(app.clientId, { name: `v${i}` }, clock.now()); // empties the cache
          expect((await c.revocations.withApplication(app.clientId, `unverified-${n}`, ''))?.revoked).toBe(
            false,
          );
        }
        expect(lookups()).toBe(3);
        expect(await c.revocations.isRevoked(`unverified-${n}`)).toBe(false);
        expect(lookups()).toBe(4);
      } finally {
        await c.close();
      }
    });
  });
});
