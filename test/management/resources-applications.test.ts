import { beforeAll, describe, expect, it } from 'vitest';
import type { Api } from '../../src/storage/types.js';
import { decodeJwt } from '../protocol/sign-in/fixtures.js';
import type { TestApp } from '../support/app.js';
import { describeEachBackend } from '../support/databases.js';
import { ok, resourcesApp } from './resources-fixture.js';
import { type Call, expectError, expectStatus, ISO_TIME } from './support.js';

describeEachBackend('Management API: resources (applications)', (backend) => {
  const env = resourcesApp(backend);
  const { clientCredentials } = env;
  let t: TestApp;
  let call: Call;
  /** An ordinary API with read:things and write:things, refresh tokens allowed. */
  let api: Api;

  beforeAll(() => {
    ({ t, call, api } = env);
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

    it('a callback stored before a stricter rule does not block saving the application', async () => {
      const created = ok(
        await call('POST', '/clients', {
          body: { name: 'Older', app_type: 'regular_web', callbacks: ['https://older.example/cb'] },
        }),
        201,
      );
      const path = `/clients/${created.client_id}`;
      // as a Sesame from before the URI rule stored it (raw non-ASCII)
      const legacy = 'https://older.example/caf\u00e9';
      await env.t.rt.storage.applications.update(
        created.client_id,
        { callbacks: [legacy], logoutCallbacks: [legacy] },
        env.t.clock.now(),
      );
      const kept = { callbacks: [legacy, 'https://older.example/new'], allowed_logout_urls: [legacy] };
      const saved = ok(await call('PATCH', path, { body: { name: 'Renamed', ...kept } }));
      expect(saved).toMatchObject({ name: 'Renamed', ...kept });
      // a new one is held to the rule
      const added = await call('PATCH', path, {
        body: { callbacks: [legacy, 'https://older.example/th\u00e9'] },
      });
      expectError(added, 400, 'invalid_body');
      expect(added.body.message).toContain('https://older.example/th\u00e9');
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
      // Auth0's subdomain wildcard would be kept as text and match nothing: refused.
      const wildcard = await call('POST', '/clients', {
        body: { name: 'W', app_type: 'spa', web_origins: ['https://*.example.com'] },
      });
      expectError(wildcard, 400, 'invalid_body');
      expect(wildcard.body.message).toContain('web_origins "https://*.example.com": no wildcards');
      // a name that forges a line of a listing, or has Auth0's forbidden < or >
      for (const [name, why] of [
        ['legit\nFAKE  web  Sesame Console', 'control characters'],
        ['tab\there', 'control characters'],
        ['evil\u202Etxt.exe', 'control characters'],
        ['line\u2028break', 'control characters'],
        ['<img src=x onerror=alert(1)>', '< or >'],
      ]) {
        const refused = await call('POST', '/clients', { body: { name, app_type: 'spa' } });
        expectError(refused, 400, 'invalid_body');
        expect(refused.body.message).toBe(`name: must not contain ${why}`);
      }
      const made = await call('POST', '/clients', { body: { name: 'Fine', app_type: 'spa' } });
      const renamed = await call('PATCH', `/clients/${made.body.client_id}`, { body: { name: 'a\nb' } });
      expectError(renamed, 400, 'invalid_body');
      const role = await call('POST', '/roles', { body: { name: 'a\nrol_fake  admin' } });
      expectError(role, 400, 'invalid_body');
      const api = await call('POST', '/resource-servers', {
        body: { name: 'x\u001b[2J', identifier: 'https://escape.example/' },
      });
      expectError(api, 400, 'invalid_body');
      // roles and APIs may have < and > (shown escaped everywhere)
      expect((await call('POST', '/roles', { body: { name: '<b>clerks</b>' } })).status).toBe(200);
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
      // several types at once, comma-separated (Auth0's filter); an unknown one is refused by name
      const both = ok(
        await call('GET', '/clients', { query: { app_type: 'spa,non_interactive', per_page: 100 } }),
      );
      expect(new Set(both.map((c: { app_type: string }) => c.app_type))).toEqual(
        new Set(['spa', 'non_interactive']),
      );
      expect(both.length).toBe(machines.length + spas.length);
      const unknown = await call('GET', '/clients', { query: { app_type: 'spa,robot' } });
      expectError(unknown, 400, 'invalid_query_string');
      expect(unknown.body.message).toContain('robot');
    });

    it('filters by is_first_party, client_ids and is_global, with each other and with app_type; q is refused', async () => {
      const first = ok(
        await call('POST', '/clients', { body: { name: 'Own', app_type: 'spa', is_first_party: true } }),
        201,
      );
      const third = ok(
        await call('POST', '/clients', { body: { name: 'Partner', app_type: 'spa', is_first_party: false } }),
        201,
      );
      const plain = ok(
        await call('POST', '/clients', { body: { name: 'Plain', app_type: 'regular_web' } }),
        201,
      );
      const all = ok(await call('GET', '/clients', { query: { per_page: 100 } }));
      const ids = (list: { client_id: string }[]) => list.map((c) => c.client_id);
      const yes = ok(await call('GET', '/clients', { query: { is_first_party: true, per_page: 100 } }));
      const no = ok(await call('GET', '/clients', { query: { is_first_party: 'false', per_page: 100 } }));
      expect(yes.every((c: { is_first_party: boolean }) => c.is_first_party)).toBe(true);
      expect(no.every((c: { is_first_party: boolean }) => !c.is_first_party)).toBe(true);
      expect(ids(yes)).toContain(first.client_id);
      expect(ids(no)).toEqual(expect.arrayContaining([third.client_id, plain.client_id]));
      expect(yes.length + no.length).toBe(all.length);
      const counted = ok(
        await call('GET', '/clients', { query: { is_first_party: true, include_totals: true, per_page: 1 } }),
      );
      expect(counted.total).toBe(yes.length);
      const spaFirst = ok(
        await call('GET', '/clients', { query: { is_first_party: true, app_type: 'spa' } }),
      );
      expect(ids(spaFirst)).toContain(first.client_id);
      expect(spaFirst.every((c: { app_type: string }) => c.app_type === 'spa')).toBe(true);
      const picked = ok(
        await call('GET', '/clients', {
          query: { client_ids: `${third.client_id}, ${plain.client_id},nope` },
        }),
      );
      expect(ids(picked).sort()).toEqual([third.client_id, plain.client_id].sort());
      const pickedSpa = ok(
        await call('GET', '/clients', {
          query: { client_ids: `${third.client_id},${plain.client_id}`, app_type: 'spa' },
        }),
      );
      expect(ids(pickedSpa)).toEqual([third.client_id]);
      expect(ok(await call('GET', '/clients', { query: { is_global: true } }))).toEqual([]);
      expect(ok(await call('GET', '/clients', { query: { is_global: false, per_page: 100 } })).length).toBe(
        all.length,
      );
      expectError(
        await call('GET', '/clients', { query: { is_first_party: 'yes' } }),
        400,
        'invalid_query_string',
      );
      const q = await call('GET', '/clients', { query: { q: 'client_grant.allow_any_organization:true' } });
      expectError(q, 400, 'invalid_query_string');
      expect(q.body.message).toMatch(/organizations/);
    });

    it('fields and include_fields keep or leave out what the answer holds (lists and one client)', async () => {
      const created = ok(await call('POST', '/clients', { body: { name: 'Fields', app_type: 'spa' } }), 201);
      const only = ok(
        await call('GET', `/clients/${created.client_id}`, {
          query: { fields: 'client_id,name', include_fields: true },
        }),
      );
      expect(only).toEqual({ client_id: created.client_id, name: 'Fields' });
      const without = ok(
        await call('GET', `/clients/${created.client_id}`, {
          query: { fields: 'callbacks, client_metadata', include_fields: false },
        }),
      );
      expect(without).not.toHaveProperty('callbacks');
      expect(without).not.toHaveProperty('client_metadata');
      expect(without).toHaveProperty('app_type', 'spa');
      const listed = ok(await call('GET', '/clients', { query: { app_type: 'spa', fields: 'client_id' } }));
      expect(listed.length).toBeGreaterThan(0);
      for (const c of listed) expect(Object.keys(c)).toEqual(['client_id']);
    });

    it('updates a client (PATCH), refusing a change of app_type', async () => {
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
      // the type it has is accepted (a whole application sent back, as tools do)
      const same = await call('PATCH', `/clients/${created.client_id}`, {
        body: { app_type: 'regular_web', name: 'After' },
      });
      expectStatus(same, 200);
      // null clears a description or a logo, as "" does
      ok(
        await call('PATCH', `/clients/${created.client_id}`, {
          body: { logo_uri: 'https://b.example/logo.png' },
        }),
      );
      const cleared = ok(
        await call('PATCH', `/clients/${created.client_id}`, { body: { description: null, logo_uri: null } }),
      );
      expect(cleared).not.toHaveProperty('description');
      expect(cleared).not.toHaveProperty('logo_uri');
      expect(cleared).toMatchObject({ name: 'After', client_metadata: { k: 'v' } });
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
});
