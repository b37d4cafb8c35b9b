import * as oauth from 'oauth4webapi';
import * as client from 'openid-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { rotateSecret } from '../../src/admin/applications.js';
import type { Api } from '../../src/storage/types.js';
import { startTestApp, type TestApp } from '../support/app.js';
import { describeEachBackend } from '../support/databases.js';

const FORM = { 'content-type': 'application/x-www-form-urlencoded' };

interface ErrorBody {
  error?: string;
  error_description?: string;
  access_token?: string;
}

/** Basic credentials as RFC 6749 §2.3.1 says: each part form-url-encoded, then base64. */
const basic = (id: string, secret: string, encode: (s: string) => string = encodeURIComponent) =>
  `Basic ${Buffer.from(`${encode(id)}:${encode(secret)}`, 'utf8').toString('base64')}`;

/** Percent-encodes every character, even those that need no encoding. */
const encodeAll = (s: string) =>
  [...Buffer.from(s, 'utf8')].map((b) => `%${b.toString(16).toUpperCase().padStart(2, '0')}`).join('');

/** Reads an RFC 6749 §5.2 error response and checks what every error shares. */
async function oauthError(res: Response, status: number, error: string): Promise<ErrorBody> {
  const body = (await res.json()) as ErrorBody;
  expect({ status: res.status, error: body.error }).toEqual({ status, error });
  expect(res.headers.get('content-type')).toMatch(/^application\/json/);
  expect(res.headers.get('cache-control')).toBe('no-store');
  expect(Object.keys(body).sort()).toEqual(['error', 'error_description']);
  expect(body.error_description).toEqual(expect.any(String));
  // RFC 6749 §5.2: %x20-21 / %x23-5B / %x5D-7E only.
  expect(body.error_description).toMatch(/^[\x20\x21\x23-\x5B\x5D-\x7E]*$/);
  return body;
}

