import { createLocalJWKSet, decodeJwt, type JSONWebKeySet, jwtVerify } from 'jose';
import * as oauth from 'oauth4webapi';
import * as client from 'openid-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { authorizeApplication } from '../../src/admin/applications.js';
import type { Api } from '../../src/storage/types.js';
import { startTestApp, type TestApp } from '../support/app.js';
import { describeEachBackend } from '../support/databases.js';

type Fetch = TestApp['fetch'];

/** A fetch that calls the app in-process and keeps a copy of every request and response. */
function recorder(t: TestApp): { fetch: Fetch; requests: Request[]; responses: Response[] } {
  const requests: Request[] = [];
  const responses: Response[] = [];
  const fetch: Fetch = async (input, init) => {
    const req = new Request(input, init);
    requests.push(req.clone());
    const res = await t.fetch(req);
    responses.push(res.clone());
    return res;
  };
  return { fetch, requests, responses };
}

/** POSTs a form to the token endpoint in-process. */
function tokenRequest(t: TestApp, params: Record<string, string>, headers: Record<string, string> = {}) {
  return t.fetch(`${t.issuer}/oauth/token`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded', ...headers },
    body: new URLSearchParams(params),
  });
}

async function jwks(t: TestApp): Promise<JSONWebKeySet> {
  const res = await t.fetch(`${t.issuer}/.well-known/jwks.json`);
  expect(res.status).toBe(200);
  return (await res.json()) as JSONWebKeySet;
}

/** Verifies an access token with jose against the published JWKS, at the test clock's time. */
async function verifyAccessToken(t: TestApp, token: string, audience: string, alg = 'ES256') {
  return jwtVerify(token, createLocalJWKSet(await jwks(t)), {
    issuer: t.issuer,
    audience,
    typ: 'at+jwt',
    algorithms: [alg],
    currentDate: new Date(t.clock.now() * 1000),
  });
}

/** openid-client configured from discovery, calling the app in-process. */
function discover(t: TestApp, clientId: string, auth: client.ClientAuth, fetch: Fetch = t.fetch) {
  return client.discovery(new URL(t.issuer), clientId, undefined, auth, { [client.customFetch]: fetch });
}

interface TokenBody {
  access_token?: string;
  token_type?: string;
  expires_in?: number;
  scope?: string;
  error?: string;
  error_description?: string;
}

