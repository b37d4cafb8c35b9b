// Issue #13 §4: JSON bodies (application/json, as Auth0's SDKs may send) on /oauth/token and
// /oauth/revoke, under exactly the rules of form bodies: flat, strings only, no repeats, size cap.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from '../../support/app.js';
import { describeEachBackend } from '../../support/databases.js';
import { browser, newUser } from '../sign-in/fixtures.js';
import {
  authorizeRequest,
  codeForm,
  expectError,
  payloadOf,
  postForm,
  postJson,
  refreshForm,
  SPA_CALLBACK,
  type SpaClient,
  signIn,
} from './support.js';

describeEachBackend('spa: JSON bodies at the token and revocation endpoints (issue #13 §4)', (backend) => {
  let t: TestApp;
  let m2m: { clientId: string; clientSecret: string };
  let spa: SpaClient;
  let creds: { email: string; password: string };
  /** The client_credentials request of `m2m`, as an object. */
  let cc: Record<string, string>;

  beforeAll(async () => {
    t = await startTestApp(backend);
    m2m = await t.createM2m(await t.createApi());
    cc = { grant_type: 'client_credentials', client_id: m2m.clientId, client_secret: m2m.clientSecret };
    const a = await t.createApp({
      name: 'SPA',
      type: 'spa',
      callbacks: [SPA_CALLBACK],
      allowOfflineAccess: true,
    });
    spa = { clientId: a.clientId, redirectUri: SPA_CALLBACK };
    creds = (await newUser(t)).creds;
  });
  afterAll(async () => t?.close());

  /** A refresh token of a fresh sign-in of `spa`. */
  async function refreshToken(): Promise<string> {
    const { tokens } = await signIn(t, browser(t, creds), spa, { scope: 'openid offline_access' });
    return tokens.body.refresh_token as string;
  }

  describe('the grants work with JSON', () => {
    it('client_credentials', async () => {
      const a = await postJson(t, '/oauth/token', cc);
      expect(a.status, JSON.stringify(a.body)).toBe(200);
      expect(payloadOf(a.body.access_token as string).client_id).toBe(m2m.clientId);
      expect(a.headers.get('cache-control')).toBe('no-store');
    });

    it('authorization_code (with PKCE)', async () => {
      const pending = authorizeRequest(t, spa);
      const flow = await browser(t, creds).signIn(pending.url);
      const code = flow.location?.searchParams.get('code') as string;
      const a = await postJson(t, '/oauth/token', codeForm(spa, code, pending.verifier));
      expect(a.status, JSON.stringify(a.body)).toBe(200);
      expect(a.body.id_token).toEqual(expect.any(String));
    });

    it('refresh_token, then revocation of the new refresh token by JSON', async () => {
      const a = await postJson(t, '/oauth/token', refreshForm(spa, await refreshToken()));
      expect(a.status, JSON.stringify(a.body)).toBe(200);
      const next = a.body.refresh_token as string;
      const revoked = await postJson(t, '/oauth/revoke', { token: next, client_id: spa.clientId });
      expect(revoked.status).toBe(200);
      const after = await postForm(t, '/oauth/token', refreshForm(spa, next));
      expectError(after, 400, 'invalid_grant');
    });

    it('Content-Type application/json; charset=utf-8 is accepted', async () => {
      const a = await postJson(t, '/oauth/token', cc, { 'content-type': 'application/json; charset=utf-8' });
      expect(a.status, JSON.stringify(a.body)).toBe(200);
    });

    it('unicode escapes are decoded (\\u005f is "_", names and values)', async () => {
      const text = `{"grant\\u005ftype":"client\\u005fcredentials","client_id":${JSON.stringify(m2m.clientId)},"client_secret":"${[...m2m.clientSecret].map((ch) => `\\u${ch.charCodeAt(0).toString(16).padStart(4, '0')}`).join('')}"}`;
      const a = await postJson(t, '/oauth/token', text);
      expect(a.status, JSON.stringify(a.body)).toBe(200);
    });

    it('whitespace around the members is fine', async () => {
      const text = `\n {\n\t"grant_type" : "client_credentials" ,\r\n "client_id":${JSON.stringify(m2m.clientId)}, "client_secret": ${JSON.stringify(m2m.clientSecret)} } \n`;
      const a = await postJson(t, '/oauth/token', text);
      expect(a.status, JSON.stringify(a.body)).toBe(200);
    });
  });

  describe('the rules of forms', () => {
    it.each(['/oauth/token', '/oauth/revoke'])(
      '%s: a repeated name → invalid_request naming it',
      async (path) => {
        const text = `{"grant_type":"client_credentials","token":"x","client_id":${JSON.stringify(m2m.clientId)},"client_secret":${JSON.stringify(m2m.clientSecret)},"client_id":${JSON.stringify(m2m.clientId)}}`;
        const a = await postJson(t, path, text);
        expect(expectError(a, 400, 'invalid_request')).toBe('parameter client_id is repeated');
      },
    );

    it.each([
      ['a number', 42],
      ['a boolean', true],
      ['null', null],
      ['an object', { a: 'b' }],
      ['an array', ['client_credentials']],
    ])('a value that is %s → invalid_request "must be a string"', async (_name, value) => {
      const a = await postJson(t, '/oauth/token', { ...cc, scope: value });
      expect(expectError(a, 400, 'invalid_request')).toBe('parameter scope must be a string');
      const r = await postJson(t, '/oauth/revoke', { client_id: spa.clientId, token: value });
      expect(expectError(r, 400, 'invalid_request')).toBe('parameter token must be a string');
    });

    it.each([
      ['malformed JSON', '{"grant_type":"client_credentials",'],
      ['an unterminated string', '{"grant_type":"client_credentials}'],
      ['text after the object', '{"grant_type":"client_credentials"} x'],
      ['two objects', '{"grant_type":"client_credentials"}{}'],
      ['a top-level array', '[{"grant_type":"client_credentials"}]'],
      ['a top-level string', '"grant_type=client_credentials"'],
      ['single quotes', "{'grant_type':'client_credentials'}"],
      ['an empty body', ''],
      ['a raw control character in a string', '{"grant_type":"client\tcredentials"}'],
    ])('%s → invalid_request', async (_name, text) => {
      for (const path of ['/oauth/token', '/oauth/revoke']) {
        const a = await postJson(t, path, text);
        expect(expectError(a, 400, 'invalid_request'), path).toEqual(expect.any(String));
      }
    });

    it('a form-encoded text sent as JSON is refused, not read as a form', async () => {
      const a = await postJson(t, '/oauth/token', new URLSearchParams(cc).toString());
      expectError(a, 400, 'invalid_request');
    });

    it('an empty string counts as omitted (grant_type "" is missing; audience "" is no audience)', async () => {
      const missing = await postJson(t, '/oauth/token', { ...cc, grant_type: '' });
      expect(expectError(missing, 400, 'invalid_request')).toMatch(/grant_type/);
      const noAudience = await postJson(t, '/oauth/token', { ...cc, audience: '', scope: '' });
      expect(noAudience.status, JSON.stringify(noAudience.body)).toBe(200);
      const noToken = await postJson(t, '/oauth/revoke', { client_id: spa.clientId, token: '' });
      expect(expectError(noToken, 400, 'invalid_request')).toMatch(/token/);
    });

    it.each(['/oauth/token', '/oauth/revoke'])(
      '%s: text/plain → invalid_request naming both accepted types',
      async (path) => {
        const a = await postJson(t, path, JSON.stringify(cc), { 'content-type': 'text/plain' });
        expect(expectError(a, 400, 'invalid_request')).toMatch(
          /application\/x-www-form-urlencoded or application\/json/,
        );
      },
    );

    it('/oauth/introspect stays form-only', async () => {
      const a = await postJson(t, '/oauth/introspect', { ...cc, token: 'x' });
      expect(expectError(a, 400, 'invalid_request')).toMatch(/x-www-form-urlencoded/);
    });
  });
});

