import {
  calculateJwkThumbprint,
  createLocalJWKSet,
  decodeJwt,
  type JSONWebKeySet,
  type JWK,
  jwtVerify,
} from 'jose';
import * as oauth from 'oauth4webapi';
import * as client from 'openid-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from '../support/app.js';
import { describeEachBackend } from '../support/databases.js';

const ISSUER = 'https://sesame.test';
const SPOOFED = {
  host: 'evil.example',
  'x-forwarded-host': 'evil.example',
  'x-forwarded-proto': 'http',
  forwarded: 'host=evil.example;proto=http',
};

const DOCUMENTS = ['/.well-known/openid-configuration', '/.well-known/oauth-authorization-server'] as const;

describeEachBackend('discovery and health', (backend) => {
  let t: TestApp;

  beforeAll(async () => {
    t = await startTestApp(backend);
  });
  afterAll(async () => t?.close());

  describe('metadata documents', () => {
    it.each(DOCUMENTS)('%s names the issuer and the endpoints', async (path) => {
      const res = await t.fetch(`${t.issuer}${path}`);
      expect(res.status).toBe(200);
      expect(res.headers.get('content-type')).toMatch(/^application\/json/);
      expect(res.headers.get('cache-control')).toMatch(/max-age=\d+/);
      const doc = (await res.json()) as Record<string, unknown>;
      expect(doc).toMatchObject({
        issuer: ISSUER,
        token_endpoint: `${ISSUER}/oauth/token`,
        jwks_uri: `${ISSUER}/.well-known/jwks.json`,
        introspection_endpoint: `${ISSUER}/oauth/introspect`,
        revocation_endpoint: `${ISSUER}/oauth/revoke`,
        grant_types_supported: expect.arrayContaining(['client_credentials']),
      });
      expect(doc.token_endpoint_auth_methods_supported).toEqual(
        expect.arrayContaining(['client_secret_basic', 'client_secret_post']),
      );
      expect(doc.introspection_endpoint_auth_methods_supported).not.toContain('none');
    });

    it('the OpenID document is the OAuth document plus OpenID fields', async () => {
      const [openid, oauthDoc] = await Promise.all(
        DOCUMENTS.map(
          async (p) => (await t.fetch(`${t.issuer}${p}`)).json() as Promise<Record<string, unknown>>,
        ),
      );
      expect(openid).toMatchObject(oauthDoc!);
      expect(openid!.subject_types_supported).toEqual(['public']);
    });

    it('advertises exactly the grant types the token endpoint implements, and implicit (served by /authorize)', async () => {
      const doc = (await (await t.fetch(`${t.issuer}${DOCUMENTS[1]}`)).json()) as {
        grant_types_supported: string[];
      };
      const candidates = [
        ...new Set([
          ...doc.grant_types_supported,
          'client_credentials',
          'authorization_code',
          'refresh_token',
          'password',
          'implicit',
          'urn:ietf:params:oauth:grant-type:device_code',
          'urn:ietf:params:oauth:grant-type:token-exchange',
          'urn:ietf:params:oauth:grant-type:jwt-bearer',
        ]),
      ];
      const implemented: string[] = [];
      for (const grantType of candidates) {
        const res = await t.fetch(`${t.issuer}/oauth/token`, {
          method: 'POST',
          headers: { 'content-type': 'application/x-www-form-urlencoded' },
          body: new URLSearchParams({ grant_type: grantType }),
        });
        const body = (await res.json()) as { error?: string };
        if (body.error !== 'unsupported_grant_type') implemented.push(grantType);
      }
      expect(implemented).not.toContain('implicit');
      expect([...implemented, 'implicit'].sort()).toEqual([...doc.grant_types_supported].sort());
    });

    it('every advertised endpoint is served (not 404)', async () => {
      const doc = (await (await t.fetch(`${t.issuer}${DOCUMENTS[1]}`)).json()) as Record<string, string>;
      for (const name of ['token_endpoint', 'introspection_endpoint', 'revocation_endpoint']) {
        const res = await t.fetch(doc[name]!, { method: 'POST' });
        expect({ name, status: res.status }).not.toEqual({ name, status: 404 });
      }
      expect((await t.fetch(doc.jwks_uri!)).status).toBe(200);
    });

    it('is accepted by openid-client discovery (which checks the issuer)', async () => {
      const config = await client.discovery(new URL(t.issuer), 'some-client', undefined, client.None(), {
        [client.customFetch]: t.fetch,
      });
      const meta = config.serverMetadata();
      expect(meta.issuer).toBe(ISSUER);
      expect(meta.introspection_endpoint).toBe(`${ISSUER}/oauth/introspect`);
      expect(meta.grant_types_supported).toContain('client_credentials');
    });

    it('is accepted by oauth4webapi for both the oidc and the oauth2 well-known', async () => {
      for (const algorithm of ['oidc', 'oauth2'] as const) {
        const response = await oauth.discoveryRequest(new URL(t.issuer), {
          algorithm,
          [oauth.customFetch]: t.fetch,
        });
        const as = await oauth.processDiscoveryResponse(new URL(t.issuer), response);
        expect({ algorithm, issuer: as.issuer, jwks: as.jwks_uri }).toEqual({
          algorithm,
          issuer: ISSUER,
          jwks: `${ISSUER}/.well-known/jwks.json`,
        });
      }
    });

    it.each(DOCUMENTS)('%s ignores spoofed Host and X-Forwarded-* headers', async (path) => {
      const plain = await (await t.fetch(`${t.issuer}${path}`)).text();
      const spoofed = await t.fetch(`http://evil.example${path}`, { headers: SPOOFED });
      expect(spoofed.status).toBe(200);
      const text = await spoofed.text();
      expect(text).not.toContain('evil');
      expect(text).toBe(plain);
    });

    it('a token issued through a spoofed Host still carries the configured issuer', async () => {
      const api = await t.createApi();
      const m2m = await t.createM2m(api);
      const res = await t.fetch('http://evil.example/oauth/token', {
        method: 'POST',
        headers: { ...SPOOFED, 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({
          grant_type: 'client_credentials',
          client_id: m2m.clientId,
          client_secret: m2m.clientSecret,
        }),
      });
      expect(res.status).toBe(200);
      const { access_token } = (await res.json()) as { access_token: string };
      expect(decodeJwt(access_token).iss).toBe(ISSUER);
    });

    it.each([...DOCUMENTS, '/.well-known/jwks.json'])(
      'answers HEAD %s with 200 and no body',
      async (path) => {
        const res = await t.fetch(`${t.issuer}${path}`, { method: 'HEAD' });
        expect(res.status).toBe(200);
        expect(await res.text()).toBe('');
      },
    );

    it('answers POST with 405 and Allow: GET, HEAD, OPTIONS', async () => {
      const res = await t.fetch(`${t.issuer}${DOCUMENTS[0]}`, { method: 'POST' });
      expect(res.status).toBe(405);
      expect(res.headers.get('allow')).toBe('GET, HEAD, OPTIONS');
    });
  });

  describe('JWKS', () => {
    it('publishes public keys with kid, kty, alg and use, cached for max-age', async () => {
      const res = await t.fetch(`${t.issuer}/.well-known/jwks.json`);
      expect(res.status).toBe(200);
      expect(res.headers.get('content-type')).toMatch(/^application\/json/);
      expect(res.headers.get('cache-control')).toMatch(/(^|[ ,])max-age=300\b/);
      const { keys } = (await res.json()) as { keys: JWK[] };
      expect(keys.map((k) => k.alg).sort()).toEqual(['ES256', 'EdDSA', 'PS256', 'RS256']);
      for (const k of keys) {
        expect(k).toMatchObject({
          kid: expect.any(String),
          kty: expect.any(String),
          alg: expect.any(String),
          use: 'sig',
        });
        for (const secret of ['d', 'p', 'q', 'dp', 'dq', 'qi', 'k']) expect(k).not.toHaveProperty(secret);
      }
      expect(new Set(keys.map((k) => k.kid)).size).toBe(keys.length);
    });

    it('has the kty and curve each algorithm needs, and kid is the RFC 7638 thumbprint', async () => {
      const { keys } = (await (await t.fetch(`${t.issuer}/.well-known/jwks.json`)).json()) as { keys: JWK[] };
      const shape = Object.fromEntries(keys.map((k) => [k.alg, { kty: k.kty, crv: k.crv }]));
      expect(shape).toEqual({
        ES256: { kty: 'EC', crv: 'P-256' },
        RS256: { kty: 'RSA', crv: undefined },
        PS256: { kty: 'RSA', crv: undefined },
        EdDSA: { kty: 'OKP', crv: 'Ed25519' },
      });
      for (const k of keys) expect(k.kid).toBe(await calculateJwkThumbprint(k, 'sha256'));
    });

    it('ignores spoofed Host headers too', async () => {
      const plain = await (await t.fetch(`${t.issuer}/.well-known/jwks.json`)).text();
      const spoofed = await t.fetch('http://evil.example/.well-known/jwks.json', { headers: SPOOFED });
      expect(await spoofed.text()).toBe(plain);
    });
  });

  describe('health', () => {
    it('/healthz answers 200', async () => {
      const res = await t.fetch(`${t.issuer}/healthz`);
      expect(res.status).toBe(200);
      expect(await res.json()).toEqual({ status: 'ok' });
    });

    it('/favicon.ico answers 204, no icon and no 404, cached a week', async () => {
      const res = await t.fetch(`${t.issuer}/favicon.ico`);
      expect(res.status).toBe(204);
      expect(res.headers.get('cache-control')).toBe('public, max-age=604800');
      expect(await res.text()).toBe('');
    });

    it('/readyz answers 200 while the database answers', async () => {
      const res = await t.fetch(`${t.issuer}/readyz`);
      expect(res.status).toBe(200);
      expect(await res.json()).toEqual({ status: 'ok' });
    });
  });
});

describeEachBackend('readiness without a database', (backend) => {
  let t: TestApp;

  beforeAll(async () => {
    t = await startTestApp(backend);
  });
  afterAll(async () => t?.close());

  it('/readyz answers 503 once storage is closed, /healthz still 200', async () => {
    expect((await t.fetch(`${t.issuer}/readyz`)).status).toBe(200);
    await t.rt.storage.close();
    const res = await t.fetch(`${t.issuer}/readyz`);
    expect(res.status).toBe(503);
    expect(res.headers.get('cache-control')).toBe('no-store');
    expect(((await res.json()) as { status: string }).status).toBe('unavailable');
    expect((await t.fetch(`${t.issuer}/healthz`)).status).toBe(200);
  });
});

describeEachBackend('JWKS with keys.algorithms [ES256] and keys.jwksMaxAge 60', (backend) => {
  let t: TestApp;

  beforeAll(async () => {
    t = await startTestApp(backend, { keys: { jwksMaxAge: 60, algorithms: ['ES256'] } });
  });
  afterAll(async () => t?.close());

  it('follows keys.jwksMaxAge and keys.algorithms', async () => {
    const res = await t.fetch(`${t.issuer}/.well-known/jwks.json`);
    expect(res.headers.get('cache-control')).toMatch(/(^|[ ,])max-age=60\b/);
    const { keys } = (await res.json()) as { keys: JWK[] };
    expect(keys.map((k) => k.alg)).toEqual(['ES256']);
  });

  it('creates and publishes a key on first use for an API whose algorithm had none', async () => {
    const api = await t.createApi({ signingAlg: 'PS256' });
    const m2m = await t.createM2m(api);
    const res = await t.fetch(`${t.issuer}/oauth/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({
        grant_type: 'client_credentials',
        client_id: m2m.clientId,
        client_secret: m2m.clientSecret,
      }),
    });
    expect(res.status).toBe(200);
    const { access_token } = (await res.json()) as { access_token: string };
    const jwks = (await (await t.fetch(`${t.issuer}/.well-known/jwks.json`)).json()) as JSONWebKeySet;
    const { payload } = await jwtVerify(access_token, createLocalJWKSet(jwks), {
      issuer: ISSUER,
      audience: api.identifier,
      algorithms: ['PS256'],
      currentDate: new Date(t.clock.now() * 1000),
    });
    expect(payload.client_id).toBe(m2m.clientId);
    expect(jwks.keys.map((k) => k.alg).sort()).toEqual(['ES256', 'PS256']);
  });

  // Keystore.signer() creates a missing key through ensure() without serializing concurrent calls:
  // every request that arrives before the first key is stored makes (and publishes) its own key.
  it('makes one key, not one per request, when concurrent first requests need a new algorithm', async () => {
    const api = await t.createApi({ signingAlg: 'RS256' });
    const m2m = await t.createM2m(api);
    const responses = await Promise.all(
      Array.from({ length: 5 }, () =>
        t.fetch(`${t.issuer}/oauth/token`, {
          method: 'POST',
          headers: { 'content-type': 'application/x-www-form-urlencoded' },
          body: new URLSearchParams({
            grant_type: 'client_credentials',
            client_id: m2m.clientId,
            client_secret: m2m.clientSecret,
          }),
        }),
      ),
    );
    expect(responses.map((r) => r.status)).toEqual([200, 200, 200, 200, 200]);
    const jwks = (await (await t.fetch(`${t.issuer}/.well-known/jwks.json`)).json()) as JSONWebKeySet;
    expect(jwks.keys.filter((k) => k.alg === 'RS256')).toHaveLength(1);
  });
});
