import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ADMIN_ROLE_ID, managementIdentifier } from '../../src/admin/system.js';
import type { Api } from '../../src/storage/types.js';
import { browser, CALLBACK, decodeJwt, newUser, webConfig, webSignIn } from '../protocol/sign-in/fixtures.js';
import { startTestApp, type TestApp } from '../support/app.js';
import { describeEachBackend } from '../support/databases.js';
import { ALL_SCOPES, type Call, caller, expectStatus, managementToken, newApi } from './support.js';

describeEachBackend('Management API: roles and permissions', (backend) => {
  let t: TestApp;
  let call: Call;
  let api: Api;
  let userId: string;

  const perm = (permission_name: string, id = api.identifier) => ({
    resource_server_identifier: id,
    permission_name,
  });

  beforeAll(async () => {
    t = await startTestApp(backend);
    call = caller(t, (await managementToken(t)).token);
    api = await newApi(t);
    userId = (await newUser(t)).user.id;
  });
  afterAll(async () => t?.close());

  it('creates, reads, renames, lists (name_filter, include_totals) and deletes roles', async () => {
    const created = await call('POST', '/roles', { body: { name: 'Support 100%', description: 'Helps' } });
    expectStatus(created, 200);
    expect(created.body).toEqual({
      id: expect.stringMatching(/^rol_/),
      name: 'Support 100%',
      description: 'Helps',
    });
    const id = created.body.id as string;
    expectStatus(await call('POST', '/roles', { body: { name: 'Support 100%' } }), 409);
    expectStatus(await call('POST', '/roles', { body: { description: 'no name' } }), 400);
    const renamed = await call('PATCH', `/roles/${id}`, { body: { name: 'Support' } });
    expect(renamed.body).toMatchObject({ id, name: 'Support', description: 'Helps' });
    expect((await call('GET', `/roles/${id}`)).body.name).toBe('Support');
    const filtered = await call('GET', '/roles', { query: { name_filter: 'SUPP', include_totals: true } });
    expect(filtered.body).toMatchObject({ start: 0, limit: 50, total: 1, roles: [{ id, name: 'Support' }] });
    expect((await call('GET', '/roles', { query: { name_filter: '%' } })).body).toEqual([]);
    const all = await call('GET', '/roles');
    expect(all.body.map((r: { name: string }) => r.name)).toEqual(['Sesame Admin', 'Support']);
    expectStatus(await call('DELETE', `/roles/${id}`), 200);
    expectStatus(await call('GET', `/roles/${id}`), 404);
    expectStatus(await call('DELETE', `/roles/${id}`), 404);
  });

  it('keeps Sesame Admin: not deletable, not renamable, no permission taken away', async () => {
    expectStatus(await call('DELETE', `/roles/${ADMIN_ROLE_ID}`), 403);
    expectStatus(await call('PATCH', `/roles/${ADMIN_ROLE_ID}`, { body: { name: 'Mine' } }), 403);
    const body = { permissions: [perm('read:users', managementIdentifier(t.issuer))] };
    expectStatus(await call('DELETE', `/roles/${ADMIN_ROLE_ID}/permissions`, { body }), 403);
    const perms = await call('GET', `/roles/${ADMIN_ROLE_ID}/permissions`, { query: { per_page: 100 } });
    expect(perms.body.map((p: { permission_name: string }) => p.permission_name)).toEqual(
      expect.arrayContaining(['read:users', 'create:roles', 'read:logs']),
    );
  });

  it("Sesame Admin: another API's permission given to it can be taken away again", async () => {
    const names = async () =>
      (await call('GET', `/roles/${ADMIN_ROLE_ID}/permissions`, { query: { per_page: 100 } })).body.map(
        (p: { permission_name: string }) => p.permission_name,
      );
    const body = { permissions: [perm('read:things')] };
    expectStatus(await call('POST', `/roles/${ADMIN_ROLE_ID}/permissions`, { body }), 201);
    expect(await names()).toContain('read:things');
    // one of the Management API's beside it: the whole request is refused, nothing taken
    const mixed = { permissions: [perm('read:things'), perm('read:users', managementIdentifier(t.issuer))] };
    expectStatus(await call('DELETE', `/roles/${ADMIN_ROLE_ID}/permissions`, { body: mixed }), 403);
    expect(await names()).toEqual(expect.arrayContaining(['read:things', 'read:users']));
    expectStatus(await call('DELETE', `/roles/${ADMIN_ROLE_ID}/permissions`, { body }), 200);
    const after = await names();
    expect(after).not.toContain('read:things');
    expect(after).toContain('read:users');
  });

  it("gives and takes a role's permissions, each a scope of its API", async () => {
    const role = (await call('POST', '/roles', { body: { name: 'Writer' } })).body.id as string;
    const body = { permissions: [perm('write:things'), perm('read:things'), perm('read:things')] };
    expectStatus(await call('POST', `/roles/${role}/permissions`, { body }), 201);
    const listed = await call('GET', `/roles/${role}/permissions`, { query: { include_totals: true } });
    expect(listed.body).toMatchObject({ total: 2 });
    expect(listed.body.permissions).toEqual([
      {
        resource_server_identifier: api.identifier,
        permission_name: 'read:things',
        resource_server_name: api.name,
        description: 'Read things',
      },
      {
        resource_server_identifier: api.identifier,
        permission_name: 'write:things',
        resource_server_name: api.name,
        description: 'Write things',
      },
    ]);
    const bad = await call('POST', `/roles/${role}/permissions`, {
      body: { permissions: [perm('fly:things')] },
    });
    expectStatus(bad, 400);
    expect(bad.body.message).toContain('fly:things');
    const noApi = await call('POST', `/roles/${role}/permissions`, {
      body: { permissions: [perm('x', 'https://nowhere.test')] },
    });
    expectStatus(noApi, 400);
    expectStatus(await call('POST', `/roles/${role}/permissions`, { body: { permissions: [] } }), 400);
    expectStatus(await call('POST', '/roles/rol_none/permissions', { body }), 404);
    expectStatus(
      await call('DELETE', `/roles/${role}/permissions`, { body: { permissions: [perm('write:things')] } }),
      200,
    );
    expect((await call('GET', `/roles/${role}/permissions`)).body).toHaveLength(1);
  });

  it('keeps one person who can sign in in Sesame Admin: the last one cannot lose the role, be blocked or be deleted (409)', async () => {
    const first = (await newUser(t, { name: 'Only admin' })).user.id;
    const adminRole = { roles: [ADMIN_ROLE_ID] };
    expectStatus(await call('POST', `/users/${first}/roles`, { body: adminRole }), 204);
    const held = await call('GET', `/roles/${ADMIN_ROLE_ID}/users`);
    expect(held.body.map((u: { user_id: string }) => u.user_id)).toEqual([first]);
    for (const refused of [
      await call('DELETE', `/users/${first}/roles`, { body: adminRole }),
      await call('PATCH', `/users/${first}`, { body: { blocked: true } }),
      await call('DELETE', `/users/${first}`),
    ]) {
      expectStatus(refused, 409);
      expect(refused.body.message).toContain('last person who holds Sesame Admin');
    }
    // a blocked holder does not count
    const blocked = (await newUser(t, { name: 'Blocked admin' })).user.id;
    expectStatus(await call('POST', `/users/${blocked}/roles`, { body: adminRole }), 204);
    expectStatus(await call('PATCH', `/users/${blocked}`, { body: { blocked: true } }), 200);
    expectStatus(await call('DELETE', `/users/${first}/roles`, { body: adminRole }), 409);
    // with a second admin who can sign in, the first may go
    const second = (await newUser(t, { name: 'Second admin' })).user.id;
    expectStatus(await call('POST', `/users/${second}/roles`, { body: adminRole }), 204);
    expectStatus(await call('DELETE', `/users/${first}/roles`, { body: adminRole }), 204);
    expectStatus(await call('PATCH', `/users/${first}`, { body: { blocked: true } }), 200);
    // and now the second is the last
    expectStatus(await call('DELETE', `/users/${second}`), 409);
    // other roles come and go as before
    expectStatus(await call('DELETE', `/users/${second}/roles`, { body: { roles: ['rol_none'] } }), 204);
    // two admins at once, each asked to go: one of them stays (the role's row is held)
    const third = (await newUser(t, { name: 'Third admin' })).user.id;
    expectStatus(await call('POST', `/users/${third}/roles`, { body: adminRole }), 204);
    for (const [a, b] of [
      [
        () => call('PATCH', `/users/${second}`, { body: { blocked: true } }),
        () => call('PATCH', `/users/${third}`, { body: { blocked: true } }),
      ],
      [
        () => call('DELETE', `/users/${second}/roles`, { body: adminRole }),
        () => call('PATCH', `/users/${third}`, { body: { blocked: true } }),
      ],
    ]) {
      const statuses = (await Promise.all([a!(), b!()])).map((r) => r.status).sort();
      expect(statuses).toEqual([statuses[0]! < 300 ? statuses[0] : 200, 409]);
      // put both back
      expectStatus(await call('PATCH', `/users/${second}`, { body: { blocked: false } }), 200);
      expectStatus(await call('PATCH', `/users/${third}`, { body: { blocked: false } }), 200);
      expectStatus(await call('POST', `/users/${second}/roles`, { body: adminRole }), 204);
    }
  });

  it('a checkpoint walk misses no member when members leave the role meanwhile (from is a position, not an offset)', async () => {
    const role = (await call('POST', '/roles', { body: { name: 'Leaving' } })).body.id as string;
    const members: string[] = [];
    for (let i = 0; i < 5; i++) members.push((await newUser(t, { name: `Leaving ${i}` })).user.id);
    expectStatus(await call('POST', `/roles/${role}/users`, { body: { users: members } }), 200);
    const seen: string[] = [];
    let from: string | undefined;
    for (let pages = 0; pages < 10; pages++) {
      const page = await call('GET', `/roles/${role}/users`, {
        query: { take: 1, ...(from ? { from } : {}) },
      });
      expectStatus(page, 200);
      for (const u of page.body.users as { user_id: string }[]) {
        seen.push(u.user_id);
        // "remove everyone from this role", one page at a time
        expectStatus(await call('DELETE', `/users/${u.user_id}/roles`, { body: { roles: [role] } }), 204);
      }
      from = page.body.next;
      if (!from) break;
    }
    expect(seen.sort()).toEqual([...members].sort());
    // a position of another list, or anything made up, is refused
    for (const bad of [
      '1',
      'abc',
      Buffer.from('[1,"x"]').toString('base64url'),
      Buffer.from('[1]').toString('base64url'),
      Buffer.from('["usr_\\u0000"]').toString('base64url'),
    ]) {
      const refused = await call('GET', `/roles/${role}/users`, { query: { take: 1, from: bad } });
      expectStatus(refused, 400);
      expect(refused.body.errorCode).toBe('invalid_query_string');
    }
  });

  it('assigns users to roles both ways and lists them (page and checkpoint)', async () => {
    const role = (await call('POST', '/roles', { body: { name: 'Members' } })).body.id as string;
    const others = [];
    for (let i = 0; i < 3; i++) others.push((await newUser(t, { name: `Member ${i}` })).user.id);
    expectStatus(await call('POST', `/roles/${role}/users`, { body: { users: others } }), 200);
    expectStatus(await call('POST', `/users/${userId}/roles`, { body: { roles: [role] } }), 204);
    const bad = await call('POST', `/roles/${role}/users`, { body: { users: ['usr_nobody'] } });
    expectStatus(bad, 400);
    expectStatus(await call('POST', `/users/${userId}/roles`, { body: { roles: ['rol_nothing'] } }), 400);
    expectStatus(await call('POST', '/users/usr_nobody/roles', { body: { roles: [role] } }), 404);
    const first = await call('GET', `/roles/${role}/users`, { query: { take: 2 } });
    expect(first.body.users).toHaveLength(2);
    const rest = await call('GET', `/roles/${role}/users`, { query: { take: 2, from: first.body.next } });
    expect(rest.body.users).toHaveLength(2);
    const ids = [...first.body.users, ...rest.body.users].map((u: { user_id: string }) => u.user_id);
    expect(ids.sort()).toEqual([...others, userId].sort());
    const paged = await call('GET', `/roles/${role}/users`, { query: { include_totals: true, per_page: 3 } });
    expect(paged.body).toMatchObject({ total: 4, limit: 3 });
    expect(paged.body.users[0]).toEqual(
      expect.objectContaining({ user_id: expect.any(String), email: expect.any(String) }),
    );
    const mine = await call('GET', `/users/${userId}/roles`, { query: { include_totals: true } });
    expect(mine.body).toMatchObject({ total: 1, roles: [{ id: role, name: 'Members' }] });
    expectStatus(await call('DELETE', `/users/${userId}/roles`, { body: { roles: [role] } }), 204);
    expect((await call('GET', `/users/${userId}/roles`)).body).toEqual([]);
  });

  it("takes Auth0's auth0| user ids on a user's roles, permissions, sessions and refresh tokens, and in a role's users", async () => {
    const person = (await newUser(t)).user.id;
    const auth0 = encodeURIComponent(`auth0|${person}`);
    const role = (await call('POST', '/roles', { body: { name: 'Prefixed' } })).body.id as string;
    expectStatus(await call('POST', `/roles/${role}/users`, { body: { users: [`auth0|${person}`] } }), 200);
    expect((await call('GET', `/users/${auth0}/roles`)).body).toEqual([
      expect.objectContaining({ id: role }),
    ]);
    expectStatus(await call('DELETE', `/users/${auth0}/roles`, { body: { roles: [role] } }), 204);
    expectStatus(await call('POST', `/users/${auth0}/roles`, { body: { roles: [role] } }), 204);
    expect(await t.rt.storage.roles.rolesOf(person)).toEqual([expect.objectContaining({ id: role })]);
    const body = { permissions: [perm('write:things')] };
    expectStatus(await call('POST', `/users/${auth0}/permissions`, { body }), 201);
    const held = await call('GET', `/users/${auth0}/permissions`);
    expect(held.body.map((p: { permission_name: string }) => p.permission_name)).toContain('write:things');
    expectStatus(await call('DELETE', `/users/${auth0}/permissions`, { body }), 204);
    expectStatus(await call('GET', `/users/${auth0}/sessions`), 200);
    expectStatus(await call('DELETE', `/users/${auth0}/sessions`), 204);
    expectStatus(await call('GET', `/users/${auth0}/refresh-tokens`), 200);
    expectStatus(await call('DELETE', `/users/${auth0}/refresh-tokens`), 204);
  });

  it("lists a user's permissions with their sources (DIRECT, ROLE)", async () => {
    const role = (await call('POST', '/roles', { body: { name: 'Readers' } })).body.id as string;
    await call('POST', `/roles/${role}/permissions`, { body: { permissions: [perm('read:things')] } });
    await call('POST', `/users/${userId}/roles`, { body: { roles: [role] } });
    const body = { permissions: [perm('read:things'), perm('write:things')] };
    expectStatus(await call('POST', `/users/${userId}/permissions`, { body }), 201);
    const listed = await call('GET', `/users/${userId}/permissions`);
    expectStatus(listed, 200);
    const byName = Object.fromEntries(
      listed.body.map((p: { permission_name: string }) => [p.permission_name, p]),
    );
    expect(byName['read:things'].sources).toEqual(
      expect.arrayContaining([
        { source_id: '', source_name: '', source_type: 'DIRECT' },
        { source_id: role, source_name: 'Readers', source_type: 'ROLE' },
      ]),
    );
    expect(byName['write:things'].sources).toEqual([
      { source_id: '', source_name: '', source_type: 'DIRECT' },
    ]);
    expectStatus(await call('DELETE', `/users/${userId}/permissions`, { body }), 204);
    const after = await call('GET', `/users/${userId}/permissions`, { query: { include_totals: true } });
    expect(after.body).toMatchObject({ total: 1, permissions: [{ permission_name: 'read:things' }] });
    expectStatus(await call('GET', '/users/usr_nobody/permissions'), 404);
  });

  it('sets enforce_policies, token_dialect and subject_type_authorization on APIs', async () => {
    const changed = await call('PATCH', `/resource-servers/${api.id}`, {
      body: {
        enforce_policies: true,
        token_dialect: 'access_token_authz',
        subject_type_authorization: { user: { policy: 'require_client_grant' } },
      },
    });
    expectStatus(changed, 200);
    expect(changed.body).toMatchObject({
      enforce_policies: true,
      token_dialect: 'access_token_authz',
      subject_type_authorization: {
        user: { policy: 'require_client_grant' },
        client: { policy: 'require_client_grant' },
      },
    });
    const bad = await call('PATCH', `/resource-servers/${api.id}`, { body: { token_dialect: 'jwt' } });
    expectStatus(bad, 400);
    const sys = managementIdentifier(t.issuer);
    expectStatus(
      await call('PATCH', `/resource-servers/${encodeURIComponent(sys)}`, {
        body: { enforce_policies: false },
      }),
      403,
    );
  });

  describe("a person's own token for the Management API", () => {
    // An application given a client grant for people with every Management API scope (the
    // Management API takes no allow_all), a ceiling within which roles decide.
    const forPeople = async (app: { clientId: string }) =>
      expectStatus(
        await call('POST', '/client-grants', {
          body: {
            client_id: app.clientId,
            audience: managementIdentifier(t.issuer),
            scope: ALL_SCOPES,
            subject_type: 'user',
          },
        }),
        201,
      );
    it('carries only what their roles give; without Sesame Admin there is none', async () => {
      const app = await t.createApp({
        name: 'Console-like',
        type: 'web',
        callbacks: [CALLBACK],
        skipConsent: true,
      });
      await forPeople(app);
      const admin = await newUser(t);
      await call('POST', `/users/${admin.user.id}/roles`, { body: { roles: [ADMIN_ROLE_ID] } });
      const audience = managementIdentifier(t.issuer);
      const { tokens } = await webSignIn(browser(t, admin.creds), await webConfig(t, app), {
        scope: 'openid read:users read:roles',
        audience,
      });
      const claims = decodeJwt(tokens.access_token).payload;
      expect(claims.scope).toBe('openid read:users read:roles');
      expect(claims.permissions).toEqual(expect.arrayContaining(['read:users', 'delete:roles']));
      const mine = caller(t, tokens.access_token);
      expectStatus(await mine('GET', '/users'), 200);
      expectStatus(await mine('DELETE', `/roles/${ADMIN_ROLE_ID}`), 403);

      const plain = await newUser(t);
      const flow = await browser(t, plain.creds).signIn(
        new URL(
          `${t.issuer}/authorize?${new URLSearchParams({ response_type: 'code', client_id: app.clientId, redirect_uri: CALLBACK, scope: 'openid read:users', audience, code_challenge: 'x'.repeat(43), code_challenge_method: 'S256' })}`,
        ),
      );
      expect(flow.location?.searchParams.get('error')).toBe('access_denied');
    });

    it('counts a role taken away, and a block, at once: the token still held gives nothing more', async () => {
      const app = await t.createApp({ name: 'Held', type: 'web', callbacks: [CALLBACK], skipConsent: true });
      await forPeople(app);
      const person = await newUser(t);
      await call('POST', `/users/${person.user.id}/roles`, { body: { roles: [ADMIN_ROLE_ID] } });
      const { tokens } = await webSignIn(browser(t, person.creds), await webConfig(t, app), {
        scope: 'openid read:users update:users create:role_members',
        audience: managementIdentifier(t.issuer),
      });
      const mine = caller(t, tokens.access_token);
      expectStatus(await mine('GET', '/users'), 200);
      expectStatus(
        await call('DELETE', `/users/${person.user.id}/roles`, { body: { roles: [ADMIN_ROLE_ID] } }),
        204,
      );
      expectStatus(await mine('GET', '/users'), 403);
      // Nor can they give the role back to themselves.
      expectStatus(
        await mine('POST', `/users/${person.user.id}/roles`, { body: { roles: [ADMIN_ROLE_ID] } }),
        403,
      );
      expect((await call('GET', `/users/${person.user.id}/roles`)).body).toEqual([]);
      // Given back by someone else, the same token works again.
      expectStatus(
        await call('POST', `/users/${person.user.id}/roles`, { body: { roles: [ADMIN_ROLE_ID] } }),
        204,
      );
      expectStatus(await mine('GET', '/users'), 200);
      // Blocked (here in storage alone, so that no token is revoked), it gives nothing; nor once gone.
      const blocked = await t.rt.storage.users.get(person.user.id);
      await t.rt.storage.users.update(person.user.id, { blocked: true }, t.clock.now());
      expectStatus(await mine('GET', '/users'), 401);
      await t.rt.storage.users.update(person.user.id, { blocked: false }, t.clock.now());
      expectStatus(await mine('GET', '/users'), 200);
      await t.rt.storage.users.delete(blocked!.id);
      expectStatus(await mine('GET', '/users'), 401);
    });
  });
});
