// Access tokens returned from /authorize (RFC 6749 §4.2.2, OIDC Core §3.2.2.5, §3.3.2.5): RFC 9068
// JWTs with a short lifetime (min(API lifetime, accessToken.implicitLifetime)), never a refresh
// token, usable at /userinfo; and the code of a hybrid response, whose replay revokes the access
// token that came from /authorize with it (same grant, RFC 6749 §4.1.2, §10.5).
import { createLocalJWKSet, type JSONWebKeySet, jwtVerify } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Api, User } from '../../../src/storage/types.js';
import { startTestApp, type TestApp } from '../../support/app.js';
import { describeEachBackend } from '../../support/databases.js';
import type { Credentials } from '../sign-in/agent.js';
import {
  authorizationUrl,
  browser,
  CALLBACK,
  expectTokenError,
  isActive,
  newUser,
  SPA_CALLBACK,
  s256,
  tokenRequest,
} from '../sign-in/fixtures.js';

const GRANTS = ['authorization_code', 'refresh_token', 'implicit'];
const NONCE = 'n-0S6_WzA2Mj';

type App = { clientId: string; clientSecret?: string };

/** Everything a test needs to sign in on one in-process Sesame. */
interface Setup {
  t: TestApp;
  web: App;
  creds: Credentials;
  user: User;
}

async function setUp(t: TestApp): Promise<Setup> {
  const web = await t.createApp({
    name: 'Implicit Web',
    type: 'web',
    requirePkce: false,
    callbacks: [CALLBACK],
    grants: GRANTS,
  });
  const { user, creds } = await newUser(t, { name: 'Ada Lovelace' });
  return { t, web, creds, user };
}

/** Signs in with `params` (over response_type, client_id, redirect_uri, nonce) and returns the fragment. */
async function fragmentFor(
  s: Setup,
  params: Record<string, string | null>,
  app: App = s.web,
  redirectUri = CALLBACK,
): Promise<Record<string, string>> {
  const flow = await browser(s.t, s.creds).signIn(
    authorizationUrl(s.t, {
      client_id: app.clientId,
      redirect_uri: redirectUri,
      nonce: NONCE,
      state: 'st',
      ...params,
    }),
  );
  if (!flow.location) throw new Error(`no redirect to the client (status ${flow.response.status})`);
  expect([...flow.location.searchParams.keys()], 'nothing in the query').toEqual([]);
  return Object.fromEntries(new URLSearchParams(flow.location.hash.slice(1)));
}

/** Verifies an RFC 9068 access token with jose against the published JWKS, at the test clock. */
async function verifyAccessToken(t: TestApp, token: string, audience: string) {
  const keys = createLocalJWKSet(
    (await (await t.fetch(`${t.issuer}/.well-known/jwks.json`)).json()) as JSONWebKeySet,
  );
  const { payload, protectedHeader } = await jwtVerify(token, keys, {
    issuer: t.issuer,
    audience,
    typ: 'at+jwt',
    currentDate: new Date(t.clock.now() * 1000),
  });
  return { payload, header: protectedHeader };
}

/** GET /userinfo with a bearer token: status and body. */
async function userinfo(
  t: TestApp,
  token: string,
): Promise<{ status: number; body: Record<string, unknown> }> {
  const res = await t.fetch(`${t.issuer}/userinfo`, { headers: { authorization: `Bearer ${token}` } });
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}

