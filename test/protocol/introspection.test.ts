import { generateKeyPairSync } from 'node:crypto';
import { decodeJwt, decodeProtectedHeader } from 'jose';
import * as oauth from 'oauth4webapi';
import * as client from 'openid-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Api } from '../../src/storage/types.js';
import { signJwt } from '../../src/tokens/jwt.js';
import { startTestApp, type TestApp } from '../support/app.js';
import { describeEachBackend } from '../support/databases.js';

const FORM = { 'content-type': 'application/x-www-form-urlencoded' };
const INACTIVE = '{"active":false}';

const basic = (id: string, secret: string) =>
  `Basic ${Buffer.from(`${encodeURIComponent(id)}:${encodeURIComponent(secret)}`).toString('base64')}`;

const b64 = (v: unknown) => Buffer.from(JSON.stringify(v)).toString('base64url');

interface Body {
  [claim: string]: unknown;
  error?: string;
  error_description?: string;
}

describeEachBackend('token introspection (RFC 7662)', (backend) => {
  let t: TestApp;
  let api: Api;
  let m2m: { clientId: string; clientSecret: string };
  /** A confidential client that asks about tokens (a resource server's credentials). */
  let rs: { clientId: string; clientSecret: string };

  async function issue(c = m2m, audience = api.identifier, scope?: string): Promise<string> {
    const params: Record<string, string> = {
      grant_type: 'client_credentials',
      client_id: c.clientId,
      client_secret: c.clientSecret,
      audience,
    };
    if (scope) params.scope = scope;
    const res = await t.fetch(`${t.issuer}/oauth/token`, {
      method: 'POST',
      headers: FORM,
      body: new URLSearchParams(params),
    });
    expect(res.status).toBe(200);
    return ((await res.json()) as { access_token: string }).access_token;
  }

  const introspect = (params: Record<string, string>, headers: Record<string, string> = {}) =>
    t.fetch(`${t.issuer}/oauth/introspect`, {
      method: 'POST',
      headers: { ...FORM, ...headers },
      body: new URLSearchParams(params),
    });

  /** Introspects `token` as the resource server, with client_secret_basic. */
  const ask = (token: string, extra: Record<string, string> = {}) =>
    introspect({ token, ...extra }, { authorization: basic(rs.clientId, rs.clientSecret) });

  async function expectInactive(token: string): Promise<void> {
    const res = await ask(token);
    expect(res.status).toBe(200);
    expect(res.headers.get('cache-control')).toBe('no-store');
    expect(await res.text()).toBe(INACTIVE);
  }

  beforeAll(async () => {
    t = await startTestApp(backend);
    api = await t.createApi({ tokenLifetime: 600 });
    m2m = await t.createM2m(api);
    rs = await t.createM2m(api);
  });
  afterAll(async () => t?.close());

  describe('an active token', () => {
    it('is active with scope, client_id, sub, aud, iss, exp, iat, jti and token_type (openid-client)', async () => {
      const token = await issue(m2m, api.identifier, 'read:things');
      const config = await client.discovery(
        new URL(t.issuer),
        rs.clientId,
        undefined,
        client.ClientSecretBasic(rs.clientSecret),
        { [client.customFetch]: t.fetch },
      );
      const result = await client.tokenIntrospection(config, token);
      const claims = decodeJwt(token);
      expect(result).toEqual({
        active: true,
        token_type: 'Bearer',
        scope: 'read:things',
        client_id: m2m.clientId,
        sub: m2m.clientId,
        aud: api.identifier,
        iss: 'https://sesame.test',
        iat: t.clock.now(),
        exp: t.clock.now() + 600,
        jti: claims.jti,
      });
    });

    it('is active through oauth4webapi with client_secret_post', async () => {
      const token = await issue();
      const as: oauth.AuthorizationServer = {
        issuer: t.issuer,
        introspection_endpoint: `${t.issuer}/oauth/introspect`,
      };
      const c: oauth.Client = { client_id: rs.clientId };
      const response = await oauth.introspectionRequest(
        as,
        c,
        oauth.ClientSecretPost(rs.clientSecret),
        token,
        { [oauth.customFetch]: t.fetch },
      );
      const result = await oauth.processIntrospectionResponse(as, c, response);
      expect(result.active).toBe(true);
      expect(result.client_id).toBe(m2m.clientId);
      expect(result.scope).toBe('read:things write:things');
      expect(result.exp).toBe(decodeJwt(token).exp);
    });

    it('answers with Cache-Control: no-store and JSON', async () => {
      const res = await ask(await issue());
      expect(res.status).toBe(200);
      expect(res.headers.get('cache-control')).toBe('no-store');
      expect(res.headers.get('content-type')).toMatch(/^application\/json/);
      expect(((await res.json()) as Body).active).toBe(true);
    });

    it('is active for a token signed with RS256, PS256 and EdDSA', async () => {
      for (const signingAlg of ['RS256', 'PS256', 'EdDSA'] as const) {
        const algApi = await t.createApi({ signingAlg });
        const c = await t.createM2m(algApi);
        const token = await issue(c, algApi.identifier);
        expect(decodeProtectedHeader(token).alg).toBe(signingAlg);
        // asked by the token's own client (the resource server `rs` may only ask about its API)
        const res = await introspect({ token }, { authorization: basic(c.clientId, c.clientSecret) });
        const body = (await res.json()) as Body;
        expect({ alg: signingAlg, active: body.active, aud: body.aud }).toEqual({
          alg: signingAlg,
          active: true,
          aud: algApi.identifier,
        });
      }
    });

    it('ignores token_type_hint, known or not', async () => {
      const token = await issue();
      for (const hint of ['access_token', 'refresh_token', 'made_up']) {
        const body = (await (await ask(token, { token_type_hint: hint })).json()) as Body;
        expect({ hint, active: body.active }).toEqual({ hint, active: true });
      }
    });
  });

  describe('an inactive token is exactly {"active":false}', () => {
    it.each([
      ['garbage', 'garbage'],
      ['three dots', 'a.b.c'],
      ['a JWT-shaped string with bad base64', 'eyJ!.eyJ!.sig'],
      ['an opaque random value', 'x'.repeat(43)],
      ['alg none', `${b64({ alg: 'none', typ: 'at+jwt' })}.${b64({ iss: 'https://sesame.test' })}.`],
    ])('%s', async (_name, token) => {
      await expectInactive(token);
    });

    it('an unknown token (openid-client)', async () => {
      const config = await client.discovery(
        new URL(t.issuer),
        rs.clientId,
        undefined,
        client.ClientSecretPost(rs.clientSecret),
        { [client.customFetch]: t.fetch },
      );
      expect(await client.tokenIntrospection(config, 'not-a-token-we-issued')).toEqual({ active: false });
    });

    it('a token whose payload was altered', async () => {
      const [h, p, s] = (await issue()).split('.') as [string, string, string];
      const payload = JSON.parse(Buffer.from(p, 'base64url').toString()) as Record<string, unknown>;
      payload.scope = 'read:things write:things admin';
      await expectInactive(`${h}.${b64(payload)}.${s}`);
    });

    // Its jti is read before the token is verified (to look the revocation up with the caller's
    // application): one PostgreSQL cannot store (NUL) or an overlong one must change nothing.
    it('a forged token whose jti holds a NUL or is overlong (and a wrong secret is still 401)', async () => {
      const [h, p, s] = (await issue()).split('.') as [string, string, string];
      const payload = JSON.parse(Buffer.from(p, 'base64url').toString()) as Record<string, unknown>;
      for (const jti of ['a\u0000b', 'x'.repeat(40_000)]) {
        const forged = `${h}.${b64({ ...payload, jti })}.${s}`;
        await t.createApi(); // empties the read cache: the caller's application is read with the jti
        await expectInactive(forged);
        await t.createApi();
        const wrong = await introspect({ token: forged }, { authorization: basic(rs.clientId, 'wrong') });
        expect(wrong.status).toBe(401);
        expect(((await wrong.json()) as Body).error).toBe('invalid_client');
      }
    });

    it('a token signed by a foreign key that claims a published kid', async () => {
      const genuine = await issue();
      const { kid } = decodeProtectedHeader(genuine);
      const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
      const forged = signJwt({ kid: kid!, alg: 'ES256', key: privateKey }, decodeJwt(genuine), 'at+jwt');
      await expectInactive(forged);
    });

    it('a token with an unknown kid', async () => {
      const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
      const claims = decodeJwt(await issue());
      await expectInactive(signJwt({ kid: 'unknown-kid', alg: 'ES256', key: privateKey }, claims, 'at+jwt'));
    });

    it('a token signed by our key but not typed at+jwt', async () => {
      const signer = await t.rt.keys.signer('ES256');
      const claims = decodeJwt(await issue());
      await expectInactive(signJwt(signer, claims, 'JWT'));
      // the same claims typed at+jwt are active, so only typ made the difference
      expect(((await (await ask(signJwt(signer, claims, 'at+jwt'))).json()) as Body).active).toBe(true);
    });

    it('a token signed by our key for another issuer', async () => {
      const signer = await t.rt.keys.signer('ES256');
      const claims = { ...decodeJwt(await issue()), iss: 'https://evil.test' };
      await expectInactive(signJwt(signer, claims, 'at+jwt'));
    });

    it('a token whose header alg is not its key’s alg', async () => {
      const genuine = await issue();
      const [, p, s] = genuine.split('.') as [string, string, string];
      const header = { ...decodeProtectedHeader(genuine), alg: 'RS256' };
      await expectInactive(`${b64(header)}.${p}.${s}`);
    });

    it('an expired token: active until exp, inactive from exp on', async () => {
      const shortApi = await t.createApi({ tokenLifetime: 60 });
      const c = await t.createM2m(shortApi);
      const token = await issue(c, shortApi.identifier);
      const exp = decodeJwt(token).exp!;
      const asOwner = async () =>
        (
          (await (
            await introspect({ token }, { authorization: basic(c.clientId, c.clientSecret) })
          ).json()) as Body
        ).active;
      t.clock.advance(exp - 1 - t.clock.now());
      expect(await asOwner()).toBe(true);
      t.clock.advance(1);
      expect(t.clock.now()).toBe(exp);
      expect(await asOwner()).toBe(false);
      t.clock.advance(3600);
      expect(await asOwner()).toBe(false);
    });

    it('a revoked token', async () => {
      const token = await issue();
      expect(((await (await ask(token)).json()) as Body).active).toBe(true);
      const res = await t.fetch(`${t.issuer}/oauth/revoke`, {
        method: 'POST',
        headers: { ...FORM, authorization: basic(m2m.clientId, m2m.clientSecret) },
        body: new URLSearchParams({ token }),
      });
      expect(res.status).toBe(200);
      await expectInactive(token);
    });
  });

  describe('the caller', () => {
    it('must authenticate: a public client gets 401 invalid_client', async () => {
      const spa = await t.createApp({ name: 'SPA', type: 'spa', callbacks: ['https://spa.test/cb'] });
      const res = await introspect({ token: await issue(), client_id: spa.clientId });
      expect(res.status).toBe(401);
      expect(res.headers.get('www-authenticate')).toMatch(/^Basic /);
      expect(res.headers.get('cache-control')).toBe('no-store');
      const body = (await res.json()) as Body;
      expect(body.error).toBe('invalid_client');
      expect(body.error_description).toMatch(/confidential/);
      expect(body.active).toBeUndefined();
    });

    it('must authenticate: a public client with a made-up secret gets 401 invalid_client', async () => {
      const spa = await t.createApp({ name: 'SPA', type: 'spa', callbacks: ['https://spa.test/cb'] });
      const res = await introspect(
        { token: await issue() },
        { authorization: basic(spa.clientId, 'made-up') },
      );
      expect(res.status).toBe(401);
      expect(((await res.json()) as Body).error).toBe('invalid_client');
    });

    it('must authenticate: no credentials get 401 invalid_client', async () => {
      const res = await introspect({ token: await issue() });
      expect(res.status).toBe(401);
      expect(res.headers.get('www-authenticate')).toMatch(/^Basic /);
      expect(((await res.json()) as Body).error).toBe('invalid_client');
    });

    it('must authenticate: a wrong secret gets 401 invalid_client, also through openid-client', async () => {
      const res = await introspect({ token: await issue() }, { authorization: basic(rs.clientId, 'wrong') });
      expect(res.status).toBe(401);
      expect(((await res.json()) as Body).error).toBe('invalid_client');

      const config = new client.Configuration(
        { issuer: t.issuer, introspection_endpoint: `${t.issuer}/oauth/introspect` },
        rs.clientId,
        undefined,
        client.ClientSecretBasic('wrong'),
      );
      config[client.customFetch] = t.fetch;
      const err = await client.tokenIntrospection(config, 'anything').then(
        () => null,
        (e: unknown) => e,
      );
      expect(err).toBeInstanceOf(client.WWWAuthenticateChallengeError);
      expect((err as client.WWWAuthenticateChallengeError).status).toBe(401);
    });

    it('must send the token: missing token is invalid_request naming it', async () => {
      const res = await introspect({}, { authorization: basic(rs.clientId, rs.clientSecret) });
      expect(res.status).toBe(400);
      expect(res.headers.get('cache-control')).toBe('no-store');
      const body = (await res.json()) as Body;
      expect(body.error).toBe('invalid_request');
      expect(body.error_description).toMatch(/\btoken\b/);
    });

    it('must not repeat the token', async () => {
      const token = await issue();
      const params = new URLSearchParams({ token });
      params.append('token', token);
      const res = await t.fetch(`${t.issuer}/oauth/introspect`, {
        method: 'POST',
        headers: { ...FORM, authorization: basic(rs.clientId, rs.clientSecret) },
        body: params,
      });
      expect(res.status).toBe(400);
      const body = (await res.json()) as Body;
      expect(body.error).toBe('invalid_request');
      expect(body.error_description).toMatch(/\btoken\b/);
    });

    it('must POST: GET gets 405 with Allow: POST', async () => {
      const res = await t.fetch(`${t.issuer}/oauth/introspect?token=abc`);
      expect(res.status).toBe(405);
      expect(res.headers.get('allow')).toBe('POST');
    });
  });
});
