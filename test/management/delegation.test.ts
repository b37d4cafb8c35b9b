import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAdmin } from '../../src/admin/console.js';
import {
  ADMIN_ROLE_ID,
  ensureManagementApi,
  MANAGEMENT_API_ID,
  managementIdentifier,
} from '../../src/admin/system.js';
import { browser, CALLBACK, decodeJwt, newUser, webConfig, webSignIn } from '../protocol/sign-in/fixtures.js';
import { startTestApp, type TestApp } from '../support/app.js';
import { describeEachBackend } from '../support/databases.js';
import { type Call, caller, expectError, expectStatus, managementToken, newApi, unique } from './support.js';

/*
 * Nobody gives more of the Management API than they hold (src/management/delegation.ts): a caller
 * with `create:role_members`, `update:roles`, `update:users`, `create:client_grants` or
 * `update:clients` alone could otherwise make itself, or anyone, a Sesame Admin, or take over an
 * admin's account or a fully granted application.
 */
describeEachBackend('Management API: no one confers more than they hold', (backend) => {
  let t: TestApp;
  let full: Call;
  let api: Awaited<ReturnType<typeof newApi>>;
  let mgmt: string;
  const limited = async (...scopes: string[]) => caller(t, (await managementToken(t, scopes)).token);
  const admin = () =>
    createAdmin(t.rt.storage, t.clock, { email: `${unique('admin')}@example.com`, password: 'x'.repeat(12) });
  beforeAll(async () => {
    t = await startTestApp(backend);
    full = caller(t, (await managementToken(t)).token);
    api = await newApi(t);
    mgmt = managementIdentifier(t.issuer);
  });
  afterAll(async () => t?.close());

  const roleWith = async (permissions: { resource_server_identifier: string; permission_name: string }[]) => {
    const role = await full('POST', '/roles', { body: { name: unique('role') } });
    expectStatus(role, 200);
    if (permissions.length > 0)
      expectStatus(await full('POST', `/roles/${role.body.id}/permissions`, { body: { permissions } }), 201);
    return role.body.id as string;
  };
  const refused = (answer: Awaited<ReturnType<Call>>, ...named: string[]) => {
    expectError(answer, 403, 'insufficient_scope');
    for (const n of named) expect(answer.body.message).toContain(n);
  };

  it('create:role_members alone cannot give Sesame Admin, nor a role with Management API permissions it lacks', async () => {
    const members = await limited('create:role_members');
    const { user } = await newUser(t);
    const userRoles = `/users/${encodeURIComponent(user.id)}/roles`;
    refused(
      await members('POST', userRoles, { body: { roles: [ADMIN_ROLE_ID] } }),
      'delete:users',
      'update:roles',
    );
    refused(
      await members('POST', `/roles/${ADMIN_ROLE_ID}/users`, { body: { users: [user.id] } }),
      'delete:users',
    );
    const deleter = await roleWith([{ resource_server_identifier: mgmt, permission_name: 'delete:users' }]);
    refused(await members('POST', userRoles, { body: { roles: [deleter] } }), 'delete:users');
    expect(await t.rt.storage.roles.rolesOf(user.id)).toEqual([]);
    // roles of ordinary APIs, and of Management API permissions it holds, are its to give
    const reader = await roleWith([
      { resource_server_identifier: api.identifier, permission_name: 'read:things' },
    ]);
    const same = await roleWith([
      { resource_server_identifier: mgmt, permission_name: 'create:role_members' },
    ]);
    expectStatus(await members('POST', userRoles, { body: { roles: [reader, same] } }), 204);
    expectStatus(await members('POST', `/roles/${reader}/users`, { body: { users: [user.id] } }), 200);
    expect((await t.rt.storage.roles.rolesOf(user.id)).map((r) => r.id).sort()).toEqual(
      [reader, same].sort(),
    );
    // a caller holding everything may
    expectStatus(await full('POST', userRoles, { body: { roles: [ADMIN_ROLE_ID] } }), 204);
  });

  it('update:roles and update:users alone cannot add Management API permissions they lack', async () => {
    const roles = await limited('update:roles');
    const role = await roleWith([]);
    const add = (permission_name: string, resource_server_identifier = mgmt) => ({
      body: { permissions: [{ resource_server_identifier, permission_name }] },
    });
    refused(await roles('POST', `/roles/${role}/permissions`, add('delete:users')), 'delete:users');
    refused(await roles('POST', `/roles/${ADMIN_ROLE_ID}/permissions`, add('update:client_grants')));
    expectStatus(await roles('POST', `/roles/${role}/permissions`, add('update:roles')), 201);
    expectStatus(await roles('POST', `/roles/${role}/permissions`, add('write:things', api.identifier)), 201);
    const held = (await t.rt.storage.roles.listPermissions(role)).map((p) => p.permission).sort();
    expect(held).toEqual(['update:roles', 'write:things']);

    const users = await limited('update:users');
    const { user } = await newUser(t);
    const path = `/users/${encodeURIComponent(user.id)}/permissions`;
    refused(await users('POST', path, add('delete:clients')), 'delete:clients');
    expectStatus(await users('POST', path, add('update:users')), 201);
  });

  it('create:client_grants and update:client_grants alone cannot grant Management API scopes they lack', async () => {
    const m2m = async () => {
      const made = await full('POST', '/clients', {
        body: { name: unique('m2m'), app_type: 'non_interactive' },
      });
      expectStatus(made, 201);
      return made.body.client_id as string;
    };
    const clientId = await m2m();
    const grants = await limited('create:client_grants', 'update:client_grants');
    const body = (scope: string[], audience = mgmt) => ({ body: { client_id: clientId, audience, scope } });
    refused(await grants('POST', '/client-grants', body(['read:users'])), 'read:users');
    const made = await grants('POST', '/client-grants', body(['create:client_grants']));
    expectStatus(made, 201);
    const grant = made.body;
    refused(
      await grants('PATCH', `/client-grants/${grant.id}`, { body: { scope: ['delete:users'] } }),
      'delete:users',
    );
    expectStatus(
      await grants('PATCH', `/client-grants/${grant.id}`, { body: { scope: ['update:client_grants'] } }),
      200,
    );
    const other = { body: { client_id: await m2m(), audience: api.identifier, scope: ['read:things'] } };
    expectStatus(await grants('POST', '/client-grants', other), 201);
  });

  it("update:users, delete:users and create:user_tickets alone cannot take over an admin's account", async () => {
    const boss = await admin();
    const { user: peer } = await newUser(t);
    const helpdesk = await limited('update:users', 'delete:users', 'create:user_tickets', 'read:users');
    const bossPath = `/users/${encodeURIComponent(boss.id)}`;
    for (const patch of [
      { password: 'another long passphrase 1' },
      { email: `${unique('x')}@example.com` },
      { blocked: true },
    ])
      refused(await helpdesk('PATCH', bossPath, { body: patch }), 'delete:clients');
    refused(await helpdesk('DELETE', bossPath));
    refused(await helpdesk('POST', '/tickets/password-change', { body: { user_id: boss.id } }));
    expect(await t.rt.storage.users.get(boss.id)).toMatchObject({ blocked: false, email: boss.email });
    // what does not hand the account over stays open, and people holding nothing of it are theirs
    expectStatus(await helpdesk('PATCH', bossPath, { body: { name: 'The Boss' } }), 200);
    // the whole user sent back (a GET then PATCH), its email and block unchanged, is no takeover
    const unchanged = { email: boss.email.toUpperCase(), blocked: false, name: 'The Boss' };
    expectStatus(await helpdesk('PATCH', bossPath, { body: unchanged }), 200);
    const peerPath = `/users/${encodeURIComponent(peer.id)}`;
    expectStatus(await helpdesk('PATCH', peerPath, { body: { password: 'another long passphrase 2' } }), 200);
    expectStatus(await helpdesk('POST', '/tickets/password-change', { body: { user_id: peer.id } }), 201);
    expectStatus(await helpdesk('DELETE', peerPath), 204);
    expectStatus(await full('PATCH', bossPath, { body: { blocked: true } }), 200);
  });

  it('update:clients alone cannot rotate the secret of an application granted more of the Management API', async () => {
    const strong = await managementToken(t);
    const weak = await managementToken(t, ['read:users']);
    const clients = await limited('update:clients', 'read:users');
    refused(await clients('POST', `/clients/${strong.clientId}/rotate-secret`), 'delete:users');
    expectStatus(await clients('POST', `/clients/${weak.clientId}/rotate-secret`), 200);
    // a grant for people's tokens counts as much as one for its own
    const forPeople = await managementToken(t, ['read:users']);
    const grant = {
      client_id: forPeople.clientId,
      audience: mgmt,
      scope: ['delete:users'],
      subject_type: 'user',
    };
    expectStatus(await full('POST', '/client-grants', { body: grant }), 201);
    refused(await clients('POST', `/clients/${forPeople.clientId}/rotate-secret`), 'delete:users');
  });

  it('nor takes away Management API permissions it lacks: roles, permissions, client grants, roles and applications deleted', async () => {
    const takers = await limited(
      'delete:role_members',
      'update:users',
      'update:roles',
      'delete:roles',
      'update:client_grants',
      'delete:client_grants',
      'delete:clients',
      'read:users',
    );
    const boss = await admin();
    const bossRoles = `/users/${encodeURIComponent(boss.id)}/roles`;
    refused(await takers('DELETE', bossRoles, { body: { roles: [ADMIN_ROLE_ID] } }), 'create:users');
    expect((await t.rt.storage.roles.rolesOf(boss.id)).map((r) => r.id)).toEqual([ADMIN_ROLE_ID]);

    const { user } = await newUser(t);
    const userPath = `/users/${encodeURIComponent(user.id)}`;
    const deleter = { resource_server_identifier: mgmt, permission_name: 'delete:users' };
    const reader = { resource_server_identifier: mgmt, permission_name: 'read:users' };
    expectStatus(
      await full('POST', `${userPath}/permissions`, { body: { permissions: [deleter, reader] } }),
      201,
    );
    refused(
      await takers('DELETE', `${userPath}/permissions`, { body: { permissions: [deleter] } }),
      'delete:users',
    );
    expectStatus(await takers('DELETE', `${userPath}/permissions`, { body: { permissions: [reader] } }), 204);

    const role = await roleWith([deleter]);
    refused(
      await takers('DELETE', `/roles/${role}/permissions`, { body: { permissions: [deleter] } }),
      'delete:users',
    );
    refused(await takers('DELETE', `/roles/${role}`), 'delete:users');
    expectStatus(await full('POST', bossRoles, { body: { roles: [role] } }), 204);
    refused(await takers('DELETE', bossRoles, { body: { roles: [role] } }), 'delete:users');
    expect((await t.rt.storage.roles.rolesOf(boss.id)).map((r) => r.id).sort()).toEqual(
      [ADMIN_ROLE_ID, role].sort(),
    );
    // a role of an ordinary API is theirs to take and delete
    const plain = await roleWith([
      { resource_server_identifier: api.identifier, permission_name: 'read:things' },
    ]);
    expectStatus(await full('POST', bossRoles, { body: { roles: [plain] } }), 204);
    expectStatus(await takers('DELETE', bossRoles, { body: { roles: [plain] } }), 204);
    expectStatus(await takers('DELETE', `/roles/${plain}`), 200);

    const bot = await managementToken(t, ['delete:users', 'read:users']);
    const [grant] = (await full('GET', '/client-grants', { query: { client_id: bot.clientId } })).body;
    refused(
      await takers('PATCH', `/client-grants/${grant.id}`, { body: { scope: ['read:users'] } }),
      'delete:users',
    );
    refused(await takers('DELETE', `/client-grants/${grant.id}`), 'delete:users');
    refused(await takers('DELETE', `/clients/${bot.clientId}`), 'delete:users');
    // what it changes, it holds; what the grant keeps, it need not
    const kept = { scope: ['delete:users'] };
    expectStatus(await takers('PATCH', `/client-grants/${grant.id}`, { body: kept }), 200);
    expect((await full('GET', `/client-grants/${grant.id}`)).body.scope).toEqual(['delete:users']);
    const weak = await managementToken(t, ['read:users']);
    expectStatus(await takers('DELETE', `/clients/${weak.clientId}`), 204);
  });

  it('nor signs out, or ends the tokens and consents of, a person holding more of it', async () => {
    const offline = await newApi(t, { allowOfflineAccess: true });
    const web = await t.createApp({ name: unique('web'), type: 'web', callbacks: [CALLBACK] });
    const signedIn = async (email: string, password: string) => {
      const { tokens } = await webSignIn(browser(t, { email, password }), await webConfig(t, web), {
        scope: 'openid offline_access read:things',
        audience: offline.identifier,
      });
      expect(tokens.refresh_token).toEqual(expect.any(String));
    };
    const password = 'a long admin passphrase';
    const boss = await createAdmin(t.rt.storage, t.clock, {
      email: `${unique('boss')}@example.com`,
      password,
    });
    await signedIn(boss.email, password);
    const bossPath = `/users/${encodeURIComponent(boss.id)}`;
    const [session] = (await full('GET', `${bossPath}/sessions`)).body.sessions;
    const [token] = (await full('GET', `${bossPath}/refresh-tokens`)).body.tokens;
    const [consent] = (await full('GET', '/grants', { query: { user_id: boss.id } })).body;
    const ender = await limited('delete:sessions', 'delete:refresh_tokens', 'delete:grants', 'read:users');
    for (const [method, path, query] of [
      ['DELETE', `${bossPath}/sessions`],
      ['DELETE', `/sessions/${session.id}`],
      ['POST', `/sessions/${session.id}/revoke`],
      ['DELETE', `${bossPath}/refresh-tokens`],
      ['DELETE', `/refresh-tokens/${token.id}`],
      ['DELETE', `/grants/${consent.id}`],
      ['DELETE', '/grants', { user_id: boss.id }],
    ] as const)
      refused(await ender(method, path, query ? { query } : {}), 'delete:users');
    // nor by naming them by email, which the check would not have looked up
    const byEmail = `/users/${encodeURIComponent(boss.email)}`;
    expectError(await ender('DELETE', `${byEmail}/sessions`), 400, 'invalid_uri');
    expectError(await ender('DELETE', `${byEmail}/refresh-tokens`), 400, 'invalid_uri');
    expect((await full('GET', `${bossPath}/sessions`)).body.sessions).toHaveLength(1);
    expect((await full('GET', `${bossPath}/refresh-tokens`)).body.tokens).toHaveLength(1);
    // a person holding nothing of it is theirs to sign out
    const { user: peer, creds } = await newUser(t);
    await signedIn(creds.email, creds.password);
    const peerPath = `/users/${encodeURIComponent(peer.id)}`;
    expectStatus(await ender('DELETE', `${peerPath}/refresh-tokens`), 204);
    expectStatus(await ender('DELETE', `${peerPath}/sessions`), 204);
    expectStatus(await ender('DELETE', '/grants', { query: { user_id: peer.id } }), 204);
  });

  describe("an application made by a limited caller cannot carry off a signed-in admin's token", () => {
    const authorizeUrl = (clientId: string, scope: string) =>
      new URL(
        `${t.issuer}/authorize?${new URLSearchParams({ response_type: 'code', client_id: clientId, redirect_uri: CALLBACK, scope, audience: mgmt, code_challenge: 'x'.repeat(43), code_challenge_method: 'S256' })}`,
      );
    const bossSignIn = async () => {
      const password = 'a long admin passphrase';
      const boss = await createAdmin(t.rt.storage, t.clock, {
        email: `${unique('boss')}@example.com`,
        password,
      });
      return browser(t, { email: boss.email, password });
    };

    it("a first-party application with the caller's callback gets no Management API token for people without a client grant", async () => {
      const makers = await limited('create:clients', 'update:clients');
      const made = await makers('POST', '/clients', {
        body: { name: unique('lure'), app_type: 'regular_web', callbacks: [CALLBACK], is_first_party: true },
      });
      expectStatus(made, 201);
      const { client_id: clientId, client_secret: clientSecret } = made.body;
      const flow = await (await bossSignIn()).signIn(
        authorizeUrl(clientId, 'openid read:users delete:users'),
      );
      expect(flow.location?.origin).toBe(new URL(CALLBACK).origin);
      expect(flow.location?.searchParams.get('error')).toBe('unauthorized_client');
      expect(flow.location?.searchParams.get('code')).toBeNull();

      // a client grant for people (given by whoever holds its scopes) is the ceiling of such tokens
      const grant = { client_id: clientId, audience: mgmt, scope: ['read:users'], subject_type: 'user' };
      expectStatus(await full('POST', '/client-grants', { body: grant }), 201);
      const { tokens } = await webSignIn(await bossSignIn(), await webConfig(t, { clientId, clientSecret }), {
        scope: 'openid read:users delete:users',
        audience: mgmt,
      });
      expect(decodeJwt(tokens.access_token).payload.scope).toBe('openid read:users');

      // and, the application now holding read:users, the makers may no longer point it elsewhere
      const lure = `/clients/${clientId}`;
      refused(
        await makers('PATCH', lure, { body: { callbacks: ['https://evil.example/cb'] } }),
        'read:users',
      );
      refused(await makers('PATCH', lure, { body: { name: 'renamed' } }), 'read:users');
      expect((await full('GET', lure)).body.callbacks).toEqual([CALLBACK]);
      const own = await makers('POST', '/clients', {
        body: { name: unique('own'), app_type: 'regular_web' },
      });
      expectStatus(
        await makers('PATCH', `/clients/${own.body.client_id}`, { body: { callbacks: [CALLBACK] } }),
        200,
      );
    });

    it('the Management API never takes allow_all for people; an older tenant that had it is moved off it at start', async () => {
      const path = `/resource-servers/${MANAGEMENT_API_ID}`;
      expect((await full('GET', path)).body.subject_type_authorization.user).toEqual({
        policy: 'require_client_grant',
      });
      const open = { subject_type_authorization: { user: { policy: 'allow_all' } } };
      expectError(await full('PATCH', path, { body: open }), 403);
      // what a start makes of a policy stored before (older tenants' allow_all, RBAC off)
      const stored = (await t.rt.storage.apis.get(MANAGEMENT_API_ID))!;
      const afterStart = async (policy: 'allow_all' | 'deny_all', enforcePolicies: boolean) => {
        const options = {
          ...stored.options,
          enforcePolicies,
          subjectTypeAuthorization: { user: { policy } },
        };
        await t.rt.storage.apis.update(MANAGEMENT_API_ID, { options }, t.clock.now());
        await ensureManagementApi(t.rt.storage, t.clock, t.issuer, true);
        const after = (await t.rt.storage.apis.get(MANAGEMENT_API_ID))!.options;
        expect(after.enforcePolicies).toBe(true);
        return after.subjectTypeAuthorization?.user?.policy;
      };
      expect(await afterStart('allow_all', true)).toBe('require_client_grant');
      expect(await afterStart('deny_all', false)).toBe('deny_all'); // kept: it is stricter
      // who may get its tokens is for a caller holding all of it (deny_all cuts off the rest)
      const apis = await limited('update:resource_servers', 'read:resource_servers');
      const closed = { subject_type_authorization: { user: { policy: 'deny_all' } } };
      refused(await apis('PATCH', path, { body: closed }), 'delete:users');
      const client = { subject_type_authorization: { client: { policy: 'deny_all' } } };
      refused(await apis('PATCH', path, { body: client }), 'delete:users');
      expectStatus(await apis('PATCH', path, { body: { token_lifetime: 86400 } }), 200);
      // deny_all is taken (the console, a system application, is not held to it)
      expectStatus(await full('PATCH', path, { body: closed }), 200);
      const back = { subject_type_authorization: { user: { policy: 'require_client_grant' } } };
      expectStatus(await full('PATCH', path, { body: back }), 200);
    });
  });
});
