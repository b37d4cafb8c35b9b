import * as client from 'openid-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MANAGEMENT_SCOPES, managementIdentifier } from '../../src/admin/system.js';
import type { Api } from '../../src/storage/types.js';
import type { UserAgent } from '../protocol/sign-in/agent.js';
import {
  browser,
  CALLBACK,
  decodeJwt,
  expectTokenError,
  isActive,
  newUser,
  tokenRequest,
  webConfig,
  webSignIn,
} from '../protocol/sign-in/fixtures.js';
import { startTestApp, type TestApp } from '../support/app.js';
import { describeEachBackend } from '../support/databases.js';
import {
  type Answer,
  type Call,
  caller,
  expectError,
  expectStatus,
  ISO_TIME,
  type ManagementCredentials,
  managementToken,
  newApi,
  postToken,
  scopes,
  unique,
} from './support.js';

type Creds = { clientId: string; clientSecret: string };

/** Asserts 2xx-with-status and returns the body. */
// biome-ignore lint/suspicious/noExplicitAny: tests read arbitrary JSON shapes
function ok(answer: Answer, status = 200): any {
  expectStatus(answer, status);
  return answer.body;
}

describeEachBackend('Management API: resources', (backend) => {
  let t: TestApp;
  let admin: ManagementCredentials;
  let call: Call;
  /** An ordinary API with read:things and write:things, refresh tokens allowed. */
  let api: Api;

  beforeAll(async () => {
    t = await startTestApp(backend);
    admin = await managementToken(t);
    call = caller(t, admin.token);
    api = await newApi(t, { allowOfflineAccess: true });
  });
  afterAll(async () => t?.close());

  const clientCredentials = (c: Creds, extra: Record<string, string> = {}) =>
    postToken(t, {
      grant_type: 'client_credentials',
      client_id: c.clientId,
      client_secret: c.clientSecret,
      ...extra,
    });

  describe('clients', () => {
    it('creates a regular_web client: 201 with its secret once, never again', async () => {
      const created = ok(
        await call('POST', '/clients', {
          body: {
            name: 'Shop',
            app_type: 'regular_web',
            description: 'The shop',
            logo_uri: 'https://shop.example/logo.png',
            callbacks: ['https://shop.example/cb'],
            allowed_logout_urls: ['https://shop.example/bye'],
            web_origins: ['https://shop.example'],
            is_first_party: true,
            oidc_conformant: true,
            jwt_configuration: { alg: 'ES256' },
            client_metadata: { team: 'retail' },
            allow_offline_access: true,
          },
        }),
        201,
      );
      expect(created).toMatchObject({
        name: 'Shop',
        app_type: 'regular_web',
        description: 'The shop',
        logo_uri: 'https://shop.example/logo.png',
        callbacks: ['https://shop.example/cb'],
        allowed_logout_urls: ['https://shop.example/bye'],
        web_origins: ['https://shop.example'],
        is_first_party: true,
        jwt_configuration: { alg: 'ES256' },
        client_metadata: { team: 'retail' },
        allow_offline_access: true,
      });
      expect(created.client_id).toEqual(expect.any(String));
      expect(created.client_secret).toEqual(expect.any(String));
      expect(created.client_secret.length).toBeGreaterThanOrEqual(32);
      expect(created.grant_types).toEqual(expect.arrayContaining(['authorization_code', 'refresh_token']));
      expect(created.created_at).toMatch(ISO_TIME);
      expect(created.updated_at).toMatch(ISO_TIME);

      const got = ok(await call('GET', `/clients/${created.client_id}`));
      expect(got).not.toHaveProperty('client_secret');
      const { client_secret: _secret, ...rest } = created;
      expect(got).toEqual(rest);
      const stored = await t.rt.storage.applications.get(created.client_id);
      expect(JSON.stringify(stored)).not.toContain(created.client_secret);

      const listed = ok(await call('GET', '/clients', { query: { per_page: 100 } })) as {
        client_id: string;
      }[];
      expect(listed.find((c) => c.client_id === created.client_id)).toBeDefined();
      for (const c of listed) expect(c).not.toHaveProperty('client_secret');
      expect(JSON.stringify(listed)).not.toContain(created.client_secret);
    });

    it('creates public clients without a secret, with Auth0 grant names', async () => {
      const spa = ok(
        await call('POST', '/clients', {
          body: { name: 'SPA', app_type: 'spa', callbacks: ['https://spa.example/cb'] },
        }),
        201,
      );
      expect(spa).not.toHaveProperty('client_secret');
      expect(spa.token_endpoint_auth_method).toBe('none');
      const native = ok(
        await call('POST', '/clients', {
          body: {
            name: 'TV',
            app_type: 'native',
            grant_types: ['urn:ietf:params:oauth:grant-type:device_code', 'refresh_token'],
          },
        }),
        201,
      );
      expect(native).not.toHaveProperty('client_secret');
      expect(native.grant_types.sort()).toEqual(
        ['refresh_token', 'urn:ietf:params:oauth:grant-type:device_code'].sort(),
      );
    });

    it('defaults app_type to regular_web', async () => {
      const created = ok(await call('POST', '/clients', { body: { name: 'Default type' } }), 201);
      expect(created.app_type).toBe('regular_web');
      expect(created.client_secret).toEqual(expect.any(String));
    });

    it('refuses what admin/ refuses, naming the field', async () => {
      const bad = await call('POST', '/clients', {
        body: { name: 'Bad', app_type: 'regular_web', callbacks: ['https://x.example/cb#frag'] },
      });
      expectError(bad, 400, 'invalid_body');
      expect(bad.body.message).toMatch(/callbacks/);
      const noName = await call('POST', '/clients', { body: { app_type: 'spa' } });
      expectError(noName, 400, 'invalid_body');
      expect(noName.body.message).toMatch(/name/);
      const notConformant = await call('POST', '/clients', {
        body: { name: 'Legacy', oidc_conformant: false },
      });
      expectError(notConformant, 400, 'invalid_body');
      expect(notConformant.body.message).toMatch(/oidc_conformant/);
      const m2mCallbacks = await call('POST', '/clients', {
        body: { name: 'M', app_type: 'non_interactive', callbacks: ['https://m.example/cb'] },
      });
      expectError(m2mCallbacks, 400, 'invalid_body');
    });

    it('filters by app_type and pages with include_totals', async () => {
      for (let i = 0; i < 3; i++) {
        ok(
          await call('POST', '/clients', { body: { name: `Machine ${i}`, app_type: 'non_interactive' } }),
          201,
        );
      }
      const machines = ok(
        await call('GET', '/clients', { query: { app_type: 'non_interactive', per_page: 100 } }),
      );
      expect(machines.length).toBeGreaterThanOrEqual(3);
      expect(machines.every((c: { app_type: string }) => c.app_type === 'non_interactive')).toBe(true);
      const spas = ok(await call('GET', '/clients', { query: { app_type: 'spa' } }));
      expect(spas.every((c: { app_type: string }) => c.app_type === 'spa')).toBe(true);

      const total = machines.length;
      const page = ok(
        await call('GET', '/clients', {
          query: { app_type: 'non_interactive', per_page: 2, page: 1, include_totals: true },
        }),
      );
      expect(page).toMatchObject({ start: 2, limit: 2, length: Math.min(2, total - 2), total });
      expect(page.clients).toHaveLength(Math.min(2, total - 2));
      expect(page.clients.map((c: { client_id: string }) => c.client_id)).toEqual(
        machines.slice(2, 4).map((c: { client_id: string }) => c.client_id),
      );
      const past = ok(
        await call('GET', '/clients', { query: { app_type: 'non_interactive', per_page: 50, page: 9 } }),
      );
      expect(past).toEqual([]);
      const pastTotals = ok(
        await call('GET', '/clients', {
          query: { app_type: 'non_interactive', per_page: 50, page: 9, include_totals: true },
        }),
      );
      expect(pastTotals).toMatchObject({ start: 450, limit: 50, length: 0, total, clients: [] });
    });

    it('updates a client (PATCH), refusing app_type', async () => {
      const created = ok(
        await call('POST', '/clients', { body: { name: 'Before', callbacks: ['https://a.example/cb'] } }),
        201,
      );
      t.clock.advance(1);
      const updated = ok(
        await call('PATCH', `/clients/${created.client_id}`, {
          body: {
            name: 'After',
            callbacks: ['https://b.example/cb', 'https://b.example/cb2'],
            web_origins: ['https://b.example'],
            client_metadata: { k: 'v' },
            description: 'now described',
          },
        }),
      );
      expect(updated).toMatchObject({
        client_id: created.client_id,
        name: 'After',
        callbacks: ['https://b.example/cb', 'https://b.example/cb2'],
        web_origins: ['https://b.example'],
        client_metadata: { k: 'v' },
        description: 'now described',
        app_type: 'regular_web',
      });
      expect(updated).not.toHaveProperty('client_secret');
      expect(Date.parse(updated.updated_at)).toBeGreaterThan(Date.parse(created.updated_at));
      expect(ok(await call('GET', `/clients/${created.client_id}`))).toEqual(updated);
      const typeChange = await call('PATCH', `/clients/${created.client_id}`, { body: { app_type: 'spa' } });
      expectError(typeChange, 400, 'invalid_body');
      expect(typeChange.body.message).toContain('app_type');
    });

    it('rotates a secret: the old one stops working at once, the new one works', async () => {
      const created = ok(
        await call('POST', '/clients', { body: { name: 'Rotating', app_type: 'non_interactive' } }),
        201,
      );
      ok(
        await call('POST', '/client-grants', {
          body: { client_id: created.client_id, audience: api.identifier, scope: ['read:things'] },
        }),
        201,
      );
      const old = { clientId: created.client_id, clientSecret: created.client_secret };
      expect((await clientCredentials(old)).status).toBe(200);
      const rotated = ok(await call('POST', `/clients/${created.client_id}/rotate-secret`));
      expect(rotated.client_id).toBe(created.client_id);
      expect(rotated.client_secret).toEqual(expect.any(String));
      expect(rotated.client_secret).not.toBe(created.client_secret);
      const refused = await clientCredentials(old);
      expect(refused.status).toBe(401);
      expect(refused.body.error).toBe('invalid_client');
      const fresh = await clientCredentials({
        clientId: created.client_id,
        clientSecret: rotated.client_secret,
      });
      expect(fresh.status, JSON.stringify(fresh.body)).toBe(200);
      expect(decodeJwt(fresh.body.access_token!).payload.aud).toBe(api.identifier);
    });

    it('refuses to rotate the secret of a public client', async () => {
      const spa = ok(
        await call('POST', '/clients', {
          body: { name: 'SPA2', app_type: 'spa', callbacks: ['https://s.example/cb'] },
        }),
        201,
      );
      const answer = await call('POST', `/clients/${spa.client_id}/rotate-secret`);
      expectError(answer, 400);
    });

    it('deletes a client: 204, then 404 inexistent_resource, its client grants gone', async () => {
      const created = ok(
        await call('POST', '/clients', { body: { name: 'Doomed', app_type: 'non_interactive' } }),
        201,
      );
      ok(
        await call('POST', '/client-grants', {
          body: { client_id: created.client_id, audience: api.identifier, scope: [] },
        }),
        201,
      );
      expectStatus(await call('DELETE', `/clients/${created.client_id}`), 204);
      expectError(await call('GET', `/clients/${created.client_id}`), 404, 'inexistent_resource');
      expectError(await call('DELETE', `/clients/${created.client_id}`), 404, 'inexistent_resource');
      expect(ok(await call('GET', '/client-grants', { query: { client_id: created.client_id } }))).toEqual(
        [],
      );
      const token = await clientCredentials({
        clientId: created.client_id,
        clientSecret: created.client_secret,
      });
      expect(token.status).toBe(401);
    });
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

  describe('users', () => {
    const tag = unique('u');
    const email = (local: string, domain = 'x.test') => `${tag}${local}@${domain}`;
    const ids: Record<string, string> = {};
    const CONNECTION = 'Username-Password-Authentication';

    beforeAll(async () => {
      // created in this order, one second apart: carl, abby, dora, abe
      const people: [string, string, string?][] = [
        ['carl', 'Xavier Carl'],
        ['abby', 'Zoe Abby'],
        ['dora', 'Wanda Dora', 'y.test'],
        ['abe', 'Yann Abe'],
      ];
      for (const [local, name, domain] of people) {
        const created = ok(
          await call('POST', '/users', {
            body: {
              connection: CONNECTION,
              email: email(local, domain),
              password: 'a long enough password',
              name,
            },
          }),
          201,
        );
        ids[local] = created.user_id;
        t.clock.advance(1);
      }
    });

    const emailsOf = (users: { email: string }[]) =>
      users.map((u) => u.email.slice(tag.length).split('@')[0]);

    it('creates a user in Auth0 shape, without any password material', async () => {
      const answer = await call('POST', '/users', {
        body: {
          connection: CONNECTION,
          email: email('Fresh'),
          password: 'another long password',
          name: 'Fresh Person',
          given_name: 'Fresh',
          family_name: 'Person',
          nickname: 'fp',
          picture: 'https://pics.example/fp.png',
          email_verified: true,
          app_metadata: { plan: 'pro' },
          user_metadata: { theme: 'dark' },
          verify_email: false,
        },
      });
      const user = ok(answer, 201);
      expect(user).toMatchObject({
        email: email('fresh'),
        email_verified: true,
        name: 'Fresh Person',
        given_name: 'Fresh',
        family_name: 'Person',
        nickname: 'fp',
        picture: 'https://pics.example/fp.png',
        blocked: false,
        app_metadata: { plan: 'pro' },
        user_metadata: { theme: 'dark' },
      });
      expect(user.user_id).toEqual(expect.any(String));
      expect(user.identities).toEqual([
        { connection: CONNECTION, provider: 'auth0', user_id: expect.any(String), isSocial: false },
      ]);
      expect(user.created_at).toMatch(ISO_TIME);
      expect(user.updated_at).toMatch(ISO_TIME);
      for (const key of Object.keys(user)) expect(key).not.toMatch(/password|hash/i);
      expect(answer.text).not.toContain('another long password');
      expect(answer.text).not.toContain('$argon2');
      const got = ok(await call('GET', `/users/${user.user_id}`));
      expect(got).toEqual(user);
    });

    it('refuses a duplicate email (409), also in other case', async () => {
      const dup = await call('POST', '/users', {
        body: { connection: CONNECTION, email: email('ABBY'), password: 'a long enough password' },
      });
      expectError(dup, 409, 'conflict');
    });

    it('requires connection, email and password, naming the field', async () => {
      for (const field of ['connection', 'email', 'password']) {
        const body: Record<string, string> = {
          connection: CONNECTION,
          email: email(`req${field}`),
          password: 'a long enough password',
        };
        delete body[field];
        const answer = await call('POST', '/users', { body });
        expectError(answer, 400, 'invalid_body');
        expect(answer.body.message).toContain(field);
      }
      const otherConnection = await call('POST', '/users', {
        body: { connection: 'google-oauth2', email: email('goog'), password: 'a long enough password' },
      });
      expectError(otherConnection, 400, 'invalid_body');
      expect(otherConnection.body.message).toContain('connection');
    });

    it('searches: plain text is a substring of email or name (case-insensitive)', async () => {
      const all = ok(await call('GET', '/users', { query: { q: tag, sort: 'email:1' } }));
      expect(emailsOf(all)).toEqual(expect.arrayContaining(['abby', 'abe', 'carl', 'dora']));
      const byName = ok(await call('GET', '/users', { query: { q: 'WANDA DORA' } }));
      expect(byName.map((u: { user_id: string }) => u.user_id)).toEqual([ids.dora]);
      const byDomain = ok(await call('GET', '/users', { query: { q: `dora@y.test`, search_engine: 'v3' } }));
      expect(byDomain.map((u: { user_id: string }) => u.user_id)).toEqual([ids.dora]);
    });

    it('searches: email:prefix* and email:"exact"', async () => {
      const prefix = ok(await call('GET', '/users', { query: { q: `email:${tag}ab*`, sort: 'email:1' } }));
      expect(emailsOf(prefix)).toEqual(['abby', 'abe']);
      const exact = ok(await call('GET', '/users', { query: { q: `email:"${email('abe')}"` } }));
      expect(exact.map((u: { user_id: string }) => u.user_id)).toEqual([ids.abe]);
      const exactOtherCase = ok(
        await call('GET', '/users', { query: { q: `email:"${email('ABE').toUpperCase()}"` } }),
      );
      expect(exactOtherCase.map((u: { user_id: string }) => u.user_id)).toEqual([ids.abe]);
      // exact is exact: a prefix of an email does not match
      expect(ok(await call('GET', '/users', { query: { q: `email:"${tag}ab"` } }))).toEqual([]);
    });

    it('sorts by email, name and created_at, both ways', async () => {
      const q = `email:${tag}`;
      const list = async (sort: string) =>
        emailsOf(ok(await call('GET', '/users', { query: { q: `${q}*`, sort } }))).filter((e) =>
          ['abby', 'abe', 'carl', 'dora'].includes(e as string),
        );
      expect(await list('email:1')).toEqual(['abby', 'abe', 'carl', 'dora']);
      expect(await list('email:-1')).toEqual(['dora', 'carl', 'abe', 'abby']);
      expect(await list('name:1')).toEqual(['dora', 'carl', 'abe', 'abby']);
      expect(await list('name:-1')).toEqual(['abby', 'abe', 'carl', 'dora']);
      expect(await list('created_at:1')).toEqual(['carl', 'abby', 'dora', 'abe']);
      expect(await list('created_at:-1')).toEqual(['abe', 'dora', 'abby', 'carl']);
    });

    it('pages with include_totals; past the end is an empty list', async () => {
      const q = { q: `email:${tag}ab*`, sort: 'email:1' };
      const p0 = ok(
        await call('GET', '/users', { query: { ...q, per_page: 1, page: 0, include_totals: true } }),
      );
      expect(p0).toMatchObject({ start: 0, limit: 1, length: 1, total: 2 });
      expect(emailsOf(p0.users)).toEqual(['abby']);
      const p1 = ok(
        await call('GET', '/users', { query: { ...q, per_page: 1, page: 1, include_totals: true } }),
      );
      expect(p1).toMatchObject({ start: 1, limit: 1, length: 1, total: 2 });
      expect(emailsOf(p1.users)).toEqual(['abe']);
      const p2 = ok(
        await call('GET', '/users', { query: { ...q, per_page: 1, page: 2, include_totals: true } }),
      );
      expect(p2).toEqual({ start: 2, limit: 1, length: 0, total: 2, users: [] });
      expect(ok(await call('GET', '/users', { query: { ...q, per_page: 1, page: 7 } }))).toEqual([]);
      const bare = ok(await call('GET', '/users', { query: { ...q, per_page: 1, page: 1 } }));
      expect(Array.isArray(bare)).toBe(true);
      expect(emailsOf(bare)).toEqual(['abe']);
    });

    it('finds users by email (/users-by-email), a bare array', async () => {
      const found = ok(await call('GET', '/users-by-email', { query: { email: email('carl') } }));
      expect(found.map((u: { user_id: string }) => u.user_id)).toEqual([ids.carl]);
      const upper = ok(
        await call('GET', '/users-by-email', { query: { email: email('carl').toUpperCase() } }),
      );
      expect(upper.map((u: { user_id: string }) => u.user_id)).toEqual([ids.carl]);
      expect(ok(await call('GET', '/users-by-email', { query: { email: email('nobody') } }))).toEqual([]);
      expectError(await call('GET', '/users-by-email'), 400, 'invalid_query_string');
    });

    it('updates a user: profile, metadata merged (null removes), email; 409 on a taken email', async () => {
      const id = ids.carl!;
      const before = ok(await call('GET', `/users/${id}`));
      t.clock.advance(5);
      const updated = ok(
        await call('PATCH', `/users/${id}`, {
          body: {
            name: 'Carl Renamed',
            user_metadata: { theme: 'dark', lang: 'fr' },
            app_metadata: { plan: 'x' },
          },
        }),
      );
      expect(updated).toMatchObject({
        user_id: id,
        name: 'Carl Renamed',
        user_metadata: { theme: 'dark', lang: 'fr' },
        app_metadata: { plan: 'x' },
      });
      expect(Date.parse(updated.updated_at)).toBeGreaterThan(Date.parse(before.updated_at));
      const merged = ok(
        await call('PATCH', `/users/${id}`, { body: { user_metadata: { theme: null, size: 'L' } } }),
      );
      expect(merged.user_metadata).toEqual({ lang: 'fr', size: 'L' });
      expect(merged.app_metadata).toEqual({ plan: 'x' });
      const taken = await call('PATCH', `/users/${id}`, { body: { email: email('abby') } });
      expectError(taken, 409, 'conflict');
      const moved = ok(await call('PATCH', `/users/${id}`, { body: { email: email('carl2') } }));
      expect(moved.email).toBe(email('carl2'));
      expect(ok(await call('GET', '/users-by-email', { query: { email: email('carl2') } }))).toHaveLength(1);
      ok(await call('PATCH', `/users/${id}`, { body: { email: email('carl') } }));
    });

    it('deletes a user: 204, then 404', async () => {
      const created = ok(
        await call('POST', '/users', {
          body: { connection: CONNECTION, email: email('gone'), password: 'a long enough password' },
        }),
        201,
      );
      expectStatus(await call('DELETE', `/users/${created.user_id}`), 204);
      expectError(await call('GET', `/users/${created.user_id}`), 404, 'inexistent_resource');
      expectError(await call('DELETE', `/users/${created.user_id}`), 404, 'inexistent_resource');
      expect(ok(await call('GET', '/users-by-email', { query: { email: email('gone') } }))).toEqual([]);
    });
  });

  describe('tenant settings', () => {
    it('reads and updates; null resets a field', async () => {
      ok(await call('GET', '/tenants/settings'));
      const updated = ok(
        await call('PATCH', '/tenants/settings', {
          body: {
            friendly_name: 'Acme',
            support_email: 'help@acme.example',
            support_url: 'https://acme.example/help',
            picture_url: 'https://acme.example/logo.png',
            session_lifetime: 48,
            idle_session_lifetime_in_minutes: 90,
            signup_enabled: true,
          },
        }),
      );
      expect(updated).toMatchObject({
        friendly_name: 'Acme',
        support_email: 'help@acme.example',
        support_url: 'https://acme.example/help',
        picture_url: 'https://acme.example/logo.png',
        session_lifetime: 48,
        idle_session_lifetime: 1.5,
        signup_enabled: true,
      });
      expect(ok(await call('GET', '/tenants/settings'))).toMatchObject(updated);
      const reset = ok(await call('PATCH', '/tenants/settings', { body: { friendly_name: null } }));
      expect(reset).not.toHaveProperty('friendly_name');
      expect(reset.support_email).toBe('help@acme.example');
      const bad = await call('PATCH', '/tenants/settings', { body: { support_email: 'not an email' } });
      expectError(bad, 400, 'invalid_body');
      expect(bad.body.message).toContain('support_email');
    });

    it('refuses a default_audience that is no API', async () => {
      const answer = await call('PATCH', '/tenants/settings', {
        body: { default_audience: 'https://no-such-api.example/' },
      });
      expectError(answer, 400, 'invalid_body');
      expect(answer.body.message).toContain('default_audience');
    });

    it('honours default_audience at the token endpoint when no audience is named', async () => {
      const api2 = await newApi(t, { scopes: scopes('read:two') });
      const m2m = ok(
        await call('POST', '/clients', { body: { name: 'Two APIs', app_type: 'non_interactive' } }),
        201,
      );
      for (const [audience, scope] of [
        [api.identifier, ['read:things']],
        [api2.identifier, ['read:two']],
      ] as const) {
        ok(
          await call('POST', '/client-grants', { body: { client_id: m2m.client_id, audience, scope } }),
          201,
        );
      }
      const creds = { clientId: m2m.client_id, clientSecret: m2m.client_secret };
      const ambiguous = await clientCredentials(creds);
      expect(ambiguous.status).toBe(400);
      expect(ambiguous.body.error).toBe('invalid_request');
      try {
        ok(await call('PATCH', '/tenants/settings', { body: { default_audience: api2.identifier } }));
        expect(ok(await call('GET', '/tenants/settings')).default_audience).toBe(api2.identifier);
        const chosen = await clientCredentials(creds);
        expect(chosen.status, JSON.stringify(chosen.body)).toBe(200);
        expect(chosen.body.scope).toBe('read:two');
        expect(decodeJwt(chosen.body.access_token!).payload.aud).toBe(api2.identifier);
        // a named audience still wins
        const named = await clientCredentials(creds, { audience: api.identifier });
        expect(decodeJwt(named.body.access_token!).payload.aud).toBe(api.identifier);
      } finally {
        ok(await call('PATCH', '/tenants/settings', { body: { default_audience: null } }));
      }
      expect((await clientCredentials(creds)).status).toBe(400);
    });
  });

  describe('sessions, refresh tokens and grants of people', () => {
    const SCOPE = 'openid offline_access read:things';
    let web: Creds;
    let rs: Creds;
    let config: client.Configuration;

    beforeAll(async () => {
      web = (await t.createApp({ name: 'Web', type: 'web', callbacks: [CALLBACK] })) as Creds;
      rs = await t.createM2m(api);
      config = await webConfig(t, web);
    });

    /** A person signed in through a browser, with their tokens. */
    async function signedIn(cfg = config) {
      const { user, creds } = await newUser(t);
      const agent = browser(t, creds);
      const { tokens, flow } = await webSignIn(agent, cfg, { scope: SCOPE, audience: api.identifier });
      expect(tokens.refresh_token).toEqual(expect.any(String));
      return {
        userId: user.id,
        agent,
        pages: flow.pages,
        refreshToken: tokens.refresh_token as string,
        accessToken: tokens.access_token,
      };
    }

    const refresh = (token: string, app: Creds = web) =>
      tokenRequest(t, {
        grant_type: 'refresh_token',
        refresh_token: token,
        client_id: app.clientId,
        client_secret: app.clientSecret,
      });

    /** Whether the browser is asked to log in when it signs in again. */
    async function asksLogin(agent: UserAgent): Promise<boolean> {
      const pending = await client.buildAuthorizationUrl(config, {
        redirect_uri: CALLBACK,
        scope: 'openid',
        code_challenge: await client.calculatePKCECodeChallenge(client.randomPKCECodeVerifier()),
        code_challenge_method: 'S256',
      });
      const flow = await agent.signIn(pending, { stopAt: 'login' });
      return flow.pages.includes('login');
    }

    it('lists and reads sessions, refresh tokens and grants', async () => {
      const p = await signedIn();
      expect(p.pages).toEqual(['login', 'consent']);

      const sessions = ok(await call('GET', `/users/${p.userId}/sessions`));
      expect(sessions.sessions).toHaveLength(1);
      expect(sessions).not.toHaveProperty('next');
      const s = sessions.sessions[0];
      expect(s).toMatchObject({
        id: expect.any(String),
        user_id: p.userId,
        authentication: { methods: [expect.objectContaining({ name: 'pwd' })] },
      });
      for (const field of [
        'created_at',
        'updated_at',
        'authenticated_at',
        'last_interacted_at',
        'expires_at',
      ]) {
        expect(s[field], field).toMatch(ISO_TIME);
      }
      expect(s.device).toEqual(expect.any(Object));
      expect(ok(await call('GET', `/sessions/${s.id}`))).toMatchObject({ id: s.id, user_id: p.userId });

      const tokens = ok(await call('GET', `/users/${p.userId}/refresh-tokens`));
      expect(tokens.tokens).toHaveLength(1);
      const rt = tokens.tokens[0];
      expect(rt).toMatchObject({
        id: expect.any(String),
        user_id: p.userId,
        client_id: web.clientId,
        rotating: true,
        session_id: s.id,
      });
      // Auth0 writes the scopes of a refresh token as one space-separated string
      expect(rt.resource_servers).toEqual([{ audience: api.identifier, scopes: expect.any(String) }]);
      expect(rt.resource_servers[0].scopes.split(' ')).toEqual(expect.arrayContaining(['read:things']));
      expect(rt.created_at).toMatch(ISO_TIME);
      expect(rt.expires_at).toMatch(ISO_TIME);
      expect(rt.idle_expires_at).toMatch(ISO_TIME);
      expect(JSON.stringify(tokens)).not.toContain(p.refreshToken);
      expect(ok(await call('GET', `/refresh-tokens/${rt.id}`))).toMatchObject({
        id: rt.id,
        user_id: p.userId,
      });

      // the family keeps its id across rotation
      const rotated = await refresh(p.refreshToken);
      expect(rotated.status, JSON.stringify(rotated.body)).toBe(200);
      const after = ok(await call('GET', `/users/${p.userId}/refresh-tokens`));
      expect(after.tokens.map((x: { id: string }) => x.id)).toEqual([rt.id]);

      const grants = ok(await call('GET', '/grants', { query: { user_id: p.userId } }));
      expect(grants).toEqual([
        {
          id: expect.any(String),
          clientID: web.clientId,
          user_id: p.userId,
          audience: api.identifier,
          scope: expect.arrayContaining(['read:things']),
        },
      ]);
      const byClient = ok(
        await call('GET', '/grants', { query: { client_id: web.clientId, per_page: 100 } }),
      );
      expect(byClient.some((g: { id: string }) => g.id === grants[0].id)).toBe(true);
      const totals = ok(await call('GET', '/grants', { query: { user_id: p.userId, include_totals: true } }));
      expect(totals).toMatchObject({ start: 0, length: 1, total: 1 });
      expect(totals.grants).toHaveLength(1);
    });

    it('pages sessions with checkpoints (take, from = next)', async () => {
      const p = await signedIn();
      const second = browser(t, p.agent.credentials);
      await webSignIn(second, config, { scope: 'openid' });
      const first = ok(await call('GET', `/users/${p.userId}/sessions`, { query: { take: 1 } }));
      expect(first.sessions).toHaveLength(1);
      expect(first.next).toEqual(expect.any(String));
      const rest = ok(
        await call('GET', `/users/${p.userId}/sessions`, { query: { take: 1, from: first.next } }),
      );
      expect(rest.sessions).toHaveLength(1);
      expect(rest.sessions[0].id).not.toBe(first.sessions[0].id);
      const all = ok(await call('GET', `/users/${p.userId}/sessions`));
      expect(all.sessions).toHaveLength(2);
    });

    it('DELETE /grants/{id}: the refresh token gets invalid_grant, the access token is inactive', async () => {
      const p = await signedIn();
      expect(await isActive(t, rs, p.accessToken)).toBe(true);
      const [grant] = ok(await call('GET', '/grants', { query: { user_id: p.userId } }));
      expectStatus(await call('DELETE', `/grants/${grant.id}`), 204);
      expectTokenError(await refresh(p.refreshToken), 400, 'invalid_grant');
      expect(await isActive(t, rs, p.accessToken)).toBe(false);
      expect(ok(await call('GET', '/grants', { query: { user_id: p.userId } }))).toEqual([]);
      expect(ok(await call('GET', `/users/${p.userId}/refresh-tokens`)).tokens).toEqual([]);
      expectError(await call('DELETE', `/grants/${grant.id}`), 404, 'inexistent_resource');
      // the next sign-in asks for consent again
      const again = await webSignIn(p.agent, config, { scope: SCOPE, audience: api.identifier });
      expect(again.flow.pages).toEqual(['consent']);
    });

    it('DELETE /grants?user_id= withdraws all of a user\u2019s grants', async () => {
      const p = await signedIn();
      expect(ok(await call('GET', '/grants', { query: { user_id: p.userId } }))).toHaveLength(1);
      expectStatus(await call('DELETE', '/grants', { query: { user_id: p.userId } }), 204);
      expect(ok(await call('GET', '/grants', { query: { user_id: p.userId } }))).toEqual([]);
      expectTokenError(await refresh(p.refreshToken), 400, 'invalid_grant');
    });

    it('DELETE /users/{id}/sessions signs the person out everywhere: the browser logs in again', async () => {
      const p = await signedIn();
      expect(await asksLogin(p.agent)).toBe(false);
      expectStatus(await call('DELETE', `/users/${p.userId}/sessions`), 204);
      expect(ok(await call('GET', `/users/${p.userId}/sessions`)).sessions).toEqual([]);
      expect(await asksLogin(p.agent)).toBe(true);
    });

    it('DELETE /sessions/{id} ends one session', async () => {
      const p = await signedIn();
      const [s] = ok(await call('GET', `/users/${p.userId}/sessions`)).sessions;
      expectStatus(await call('DELETE', `/sessions/${s.id}`), 204);
      expectError(await call('GET', `/sessions/${s.id}`), 404, 'inexistent_resource');
      expectError(await call('DELETE', `/sessions/${s.id}`), 404, 'inexistent_resource');
      expect(await asksLogin(p.agent)).toBe(true);
    });

    it('DELETE /refresh-tokens/{id} revokes the family and its access tokens', async () => {
      const p = await signedIn();
      const [rt] = ok(await call('GET', `/users/${p.userId}/refresh-tokens`)).tokens;
      expectStatus(await call('DELETE', `/refresh-tokens/${rt.id}`), 204);
      expectTokenError(await refresh(p.refreshToken), 400, 'invalid_grant');
      expect(await isActive(t, rs, p.accessToken)).toBe(false);
      expectError(await call('GET', `/refresh-tokens/${rt.id}`), 404, 'inexistent_resource');
    });

    it('DELETE /users/{id}/refresh-tokens revokes every refresh token of the person', async () => {
      const p = await signedIn();
      const second = await webSignIn(browser(t, p.agent.credentials), config, {
        scope: SCOPE,
        audience: api.identifier,
      });
      expect(ok(await call('GET', `/users/${p.userId}/refresh-tokens`)).tokens).toHaveLength(2);
      expectStatus(await call('DELETE', `/users/${p.userId}/refresh-tokens`), 204);
      expect(ok(await call('GET', `/users/${p.userId}/refresh-tokens`)).tokens).toEqual([]);
      expectTokenError(await refresh(p.refreshToken), 400, 'invalid_grant');
      expectTokenError(await refresh(second.tokens.refresh_token!), 400, 'invalid_grant');
    });

    it('blocking a user (PATCH blocked) ends their sessions and tokens', async () => {
      const p = await signedIn();
      const blocked = ok(await call('PATCH', `/users/${p.userId}`, { body: { blocked: true } }));
      expect(blocked.blocked).toBe(true);
      expectTokenError(await refresh(p.refreshToken), 400, 'invalid_grant');
      expect(await isActive(t, rs, p.accessToken)).toBe(false);
      expect(ok(await call('GET', `/users/${p.userId}/sessions`)).sessions).toEqual([]);
    });

    it('a new password (PATCH password) ends their sessions and tokens; the new password works', async () => {
      const p = await signedIn();
      ok(await call('PATCH', `/users/${p.userId}`, { body: { password: 'a brand new password' } }));
      expectTokenError(await refresh(p.refreshToken), 400, 'invalid_grant');
      expect(ok(await call('GET', `/users/${p.userId}/sessions`)).sessions).toEqual([]);
      const email = p.agent.credentials!.email;
      const agent = browser(t, { email, password: 'a brand new password' });
      const { tokens } = await webSignIn(agent, config, { scope: 'openid' });
      expect(tokens.id_token).toEqual(expect.any(String));
    });

    it('DELETE /users/{id}: their refresh token is dead, their sessions and grants gone', async () => {
      const p = await signedIn();
      expectStatus(await call('DELETE', `/users/${p.userId}`), 204);
      expectTokenError(await refresh(p.refreshToken), 400, 'invalid_grant');
      expect(await isActive(t, rs, p.refreshToken)).toBe(false);
      expect(await isActive(t, rs, p.accessToken)).toBe(false);
      expect(ok(await call('GET', '/grants', { query: { user_id: p.userId } }))).toEqual([]);
      expectError(await call('GET', `/users/${p.userId}/sessions`), 404, 'inexistent_resource');
      expect(await asksLogin(p.agent)).toBe(true);
    });

    it('DELETE /clients/{id} cascades: its refresh and access tokens stop working, its grants go', async () => {
      const created = ok(
        await call('POST', '/clients', { body: { name: 'Short-lived web', callbacks: [CALLBACK] } }),
        201,
      );
      const app = { clientId: created.client_id, clientSecret: created.client_secret };
      const cfg = await webConfig(t, app);
      const p = await signedIn(cfg);
      // only the token's own client may introspect it (#14 §3)
      expect(await isActive(t, app, p.refreshToken)).toBe(true);
      const userinfo = () =>
        t.fetch(`${t.issuer}/userinfo`, { headers: { authorization: `Bearer ${p.accessToken}` } });
      expect((await userinfo()).status).toBe(200);
      expect(ok(await call('GET', '/grants', { query: { client_id: app.clientId } }))).toHaveLength(1);
      expectStatus(await call('DELETE', `/clients/${app.clientId}`), 204);
      expect((await userinfo()).status).toBe(401);
      expect(ok(await call('GET', `/users/${p.userId}/refresh-tokens`)).tokens).toEqual([]);
      expect(ok(await call('GET', '/grants', { query: { client_id: app.clientId } }))).toEqual([]);
      expectTokenError(await refresh(p.refreshToken, app), 401, 'invalid_client');
    });
  });

  // Last: rotation moves the clock forward and revocation replaces a key.
  describe('signing keys', () => {
    const ALGS = ['ES256', 'RS256', 'PS256', 'EdDSA'];

    const jwksKids = async () => {
      const res = await t.fetch(`${t.issuer}/.well-known/jwks.json`);
      expect(res.status).toBe(200);
      return ((await res.json()) as { keys: { kid: string }[] }).keys.map((k) => k.kid);
    };

    it('lists public keys only, one current per algorithm', async () => {
      const answer = await call('GET', '/keys/signing');
      const keys = ok(answer);
      expect(Array.isArray(keys)).toBe(true);
      for (const alg of ALGS) {
        expect(
          keys.filter((k: { alg: string; current: boolean }) => k.alg === alg && k.current),
          alg,
        ).toHaveLength(1);
      }
      for (const k of keys) {
        expect(k).toMatchObject({
          kid: expect.any(String),
          alg: expect.any(String),
          current: expect.any(Boolean),
          next: expect.any(Boolean),
          previous: expect.any(Boolean),
          revoked: expect.any(Boolean),
          thumbprint: expect.any(String),
          fingerprint: expect.any(String),
        });
        expect(k.public_key).toMatch(/^-----BEGIN PUBLIC KEY-----/);
        expect(k.jwk.kid).toBe(k.kid);
        for (const priv of ['d', 'p', 'q', 'dp', 'dq', 'qi']) expect(k.jwk).not.toHaveProperty(priv);
      }
      expect(answer.text).not.toMatch(/PRIVATE KEY|privateKey|private_key/);
      const current = keys.find((k: { alg: string; current: boolean }) => k.alg === 'ES256' && k.current);
      expect(current.current_since).toMatch(ISO_TIME);
      expect(ok(await call('GET', `/keys/signing/${current.kid}`))).toEqual(current);
      expectError(await call('GET', '/keys/signing/no-such-kid'), 404, 'inexistent_resource');
    });

    it('rotates: the new key is listed as next and published, and signs after the activation delay', async () => {
      const rotated = ok(await call('POST', '/keys/signing/rotate'), 201);
      expect(rotated.kid).toEqual(expect.any(String));
      expect(Array.isArray(rotated.keys)).toBe(true);
      const keys = ok(await call('GET', '/keys/signing'));
      const next = keys.find((k: { kid: string }) => k.kid === rotated.kid);
      expect(next).toMatchObject({ next: true, current: false, revoked: false });
      expect(await jwksKids()).toContain(rotated.kid);

      const m2m = await t.createM2m(await newApi(t, { signingAlg: next.alg }));
      const kidNow = decodeJwt((await clientCredentials(m2m)).body.access_token!).header.kid;
      expect(kidNow).not.toBe(rotated.kid);
      t.clock.advance(t.rt.config.keys.activationDelay + t.rt.config.keys.cacheTtl + 1);
      const kidLater = decodeJwt((await clientCredentials(m2m)).body.access_token!).header.kid;
      expect(kidLater).toBe(rotated.kid);
      const after = ok(await call('GET', '/keys/signing'));
      expect(after.find((k: { kid: string }) => k.kid === rotated.kid)).toMatchObject({
        current: true,
        next: false,
      });
      expect(after.find((k: { kid: string }) => k.kid === kidNow)).toMatchObject({
        current: false,
        previous: true,
      });
    });

    it('revokes a key: it leaves the JWKS at once and its tokens stop at /oauth/introspect', async () => {
      const rsApi = await newApi(t, { signingAlg: 'RS256' });
      const m2m = await t.createM2m(rsApi);
      const issued = await clientCredentials(m2m);
      expect(issued.status).toBe(200);
      const token = issued.body.access_token!;
      const kid = decodeJwt(token).header.kid as string;
      expect(await isActive(t, m2m, token)).toBe(true);
      expect(await jwksKids()).toContain(kid);

      const revoked = ok(await call('PUT', `/keys/signing/${kid}/revoke`));
      expect(revoked.kid).toBe(kid);
      expect(await jwksKids()).not.toContain(kid);
      expect(await isActive(t, m2m, token)).toBe(false);
      const shown = ok(await call('GET', `/keys/signing/${kid}`));
      expect(shown).toMatchObject({ kid, revoked: true, current: false });
      expect(shown.revoked_at).toMatch(ISO_TIME);

      // a new key signs in its place
      const again = await clientCredentials(m2m);
      expect(again.status, JSON.stringify(again.body)).toBe(200);
      expect(decodeJwt(again.body.access_token!).header.kid).not.toBe(kid);
      expect(await isActive(t, m2m, again.body.access_token!)).toBe(true);
      expect(
        ok(await call('GET', '/keys/signing')).filter(
          (k: { alg: string; current: boolean }) => k.alg === 'RS256' && k.current,
        ),
      ).toHaveLength(1);

      const twice = await call('PUT', `/keys/signing/${kid}/revoke`);
      expect(twice.status).toBeGreaterThanOrEqual(400);
      expect(twice.status).toBeLessThan(500);
    });
  });
});
