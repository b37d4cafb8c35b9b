// Issue #14 §11: PKCE was required of public clients only, so a confidential (web) client's code
// could be injected into another session when the client forgot PKCE. Now every authorization
// request whose response_type contains `code` must carry a code_challenge (S256), or it is
// refused with invalid_request at the client's redirect_uri (OAuth 2.1 §4.1.1). Only a web
// application may be allowed to go without, for old libraries: `require_pkce: false` in the
// Management API, `--no-require-pkce` in the CLI (`--require-pkce` turns it back on),
// `requirePkce: false` in src/admin; spa, native and m2m applications are refused the switch.
import * as client from 'openid-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApplication } from '../../../src/admin/applications.js';
import { ValidationError } from '../../../src/admin/errors.js';
import { killAll, runCli } from '../../e2e/process.js';
import { type Answer, type Call, caller, managementToken } from '../../management/support.js';
import type { Credentials } from '../../protocol/sign-in/agent.js';
import {
  authorizationUrl,
  browser,
  CALLBACK,
  codeFor,
  newUser,
  publicAuthorizationUrl,
  publicClient,
  SPA_CALLBACK,
  tokenRequest,
  webAuthorizationUrl,
  webConfig,
  webSignIn,
} from '../../protocol/sign-in/fixtures.js';
import { startTestApp, type TestApp } from '../../support/app.js';
import { describeEachBackend } from '../../support/databases.js';
import {
  authorizeUrl,
  launch,
  codeFor as processCodeFor,
  newUser as processUser,
  type Sesame,
  token,
} from '../rules/server.js';

const REFUSAL = 'code_challenge is required (PKCE, S256)';

afterAll(() => killAll());

/** Asserts a redirect to `callback` with invalid_request for the missing PKCE (query, or fragment). */
function expectPkceRefusal(
  res: Response,
  callback: string,
  issuer: string,
  where: 'query' | 'fragment' = 'query',
) {
  expect(res.status).toBe(303);
  const location = new URL(res.headers.get('location') as string);
  expect(`${location.origin}${location.pathname}`).toBe(callback);
  const params = new URLSearchParams(where === 'query' ? location.search : location.hash.slice(1));
  expect(params.get('code')).toBeNull();
  expect(Object.fromEntries(params)).toEqual({
    error: 'invalid_request',
    error_description: REFUSAL,
    state: 'st-1',
    iss: issuer,
  });
}

