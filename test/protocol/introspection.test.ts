import { decodeJwt, decodeProtectedHeader } from 'jose';
import * as oauth from 'oauth4webapi';
import * as client from 'openid-client';
import { beforeAll, describe, expect, it } from 'vitest';
import type { Api } from '../../src/storage/types.js';
import type { TestApp } from '../support/app.js';
import { describeEachBackend } from '../support/databases.js';
import { type Body, basic, FORM, type IntrospectionApp, introspectionApp } from './introspection-fixture.js';

// Token introspection (RFC 7662): an active token, and who may ask (inactive tokens:
// introspection-inactive.test.ts).
describeEachBackend('token introspection (RFC 7662)', (backend) => {
  const { app, issue, introspect, ask } = introspectionApp(backend);
  let t: TestApp;
  let api: Api;
  let m2m: IntrospectionApp['m2m'];
  let rs: IntrospectionApp['rs'];
  beforeAll(() => {
    ({ t, api, m2m, rs } = app);
  });

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