describeEachBackend('implicit and hybrid: access tokens and codes from /authorize', (backend) => {
  let s: Setup;
  let t: TestApp;
  let longApi: Api;
  let shortApi: Api;
  let rs: { clientId: string; clientSecret: string };

  beforeAll(async () => {
    t = await startTestApp(backend);
    s = await setUp(t);
    longApi = await t.createApi({ allowOfflineAccess: true, tokenLifetime: 86400 });
    shortApi = await t.createApi({ tokenLifetime: 600, signingAlg: 'RS256' });
    rs = await t.createM2m(longApi);
  });
  afterAll(async () => t?.close());

  describe('response_type=token (OAuth only, no openid)', () => {
    it('is an RFC 9068 JWT for the audience API, capped at 900 s when the API allows a day', async () => {
      const f = await fragmentFor(s, {
        response_type: 'token',
        scope: 'read:things',
        audience: longApi.identifier,
        nonce: null,
      });
      expect(Object.keys(f).sort()).toEqual([
        'access_token',
        'expires_in',
        'iss',
        'scope',
        'state',
        'token_type',
      ]);
      expect(f.token_type).toBe('Bearer');
      expect(f.expires_in).toBe('900');
      const { payload, header } = await verifyAccessToken(t, f.access_token as string, longApi.identifier);
      expect(header).toMatchObject({ typ: 'at+jwt', alg: 'ES256' });
      expect(payload).toMatchObject({
        iss: t.issuer,
        sub: s.user.id,
        aud: longApi.identifier,
        client_id: s.web.clientId,
        scope: 'read:things',
        iat: t.clock.now(),
        exp: t.clock.now() + 900,
      });
      expect(await isActive(t, rs, f.access_token as string)).toBe(true);
    });

    it("keeps the API's own lifetime when it is shorter (600 s), signed with the API's algorithm", async () => {
      const f = await fragmentFor(s, {
        response_type: 'token',
        scope: 'read:things',
        audience: shortApi.identifier,
      });
      expect(f.expires_in).toBe('600');
      const { payload, header } = await verifyAccessToken(t, f.access_token as string, shortApi.identifier);
      expect(header.alg).toBe('RS256');
      expect((payload.exp as number) - (payload.iat as number)).toBe(600);
    });

    it('without an audience: a token for the userinfo endpoint, capped at 900 s (userinfo tokens last 3600)', async () => {
      const f = await fragmentFor(s, { response_type: 'token', scope: 'openid profile' });
      expect(f.expires_in).toBe('900');
      const { payload } = await verifyAccessToken(t, f.access_token as string, `${t.issuer}/userinfo`);
      expect((payload.exp as number) - (payload.iat as number)).toBe(900);
      const info = await userinfo(t, f.access_token as string);
      expect(info).toEqual({
        status: 200,
        body: expect.objectContaining({ sub: s.user.id, name: 'Ada Lovelace' }),
      });
    });

    it('without openid granted the token does not open /userinfo', async () => {
      const f = await fragmentFor(s, {
        response_type: 'token',
        scope: 'read:things',
        audience: longApi.identifier,
      });
      const info = await userinfo(t, f.access_token as string);
      expect(info.status).toBe(403);
      expect(info.body).toMatchObject({
        error: 'insufficient_scope',
        error_description: 'the access token was not issued for the openid scope',
      });
    });

    it('stops working at /userinfo when its 900 s are over', async () => {
      const f = await fragmentFor(s, { response_type: 'token', scope: 'openid' });
      expect((await userinfo(t, f.access_token as string)).status).toBe(200);
      t.clock.advance(899);
      expect((await userinfo(t, f.access_token as string)).status).toBe(200);
      t.clock.advance(1);
      expect((await userinfo(t, f.access_token as string)).status).toBe(401);
    });
  });

  describe('no refresh token from /authorize (OIDC Core §3.2.2.5)', () => {
    for (const mode of ['fragment', 'form_post']) {
      it(`with offline_access granted on an API that allows it (${mode}): no refresh_token for any type`, async () => {
        for (const responseType of ['token', 'id_token token', 'code token', 'code id_token token']) {
          const flow = await browser(t, s.creds).signIn(
            authorizationUrl(t, {
              response_type: responseType,
              response_mode: mode,
              client_id: s.web.clientId,
              redirect_uri: CALLBACK,
              scope: 'openid offline_access read:things',
              audience: longApi.identifier,
              nonce: NONCE,
            }),
          );
          const whole =
            mode === 'fragment' ? (flow.location?.toString() ?? '') : await flow.response.clone().text();
          expect(whole, responseType).toContain('access_token');
          expect(whole, responseType).not.toContain('refresh_token');
          expect(whole, responseType).toContain('offline_access');
        }
      });
    }
  });

  describe('id_token token and code id_token token: the access token at /userinfo', () => {
    for (const responseType of ['id_token token', 'code id_token token', 'code token']) {
      it(`response_type=${responseType}: the userinfo token answers /userinfo with the granted claims`, async () => {
        const f = await fragmentFor(s, { response_type: responseType, scope: 'openid profile email' });
        expect(f.expires_in).toBe('900');
        const info = await userinfo(t, f.access_token as string);
        expect(info.status).toBe(200);
        expect(info.body).toMatchObject({ sub: s.user.id, name: 'Ada Lovelace', email: s.user.email });
      });
    }

    it('an access token for an API with openid granted also answers /userinfo', async () => {
      const f = await fragmentFor(s, {
        response_type: 'id_token token',
        scope: 'openid read:things',
        audience: longApi.identifier,
      });
      expect(f.expires_in).toBe('900');
      await verifyAccessToken(t, f.access_token as string, longApi.identifier);
      const info = await userinfo(t, f.access_token as string);
      expect(info).toEqual({ status: 200, body: expect.objectContaining({ sub: s.user.id }) });
    });
  });

  describe('the code of a hybrid response (confidential web application)', () => {
    const exchange = (code: string, app: App = s.web) =>
      tokenRequest(t, {
        grant_type: 'authorization_code',
        code,
        redirect_uri: CALLBACK,
        client_id: app.clientId,
        client_secret: app.clientSecret as string,
      });

    it('code token: the code exchanges for tokens with the API lifetime (the 900 s cap is for /authorize only)', async () => {
      const f = await fragmentFor(s, {
        response_type: 'code token',
        scope: 'openid offline_access read:things',
        audience: longApi.identifier,
      });
      expect(f.expires_in).toBe('900');
      const answer = await exchange(f.code as string);
      expect(answer.status, JSON.stringify(answer.body)).toBe(200);
      expect(answer.body).toMatchObject({ token_type: 'Bearer', expires_in: 86400 });
      expect(answer.body.refresh_token).toEqual(expect.any(String));
      expect(answer.body.access_token).not.toBe(f.access_token);
    });

    for (const responseType of ['code token', 'code id_token token']) {
      it(`response_type=${responseType}: replaying the code revokes the access token from /authorize too`, async () => {
        const f = await fragmentFor(s, {
          response_type: responseType,
          scope: 'openid offline_access read:things',
          audience: longApi.identifier,
        });
        const front = f.access_token as string;
        expect(await isActive(t, rs, front)).toBe(true);
        expect((await userinfo(t, front)).status).toBe(200);

        const first = await exchange(f.code as string);
        expect(first.status, JSON.stringify(first.body)).toBe(200);
        const back = first.body.access_token as string;
        const refresh = first.body.refresh_token as string;
        expect(await isActive(t, rs, back)).toBe(true);

        const replay = await exchange(f.code as string);
        expectTokenError(replay, 400, 'invalid_grant');
        expect(replay.body.error_description).toBe('code was already used');

        expect(await isActive(t, rs, front)).toBe(false);
        expect(await isActive(t, rs, back)).toBe(false);
        expect(await isActive(t, rs, refresh)).toBe(false);
        const info = await userinfo(t, front);
        expect(info.status).toBe(401);
        expect(info.body.error).toBe('invalid_token');
      });
    }

    it('a replay by another client does not revoke (only the code owner can trigger it)', async () => {
      const other = await t.createApp({
        name: 'Other',
        type: 'web',
        requirePkce: false,
        callbacks: [CALLBACK],
        grants: GRANTS,
      });
      const f = await fragmentFor(s, {
        response_type: 'code id_token token',
        scope: 'openid read:things',
        audience: longApi.identifier,
      });
      expect((await exchange(f.code as string)).status).toBe(200);
      expectTokenError(await exchange(f.code as string, other), 400, 'invalid_grant');
      expect(await isActive(t, rs, f.access_token as string)).toBe(true);
    });

    it('the access token from a plain implicit response is untouched by an unrelated code replay', async () => {
      const implicit = await fragmentFor(s, { response_type: 'id_token token', scope: 'openid' });
      const hybrid = await fragmentFor(s, { response_type: 'code id_token', scope: 'openid' });
      expect((await exchange(hybrid.code as string)).status).toBe(200);
      expectTokenError(await exchange(hybrid.code as string), 400, 'invalid_grant');
      expect((await userinfo(t, implicit.access_token as string)).status).toBe(200);
    });
  });

  describe('hybrid for a public (spa) application', () => {
    const VERIFIER = 'v'.repeat(48);
    let spa: App;
    beforeAll(async () => {
      spa = await t.createApp({ name: 'SPA', type: 'spa', callbacks: [SPA_CALLBACK], grants: GRANTS });
    });

    it('code id_token token without code_challenge: invalid_request in the fragment (PKCE)', async () => {
      const res = await t.fetch(
        authorizationUrl(t, {
          response_type: 'code id_token token',
          client_id: spa.clientId,
          redirect_uri: SPA_CALLBACK,
          nonce: NONCE,
        }),
        { redirect: 'manual' },
      );
      const loc = new URL(res.headers.get('location') as string);
      expect(Object.fromEntries(new URLSearchParams(loc.hash.slice(1)))).toEqual({
        error: 'invalid_request',
        error_description: 'code_challenge is required (PKCE, S256)',
        iss: t.issuer,
      });
    });

    it('code id_token token with PKCE: the code exchanges with the verifier, no secret', async () => {
      const f = await fragmentFor(
        s,
        {
          response_type: 'code id_token token',
          scope: 'openid',
          code_challenge: s256(VERIFIER),
          code_challenge_method: 'S256',
        },
        spa,
        SPA_CALLBACK,
      );
      expect((await userinfo(t, f.access_token as string)).status).toBe(200);
      const answer = await tokenRequest(t, {
        grant_type: 'authorization_code',
        code: f.code as string,
        redirect_uri: SPA_CALLBACK,
        client_id: spa.clientId,
        code_verifier: VERIFIER,
      });
      expect(answer.status, JSON.stringify(answer.body)).toBe(200);
      expect(answer.body.id_token).toEqual(expect.any(String));
    });
  });
});

