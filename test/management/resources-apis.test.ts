import { beforeAll, describe, expect, it } from 'vitest';
import { MANAGEMENT_SCOPES, managementIdentifier } from '../../src/admin/system.js';
import type { Api } from '../../src/storage/types.js';
import { decodeJwt } from '../protocol/sign-in/fixtures.js';
import type { TestApp } from '../support/app.js';
import { describeEachBackend } from '../support/databases.js';
import { ok, resourcesApp } from './resources-fixture.js';
import { type Call, expectError, expectStatus, newApi, scopes, unique } from './support.js';

describeEachBackend('Management API: resources (apis)', (backend) => {
  const env = resourcesApp(backend);
  const { clientCredentials } = env;
  let t: TestApp;
  let call: Call;
  /** An ordinary API with read:things and write:things, refresh tokens allowed. */
  let api: Api;

  beforeAll(() => {
    ({ t, call, api } = env);
  });

  describe('resource servers', () => {
    it('lists the Management API as a system API', async () => {
      const list = ok(await call('GET', '/resource-servers', { query: { per_page: 100 } }));
      const system = list.find(
        (r: { identifier: string }) => r.identifier === managementIdentifier(t.issuer),
      );
      expect(system).toMatchObject({
        id: 'api_sesame_management',
        identifier: 'https://sesame.test/api/v2/',
        name: 'Sesame Management API',
        is_system: true,
      });
      expect(system.scopes.map((s: { value: string }) => s.value).sort()).toEqual(
        Object.keys(MANAGEMENT_SCOPES).sort(),
      );
      const ordinary = list.find((r: { identifier: string }) => r.identifier === api.identifier);
      expect(ordinary.is_system).toBe(false);
      const totals = ok(await call('GET', '/resource-servers', { query: { include_totals: true } }));
      expect(totals).toMatchObject({ start: 0, limit: 50, total: list.length, length: list.length });
      expect(totals.resource_servers).toHaveLength(list.length);
    });

    it('protects the system API: no delete, no new name, scopes or identifier (403)', async () => {
      const id = 'api_sesame_management';
      const attempts: [string, unknown][] = [
        ['DELETE', undefined],
        ['PATCH', { name: 'Mine now' }],
        ['PATCH', { scopes: [{ value: 'read:clients', description: 'only this' }] }],
        ['PATCH', { identifier: 'https://evil.example/api' }],
      ];
      for (const [method, body] of attempts) {
        const answer = await call(method, `/resource-servers/${id}`, body === undefined ? {} : { body });
        expectError(answer, 403, 'operation_not_supported');
      }
      const encoded = encodeURIComponent(managementIdentifier(t.issuer));
      expectError(await call('DELETE', `/resource-servers/${encoded}`), 403, 'operation_not_supported');
      const still = ok(await call('GET', `/resource-servers/${id}`));
      expect(still.name).toBe('Sesame Management API');
      expect(still.identifier).toBe(managementIdentifier(t.issuer));
      expect(still.scopes).toHaveLength(Object.keys(MANAGEMENT_SCOPES).length);
      // and the management token still works
      expectStatus(await call('GET', '/resource-servers'), 200);
    });

    it('creates, reads (by id and by identifier), updates and deletes an API', async () => {
      const identifier = `https://orders.example/${unique('api')}`;
      const created = ok(
        await call('POST', '/resource-servers', {
          body: {
            identifier,
            name: 'Orders',
            scopes: [
              { value: 'read:orders', description: 'Read orders' },
              { value: 'write:orders', description: 'Write orders' },
            ],
            signing_alg: 'RS256',
            token_lifetime: 600,
            allow_offline_access: true,
            skip_consent_for_verifiable_first_party_clients: false,
          },
        }),
        201,
      );
      expect(created).toMatchObject({
        identifier,
        name: 'Orders',
        scopes: [
          { value: 'read:orders', description: 'Read orders' },
          { value: 'write:orders', description: 'Write orders' },
        ],
        signing_alg: 'RS256',
        token_lifetime: 600,
        allow_offline_access: true,
        skip_consent_for_verifiable_first_party_clients: false,
        is_system: false,
      });
      expect(created.id).toEqual(expect.any(String));
      expect(ok(await call('GET', `/resource-servers/${created.id}`))).toEqual(created);
      expect(ok(await call('GET', `/resource-servers/${encodeURIComponent(identifier)}`))).toEqual(created);

      const dup = await call('POST', '/resource-servers', { body: { identifier, name: 'Again' } });
      expectError(dup, 409, 'conflict');

      const updated = ok(
        await call('PATCH', `/resource-servers/${created.id}`, {
          body: {
            name: 'Orders v2',
            scopes: [{ value: 'read:orders', description: 'Read' }],
            token_lifetime: 120,
          },
        }),
      );
      expect(updated).toMatchObject({
        id: created.id,
        identifier,
        name: 'Orders v2',
        scopes: [{ value: 'read:orders', description: 'Read' }],
        token_lifetime: 120,
        signing_alg: 'RS256',
      });
      expect(ok(await call('GET', `/resource-servers/${created.id}`))).toMatchObject({ name: 'Orders v2' });

      // a machine authorized for it gets RS256 tokens that live 120 s
      const m2m = ok(
        await call('POST', '/clients', { body: { name: 'Orders bot', app_type: 'non_interactive' } }),
        201,
      );
      ok(
        await call('POST', '/client-grants', {
          body: { client_id: m2m.client_id, audience: identifier, scope: ['read:orders'] },
        }),
        201,
      );
      const token = await clientCredentials({ clientId: m2m.client_id, clientSecret: m2m.client_secret });
      expect(token.status, JSON.stringify(token.body)).toBe(200);
      expect(token.body.expires_in).toBe(120);
      expect(decodeJwt(token.body.access_token!).header.alg).toBe('RS256');

      expectStatus(await call('DELETE', `/resource-servers/${created.id}`), 204);
      expectError(await call('GET', `/resource-servers/${created.id}`), 404, 'inexistent_resource');
      expect(ok(await call('GET', '/client-grants', { query: { audience: identifier } }))).toEqual([]);
      expect(
        (await clientCredentials({ clientId: m2m.client_id, clientSecret: m2m.client_secret })).status,
      ).toBe(400);
    });

    it('filters by identifiers (repeated, at most 10), as Auth0 does', async () => {
      const [a, b] = [await newApi(t), await newApi(t)];
      const only = (ids: string[], extra: Record<string, string> = {}) => {
        const query = new URLSearchParams(extra);
        for (const id of ids) query.append('identifiers', id);
        return call('GET', '/resource-servers', { query });
      };
      expect(ok(await only([a.identifier])).map((r: { id: string }) => r.id)).toEqual([a.id]);
      const both = ok(await only([a.identifier, b.identifier, 'https://nothing.example/']));
      expect(both.map((r: { id: string }) => r.id).sort()).toEqual([a.id, b.id].sort());
      expect(ok(await only(['https://nothing.example/']))).toEqual([]);
      const totals = ok(await only([a.identifier, b.identifier], { include_totals: 'true', per_page: '1' }));
      expect(totals).toMatchObject({ start: 0, limit: 1, length: 1, total: 2 });
      const many = Array.from({ length: 11 }, (_, i) => `https://x${i}.example/`);
      expectError(await only(many), 400, 'invalid_query_string');
    });

    it('refuses a bad identifier or signing_alg, naming the field', async () => {
      const rel = await call('POST', '/resource-servers', { body: { identifier: 'not a uri', name: 'X' } });
      expectError(rel, 400, 'invalid_body');
      expect(rel.body.message).toMatch(/identifier/);
      const alg = await call('POST', '/resource-servers', {
        body: { identifier: `https://${unique('h')}.example/`, name: 'X', signing_alg: 'HS256' },
      });
      expectError(alg, 400, 'invalid_body');
      expect(alg.body.message).toMatch(/signing_alg/);
      const missing = await call('POST', '/resource-servers', { body: { name: 'No identifier' } });
      expectError(missing, 400, 'invalid_body');
      expect(missing.body.message).toMatch(/identifier/);
      // what a browser never writes in a URL, though its parser takes it (RFC 8707: resource is a URI)
      for (const identifier of ['https://x.example\\y/', `https://${unique('h')}.example/\u00e9`]) {
        const odd = await call('POST', '/resource-servers', { body: { identifier, name: 'X' } });
        expectError(odd, 400, 'invalid_body');
        expect(odd.body.message).toMatch(
          /^identifier: must be a URI in ASCII, other characters percent-encoded/,
        );
      }
      const encoded = `https://${unique('h')}.example/%C3%A9`;
      expectStatus(
        await call('POST', '/resource-servers', { body: { identifier: encoded, name: 'X' } }),
        201,
      );
    });
  });

  describe('client grants', () => {
    let m2m: { client_id: string; client_secret: string };
    let other: Api;

    beforeAll(async () => {
      m2m = ok(
        await call('POST', '/clients', { body: { name: 'Grantee', app_type: 'non_interactive' } }),
        201,
      );
      other = await newApi(t, { scopes: scopes('read:other') });
    });

    it('creates, filters, pages, updates and deletes', async () => {
      const g1 = ok(
        await call('POST', '/client-grants', {
          body: { client_id: m2m.client_id, audience: api.identifier, scope: ['read:things'] },
        }),
        201,
      );
      expect(g1).toEqual({
        id: expect.any(String),
        client_id: m2m.client_id,
        audience: api.identifier,
        scope: ['read:things'],
        subject_type: 'client',
      });
      const dup = await call('POST', '/client-grants', {
        body: { client_id: m2m.client_id, audience: api.identifier, scope: ['write:things'] },
      });
      expectError(dup, 409, 'conflict');
      const g2 = ok(
        await call('POST', '/client-grants', {
          body: { client_id: m2m.client_id, audience: other.identifier, scope: ['read:other'] },
        }),
        201,
      );

      const mine = ok(await call('GET', '/client-grants', { query: { client_id: m2m.client_id } }));
      expect(mine.map((g: { id: string }) => g.id).sort()).toEqual([g1.id, g2.id].sort());
      const forOther = ok(await call('GET', '/client-grants', { query: { audience: other.identifier } }));
      expect(forOther).toEqual([g2]);
      const both = ok(
        await call('GET', '/client-grants', {
          query: { audience: api.identifier, client_id: m2m.client_id },
        }),
      );
      expect(both).toEqual([g1]);
      expect(
        ok(await call('GET', '/client-grants', { query: { audience: 'https://unknown.example/' } })),
      ).toEqual([]);
      const totals = ok(
        await call('GET', '/client-grants', { query: { client_id: m2m.client_id, include_totals: true } }),
      );
      expect(totals).toMatchObject({ start: 0, total: 2, length: 2 });
      expect(totals.client_grants).toHaveLength(2);

      // checkpoint paging
      const first = ok(await call('GET', '/client-grants', { query: { client_id: m2m.client_id, take: 1 } }));
      expect(first.client_grants).toHaveLength(1);
      expect(first.next).toEqual(expect.any(String));
      const second = ok(
        await call('GET', '/client-grants', {
          query: { client_id: m2m.client_id, take: 1, from: first.next },
        }),
      );
      expect(second.client_grants).toHaveLength(1);
      expect([first.client_grants[0].id, second.client_grants[0].id].sort()).toEqual([g1.id, g2.id].sort());
      if (second.next !== undefined) {
        const third = ok(
          await call('GET', '/client-grants', {
            query: { client_id: m2m.client_id, take: 1, from: second.next },
          }),
        );
        expect(third.client_grants).toEqual([]);
        expect(third).not.toHaveProperty('next');
      }

      // update: the next token has the new scopes
      const patched = ok(
        await call('PATCH', `/client-grants/${g1.id}`, { body: { scope: ['write:things'] } }),
      );
      expect(patched).toEqual({ ...g1, scope: ['write:things'] });
      const creds = { clientId: m2m.client_id, clientSecret: m2m.client_secret };
      const token = await clientCredentials(creds, { audience: api.identifier });
      expect(token.status, JSON.stringify(token.body)).toBe(200);
      expect(token.body.scope).toBe('write:things');
      const undefinedScope = await call('PATCH', `/client-grants/${g1.id}`, {
        body: { scope: ['delete:things'] },
      });
      expectError(undefinedScope, 400, 'invalid_body');
      expect(undefinedScope.body.message).toContain('delete:things');

      expectStatus(await call('DELETE', `/client-grants/${g1.id}`), 204);
      expectError(await call('DELETE', `/client-grants/${g1.id}`), 404, 'inexistent_resource');
      expectError(
        await call('PATCH', `/client-grants/${g1.id}`, { body: { scope: [] } }),
        404,
        'inexistent_resource',
      );
      const refused = await clientCredentials(creds, { audience: api.identifier });
      expect(refused.status).toBe(400);
      expect(refused.body.error).toBe('unauthorized_client');
      expect(ok(await call('GET', '/client-grants', { query: { client_id: m2m.client_id } }))).toEqual([g2]);
    });

    it('a scope removed from the API goes from its client grants, and defining it again gives nothing back', async () => {
      const own = await newApi(t, { scopes: scopes('a', 'b') });
      const c = ok(
        await call('POST', '/clients', { body: { name: 'Pruned', app_type: 'non_interactive' } }),
        201,
      );
      const creds = { clientId: c.client_id, clientSecret: c.client_secret };
      const grant = ok(
        await call('POST', '/client-grants', {
          body: { client_id: c.client_id, audience: own.identifier, scope: ['a', 'b'] },
        }),
        201,
      );
      ok(await call('PATCH', `/resource-servers/${own.id}`, { body: { scopes: [{ value: 'b' }] } }));
      const listed = ok(await call('GET', '/client-grants', { query: { client_id: c.client_id } }));
      expect(listed).toEqual([{ ...grant, scope: ['b'] }]);
      // what the grant shows can be sent back as it is
      ok(await call('PATCH', `/client-grants/${grant.id}`, { body: { scope: ['b'] } }));
      ok(
        await call('PATCH', `/resource-servers/${own.id}`, {
          body: { scopes: [{ value: 'a' }, { value: 'b' }] },
        }),
      );
      const again = await clientCredentials(creds, { audience: own.identifier, scope: 'a' });
      expect(again.status).toBe(400);
      expect(again.body.error).toBe('invalid_scope');
      const b = await clientCredentials(creds, { audience: own.identifier });
      expect(b.status).toBe(200);
      expect(decodeJwt(b.body.access_token!).payload.scope).toBe('b');
    });

    it('refuses a scope the API does not define, an unknown API and a client without client_credentials', async () => {
      const c = ok(
        await call('POST', '/clients', { body: { name: 'G2', app_type: 'non_interactive' } }),
        201,
      );
      const undefinedScope = await call('POST', '/client-grants', {
        body: { client_id: c.client_id, audience: api.identifier, scope: ['admin'] },
      });
      expectError(undefinedScope, 400, 'invalid_body');
      expect(undefinedScope.body.message).toContain('admin');
      const unknownApi = await call('POST', '/client-grants', {
        body: { client_id: c.client_id, audience: 'https://nowhere.example/', scope: [] },
      });
      expect([400, 404]).toContain(unknownApi.status);
      const unknownClient = await call('POST', '/client-grants', {
        body: { client_id: 'nope', audience: api.identifier, scope: [] },
      });
      expect([400, 404]).toContain(unknownClient.status);
      const spa = ok(
        await call('POST', '/clients', {
          body: { name: 'S', app_type: 'spa', callbacks: ['https://s.example/cb'] },
        }),
        201,
      );
      const noCc = await call('POST', '/client-grants', {
        body: { client_id: spa.client_id, audience: api.identifier, scope: [] },
      });
      expectError(noCc, 400, 'invalid_body');
    });
  });
});
