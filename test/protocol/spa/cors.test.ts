// Issue #13 §3: CORS. Discovery and the JWKS for any origin; /oauth/token, /oauth/revoke and
// /userinfo for the origins the calling application registered (errors included), never with
// credentials; other origins and requests without Origin get no CORS headers.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { updateApplication } from '../../../src/admin/applications.js';
import { startTestApp, type TestApp } from '../../support/app.js';
import { describeEachBackend } from '../../support/databases.js';
import { browser, newUser } from '../sign-in/fixtures.js';
import {
  type Answer,
  corsHeaderNames,
  endpoint,
  expectError,
  postForm,
  postJson,
  refreshForm,
  SPA_CALLBACK,
  SPA_ORIGIN,
  type SpaClient,
  signIn,
  WEB_ORIGIN,
} from './support.js';

const OTHER_ORIGIN = 'https://other-app.example';
const WEB_APP_ORIGIN = 'https://web.example';
const EVIL = 'https://evil.example';
const SDK_HEADERS = 'auth0-client, content-type';

/** The Access-Control-Allow-Origin of an answer; credentials are never allowed. */
function allowOrigin(h: Headers): string | null {
  expect(h.get('access-control-allow-credentials')).toBeNull();
  return h.get('access-control-allow-origin');
}

/** Asserts that `origin` may read the answer: ACAO is exactly it, and Vary names Origin. */
function expectAllowed(h: Headers, origin: string): void {
  expect(allowOrigin(h)).toBe(origin);
  expect((h.get('vary') ?? '').toLowerCase()).toMatch(/\borigin\b/);
}

