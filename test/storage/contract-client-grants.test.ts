import { beforeAll, describe, expect, it } from 'vitest';
import type { Api, ClientGrant, Storage } from '../../src/storage/types.js';
import { randomToken } from '../../src/util/crypto.js';
import { describeEachBackend } from '../support/databases.js';
import { T0, unique } from '../support/records.js';
import { api, application, contractStorage, tag } from './contract-records.js';

describeEachBackend('storage contract: client grants', (backend) => {
  const env = contractStorage(backend);
  let storage: Storage;

  beforeAll(() => {
    ({ storage } = env);
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
});