describeEachBackend('spa: the body limit applies to JSON bodies (issue #13 §4)', (backend) => {
  let t: TestApp;
  let m2m: { clientId: string; clientSecret: string };

  beforeAll(async () => {
    t = await startTestApp(backend, { bodyLimit: 1024 });
    m2m = await t.createM2m(await t.createApi());
  });
  afterAll(async () => t?.close());

  /** A valid client_credentials JSON body padded with an ignored member to exactly `size` bytes. */
  function padded(size: number): string {
    const head = JSON.stringify({
      grant_type: 'client_credentials',
      client_id: m2m.clientId,
      client_secret: m2m.clientSecret,
    }).slice(0, -1);
    const open = `${head},"pad":"`;
    return `${open}${'x'.repeat(size - open.length - 2)}"}`;
  }

  it('exactly bodyLimit bytes → 200', async () => {
    const body = padded(1024);
    expect(Buffer.byteLength(body)).toBe(1024);
    const a = await postJson(t, '/oauth/token', body);
    expect(a.status, JSON.stringify(a.body)).toBe(200);
  });

  it.each(['/oauth/token', '/oauth/revoke'])('%s: one byte over bodyLimit → 413', async (path) => {
    const body = padded(1025);
    expect(Buffer.byteLength(body)).toBe(1025);
    const a = await postJson(t, path, body);
    expect(a.status).toBe(413);
    expect(a.body.error_description).toMatch(/1024/);
  });
});