describeEachBackend('token endpoint errors (RFC 6749 §5.2)', (backend) => {
  let t: TestApp;
  let api: Api;
  let m2m: { clientId: string; clientSecret: string };

  const token = (
    body: string | URLSearchParams | Record<string, string>,
    headers: Record<string, string> = {},
  ) =>
    t.fetch(`${t.issuer}/oauth/token`, {
      method: 'POST',
      headers: { ...FORM, ...headers },
      body: typeof body === 'string' || body instanceof URLSearchParams ? body : new URLSearchParams(body),
    });

  beforeAll(async () => {
    t = await startTestApp(backend);
    api = await t.createApi();
    m2m = await t.createM2m(api);
  });
  afterAll(async () => t?.close());

  describe('client authentication', () => {
    it('refuses a wrong secret (Basic) with 401 invalid_client and WWW-Authenticate', async () => {
      const res = await token(
        { grant_type: 'client_credentials' },
        { authorization: basic(m2m.clientId, `${m2m.clientSecret}x`) },
      );
      const www = res.headers.get('www-authenticate');
      await oauthError(res, 401, 'invalid_client');
      expect(www).toMatch(/^Basic /);
      expect(www).toMatch(/error="invalid_client"/);
    });

    it('refuses a wrong secret (client_secret_post) with 401 invalid_client', async () => {
      const res = await token({
        grant_type: 'client_credentials',
        client_id: m2m.clientId,
        client_secret: 'wrong',
      });
      expect(res.headers.get('www-authenticate')).toMatch(/^Basic /);
      await oauthError(res, 401, 'invalid_client');
    });

    it('refuses a wrong secret through oauth4webapi as a WWW-Authenticate challenge', async () => {
      const as: oauth.AuthorizationServer = { issuer: t.issuer, token_endpoint: `${t.issuer}/oauth/token` };
      const c: oauth.Client = { client_id: m2m.clientId };
      const response = await oauth.clientCredentialsGrantRequest(
        as,
        c,
        oauth.ClientSecretBasic('not-the-secret'),
        { audience: api.identifier },
        { [oauth.customFetch]: t.fetch },
      );
      const err = await oauth.processClientCredentialsResponse(as, c, response).then(
        () => null,
        (e: unknown) => e,
      );
      expect(err).toBeInstanceOf(oauth.WWWAuthenticateChallengeError);
      const challenge = err as oauth.WWWAuthenticateChallengeError;
      expect(challenge.status).toBe(401);
      expect(challenge.cause[0]?.scheme).toBe('basic');
      expect(challenge.cause[0]?.parameters.error).toBe('invalid_client');
    });

    it('refuses a wrong secret through openid-client', async () => {
      const config = await client.discovery(
        new URL(t.issuer),
        m2m.clientId,
        undefined,
        client.ClientSecretPost('not-the-secret'),
        { [client.customFetch]: t.fetch },
      );
      const err = await client.clientCredentialsGrant(config, { audience: api.identifier }).then(
        () => null,
        (e: unknown) => e,
      );
      expect(err).toBeInstanceOf(client.WWWAuthenticateChallengeError);
      expect((err as client.WWWAuthenticateChallengeError).status).toBe(401);
    });

    it('refuses an unknown client with 401 invalid_client (Basic and post)', async () => {
      const viaBasic = await token(
        { grant_type: 'client_credentials' },
        { authorization: basic('no-such-client', 'secret') },
      );
      await oauthError(viaBasic, 401, 'invalid_client');
      const viaPost = await token({
        grant_type: 'client_credentials',
        client_id: 'no-such-client',
        client_secret: 'secret',
      });
      await oauthError(viaPost, 401, 'invalid_client');
      const idOnly = await token({ grant_type: 'client_credentials', client_id: 'no-such-client' });
      await oauthError(idOnly, 401, 'invalid_client');
    });

    it('refuses a request without any client authentication with 401 invalid_client', async () => {
      const res = await token({ grant_type: 'client_credentials' });
      const body = await oauthError(res, 401, 'invalid_client');
      expect(body.error_description).toMatch(/client_id|authenticat/);
    });

    it('refuses a confidential client that sends no secret with 401 invalid_client', async () => {
      const res = await token({ grant_type: 'client_credentials', client_id: m2m.clientId });
      await oauthError(res, 401, 'invalid_client');
    });

    it('refuses the old secret after rotation and accepts the new one', async () => {
      const c = await t.createM2m(api);
      const fresh = await rotateSecret(t.rt.storage, t.clock, c.clientId);
      const old = await token(
        { grant_type: 'client_credentials' },
        { authorization: basic(c.clientId, c.clientSecret) },
      );
      await oauthError(old, 401, 'invalid_client');
      const now = await token(
        { grant_type: 'client_credentials' },
        { authorization: basic(c.clientId, fresh) },
      );
      expect(now.status).toBe(200);
    });

    it('refuses Basic and client_secret in the body together with invalid_request', async () => {
      const res = await token(
        { grant_type: 'client_credentials', client_secret: m2m.clientSecret },
        { authorization: basic(m2m.clientId, m2m.clientSecret) },
      );
      const body = await oauthError(res, 400, 'invalid_request');
      expect(body.error_description).toMatch(/client_secret/);
    });

    it('refuses a body client_id that differs from the Basic one with invalid_request', async () => {
      const res = await token(
        { grant_type: 'client_credentials', client_id: 'someone-else' },
        { authorization: basic(m2m.clientId, m2m.clientSecret) },
      );
      const body = await oauthError(res, 400, 'invalid_request');
      expect(body.error_description).toMatch(/client_id/);
    });

    it('accepts a body client_id equal to the Basic one', async () => {
      const res = await token(
        { grant_type: 'client_credentials', client_id: m2m.clientId },
        { authorization: basic(m2m.clientId, m2m.clientSecret) },
      );
      expect(res.status).toBe(200);
    });

    it('decodes form-url-encoded Basic credentials (every character percent-encoded)', async () => {
      const res = await token(
        { grant_type: 'client_credentials' },
        { authorization: basic(m2m.clientId, m2m.clientSecret, encodeAll) },
      );
      expect(res.status).toBe(200);
      expect(((await res.json()) as ErrorBody).access_token).toEqual(expect.any(String));
    });

    it('accepts the scheme name in any case (RFC 7235 §2.1)', async () => {
      const header = basic(m2m.clientId, m2m.clientSecret).replace(/^Basic/, 'bAsIc');
      const res = await token({ grant_type: 'client_credentials' }, { authorization: header });
      expect(res.status).toBe(200);
    });

    it.each([
      ['not base64', 'Basic !!!not-base64!!!'],
      ['without a colon', `Basic ${Buffer.from('just-an-id').toString('base64')}`],
      ['with a bad percent-escape', `Basic ${Buffer.from('%E0%A4%A:secret').toString('base64')}`],
      ['with an empty client id', `Basic ${Buffer.from(':secret').toString('base64')}`],
      ['of another scheme', 'Bearer some-token'],
    ])('refuses an Authorization header %s with 401 invalid_client', async (_name, authorization) => {
      const res = await token({ grant_type: 'client_credentials' }, { authorization });
      await oauthError(res, 401, 'invalid_client');
    });
  });

  describe('grant type', () => {
    it('refuses a missing grant_type with invalid_request naming it', async () => {
      const res = await token({}, { authorization: basic(m2m.clientId, m2m.clientSecret) });
      const body = await oauthError(res, 400, 'invalid_request');
      expect(body.error_description).toMatch(/grant_type/);
    });

    it('echoes a value in error_description only in the characters RFC 6749 §5.2 allows, cut short', async () => {
      const auth = { authorization: basic(m2m.clientId, m2m.clientSecret) };
      const odd = await oauthError(
        await token({ grant_type: 'x"\\é<>\u2028' }, auth),
        400,
        'unsupported_grant_type',
      );
      expect(odd.error_description).toContain('x???<>?');
      const long = await oauthError(
        await token({ grant_type: 'y'.repeat(5000) }, auth),
        400,
        'unsupported_grant_type',
      );
      expect(long.error_description?.length).toBeLessThanOrEqual(256);
      const target = await oauthError(
        await token({ grant_type: 'client_credentials', audience: 'https://x/"\\ü' }, auth),
        400,
        'invalid_target',
      );
      expect(target.error_description).toContain('https://x/???');
    });

    it('treats an empty grant_type as missing', async () => {
      const res = await token({ grant_type: '' }, { authorization: basic(m2m.clientId, m2m.clientSecret) });
      const body = await oauthError(res, 400, 'invalid_request');
      expect(body.error_description).toMatch(/grant_type/);
    });

    it.each([
      'implicit',
      'urn:ietf:params:oauth:grant-type:jwt-bearer',
      'Client_Credentials',
      '__proto__',
      'constructor',
      'toString',
      'hasOwnProperty',
    ])('refuses grant_type %s with unsupported_grant_type', async (grantType) => {
      const res = await token(
        { grant_type: grantType },
        { authorization: basic(m2m.clientId, m2m.clientSecret) },
      );
      const body = await oauthError(res, 400, 'unsupported_grant_type');
      expect(body.error_description).toMatch(/grant_type/);
    });

    it('refuses a public (spa) client using client_credentials with unauthorized_client', async () => {
      const spa = await t.createApp({ name: 'SPA', type: 'spa', callbacks: ['https://spa.test/cb'] });
      expect(spa.clientSecret).toBeUndefined();
      const res = await token({ grant_type: 'client_credentials', client_id: spa.clientId });
      const body = await oauthError(res, 400, 'unauthorized_client');
      expect(body.error_description).toMatch(/grant_type|client_credentials/);
    });

    it('refuses a public (spa) client that sends a secret with 401 invalid_client', async () => {
      const spa = await t.createApp({ name: 'SPA', type: 'spa', callbacks: ['https://spa.test/cb'] });
      const res = await token({
        grant_type: 'client_credentials',
        client_id: spa.clientId,
        client_secret: 'anything',
      });
      await oauthError(res, 401, 'invalid_client');
      const viaBasic = await token(
        { grant_type: 'client_credentials' },
        { authorization: basic(spa.clientId, 'anything') },
      );
      await oauthError(viaBasic, 401, 'invalid_client');
    });

    it('refuses a web application without the client_credentials grant with unauthorized_client', async () => {
      const web = await t.createApp({ name: 'Web', type: 'web', callbacks: ['https://web.test/cb'] });
      const res = await token(
        { grant_type: 'client_credentials', audience: api.identifier },
        { authorization: basic(web.clientId, web.clientSecret!) },
      );
      const body = await oauthError(res, 400, 'unauthorized_client');
      expect(body.error_description).toMatch(/client_credentials/);
    });
  });

  describe('request format', () => {
    it.each(['scope', 'grant_type', 'audience', 'client_id'])(
      'refuses a repeated %s with invalid_request naming it',
      async (name) => {
        const params = new URLSearchParams({
          grant_type: 'client_credentials',
          client_id: m2m.clientId,
          client_secret: m2m.clientSecret,
          audience: api.identifier,
          scope: 'read:things',
        });
        params.append(name, params.get(name)!);
        const res = await token(params);
        const body = await oauthError(res, 400, 'invalid_request');
        expect(body.error_description).toMatch(new RegExp(`\\b${name}\\b`));
      },
    );

    it('ignores parameters in the query string (credentials belong in the body or header)', async () => {
      const query = new URLSearchParams({
        grant_type: 'client_credentials',
        client_id: m2m.clientId,
        client_secret: m2m.clientSecret,
      });
      const res = await t.fetch(`${t.issuer}/oauth/token?${query}`, {
        method: 'POST',
        headers: FORM,
        body: '',
      });
      const body = await oauthError(res, 400, 'invalid_request');
      expect(body.error_description).toMatch(/grant_type/);
    });

    it('refuses a text/plain body with invalid_request naming both accepted types', async () => {
      const res = await token('grant_type=client_credentials', { 'content-type': 'text/plain' });
      const body = await oauthError(res, 400, 'invalid_request');
      expect(body.error_description).toMatch(/x-www-form-urlencoded or application\/json/);
    });

    it('refuses a body without Content-Type with invalid_request', async () => {
      const res = await t.fetch(`${t.issuer}/oauth/token`, {
        method: 'POST',
        body: new Blob([`grant_type=client_credentials&client_id=${m2m.clientId}`]),
      });
      expect(res.headers.get('content-type')).toMatch(/^application\/json/);
      const body = await oauthError(res, 400, 'invalid_request');
      expect(body.error_description).toMatch(/x-www-form-urlencoded/);
    });

    it('accepts a form Content-Type with a charset', async () => {
      const res = await token(
        { grant_type: 'client_credentials', client_id: m2m.clientId, client_secret: m2m.clientSecret },
        { 'content-type': 'application/x-www-form-urlencoded; charset=UTF-8' },
      );
      expect(res.status).toBe(200);
    });

    it.each(['GET', 'PUT', 'DELETE', 'PATCH'])(
      'answers %s /oauth/token with 405 and Allow: POST, OPTIONS',
      async (m) => {
        const res = await t.fetch(`${t.issuer}/oauth/token`, { method: m });
        expect(res.status).toBe(405);
        expect(res.headers.get('allow')).toBe('POST, OPTIONS');
        expect(res.headers.get('cache-control')).toBe('no-store');
      },
    );

    it('answers an unknown path with a JSON 404', async () => {
      const res = await t.fetch(`${t.issuer}/oauth/nothing-here`, { method: 'POST' });
      expect(res.status).toBe(404);
      expect(res.headers.get('content-type')).toMatch(/^application\/json/);
    });
  });
});

