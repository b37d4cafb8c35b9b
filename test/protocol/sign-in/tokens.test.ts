import { createLocalJWKSet, type JSONWebKeySet, jwtVerify } from 'jose';
import * as client from 'openid-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Api, User } from '../../../src/storage/types.js';
import { startTestApp, type TestApp } from '../../support/app.js';
import { describeEachBackend } from '../../support/databases.js';
import type { Credentials } from './agent.js';
import {
  atHash,
  authorizationUrl,
  browser,
  CALLBACK,
  codeFor,
  decodeJwt,
  newUser,
  publicClient,
  publicSignIn,
  SPA_CALLBACK,
  tokenRequest,
  webConfig,
  webSignIn,
} from './fixtures.js';

const CLAIMS = { name: 'Ada Lovelace', given_name: 'Ada', family_name: 'Lovelace', email_verified: true };
const PROFILE = ['name', 'given_name', 'family_name', 'updated_at'];
const EMAIL = ['email', 'email_verified'];

describeEachBackend('sign-in: tokens (OIDC Core §2, §3.1.3, §5.4; RFC 9068)', (backend) => {
  let t: TestApp;
  let api: Api;
  let closedApi: Api;
  let web: { clientId: string; clientSecret?: string };
  let user: User;
  let creds: Credentials;

  beforeAll(async () => {
    t = await startTestApp(backend);
    api = await t.createApi({ allowOfflineAccess: true, tokenLifetime: 900 });
    closedApi = await t.createApi({ allowOfflineAccess: false });
    web = await t.createApp({ name: 'Web', type: 'web', requirePkce: false, callbacks: [CALLBACK] });
    ({ user, creds } = await newUser(t, CLAIMS));
  });
  afterAll(async () => t?.close());

  const jwks = async () =>
    createLocalJWKSet((await (await t.fetch(`${t.issuer}/.well-known/jwks.json`)).json()) as JSONWebKeySet);

  describe('a web sign-in through openid-client', () => {
    it('gives an RFC 9068 access token for the API: typ at+jwt, aud = API identifier, sub, client_id, scope', async () => {
      const config = await webConfig(t, web);
      const { tokens } = await webSignIn(browser(t, creds), config, {
        scope: 'openid read:things',
        audience: api.identifier,
      });
      expect(tokens.token_type).toBe('bearer');
      expect(tokens.expires_in).toBe(900);
      expect(tokens.scope).toBe('openid read:things');
      const { payload, protectedHeader } = await jwtVerify(tokens.access_token, await jwks(), {
        issuer: t.issuer,
        audience: api.identifier,
        typ: 'at+jwt',
      });
      expect(protectedHeader.typ).toBe('at+jwt');
      expect(payload).toMatchObject({
        iss: t.issuer,
        sub: user.id,
        // for the API, and for userinfo as it carries openid (Auth0's shape; RFC 9068 §4)
        aud: [api.identifier, `${t.issuer}/userinfo`],
        client_id: web.clientId,
        scope: 'openid read:things',
      });
      expect(payload.exp).toBe((payload.iat as number) + 900);
      expect(payload.jti).toEqual(expect.any(String));
    });

    it('gives an RS256 ID token by default with sub, auth_time, nonce, sid and at_hash', async () => {
      const config = await webConfig(t, web, 'RS256');
      const loginTime = t.clock.now();
      const { tokens, claims, pending } = await webSignIn(browser(t, creds), config, {
        scope: 'openid',
        audience: api.identifier,
      });
      const idToken = tokens.id_token as string;
      expect(decodeJwt(idToken).header).toMatchObject({ alg: 'RS256', typ: 'JWT' });
      await jwtVerify(idToken, await jwks(), {
        issuer: t.issuer,
        audience: web.clientId,
        algorithms: ['RS256'],
      });
      expect(claims).toMatchObject({
        iss: t.issuer,
        aud: web.clientId,
        sub: user.id,
        nonce: pending.nonce,
        auth_time: loginTime,
        at_hash: atHash(tokens.access_token),
      });
      expect(claims.sid).toEqual(expect.any(String));
      expect((claims.sid as string).length).toBeGreaterThan(8);
    });

    it('acr: "1" (a password sign-in) when acr_values asks, one of the acr_values_supported that discovery lists; none otherwise', async () => {
      const doc = (await (await t.fetch(`${t.issuer}/.well-known/openid-configuration`)).json()) as {
        acr_values_supported: string[];
      };
      expect(doc.acr_values_supported).toEqual(['1']);
      const config = await webConfig(t, web);
      const asked = await webSignIn(browser(t, creds), config, { acr_values: 'urn:example:silver 1' });
      expect(asked.claims.acr).toBe('1');
      const plain = await webSignIn(browser(t, creds), config);
      expect(plain.claims).not.toHaveProperty('acr');
    });

    it('gives an ES256 ID token when the application sets idTokenSigningAlg', async () => {
      const es = await t.createApp({
        name: 'ES',
        type: 'web',
        requirePkce: false,
        callbacks: [CALLBACK],
        idTokenSigningAlg: 'ES256',
      });
      const config = await webConfig(t, es, 'ES256');
      const { tokens, claims } = await webSignIn(browser(t, creds), config);
      expect(decodeJwt(tokens.id_token as string).header.alg).toBe('ES256');
      await jwtVerify(tokens.id_token as string, await jwks(), {
        audience: es.clientId,
        algorithms: ['ES256'],
      });
      expect(claims.at_hash).toBe(atHash(tokens.access_token));
    });

    it('an ID token of another algorithm than the client registered is refused by openid-client', async () => {
      const es = await t.createApp({
        name: 'ES2',
        type: 'web',
        requirePkce: false,
        callbacks: [CALLBACK],
        idTokenSigningAlg: 'ES256',
      });
      const config = await webConfig(t, es, 'RS256');
      const err = (await webSignIn(browser(t, creds), config).catch((e: unknown) => e)) as Error;
      expect(err).toBeInstanceOf(Error);
      expect((err.cause as Error | undefined)?.message).toBe('unexpected JWT "alg" header parameter');
    });

    it('the same sign-in keeps sid across applications (one session)', async () => {
      const agent = browser(t, creds);
      const a = await webSignIn(agent, await webConfig(t, web));
      const other = await t.createApp({
        name: 'Other',
        type: 'web',
        requirePkce: false,
        callbacks: [CALLBACK],
        skipConsent: true,
      });
      const b = await webSignIn(agent, await webConfig(t, other));
      expect(b.claims.sid).toBe(a.claims.sid);
      expect(b.claims.auth_time).toBe(a.claims.auth_time);
    });

    it('without an audience, the access token is for the userinfo endpoint only', async () => {
      const { tokens } = await webSignIn(browser(t, creds), await webConfig(t, web));
      expect(decodeJwt(tokens.access_token).payload.aud).toBe(`${t.issuer}/userinfo`);
    });
  });

  describe('claims released per scope (OIDC Core §5.4)', () => {
    it.each([
      ['openid', [], [...PROFILE, ...EMAIL]],
      ['openid profile', PROFILE, EMAIL],
      ['openid email', EMAIL, PROFILE],
      ['openid profile email', [...PROFILE, ...EMAIL], []],
    ])('scope "%s": in the ID token and at userinfo', async (scope, present, absent) => {
      const config = await webConfig(t, web);
      const { tokens, claims } = await webSignIn(browser(t, creds), config, { scope });
      const info = await client.fetchUserInfo(config, tokens.access_token, user.id);
      for (const [where, got] of [
        ['id_token', claims],
        ['userinfo', info],
      ] as const) {
        const keys = Object.keys(got);
        expect({ where, missing: present.filter((k) => !keys.includes(k)) }).toEqual({ where, missing: [] });
        expect({ where, leaked: absent.filter((k) => keys.includes(k)) }).toEqual({ where, leaked: [] });
      }
      if (present.includes('name')) expect(info).toMatchObject({ name: 'Ada Lovelace', given_name: 'Ada' });
      if (present.includes('email')) expect(info).toMatchObject({ email: creds.email, email_verified: true });
      expect(info.sub).toBe(user.id);
    });
  });

  describe('refresh tokens only with offline_access and offline access allowed', () => {
    /** The raw token response of a sign-in of `app` with these params. */
    async function tokenResponse(
      app: { clientId: string; clientSecret?: string },
      params: Record<string, string>,
    ) {
      const code = await codeFor(
        browser(t, creds),
        authorizationUrl(t, { client_id: app.clientId, redirect_uri: CALLBACK, ...params }),
      );
      const answer = await tokenRequest(t, {
        grant_type: 'authorization_code',
        code,
        redirect_uri: CALLBACK,
        client_id: app.clientId,
        client_secret: app.clientSecret as string,
      });
      expect(answer.status, JSON.stringify(answer.body)).toBe(200);
      return answer;
    }

    it('answers with Cache-Control: no-store (RFC 6749 §5.1)', async () => {
      const answer = await tokenResponse(web, { scope: 'openid' });
      expect(answer.headers.get('cache-control')).toBe('no-store');
      expect(answer.headers.get('content-type')).toMatch(/^application\/json/);
    });

    it('offline_access + an API that allows offline access → refresh_token', async () => {
      const answer = await tokenResponse(web, {
        scope: 'openid offline_access read:things',
        audience: api.identifier,
      });
      expect(answer.body.refresh_token).toEqual(expect.any(String));
    });

    it('offline_access + an API that does not allow it → no refresh_token', async () => {
      const answer = await tokenResponse(web, {
        scope: 'openid offline_access read:things',
        audience: closedApi.identifier,
      });
      expect(answer.body.refresh_token).toBeUndefined();
    });

    it('no offline_access, even with an API that allows it → no refresh_token', async () => {
      const answer = await tokenResponse(web, { scope: 'openid read:things', audience: api.identifier });
      expect(answer.body.refresh_token).toBeUndefined();
    });

    it('openid-only request with offline_access, application allows offline access → refresh_token', async () => {
      const app = await t.createApp({
        name: 'Off',
        type: 'web',
        requirePkce: false,
        callbacks: [CALLBACK],
        allowOfflineAccess: true,
      });
      const answer = await tokenResponse(app, { scope: 'openid offline_access' });
      expect(answer.body.refresh_token).toEqual(expect.any(String));
    });

    it('openid-only request with offline_access, application does not allow it → no refresh_token', async () => {
      const answer = await tokenResponse(web, { scope: 'openid offline_access' });
      expect(answer.body.refresh_token).toBeUndefined();
    });

    it('openid-only request without offline_access, application allows it → no refresh_token', async () => {
      const app = await t.createApp({
        name: 'Off2',
        type: 'web',
        requirePkce: false,
        callbacks: [CALLBACK],
        allowOfflineAccess: true,
      });
      const answer = await tokenResponse(app, { scope: 'openid' });
      expect(answer.body.refresh_token).toBeUndefined();
    });

    it('an application without the refresh_token grant gets none', async () => {
      const app = await t.createApp({
        name: 'NoRefresh',
        type: 'web',
        requirePkce: false,
        callbacks: [CALLBACK],
        grants: ['authorization_code'],
        allowOfflineAccess: true,
      });
      const answer = await tokenResponse(app, {
        scope: 'openid offline_access read:things',
        audience: api.identifier,
      });
      expect(answer.body.refresh_token).toBeUndefined();
    });

    it('the application setting does not override an API that refuses offline access', async () => {
      const app = await t.createApp({
        name: 'Off3',
        type: 'web',
        requirePkce: false,
        callbacks: [CALLBACK],
        allowOfflineAccess: true,
      });
      const answer = await tokenResponse(app, {
        scope: 'openid offline_access read:things',
        audience: closedApi.identifier,
      });
      expect(answer.body.refresh_token).toBeUndefined();
    });
  });

  describe('public clients through oauth4webapi', () => {
    it('a spa signs in with PKCE and gets a validated RS256 ID token, no secret', async () => {
      const spa = await t.createApp({ name: 'SPA', type: 'spa', callbacks: [SPA_CALLBACK] });
      const pc = await publicClient(t, spa.clientId, SPA_CALLBACK);
      const { result, claims, pending } = await publicSignIn(t, browser(t, creds), pc, {
        scope: 'openid email read:things',
        audience: api.identifier,
      });
      expect(claims).toMatchObject({
        aud: spa.clientId,
        sub: user.id,
        nonce: pending.nonce,
        email: creds.email,
      });
      expect(claims.at_hash).toBe(atHash(result.access_token));
      expect(decodeJwt(result.access_token).payload).toMatchObject({
        aud: [api.identifier, `${t.issuer}/userinfo`],
        client_id: spa.clientId,
      });
    });

    it('a native app signs in with an ES256 ID token', async () => {
      const native = await t.createApp({
        name: 'Native',
        type: 'native',
        callbacks: ['com.example.app:/cb'],
        idTokenSigningAlg: 'ES256',
      });
      const pc = await publicClient(t, native.clientId, 'com.example.app:/cb', 'ES256');
      const { claims, flow } = await publicSignIn(t, browser(t, creds), pc);
      expect(flow.location?.protocol).toBe('com.example.app:');
      expect(claims.aud).toBe(native.clientId);
    });

    it('a public client may not authenticate with a made-up secret', async () => {
      const spa = await t.createApp({ name: 'SPA2', type: 'spa', callbacks: [SPA_CALLBACK] });
      const answer = await tokenRequest(t, {
        grant_type: 'authorization_code',
        code: 'whatever',
        redirect_uri: SPA_CALLBACK,
        client_id: spa.clientId,
        client_secret: 'made-up',
      });
      expect([answer.status, answer.body.error]).toEqual([401, 'invalid_client']);
    });
  });
});