describeEachBackend('spa: CORS (issue #13 §3)', (backend) => {
  let t: TestApp;
  let spa: SpaClient;
  let web: SpaClient;
  /** The newest refresh token of `spa` (each refresh rotates it). */
  let refresh: string;
  let accessToken: string;

  beforeAll(async () => {
    t = await startTestApp(backend);
    const a = await t.createApp({
      name: 'SPA',
      type: 'spa',
      callbacks: [SPA_CALLBACK],
      webOrigins: [WEB_ORIGIN],
      allowOfflineAccess: true,
    });
    spa = { clientId: a.clientId, redirectUri: SPA_CALLBACK };
    await t.createApp({
      name: 'Other',
      type: 'spa',
      callbacks: ['https://b.example/cb'],
      webOrigins: [OTHER_ORIGIN],
    });
    const w = await t.createApp({ name: 'Web', type: 'web', callbacks: [`${WEB_APP_ORIGIN}/cb`] });
    web = {
      clientId: w.clientId,
      clientSecret: w.clientSecret as string,
      redirectUri: `${WEB_APP_ORIGIN}/cb`,
    };
    const { tokens } = await signIn(t, browser(t, (await newUser(t)).creds), spa, {
      scope: 'openid offline_access',
    });
    refresh = tokens.body.refresh_token as string;
    accessToken = tokens.body.access_token as string;
  });
  afterAll(async () => t?.close());

  /** A refresh of `spa` sent from `origin`; the chain moves on when it succeeds. */
  async function refreshFrom(origin: string | null): Promise<Answer> {
    const a = await postForm(t, '/oauth/token', refreshForm(spa, refresh), origin ? { origin } : {});
    if (a.status === 200) refresh = a.body.refresh_token as string;
    return a;
  }

  const preflight = (path: string, origin: string, method = 'POST') =>
    t.fetch(endpoint(t, path), {
      method: 'OPTIONS',
      headers: {
        origin,
        'access-control-request-method': method,
        'access-control-request-headers': SDK_HEADERS,
      },
    });

  const userinfo = (token: string, origin?: string) =>
    t.fetch(endpoint(t, '/userinfo'), {
      headers: { authorization: `Bearer ${token}`, ...(origin ? { origin } : {}) },
    });

  describe('discovery and JWKS: any origin', () => {
    it.each([
      '/.well-known/openid-configuration',
      '/.well-known/oauth-authorization-server',
      '/.well-known/jwks.json',
    ])('%s: GET gets *, the preflight 204 with *, methods GET, no credentials', async (path) => {
      const get = await t.fetch(endpoint(t, path), { headers: { origin: EVIL } });
      expect(get.status).toBe(200);
      expect(allowOrigin(get.headers)).toBe('*');
      const pre = await preflight(path, EVIL, 'GET');
      expect(pre.status).toBe(204);
      expect(allowOrigin(pre.headers)).toBe('*');
      expect(pre.headers.get('access-control-allow-methods')).toMatch(/\bGET\b/);
    });
  });

  describe('token endpoint', () => {
    it.each([
      ['a web origin', WEB_ORIGIN],
      ['a callback’s origin', SPA_ORIGIN],
    ])('success from %s: ACAO is the origin, Vary: Origin', async (_name, origin) => {
      const a = await refreshFrom(origin);
      expect(a.status, JSON.stringify(a.body)).toBe(200);
      expectAllowed(a.headers, origin);
    });

    it('invalid_grant (a bad refresh token) carries the CORS headers', async () => {
      const a = await postForm(t, '/oauth/token', refreshForm(spa, 'not-a-refresh-token'), {
        origin: WEB_ORIGIN,
      });
      expectError(a, 400, 'invalid_grant');
      expectAllowed(a.headers, WEB_ORIGIN);
    });

    it('invalid_client (a wrong secret) carries them for the client’s registered origin', async () => {
      const a = await postForm(t, '/oauth/token', refreshForm({ ...web, clientSecret: 'wrong' }, 'x'), {
        origin: WEB_APP_ORIGIN,
      });
      expectError(a, 401, 'invalid_client');
      expectAllowed(a.headers, WEB_APP_ORIGIN);
    });

    it('invalid_request (a missing parameter) carries them', async () => {
      const a = await postForm(
        t,
        '/oauth/token',
        { grant_type: 'refresh_token', client_id: spa.clientId },
        {
          origin: SPA_ORIGIN,
        },
      );
      expectError(a, 400, 'invalid_request');
      expectAllowed(a.headers, SPA_ORIGIN);
    });

    it.each([
      ['malformed JSON', () => postJson(t, '/oauth/token', '{"grant_type":', { origin: WEB_ORIGIN })],
      [
        'a repeated parameter',
        () =>
          postForm(t, '/oauth/token', new URLSearchParams('grant_type=refresh_token&grant_type=x'), {
            origin: WEB_ORIGIN,
          }),
      ],
    ])(
      'invalid_request from %s (no client can be told) carries them for a registered origin',
      async (_n, send) => {
        const a = await send();
        expectError(a, 400, 'invalid_request');
        expectAllowed(a.headers, WEB_ORIGIN);
      },
    );

    it('an origin registered only by another application: no ACAO, on success or error', async () => {
      const ok = await refreshFrom(OTHER_ORIGIN);
      expect(ok.status).toBe(200);
      expect(allowOrigin(ok.headers)).toBeNull();
      const bad = await postForm(t, '/oauth/token', refreshForm(spa, 'nope'), { origin: OTHER_ORIGIN });
      expectError(bad, 400, 'invalid_grant');
      expect(allowOrigin(bad.headers)).toBeNull();
    });

    it('an unregistered origin: no ACAO, on success or error (malformed body included)', async () => {
      const ok = await refreshFrom(EVIL);
      expect(ok.status).toBe(200);
      expect(allowOrigin(ok.headers)).toBeNull();
      const bad = await postForm(t, '/oauth/token', refreshForm(spa, 'nope'), { origin: EVIL });
      expect(allowOrigin(bad.headers)).toBeNull();
      const malformed = await postJson(t, '/oauth/token', '{', { origin: EVIL });
      expectError(malformed, 400, 'invalid_request');
      expect(allowOrigin(malformed.headers)).toBeNull();
    });
  });

  describe('revocation and userinfo', () => {
    it('revoke from a registered origin: ACAO; from another app’s origin or an unknown one: none', async () => {
      const own = await postForm(
        t,
        '/oauth/revoke',
        { token: 'whatever', client_id: spa.clientId },
        { origin: SPA_ORIGIN },
      );
      expect(own.status).toBe(200);
      expectAllowed(own.headers, SPA_ORIGIN);
      for (const origin of [OTHER_ORIGIN, EVIL]) {
        const a = await postForm(
          t,
          '/oauth/revoke',
          { token: 'whatever', client_id: spa.clientId },
          { origin },
        );
        expect(a.status).toBe(200);
        expect(allowOrigin(a.headers), origin).toBeNull();
      }
      const err = await postForm(t, '/oauth/revoke', { client_id: spa.clientId }, { origin: WEB_ORIGIN });
      expectError(err, 400, 'invalid_request');
      expectAllowed(err.headers, WEB_ORIGIN);
    });

    it('userinfo with the app’s token from its origin: ACAO; from another app’s origin: none', async () => {
      const own = await userinfo(accessToken, WEB_ORIGIN);
      expect(own.status).toBe(200);
      expectAllowed(own.headers, WEB_ORIGIN);
      const foreign = await userinfo(accessToken, OTHER_ORIGIN);
      expect(foreign.status).toBe(200);
      expect(allowOrigin(foreign.headers)).toBeNull();
    });

    it('userinfo 401 (a bad token) for an origin some application registered: ACAO; unknown: none', async () => {
      const res = await userinfo('not-a-token', OTHER_ORIGIN);
      expect(res.status).toBe(401);
      expectAllowed(res.headers, OTHER_ORIGIN);
      const evil = await userinfo('not-a-token', EVIL);
      expect(evil.status).toBe(401);
      expect(allowOrigin(evil.headers)).toBeNull();
    });
  });

  describe('preflight', () => {
    it.each([
      ['/oauth/token', 'POST'],
      ['/oauth/revoke', 'POST'],
      ['/userinfo', 'GET'],
      ['/userinfo', 'POST'],
    ])('%s (%s) for a registered origin: 204 with the SDK’s headers allowed', async (path, method) => {
      const res = await preflight(path, WEB_ORIGIN, method);
      expect(res.status).toBe(204);
      expectAllowed(res.headers, WEB_ORIGIN);
      const allowed = (res.headers.get('access-control-allow-headers') ?? '').toLowerCase().split(/\s*,\s*/);
      expect(allowed).toEqual(
        expect.arrayContaining(['auth0-client', 'content-type', 'authorization', 'dpop']),
      );
      expect(res.headers.get('access-control-allow-methods')).toMatch(new RegExp(`\\b${method}\\b`));
      expect(res.headers.get('access-control-max-age')).toBe('600');
    });

    it.each(['/oauth/token', '/oauth/revoke', '/userinfo'])(
      '%s for an unknown origin: no CORS headers',
      async (path) => {
        const res = await preflight(path, EVIL);
        expect(res.status).toBe(204);
        expect(corsHeaderNames(res.headers)).toEqual([]);
      },
    );
  });

  it('requests without Origin carry no CORS headers (success, error, userinfo, revoke, OPTIONS)', async () => {
    const answers: [string, Headers][] = [
      ['token 200', (await refreshFrom(null)).headers],
      ['token 400', (await postForm(t, '/oauth/token', refreshForm(spa, 'nope'))).headers],
      ['revoke', (await postForm(t, '/oauth/revoke', { token: 'x', client_id: spa.clientId })).headers],
      ['userinfo', (await userinfo(accessToken)).headers],
      ['userinfo 401', (await userinfo('nope')).headers],
      ['OPTIONS', (await t.fetch(endpoint(t, '/oauth/token'), { method: 'OPTIONS' })).headers],
    ];
    for (const [name, h] of answers) expect(corsHeaderNames(h), name).toEqual([]);
  });

  describe('a newly registered origin works at once', () => {
    it('at the token endpoint, right after the web origin is added', async () => {
      const origin = 'https://new-1.example';
      const before = await postForm(t, '/oauth/token', refreshForm(spa, 'nope'), { origin });
      expect(allowOrigin(before.headers)).toBeNull();
      await updateApplication(t.rt.storage, t.clock, spa.clientId, { webOrigins: [WEB_ORIGIN, origin] });
      const after = await postForm(t, '/oauth/token', refreshForm(spa, 'nope'), { origin });
      expectAllowed(after.headers, origin);
    });

    it('at the preflight, right after an unknown origin was refused', async () => {
      const origin = 'https://new-2.example';
      expect(allowOrigin((await preflight('/oauth/token', origin)).headers)).toBeNull();
      await updateApplication(t.rt.storage, t.clock, spa.clientId, { webOrigins: [WEB_ORIGIN, origin] });
      expectAllowed((await preflight('/oauth/token', origin)).headers, origin);
    });

    it('a removed origin is refused at once (token endpoint and preflight)', async () => {
      const origin = 'https://new-3.example';
      await updateApplication(t.rt.storage, t.clock, spa.clientId, { webOrigins: [WEB_ORIGIN, origin] });
      // Known to the preflight first (waited for, so that this test is about removal only).
      const deadline = Date.now() + 10_000;
      while (allowOrigin((await preflight('/oauth/token', origin)).headers) !== origin) {
        expect(Date.now(), 'the added origin never reached the preflight').toBeLessThan(deadline);
        await new Promise((r) => setTimeout(r, 100));
      }
      await updateApplication(t.rt.storage, t.clock, spa.clientId, { webOrigins: [WEB_ORIGIN] });
      const token = await postForm(t, '/oauth/token', refreshForm(spa, 'nope'), { origin });
      expect(allowOrigin(token.headers)).toBeNull();
      expect(allowOrigin((await preflight('/oauth/token', origin)).headers)).toBeNull();
    });
  });
});