describeEachBackend('body limit', (backend) => {
  let t: TestApp;
  let m2m: { clientId: string; clientSecret: string };

  beforeAll(async () => {
    t = await startTestApp(backend, { bodyLimit: 1024 });
    m2m = await t.createM2m(await t.createApi());
  });
  afterAll(async () => t?.close());

  /** A valid client_credentials form padded with an ignored parameter to exactly `size` bytes. */
  function paddedForm(size: number): string {
    const base = new URLSearchParams({
      grant_type: 'client_credentials',
      client_id: m2m.clientId,
      client_secret: m2m.clientSecret,
    }).toString();
    const form = `${base}&pad=`;
    return form + 'x'.repeat(size - form.length);
  }

  it('accepts a body of exactly bodyLimit bytes', async () => {
    const body = paddedForm(1024);
    expect(body.length).toBe(1024);
    const res = await t.fetch(`${t.issuer}/oauth/token`, { method: 'POST', headers: FORM, body });
    expect(res.status).toBe(200);
  });

  it('refuses a body one byte over bodyLimit with 413', async () => {
    const res = await t.fetch(`${t.issuer}/oauth/token`, {
      method: 'POST',
      headers: FORM,
      body: paddedForm(1025),
    });
    expect(res.status).toBe(413);
    expect(res.headers.get('cache-control')).toBe('no-store');
    expect(((await res.json()) as ErrorBody).error_description).toMatch(/1024/);
  });

  it('refuses a declared Content-Length over bodyLimit with 413', async () => {
    const res = await t.fetch(`${t.issuer}/oauth/token`, {
      method: 'POST',
      headers: { ...FORM, 'content-length': '5000' },
      body: paddedForm(5000),
    });
    expect(res.status).toBe(413);
  });

  it('refuses a streamed body without Content-Length over bodyLimit with 413', async () => {
    const chunk = new TextEncoder().encode('x'.repeat(600));
    let sent = 0;
    const stream = new ReadableStream<Uint8Array>({
      pull(controller) {
        if (sent >= 10) controller.close();
        else {
          sent++;
          controller.enqueue(chunk);
        }
      },
    });
    const res = await t.fetch(`${t.issuer}/oauth/token`, {
      method: 'POST',
      headers: FORM,
      body: stream,
      duplex: 'half',
    } as RequestInit);
    expect(res.status).toBe(413);
    expect(sent).toBeLessThan(10);
  });

  it.each(['/oauth/introspect', '/oauth/revoke'])('applies bodyLimit to %s too', async (path) => {
    const res = await t.fetch(`${t.issuer}${path}`, {
      method: 'POST',
      headers: FORM,
      body: new URLSearchParams({
        client_id: m2m.clientId,
        client_secret: m2m.clientSecret,
        token: 'x'.repeat(2000),
      }),
    });
    expect(res.status).toBe(413);
  });
});