describeEachBackend('implicit and hybrid: accessToken.implicitLifetime configured', (backend) => {
  let t: TestApp;
  let s: Setup;
  let dayApi: Api;
  let shortApi: Api;

  beforeAll(async () => {
    t = await startTestApp(backend, { accessToken: { implicitLifetime: 1200 } });
    s = await setUp(t);
    dayApi = await t.createApi({ tokenLifetime: 86400 });
    shortApi = await t.createApi({ tokenLifetime: 600 });
  });
  afterAll(async () => t?.close());

  it('caps tokens at the configured 1200 s instead of 900', async () => {
    const f = await fragmentFor(s, {
      response_type: 'token',
      scope: 'read:things',
      audience: dayApi.identifier,
    });
    expect(f.expires_in).toBe('1200');
    const { payload } = await verifyAccessToken(t, f.access_token as string, dayApi.identifier);
    expect((payload.exp as number) - (payload.iat as number)).toBe(1200);
  });

  it('still keeps a shorter API lifetime (600 s)', async () => {
    const f = await fragmentFor(s, {
      response_type: 'code id_token token',
      scope: 'openid read:things',
      audience: shortApi.identifier,
    });
    expect(f.expires_in).toBe('600');
  });

  it("an API's own token_lifetime_for_web stands instead, longer (3000 s) or shorter (300 s)", async () => {
    for (const web of [3000, 300]) {
      const api = await t.createApi({ tokenLifetime: 86400, tokenLifetimeForWeb: web });
      const f = await fragmentFor(s, {
        response_type: 'token',
        scope: 'read:things',
        audience: api.identifier,
      });
      expect(f.expires_in).toBe(String(web));
      const { payload } = await verifyAccessToken(t, f.access_token as string, api.identifier);
      expect((payload.exp as number) - (payload.iat as number)).toBe(web);
    }
  });

  it('caps userinfo tokens (3600 s) at 1200 s', async () => {
    const f = await fragmentFor(s, { response_type: 'id_token token', scope: 'openid' });
    expect(f.expires_in).toBe('1200');
    const { payload } = await verifyAccessToken(t, f.access_token as string, `${t.issuer}/userinfo`);
    expect((payload.exp as number) - (payload.iat as number)).toBe(1200);
  });
});

describeEachBackend('implicit and hybrid: a short accessToken.implicitLifetime', (backend) => {
  let t: TestApp;
  let s: Setup;
  let api: Api;

  beforeAll(async () => {
    t = await startTestApp(backend, { accessToken: { implicitLifetime: 300 } });
    s = await setUp(t);
    api = await t.createApi({ tokenLifetime: 600 });
  });
  afterAll(async () => t?.close());

  it('caps a 600 s API at the configured 300 s, and the token expires then', async () => {
    const f = await fragmentFor(s, {
      response_type: 'id_token token',
      scope: 'openid',
      audience: api.identifier,
    });
    expect(f.expires_in).toBe('300');
    const { payload } = await verifyAccessToken(t, f.access_token as string, api.identifier);
    expect((payload.exp as number) - (payload.iat as number)).toBe(300);
    t.clock.advance(300);
    expect((await userinfo(t, f.access_token as string)).status).toBe(401);
  });
});