describeEachBackend('client credentials grant', (backend) => {
  let t: TestApp;
  let api: Api;
  let m2m: { clientId: string; clientSecret: string };

  beforeAll(async () => {
    t = await startTestApp(backend);
    api = await t.createApi({ tokenLifetime: 900 });
    m2m = await t.createM2m(api);
  });
  afterAll(async () => t?.close());

  describe('openid-client', () => {
    it('gets a token with client_secret_basic', async () => {
      const rec = recorder(t);
      const config = await discover(t, m2m.clientId, client.ClientSecretBasic(m2m.clientSecret), rec.fetch);
      const tokens = await client.clientCredentialsGrant(config, { audience: api.identifier });

      const req = rec.requests.at(-1)!;
      expect(new URL(req.url).pathname).toBe('/oauth/token');
      expect(req.headers.get('authorization')).toMatch(/^Basic /);
      const sent = new URLSearchParams(await req.text());
      expect(sent.get('client_secret')).toBeNull();
      expect(sent.get('grant_type')).toBe('client_credentials');

      expect(tokens.token_type).toBe('bearer'); // openid-client lower-cases it
      expect(tokens.expires_in).toBe(900);
      expect(tokens.scope).toBe('read:things write:things');
      const { payload } = await verifyAccessToken(t, tokens.access_token, api.identifier);
      expect(payload.client_id).toBe(m2m.clientId);
    });

    it('gets a token with client_secret_post', async () => {
      const rec = recorder(t);
      const config = await discover(t, m2m.clientId, client.ClientSecretPost(m2m.clientSecret), rec.fetch);
      const tokens = await client.clientCredentialsGrant(config, { audience: api.identifier });

      const req = rec.requests.at(-1)!;
      expect(req.headers.get('authorization')).toBeNull();
      const sent = new URLSearchParams(await req.text());
      expect(sent.get('client_id')).toBe(m2m.clientId);
      expect(sent.get('client_secret')).toBe(m2m.clientSecret);

      expect(tokens.expires_in).toBe(900);
      const { payload } = await verifyAccessToken(t, tokens.access_token, api.identifier);
      expect(payload.sub).toBe(m2m.clientId);
    });

    it('works with a Configuration built from metadata, without discovery', async () => {
      const config = new client.Configuration(
        { issuer: t.issuer, token_endpoint: `${t.issuer}/oauth/token` },
        m2m.clientId,
        m2m.clientSecret,
        client.ClientSecretBasic(m2m.clientSecret),
      );
      config[client.customFetch] = t.fetch;
      const tokens = await client.clientCredentialsGrant(config, { audience: api.identifier });
      expect((await verifyAccessToken(t, tokens.access_token, api.identifier)).payload.aud).toBe(
        api.identifier,
      );
    });

    it('surfaces an OAuth error as ResponseBodyError', async () => {
      const config = await discover(t, m2m.clientId, client.ClientSecretBasic(m2m.clientSecret));
      const err = await client
        .clientCredentialsGrant(config, { audience: api.identifier, scope: 'delete:things' })
        .then(
          () => null,
          (e: unknown) => e,
        );
      expect(err).toBeInstanceOf(client.ResponseBodyError);
      const body = err as client.ResponseBodyError;
      expect(body.status).toBe(400);
      expect(body.error).toBe('invalid_scope');
      expect(body.error_description).toMatch(/delete:things/);
    });
  });

  describe('oauth4webapi', () => {
    const as = (t: TestApp): oauth.AuthorizationServer => ({
      issuer: t.issuer,
      token_endpoint: `${t.issuer}/oauth/token`,
    });

    it.each([
      ['client_secret_basic', oauth.ClientSecretBasic, true],
      ['client_secret_post', oauth.ClientSecretPost, false],
    ] as const)('gets a token with %s', async (_name, auth, basic) => {
      const rec = recorder(t);
      const c: oauth.Client = { client_id: m2m.clientId };
      const response = await oauth.clientCredentialsGrantRequest(
        as(t),
        c,
        auth(m2m.clientSecret),
        { audience: api.identifier, scope: 'read:things' },
        { [oauth.customFetch]: rec.fetch },
      );
      const tokens = await oauth.processClientCredentialsResponse(as(t), c, response);
      const req = rec.requests.at(-1)!;
      expect(req.headers.get('authorization') !== null).toBe(basic);
      expect(new URLSearchParams(await req.text()).has('client_secret')).toBe(!basic);
      expect(tokens.scope).toBe('read:things');
      expect(tokens.expires_in).toBe(900);
      const { payload } = await verifyAccessToken(t, tokens.access_token, api.identifier);
      expect(payload.scope).toBe('read:things');
    });
  });

  describe('the token response', () => {
    it('is {access_token, token_type: "Bearer", expires_in, scope} with Cache-Control: no-store', async () => {
      const res = await tokenRequest(t, {
        grant_type: 'client_credentials',
        client_id: m2m.clientId,
        client_secret: m2m.clientSecret,
        audience: api.identifier,
      });
      expect(res.status).toBe(200);
      expect(res.headers.get('cache-control')).toBe('no-store');
      expect(res.headers.get('content-type')).toMatch(/^application\/json/);
      const body = (await res.json()) as TokenBody;
      expect(Object.keys(body).sort()).toEqual(['access_token', 'expires_in', 'scope', 'token_type']);
      expect(body.token_type).toBe('Bearer');
      expect(body.expires_in).toBe(900);
      expect(body.scope).toBe('read:things write:things');
      expect(typeof body.access_token).toBe('string');
    });

    it('has Cache-Control: no-store on errors too', async () => {
      const res = await tokenRequest(t, {
        grant_type: 'client_credentials',
        client_id: m2m.clientId,
        client_secret: m2m.clientSecret,
        audience: 'https://unknown.test/api',
      });
      expect(res.status).toBe(400);
      expect(res.headers.get('cache-control')).toBe('no-store');
    });

    it('is an RFC 9068 JWT: typ at+jwt, kid, and iss sub aud client_id scope iat exp jti', async () => {
      const res = await tokenRequest(t, {
        grant_type: 'client_credentials',
        client_id: m2m.clientId,
        client_secret: m2m.clientSecret,
        audience: api.identifier,
      });
      const body = (await res.json()) as TokenBody;
      const { payload, protectedHeader } = await verifyAccessToken(t, body.access_token!, api.identifier);
      expect(protectedHeader.typ).toBe('at+jwt');
      expect(protectedHeader.alg).toBe('ES256');
      const published = await jwks(t);
      expect(published.keys.some((k) => k.kid === protectedHeader.kid && k.alg === 'ES256')).toBe(true);
      expect(payload.iss).toBe('https://sesame.test');
      expect(payload.sub).toBe(m2m.clientId);
      expect(payload.aud).toBe(api.identifier);
      expect(payload.client_id).toBe(m2m.clientId);
      expect(payload.scope).toBe('read:things write:things');
      expect(payload.iat).toBe(t.clock.now());
      expect(payload.exp).toBe(payload.iat! + 900);
      expect(payload.jti).toEqual(expect.any(String));
      expect(payload.jti!.length).toBeGreaterThanOrEqual(16);
    });

    it('gives every token its own jti', async () => {
      const params = {
        grant_type: 'client_credentials',
        client_id: m2m.clientId,
        client_secret: m2m.clientSecret,
      };
      const a = (await (await tokenRequest(t, params)).json()) as TokenBody;
      const b = (await (await tokenRequest(t, params)).json()) as TokenBody;
      expect(decodeJwt(a.access_token!).jti).not.toBe(decodeJwt(b.access_token!).jti);
    });

    it('uses the token lifetime of the API', async () => {
      const shortApi = await t.createApi({ tokenLifetime: 60 });
      const c = await t.createM2m(shortApi);
      const res = await tokenRequest(t, {
        grant_type: 'client_credentials',
        client_id: c.clientId,
        client_secret: c.clientSecret,
      });
      const body = (await res.json()) as TokenBody;
      expect(body.expires_in).toBe(60);
      const { payload } = await verifyAccessToken(t, body.access_token!, shortApi.identifier);
      expect(payload.exp! - payload.iat!).toBe(60);
    });

    it.each(['RS256', 'PS256', 'EdDSA'] as const)('signs with %s when the API says so', async (alg) => {
      const algApi = await t.createApi({ signingAlg: alg });
      const c = await t.createM2m(algApi);
      const config = await discover(t, c.clientId, client.ClientSecretBasic(c.clientSecret));
      const tokens = await client.clientCredentialsGrant(config, { audience: algApi.identifier });
      const { protectedHeader, payload } = await verifyAccessToken(
        t,
        tokens.access_token,
        algApi.identifier,
        alg,
      );
      expect(protectedHeader.alg).toBe(alg);
      expect(protectedHeader.typ).toBe('at+jwt');
      const published = await jwks(t);
      expect(published.keys.find((k) => k.kid === protectedHeader.kid)?.alg).toBe(alg);
      expect(payload.sub).toBe(c.clientId);
    });
  });

  describe('choosing the API', () => {
    let api2: Api;
    let both: { clientId: string; clientSecret: string };

    beforeAll(async () => {
      api2 = await t.createApi({ scopes: ['read:other'] });
      both = await t.createM2m(api, ['read:things']);
      await authorizeApplication(t.rt.storage, t.clock, both.clientId, api2.identifier, ['read:other']);
    });

    const grant = (extra: Record<string, string>) =>
      tokenRequest(t, {
        grant_type: 'client_credentials',
        client_id: both.clientId,
        client_secret: both.clientSecret,
        ...extra,
      });

    it('selects the API by audience', async () => {
      const res = await grant({ audience: api2.identifier });
      expect(res.status).toBe(200);
      const body = (await res.json()) as TokenBody;
      expect(body.scope).toBe('read:other');
      expect(decodeJwt(body.access_token!).aud).toBe(api2.identifier);
    });

    it('selects the API by RFC 8707 resource (openid-client)', async () => {
      const config = await discover(t, both.clientId, client.ClientSecretPost(both.clientSecret));
      const tokens = await client.clientCredentialsGrant(config, { resource: api2.identifier });
      const { payload } = await verifyAccessToken(t, tokens.access_token, api2.identifier);
      expect(payload.aud).toBe(api2.identifier);
      expect(payload.scope).toBe('read:other');

      const other = await client.clientCredentialsGrant(config, { resource: api.identifier });
      expect((await verifyAccessToken(t, other.access_token, api.identifier)).payload.scope).toBe(
        'read:things',
      );
    });

    it('accepts audience and resource naming the same API, refuses them naming different ones', async () => {
      const same = await grant({ audience: api2.identifier, resource: api2.identifier });
      expect(same.status).toBe(200);
      const differ = await grant({ audience: api.identifier, resource: api2.identifier });
      expect(differ.status).toBe(400);
      const body = (await differ.json()) as TokenBody;
      expect(body.error).toBe('invalid_request');
      expect(body.error_description).toMatch(/audience|resource/);
    });

    it('refuses two different resource values with invalid_target', async () => {
      const body = new URLSearchParams({
        grant_type: 'client_credentials',
        client_id: both.clientId,
        client_secret: both.clientSecret,
      });
      body.append('resource', api.identifier);
      body.append('resource', api2.identifier);
      const res = await t.fetch(`${t.issuer}/oauth/token`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body,
      });
      expect(res.status).toBe(400);
      const json = (await res.json()) as TokenBody;
      expect(json.error).toBe('invalid_target');
      expect(json.error_description).toMatch(/resource/);
    });

    it('refuses a resource that is not an absolute URI with invalid_target', async () => {
      const res = await grant({ resource: 'not-a-uri' });
      expect(res.status).toBe(400);
      const body = (await res.json()) as TokenBody;
      expect(body.error).toBe('invalid_target');
      expect(body.error_description).toMatch(/resource/);
    });

    it('uses the one authorized API when no audience is sent', async () => {
      const res = await tokenRequest(t, {
        grant_type: 'client_credentials',
        client_id: m2m.clientId,
        client_secret: m2m.clientSecret,
      });
      expect(res.status).toBe(200);
      const body = (await res.json()) as TokenBody;
      const { payload } = await verifyAccessToken(t, body.access_token!, api.identifier);
      expect(payload.aud).toBe(api.identifier);
    });

    it('refuses a missing audience with two authorized APIs (invalid_request)', async () => {
      const res = await grant({});
      expect(res.status).toBe(400);
      expect(res.headers.get('cache-control')).toBe('no-store');
      const body = (await res.json()) as TokenBody;
      expect(body.error).toBe('invalid_request');
      expect(body.error_description).toMatch(/audience/);
    });

    it('refuses a missing audience with no authorized API (invalid_request)', async () => {
      const lonely = await t.createApp({ name: 'Lonely', type: 'm2m' });
      const res = await tokenRequest(t, {
        grant_type: 'client_credentials',
        client_id: lonely.clientId,
        client_secret: lonely.clientSecret!,
      });
      expect(res.status).toBe(400);
      const body = (await res.json()) as TokenBody;
      expect(body.error).toBe('invalid_request');
      expect(body.error_description).toMatch(/audience/);
    });

    it('refuses an unknown audience with invalid_target', async () => {
      const res = await grant({ audience: 'https://nowhere.test/api' });
      expect(res.status).toBe(400);
      const body = (await res.json()) as TokenBody;
      expect(body.error).toBe('invalid_target');
      expect(body.error_description).toMatch(/audience/);
    });

    it('refuses an API the client is not authorized for with unauthorized_client', async () => {
      const res = await tokenRequest(t, {
        grant_type: 'client_credentials',
        client_id: m2m.clientId,
        client_secret: m2m.clientSecret,
        audience: api2.identifier,
      });
      expect(res.status).toBe(400);
      const body = (await res.json()) as TokenBody;
      expect(body.error).toBe('unauthorized_client');
      expect(body.error_description).toContain(api2.identifier);
    });
  });

  describe('scope', () => {
    const grant = (scope: string) =>
      tokenRequest(t, {
        grant_type: 'client_credentials',
        client_id: m2m.clientId,
        client_secret: m2m.clientSecret,
        audience: api.identifier,
        scope,
      });

    it('narrows the token to the requested scopes', async () => {
      const res = await grant('write:things');
      expect(res.status).toBe(200);
      const body = (await res.json()) as TokenBody;
      expect(body.scope).toBe('write:things');
      expect(decodeJwt(body.access_token!).scope).toBe('write:things');
    });

    it('refuses a scope beyond the client grant with invalid_scope', async () => {
      const narrow = await t.createM2m(api, ['read:things']);
      const res = await tokenRequest(t, {
        grant_type: 'client_credentials',
        client_id: narrow.clientId,
        client_secret: narrow.clientSecret,
        scope: 'read:things write:things',
      });
      expect(res.status).toBe(400);
      expect(res.headers.get('cache-control')).toBe('no-store');
      const body = (await res.json()) as TokenBody;
      expect(body.error).toBe('invalid_scope');
      expect(body.error_description).toMatch(/write:things/);
      expect(body.error_description).not.toMatch(/read:things/);
    });

    it('refuses a scope the API does not define with invalid_scope', async () => {
      const res = await grant('admin');
      expect(res.status).toBe(400);
      const body = (await res.json()) as TokenBody;
      expect(body.error).toBe('invalid_scope');
      expect(body.error_description).toMatch(/admin/);
    });

    it('issues a token without scope when the client grant has no scopes, and refuses any scope', async () => {
      const bare = await t.createM2m(api, []);
      const creds = {
        grant_type: 'client_credentials',
        client_id: bare.clientId,
        client_secret: bare.clientSecret,
      };
      const res = await tokenRequest(t, creds);
      expect(res.status).toBe(200);
      const body = (await res.json()) as TokenBody;
      expect(body).not.toHaveProperty('scope');
      expect(decodeJwt(body.access_token!)).not.toHaveProperty('scope');
      const refused = await tokenRequest(t, { ...creds, scope: 'read:things' });
      expect(refused.status).toBe(400);
      expect(((await refused.json()) as TokenBody).error).toBe('invalid_scope');
    });

    it('refuses a malformed scope with invalid_scope', async () => {
      const res = await grant('read:things "quoted"');
      expect(res.status).toBe(400);
      const body = (await res.json()) as TokenBody;
      expect(body.error).toBe('invalid_scope');
      expect(body.error_description).toMatch(/scope/);
    });
  });

  it('issues tokens to a web application given the client_credentials grant', async () => {
    const web = await t.createApp({
      name: 'Web with M2M',
      type: 'web',
      callbacks: ['https://web.test/cb'],
      grants: ['authorization_code', 'client_credentials'],
    });
    await authorizeApplication(t.rt.storage, t.clock, web.clientId, api.identifier, ['read:things']);
    const config = await discover(t, web.clientId, client.ClientSecretBasic(web.clientSecret!));
    const tokens = await client.clientCredentialsGrant(config);
    const { payload } = await verifyAccessToken(t, tokens.access_token, api.identifier);
    expect(payload.sub).toBe(web.clientId);
    expect(payload.scope).toBe('read:things');
  });
});
