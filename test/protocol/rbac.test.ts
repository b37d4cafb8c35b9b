import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { updateApi } from '../../src/admin/apis.js';
import { authorizeApplication } from '../../src/admin/applications.js';
import { addUserPermissions } from '../../src/admin/permissions.js';
import { addRolePermissions, assignUserRoles, createRole, removeUserRoles } from '../../src/admin/roles.js';
import type { Api, User } from '../../src/storage/types.js';
import { startTestApp, type TestApp } from '../support/app.js';
import { describeEachBackend } from '../support/databases.js';
import { Activator, poll, startDevice } from './device/device.js';
import type { Credentials } from './sign-in/agent.js';
import {
  authorizationUrl,
  browser,
  CALLBACK,
  decodeJwt,
  expectTokenError,
  newUser,
  paramsOf,
  tokenRequest,
  webConfig,
  webSignIn,
} from './sign-in/fixtures.js';

const SCOPES = ['read:things', 'write:things', 'admin:things'];
const DEVICE = 'urn:ietf:params:oauth:grant-type:device_code';
type App = { clientId: string; clientSecret?: string };

describeEachBackend('RBAC: roles and permissions in tokens (Auth0 semantics)', (backend) => {
  let t: TestApp;
  let api: Api;
  let web: App;
  let editor: string;
  let reader: string;
  let ada: { user: User; creds: Credentials };

  const grant = (role: string, names: string[]) =>
    addRolePermissions(
      t.rt.storage,
      t.clock,
      role,
      names.map((permission) => ({ audience: api.identifier, permission })),
    );

  beforeAll(async () => {
    t = await startTestApp(backend);
    api = await t.createApi({ scopes: SCOPES, allowOfflineAccess: true });
    await updateApi(t.rt.storage, t.clock, api.id, {
      enforcePolicies: true,
      tokenDialect: 'rfc9068_profile_authz',
    });
    web = await t.createApp({
      name: 'Things',
      type: 'web',
      requirePkce: false,
      callbacks: [CALLBACK],
      grants: ['authorization_code', 'refresh_token', 'password', 'implicit', DEVICE],
    });
    editor = (await createRole(t.rt.storage, t.clock, { name: 'Editor' })).id;
    reader = (await createRole(t.rt.storage, t.clock, { name: 'Reader' })).id;
    await grant(editor, ['read:things', 'write:things']);
    await grant(reader, ['read:things']);
    ada = await newUser(t, { name: 'Ada' });
    await assignUserRoles(t.rt.storage, t.clock, ada.user.id, [editor, reader]);
  });
  afterAll(async () => t?.close());

  const signIn = async (creds: Credentials, scope: string, app = web) =>
    webSignIn(browser(t, creds), await webConfig(t, app), { scope, audience: api.identifier });

  it('grants the requested scopes the person holds; permissions are all they hold', async () => {
    const { tokens, flow } = await signIn(ada.creds, 'openid offline_access read:things admin:things');
    const at = decodeJwt(tokens.access_token).payload;
    expect(at.scope).toBe('openid offline_access read:things');
    expect(at.permissions).toEqual(['read:things', 'write:things']);
    expect(tokens.scope).toBe('openid offline_access read:things');
    // consent listed only what may be granted
    expect(flow.pages).toContain('consent');
    expect(flow.html.consent).toContain('read:things');
    expect(flow.html.consent).not.toContain('admin:things');
  });

  it('a role taken away counts from the next refresh; the last one going refuses it', async () => {
    const bob = await newUser(t);
    await assignUserRoles(t.rt.storage, t.clock, bob.user.id, [editor, reader]);
    const { tokens } = await signIn(bob.creds, 'openid offline_access read:things write:things');
    expect(decodeJwt(tokens.access_token).payload.scope).toBe(
      'openid offline_access read:things write:things',
    );
    await removeUserRoles(t.rt.storage, bob.user.id, [editor]);
    const refresh = (rt: string) =>
      tokenRequest(t, {
        grant_type: 'refresh_token',
        refresh_token: rt,
        client_id: web.clientId,
        client_secret: web.clientSecret!,
      });
    const next = await refresh(tokens.refresh_token!);
    expect(next.status, JSON.stringify(next.body)).toBe(200);
    const claims = decodeJwt(next.body.access_token as string).payload;
    expect(claims.scope).toBe('openid offline_access read:things');
    expect(claims.permissions).toEqual(['read:things']);
    await removeUserRoles(t.rt.storage, bob.user.id, [reader]);
    expectTokenError(await refresh(next.body.refresh_token as string), 400, 'invalid_grant');
  });

  it('a person holding none of the requested permissions gets access_denied', async () => {
    const nobody = await newUser(t);
    const flow = await browser(t, nobody.creds).signIn(
      authorizationUrl(t, {
        client_id: web.clientId,
        redirect_uri: CALLBACK,
        scope: 'openid write:things',
        audience: api.identifier,
        state: 's',
      }),
    );
    expect(paramsOf(flow.location!.searchParams)).toMatchObject({ error: 'access_denied', state: 's' });
  });

  it('direct permissions count too, and the password grant narrows the same way', async () => {
    const cy = await newUser(t);
    await addUserPermissions(t.rt.storage, t.clock, cy.user.id, [
      { audience: api.identifier, permission: 'admin:things' },
    ]);
    const password = (scope: string) =>
      tokenRequest(t, {
        grant_type: 'password',
        username: cy.creds.email,
        password: cy.creds.password,
        client_id: web.clientId,
        client_secret: web.clientSecret!,
        audience: api.identifier,
        scope,
      });
    const ok = await password('read:things admin:things');
    expect(ok.status, JSON.stringify(ok.body)).toBe(200);
    expect(ok.body.scope).toBe('admin:things');
    expect(decodeJwt(ok.body.access_token as string).payload.permissions).toEqual(['admin:things']);
    expectTokenError(await password('read:things'), 400, 'invalid_scope');
    // a refused scope is no sign-in (logins_count stays), though the password was right: the
    // attempt is given back, so six in a row lock nothing (five failures would)
    for (let i = 0; i < 5; i++) expectTokenError(await password('read:things'), 400, 'invalid_scope');
    expect(await t.rt.storage.users.get(cy.user.id)).toMatchObject({ loginsCount: 1 });
    expect((await password('admin:things')).status).toBe(200);
    expect(await t.rt.storage.users.get(cy.user.id)).toMatchObject({ loginsCount: 2 });
  });

  it('implicit and device flows grant only what the person holds', async () => {
    const implicit = await browser(t, ada.creds).signIn(
      authorizationUrl(t, {
        client_id: web.clientId,
        redirect_uri: CALLBACK,
        response_type: 'token',
        scope: 'read:things admin:things',
        audience: api.identifier,
      }),
      { consent: 'allow' },
    );
    const fragment = new URLSearchParams(implicit.location!.hash.slice(1));
    expect(fragment.get('scope')).toBe('read:things');
    expect(decodeJwt(fragment.get('access_token')!).payload.permissions).toEqual([
      'read:things',
      'write:things',
    ]);

    const device = await startDevice(t, web, {
      scope: 'write:things admin:things',
      audience: api.identifier,
    });
    const activator = await Activator.signIn(t, ada.creds);
    const confirm = await activator.enter(device.user_code);
    expect(confirm.html).toContain('write:things');
    expect(confirm.html).not.toContain('admin:things');
    await activator.approve(device.user_code);
    const answer = await poll(t, web, device.device_code);
    expect(answer.status, JSON.stringify(answer.body)).toBe(200);
    expect(answer.body.scope).toBe('write:things');
  });

  it('without enforce_policies every requested scope is granted (an _authz token still lists permissions)', async () => {
    const open = await t.createApi({ scopes: SCOPES });
    await updateApi(t.rt.storage, t.clock, open.id, { tokenDialect: 'access_token_authz' });
    const nobody = await newUser(t);
    const { tokens } = await webSignIn(browser(t, nobody.creds), await webConfig(t, web), {
      scope: 'openid admin:things',
      audience: open.identifier,
    });
    const at = decodeJwt(tokens.access_token).payload;
    expect(at.scope).toBe('openid admin:things');
    expect(at.permissions).toEqual([]);
  });

  describe('subject_type_authorization', () => {
    let strict: Api;
    beforeAll(async () => {
      strict = await t.createApi({ scopes: SCOPES });
      await updateApi(t.rt.storage, t.clock, strict.id, { userPolicy: 'require_client_grant' });
    });

    it('require_client_grant refuses an application without a user client grant', async () => {
      const flow = await browser(t, ada.creds).signIn(
        authorizationUrl(t, {
          client_id: web.clientId,
          redirect_uri: CALLBACK,
          scope: 'openid read:things',
          audience: strict.identifier,
        }),
      );
      expect(flow.location?.searchParams.get('error')).toBe('unauthorized_client');
      const pw = await tokenRequest(t, {
        grant_type: 'password',
        username: ada.creds.email,
        password: ada.creds.password,
        client_id: web.clientId,
        client_secret: web.clientSecret!,
        audience: strict.identifier,
      });
      expectTokenError(pw, 400, 'unauthorized_client');
    });

    it('a user client grant lets the application in, its scopes the ceiling', async () => {
      const app = await t.createApp({
        name: 'Granted',
        type: 'web',
        requirePkce: false,
        callbacks: [CALLBACK],
      });
      await authorizeApplication(
        t.rt.storage,
        t.clock,
        app.clientId,
        strict.identifier,
        ['read:things'],
        'user',
      );
      const { tokens } = await webSignIn(browser(t, ada.creds), await webConfig(t, app), {
        scope: 'openid read:things write:things',
        audience: strict.identifier,
      });
      expect(decodeJwt(tokens.access_token).payload.scope).toBe('openid read:things');
    });
  });

  describe('client credentials', () => {
    it('with an _authz dialect the permissions are the granted scopes; deny_all refuses', async () => {
      const m2m = await t.createM2m(api, ['read:things', 'admin:things']);
      const cc = () =>
        tokenRequest(t, {
          grant_type: 'client_credentials',
          client_id: m2m.clientId,
          client_secret: m2m.clientSecret,
          audience: api.identifier,
        });
      const ok = await cc();
      expect(ok.status).toBe(200);
      expect(decodeJwt(ok.body.access_token as string).payload.permissions).toEqual([
        'read:things',
        'admin:things',
      ]);
      await updateApi(t.rt.storage, t.clock, api.id, { clientPolicy: 'deny_all' });
      try {
        expectTokenError(await cc(), 400, 'unauthorized_client');
      } finally {
        await updateApi(t.rt.storage, t.clock, api.id, { clientPolicy: 'require_client_grant' });
      }
    });
  });
});
