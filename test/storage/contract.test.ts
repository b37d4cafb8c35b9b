import { beforeAll, describe, expect, it } from 'vitest';
import { migrations } from '../../src/storage/sql/migrations/index.js';
import type { Storage } from '../../src/storage/types.js';
import { randomToken, sha256 } from '../../src/util/crypto.js';
import { describeEachBackend } from '../support/databases.js';
import { T0, unique } from '../support/records.js';
import { api, application, contractStorage } from './contract-records.js';

describeEachBackend('storage contract: lifecycle, applications and APIs', (backend) => {
  const env = contractStorage(backend);
  let storage: Storage;
  let firstMigrate: string[];
  let secondMigrate: string[];

  beforeAll(() => {
    ({ storage, firstMigrate, secondMigrate } = env);
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
});
