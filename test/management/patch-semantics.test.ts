import { beforeAll, describe, expect, it } from 'vitest';
import { describeEachBackend } from '../support/databases.js';
import { ok, resourcesApp } from './resources-fixture.js';
import type { Call } from './support.js';

/**
 * A PATCH changes what its body names, as Auth0 documents it ("Manage Metadata Using the
 * Management API"): metadata objects merge at the top level, a key sent as null goes, an empty
 * object empties them; an empty grant list is no grants; minutes sent as null restore the default.
 */
describeEachBackend('Management API: what a PATCH changes', (backend) => {
  const env = resourcesApp(backend);
  let call: Call;
  beforeAll(() => {
    ({ call } = env);
  });

  describe('client_metadata', () => {
    it('merges the keys sent, removes a key sent as null, and empties on {}', async () => {
      const created = ok(
        await call('POST', '/clients', {
          body: { name: 'Meta', app_type: 'non_interactive', client_metadata: { a: '1', b: '2' } },
        }),
        201,
      );
      const path = `/clients/${created.client_id}`;
      const merged = ok(await call('PATCH', path, { body: { client_metadata: { c: '3', a: 'one' } } }));
      expect(merged.client_metadata).toEqual({ a: 'one', b: '2', c: '3' });
      const removed = ok(await call('PATCH', path, { body: { client_metadata: { b: null } } }));
      expect(removed.client_metadata).toEqual({ a: 'one', c: '3' });
      // other fields leave it alone
      expect(ok(await call('PATCH', path, { body: { name: 'Meta 2' } })).client_metadata).toEqual({
        a: 'one',
        c: '3',
      });
      expect(ok(await call('PATCH', path, { body: { client_metadata: {} } })).client_metadata).toEqual({});
      expect(ok(await call('GET', path)).client_metadata).toEqual({});
    });

    it('counts the keys after the merge: at most 10', async () => {
      const ten = Object.fromEntries(Array.from({ length: 10 }, (_, i) => [`k${i}`, 'v']));
      const created = ok(
        await call('POST', '/clients', {
          body: { name: 'Ten', app_type: 'non_interactive', client_metadata: ten },
        }),
        201,
      );
      const path = `/clients/${created.client_id}`;
      const over = await call('PATCH', path, { body: { client_metadata: { eleventh: 'v' } } });
      expect(over.status).toBe(400);
      expect(over.body.message).toContain('at most 10 keys');
      // one out, one in: still ten
      const swapped = ok(
        await call('PATCH', path, { body: { client_metadata: { k0: null, eleventh: 'v' } } }),
      );
      expect(Object.keys(swapped.client_metadata)).toHaveLength(10);
      expect(swapped.client_metadata).toHaveProperty('eleventh', 'v');
      expect(swapped.client_metadata).not.toHaveProperty('k0');
    });
  });

  it('concurrent PATCHes of one client each keep what they sent', async () => {
    const created = ok(
      await call('POST', '/clients', {
        body: { name: 'Busy', app_type: 'regular_web', callbacks: ['https://busy.example/cb'] },
      }),
      201,
    );
    const path = `/clients/${created.client_id}`;
    const keys = Array.from({ length: 8 }, (_, i) => `k${i}`);
    const answers = await Promise.all([
      ...keys.map((k) => call('PATCH', path, { body: { client_metadata: { [k]: 'v' } } })),
      call('PATCH', path, { body: { name: 'Busy 2' } }),
      call('PATCH', path, { body: { allowed_logout_urls: ['https://busy.example/bye'] } }),
    ]);
    for (const a of answers) expect(a.status).toBe(200);
    const client = ok(await call('GET', path));
    expect(Object.keys(client.client_metadata).sort()).toEqual(keys);
    expect(client.name).toBe('Busy 2');
    expect(client.allowed_logout_urls).toEqual(['https://busy.example/bye']);
    expect(client.callbacks).toEqual(['https://busy.example/cb']);
  });

  it('concurrent PATCHes of one API each keep what they sent', async () => {
    const created = ok(
      await call('POST', '/resource-servers', {
        body: { name: 'Orders', identifier: `https://orders-${Date.now()}.example/` },
      }),
      201,
    );
    const path = `/resource-servers/${created.id}`;
    const bodies = [
      { name: 'Orders 2' },
      { enforce_policies: true },
      { token_dialect: 'access_token_authz' },
      { allow_offline_access: true },
      { skip_consent_for_verifiable_first_party_clients: false },
      { token_lifetime: 600 },
    ];
    const answers = await Promise.all(bodies.map((body) => call('PATCH', path, { body })));
    for (const a of answers) expect(a.status).toBe(200);
    expect(ok(await call('GET', path))).toMatchObject(Object.assign({}, ...bodies));
  });

  describe('grant_types', () => {
    it('an empty list on update is no grants; on create it is the defaults', async () => {
      const created = ok(
        await call('POST', '/clients', { body: { name: 'Grants', app_type: 'spa', grant_types: [] } }),
        201,
      );
      expect(created.grant_types.length).toBeGreaterThan(0);
      const path = `/clients/${created.client_id}`;
      expect(ok(await call('PATCH', path, { body: { grant_types: [] } })).grant_types).toEqual([]);
      expect(ok(await call('GET', path)).grant_types).toEqual([]);
      expect(
        ok(await call('PATCH', path, { body: { grant_types: ['authorization_code'] } })).grant_types,
      ).toEqual(['authorization_code']);
    });
  });

  describe('user metadata', () => {
    it('merges app_metadata and user_metadata, removes a key sent as null, and empties on {}', async () => {
      const created = ok(
        await call('POST', '/users', {
          body: {
            connection: 'Username-Password-Authentication',
            email: `meta-${Date.now()}@example.com`,
            password: 'a long enough password',
            app_metadata: { plan: 'full', x: 1 },
            user_metadata: { hobby: 'surfing' },
          },
        }),
        201,
      );
      const path = `/users/${encodeURIComponent(created.user_id)}`;
      const merged = ok(
        await call('PATCH', path, {
          body: { app_metadata: { x: null, y: 2 }, user_metadata: { color: 'blue' } },
        }),
      );
      expect(merged.app_metadata).toEqual({ plan: 'full', y: 2 });
      expect(merged.user_metadata).toEqual({ hobby: 'surfing', color: 'blue' });
      const emptied = ok(await call('PATCH', path, { body: { app_metadata: {} } }));
      expect(emptied.app_metadata ?? {}).toEqual({});
      expect(emptied.user_metadata).toEqual({ hobby: 'surfing', color: 'blue' });
      const again = ok(await call('GET', path));
      expect(again.app_metadata ?? {}).toEqual({});
    });
  });

  it('an empty PATCH of a user changes nothing, updated_at included', async () => {
    const created = ok(
      await call('POST', '/users', {
        body: {
          connection: 'Username-Password-Authentication',
          email: `empty-${Date.now()}@example.com`,
          password: 'a long enough password',
        },
      }),
      201,
    );
    env.t.clock.advance(60);
    const path = `/users/${encodeURIComponent(created.user_id)}`;
    expect(ok(await call('PATCH', path, { body: {} }))).toEqual(created);
    expect(ok(await call('GET', path))).toEqual(created);
  });

  it('an empty PATCH of a client grant changes nothing and answers the grant', async () => {
    const api = ok(
      await call('POST', '/resource-servers', {
        body: { identifier: `https://empty-grant-${Date.now()}.example`, scopes: [{ value: 'read:x' }] },
      }),
      201,
    );
    const app = ok(
      await call('POST', '/clients', { body: { name: 'Empty grant', app_type: 'non_interactive' } }),
      201,
    );
    const grant = ok(
      await call('POST', '/client-grants', {
        body: { client_id: app.client_id, audience: api.identifier, scope: ['read:x'] },
      }),
      201,
    );
    const path = `/client-grants/${grant.id}`;
    expect(ok(await call('PATCH', path, { body: {} }))).toEqual(grant);
    expect(ok(await call('GET', path))).toEqual(grant);
  });

  it('concurrent PATCHes of one user each keep their key (none is lost to another)', async () => {
    const created = ok(
      await call('POST', '/users', {
        body: {
          connection: 'Username-Password-Authentication',
          email: `race-${Date.now()}@example.com`,
          password: 'a long enough password',
        },
      }),
      201,
    );
    const path = `/users/${encodeURIComponent(created.user_id)}`;
    const keys = Array.from({ length: 12 }, (_, i) => `k${i}`);
    const answers = await Promise.all(
      keys.map((k, i) =>
        call('PATCH', path, { body: i % 2 ? { app_metadata: { [k]: i } } : { user_metadata: { [k]: i } } }),
      ),
    );
    for (const a of answers) expect(a.status).toBe(200);
    const user = ok(await call('GET', path));
    expect(Object.keys({ ...user.app_metadata, ...user.user_metadata }).sort()).toEqual([...keys].sort());
  });

  describe('tenant settings', () => {
    it('minutes sent as null restore the default, as hours sent as null do', async () => {
      const defaults = ok(await call('GET', '/tenants/settings'));
      const set = ok(
        await call('PATCH', '/tenants/settings', {
          body: { session_lifetime_in_minutes: 600, idle_session_lifetime_in_minutes: 90 },
        }),
      );
      expect(set).toMatchObject({ session_lifetime: 10, idle_session_lifetime: 1.5 });
      const reset = ok(
        await call('PATCH', '/tenants/settings', {
          body: { session_lifetime_in_minutes: null, idle_session_lifetime_in_minutes: null },
        }),
      );
      expect(reset.session_lifetime).toBe(defaults.session_lifetime);
      expect(reset.idle_session_lifetime).toBe(defaults.idle_session_lifetime);
    });
  });
});