describeEachBackend('hardening: PKCE by default, for confidential clients too (#14 §11)', (backend) => {
  let t: TestApp;
  let call: Call;
  let creds: Credentials;

  beforeAll(async () => {
    t = await startTestApp(backend);
    call = caller(t, (await managementToken(t)).token);
    creds = (await newUser(t)).creds;
  });
  afterAll(async () => t?.close());

  /** A web application (first party: no consent page), with its secret. */
  const webApp = async (extra: { requirePkce?: boolean; grants?: string[] } = {}) =>
    (await t.createApp({ name: 'Web', type: 'web', callbacks: [CALLBACK], skipConsent: true, ...extra })) as {
      clientId: string;
      clientSecret: string;
    };

  /** An authorization request of `clientId` without code_challenge. */
  const withoutPkce = (clientId: string, params: Record<string, string> = {}) =>
    authorizationUrl(t, {
      client_id: clientId,
      redirect_uri: CALLBACK,
      state: 'st-1',
      nonce: 'n-1',
      ...params,
    });

  /** The code flow without PKCE: the code, exchanged with the secret and no code_verifier. */
  async function signInWithoutPkce(app: { clientId: string; clientSecret: string }) {
    const code = await codeFor(browser(t, creds), withoutPkce(app.clientId));
    const answer = await tokenRequest(t, {
      grant_type: 'authorization_code',
      code,
      redirect_uri: CALLBACK,
      client_id: app.clientId,
      client_secret: app.clientSecret,
    });
    expect(answer.status, JSON.stringify(answer.body)).toBe(200);
    expect(answer.body.id_token).toEqual(expect.any(String));
    return answer;
  }

  const ok = (answer: Answer, status = 200) => {
    expect(answer.status, answer.text).toBe(status);
    return answer.body;
  };
  /** A 400 from the Management API whose body names require_pkce. */
  const refusedNamingSetting = (answer: Answer) => {
    expect(answer.status, answer.text).toBe(400);
    expect(answer.body).toMatchObject({ statusCode: 400 });
    expect(answer.body.message).toContain('require_pkce');
  };

  describe('a web application (confidential)', () => {
    it('without code_challenge is refused with invalid_request at its redirect_uri, before any login page', async () => {
      const web = await webApp();
      expectPkceRefusal(await browser(t, creds).get(withoutPkce(web.clientId)), CALLBACK, t.issuer);
      // a browser already signed in is refused as well: no code without PKCE
      const agent = browser(t, creds);
      await webSignIn(agent, await webConfig(t, web));
      expectPkceRefusal(await agent.get(withoutPkce(web.clientId)), CALLBACK, t.issuer);
    });

    it('a plain code_challenge_method is not enough', async () => {
      const web = await webApp();
      const res = await browser(t, creds).get(
        withoutPkce(web.clientId, { code_challenge: 'a'.repeat(43), code_challenge_method: 'plain' }),
      );
      expect(res.status).toBe(303);
      const params = new URL(res.headers.get('location') as string).searchParams;
      expect(params.get('error')).toBe('invalid_request');
      expect(params.get('code')).toBeNull();
    });

    it('with PKCE (S256) signs in, the verifier checked at the token endpoint', async () => {
      const web = await webApp();
      const config = await webConfig(t, web);
      const { tokens, claims } = await webSignIn(browser(t, creds), config);
      expect(tokens.access_token).toEqual(expect.any(String));
      expect(claims.aud).toBe(web.clientId);
      // without the verifier, the code is refused
      const pending = await webAuthorizationUrl(config);
      const code = await codeFor(browser(t, creds), pending.url);
      const answer = await tokenRequest(t, {
        grant_type: 'authorization_code',
        code,
        redirect_uri: CALLBACK,
        client_id: web.clientId,
        client_secret: web.clientSecret,
      });
      expect([answer.status, answer.body.error]).toEqual([400, 'invalid_grant']);
    });

    it('a hybrid response_type with code (code id_token) needs PKCE too; the error goes in the fragment', async () => {
      const web = await webApp({ grants: ['authorization_code', 'implicit'] });
      const res = await browser(t, creds).get(withoutPkce(web.clientId, { response_type: 'code id_token' }));
      expectPkceRefusal(res, CALLBACK, t.issuer, 'fragment');
    });

    it('an id_token-only response (no code) needs no PKCE', async () => {
      const web = await webApp({ grants: ['authorization_code', 'implicit'] });
      const flow = await browser(t, creds).signIn(withoutPkce(web.clientId, { response_type: 'id_token' }));
      const params = new URLSearchParams(flow.location?.hash.slice(1));
      expect(params.get('error'), params.get('error_description') ?? '').toBeNull();
      expect(params.get('id_token')).toEqual(expect.any(String));
    });
  });

  describe('require_pkce through the Management API', () => {
    it('the client view shows require_pkce, true by default', async () => {
      const web = await webApp();
      expect(ok(await call('GET', `/clients/${web.clientId}`)).require_pkce).toBe(true);
      const created = ok(
        await call('POST', '/clients', {
          body: { name: 'Default', app_type: 'regular_web', callbacks: [CALLBACK] },
        }),
        201,
      );
      expect(created.require_pkce).toBe(true);
      const spa = ok(
        await call('POST', '/clients', { body: { name: 'SPA', app_type: 'spa', callbacks: [SPA_CALLBACK] } }),
        201,
      );
      expect(spa.require_pkce).toBe(true);
    });

    it('PATCH require_pkce false lets a web application sign in without PKCE; true refuses it again', async () => {
      const web = await webApp();
      expectPkceRefusal(await browser(t, creds).get(withoutPkce(web.clientId)), CALLBACK, t.issuer);

      const off = ok(await call('PATCH', `/clients/${web.clientId}`, { body: { require_pkce: false } }));
      expect(off.require_pkce).toBe(false);
      expect(ok(await call('GET', `/clients/${web.clientId}`)).require_pkce).toBe(false);
      await signInWithoutPkce(web);

      // a client that still sends PKCE gets it checked: the verifier must match
      const config = await webConfig(t, web);
      await webSignIn(browser(t, creds), config);
      const pending = await webAuthorizationUrl(config);
      const code = await codeFor(browser(t, creds), pending.url);
      const wrong = await tokenRequest(t, {
        grant_type: 'authorization_code',
        code,
        redirect_uri: CALLBACK,
        code_verifier: client.randomPKCECodeVerifier(),
        client_id: web.clientId,
        client_secret: web.clientSecret,
      });
      expect([wrong.status, wrong.body.error]).toEqual([400, 'invalid_grant']);

      // another change leaves the setting as it is
      expect(
        ok(await call('PATCH', `/clients/${web.clientId}`, { body: { name: 'Renamed' } })).require_pkce,
      ).toBe(false);

      const on = ok(await call('PATCH', `/clients/${web.clientId}`, { body: { require_pkce: true } }));
      expect(on.require_pkce).toBe(true);
      expectPkceRefusal(await browser(t, creds).get(withoutPkce(web.clientId)), CALLBACK, t.issuer);
    });

    it('POST /clients may create a regular_web client with require_pkce false', async () => {
      const created = ok(
        await call('POST', '/clients', {
          body: { name: 'Old library', app_type: 'regular_web', callbacks: [CALLBACK], require_pkce: false },
        }),
        201,
      );
      expect(created.require_pkce).toBe(false);
      const code = await codeFor(browser(t, creds), withoutPkce(created.client_id));
      expect(code).toEqual(expect.any(String));
    });

    it('spa and native applications are refused the switch (400 naming require_pkce), and still need PKCE', async () => {
      refusedNamingSetting(
        await call('POST', '/clients', {
          body: { name: 'SPA', app_type: 'spa', callbacks: [SPA_CALLBACK], require_pkce: false },
        }),
      );
      refusedNamingSetting(
        await call('POST', '/clients', {
          body: { name: 'App', app_type: 'native', callbacks: ['com.example.app:/cb'], require_pkce: false },
        }),
      );
      const spa = ok(
        await call('POST', '/clients', { body: { name: 'SPA', app_type: 'spa', callbacks: [SPA_CALLBACK] } }),
        201,
      );
      refusedNamingSetting(
        await call('PATCH', `/clients/${spa.client_id}`, { body: { require_pkce: false } }),
      );
      expect(ok(await call('GET', `/clients/${spa.client_id}`)).require_pkce).toBe(true);
      // require_pkce true is what a public client has: accepted, nothing changes
      expect(
        ok(await call('PATCH', `/clients/${spa.client_id}`, { body: { require_pkce: true } })).require_pkce,
      ).toBe(true);

      const res = await browser(t, creds).get(
        authorizationUrl(t, {
          client_id: spa.client_id,
          redirect_uri: SPA_CALLBACK,
          state: 'st-1',
          nonce: 'n',
        }),
      );
      expectPkceRefusal(res, SPA_CALLBACK, t.issuer);
      // with PKCE the SPA signs in
      const pc = await publicClient(t, spa.client_id, SPA_CALLBACK);
      const flow = await browser(t, creds).signIn((await publicAuthorizationUrl(pc)).url);
      expect(flow.location?.searchParams.get('code')).toEqual(expect.any(String));
    });

    it('m2m applications are refused the switch too', async () => {
      const refused = await call('POST', '/clients', {
        body: { name: 'Robot', app_type: 'non_interactive', require_pkce: false },
      });
      expect(refused.status, refused.text).toBe(400);
      const m2m = ok(
        await call('POST', '/clients', { body: { name: 'Robot', app_type: 'non_interactive' } }),
        201,
      );
      const patched = await call('PATCH', `/clients/${m2m.client_id}`, { body: { require_pkce: false } });
      expect(patched.status, patched.text).toBe(400);
    });
  });

  describe('requirePkce in src/admin', () => {
    it('createApplication with requirePkce false makes a web application that signs in without PKCE', async () => {
      const { app, clientSecret } = await createApplication(t.rt.storage, t.clock, {
        name: 'Old library',
        type: 'web',
        callbacks: [CALLBACK],
        skipConsent: true,
        requirePkce: false,
      });
      await signInWithoutPkce({ clientId: app.clientId, clientSecret: clientSecret as string });
    });

    it.each(['spa', 'native', 'm2m'])('createApplication refuses requirePkce false for %s', async (type) => {
      const callbacks = type === 'spa' ? [SPA_CALLBACK] : type === 'native' ? ['com.example.app:/cb'] : [];
      await expect(
        createApplication(t.rt.storage, t.clock, { name: 'X', type, callbacks, requirePkce: false }),
      ).rejects.toThrow(ValidationError);
    });
  });
});

describe('hardening: sesame apps --no-require-pkce / --require-pkce (#14 §11) [sqlite, process]', () => {
  let s: Sesame;
  const REDIRECT = 'https://app.example/cb';

  beforeAll(async () => {
    s = await launch('sqlite');
  });
  afterAll(async () => s?.stop());

  interface AppView {
    client_id: string;
    client_secret?: string;
    require_pkce: boolean;
  }

  it('create --no-require-pkce allows the code flow without PKCE; update --require-pkce and --no-require-pkce switch it', async () => {
    const person = await processUser(s);
    const created = await s.cli<AppView>([
      'apps',
      'create',
      '--name',
      'Old library',
      '--type',
      'web',
      '--callback',
      REDIRECT,
      '--skip-consent',
      '--no-require-pkce',
    ]);
    expect(created.require_pkce).toBe(false);
    const app = { clientId: created.client_id, clientSecret: created.client_secret as string };
    const noPkce = () =>
      authorizeUrl(s, { client_id: app.clientId, redirect_uri: REDIRECT, state: 'st-1', nonce: 'n' });
    const signIn = async () => {
      const code = await processCodeFor(s.agent(person), noPkce());
      const answer = await token(s, app, { grant_type: 'authorization_code', code, redirect_uri: REDIRECT });
      expect(answer.status, JSON.stringify(answer.body)).toBe(200);
    };
    const refused = async () => {
      const res = await s.agent(person).get(noPkce());
      expect(res.status).toBe(303);
      const params = new URL(res.headers.get('location') as string).searchParams;
      expect(Object.fromEntries(params)).toMatchObject({
        error: 'invalid_request',
        error_description: REFUSAL,
      });
    };
    await signIn();

    // an update that does not name the setting leaves it off
    const renamed = await s.cli<AppView>(['apps', 'update', '--name', 'Renamed', '--', app.clientId]);
    expect(renamed.require_pkce).toBe(false);
    await signIn();

    const on = await s.cli<AppView>(['apps', 'update', '--require-pkce', '--', app.clientId]);
    expect(on.require_pkce).toBe(true);
    await refused();

    const off = await s.cli<AppView>(['apps', 'update', '--no-require-pkce', '--', app.clientId]);
    expect(off.require_pkce).toBe(false);
    await signIn();
  });

  it('a web application is created with PKCE required unless told otherwise', async () => {
    const created = await s.cli<AppView>([
      'apps',
      'create',
      '--name',
      'New',
      '--type',
      'web',
      '--callback',
      REDIRECT,
    ]);
    expect(created.require_pkce).toBe(true);
  });

  it.each([
    ['spa', ['--callback', 'https://spa.example/cb']],
    ['native', ['--callback', 'com.example.app:/cb']],
    ['m2m', []],
  ])('apps create --type %s --no-require-pkce exits non-zero', async (type, args) => {
    const res = await runCli(
      ['apps', 'create', '--name', 'X', '--type', type, ...args, '--no-require-pkce', '--json'],
      s.env,
    );
    expect(res.code, res.stdout).not.toBe(0);
    if (type !== 'm2m') expect(res.stderr).toContain('require_pkce');
  });

  it('apps update --no-require-pkce on a spa exits non-zero and changes nothing', async () => {
    const spa = await s.cli<AppView>([
      'apps',
      'create',
      '--name',
      'SPA',
      '--type',
      'spa',
      '--callback',
      'https://spa.example/cb',
    ]);
    const res = await runCli(['apps', 'update', '--no-require-pkce', '--json', '--', spa.client_id], s.env);
    expect(res.code, res.stdout).not.toBe(0);
    expect(res.stderr).toContain('require_pkce');
    const shown = await s.cli<AppView>(['apps', 'show', '--', spa.client_id]);
    expect(shown.require_pkce).toBe(true);
  });
});
