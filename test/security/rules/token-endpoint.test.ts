import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { killAll } from '../../e2e/process.js';
import { type Credentials, csrfOf, inInteraction } from '../../protocol/sign-in/agent.js';
import { describeEachBackend } from '../../support/databases.js';
import {
  authorizeUrl,
  basicAuth,
  type Client,
  codeFor,
  expectError,
  type JsonAnswer,
  launch,
  newApp,
  newUser,
  postForm,
  type Sesame,
  s256,
  token,
} from './server.js';

// RFC 6749 §5.1 / §5.2: every token response, success or error, for every grant type, is
// `Cache-Control: no-store`. RFC 6750 §2.3 / RFC 9700 §4.3.2: access tokens are never taken
// from the query string. RFC 6749 §2.3.1: one authentication method per request; a wrong
// secret is 401 invalid_client with WWW-Authenticate; Basic credentials are form-url-decoded.

const CALLBACK = 'https://app.example/cb';
const API = 'https://api.example/orders';
const DEVICE = 'urn:ietf:params:oauth:grant-type:device_code';

/** Every character as %XX: what a client that escapes everything would send (RFC 6749 Appendix B). */
const escapeAll = (value: string) =>
  [...Buffer.from(value, 'utf8')].map((b) => `%${b.toString(16).toUpperCase().padStart(2, '0')}`).join('');

function expectNoStore(answer: { status: number; headers: Headers }, what: string): void {
  expect(answer.headers.get('cache-control'), `${what} (${answer.status})`).toMatch(
    /(^|,)\s*no-store\s*(,|$)/,
  );
  expect(answer.headers.get('content-type'), what).toMatch(/^application\/json/);
}

// every `sesame` this file started is gone at the end, even after a failed beforeAll
afterAll(() => killAll());

describeEachBackend('security rules: the token endpoint (running server)', (backend) => {
  let s: Sesame;
  let web: Client;
  let creds: Credentials;

  beforeAll(async () => {
    s = await launch(backend);
    [web, creds] = await Promise.all([
      newApp(s, 'web', [
        '--callback',
        CALLBACK,
        '--allow-offline-access',
        ...['authorization_code', 'refresh_token', 'client_credentials', 'password', 'device_code'].flatMap(
          (g) => ['--grant', g],
        ),
      ]),
      newUser(s),
      s.cli([
        'apis',
        'create',
        '--name',
        'Orders',
        '--identifier',
        API,
        '--scope',
        'read:orders=Read orders',
      ]),
    ]);
    await s.cli(['apps', 'authorize', web.clientId, '--api', API, '--scope', 'read:orders']);
  });
  afterAll(async () => s?.stop());

  /** A code for the web app; its verifier. */
  async function code() {
    const verifier = randomBytes(32).toString('base64url');
    const value = await codeFor(
      s.agent(creds),
      authorizeUrl(s, {
        client_id: web.clientId,
        redirect_uri: CALLBACK,
        scope: 'openid offline_access',
        code_challenge: s256(verifier),
        code_challenge_method: 'S256',
      }),
    );
    return { code: value, verifier };
  }

  describe('Cache-Control: no-store on every token response, errors included', () => {
    it('authorization_code: the tokens, and invalid_grant', async () => {
      const c = await code();
      const ok = await token(s, web, {
        grant_type: 'authorization_code',
        code: c.code,
        code_verifier: c.verifier,
        redirect_uri: CALLBACK,
      });
      expect(ok.status, JSON.stringify(ok.body)).toBe(200);
      expectNoStore(ok, 'authorization_code');
      const replay = await token(s, web, {
        grant_type: 'authorization_code',
        code: c.code,
        code_verifier: c.verifier,
        redirect_uri: CALLBACK,
      });
      expectError(replay, 400, 'invalid_grant');
      expectNoStore(replay, 'authorization_code replay');
    });

    it('refresh_token: the tokens, and invalid_grant', async () => {
      const c = await code();
      const first = await token(s, web, {
        grant_type: 'authorization_code',
        code: c.code,
        code_verifier: c.verifier,
        redirect_uri: CALLBACK,
      });
      const ok = await token(s, web, {
        grant_type: 'refresh_token',
        refresh_token: first.body.refresh_token as string,
      });
      expect(ok.status, JSON.stringify(ok.body)).toBe(200);
      expectNoStore(ok, 'refresh_token');
      const bad = await token(s, web, { grant_type: 'refresh_token', refresh_token: 'not-a-refresh-token' });
      expectError(bad, 400, 'invalid_grant');
      expectNoStore(bad, 'refresh_token error');
    });

    it('client_credentials: the token, and invalid_target / invalid_scope', async () => {
      const ok = await token(s, web, { grant_type: 'client_credentials', audience: API });
      expect(ok.status, JSON.stringify(ok.body)).toBe(200);
      expectNoStore(ok, 'client_credentials');
      const target = await token(s, web, {
        grant_type: 'client_credentials',
        audience: 'https://api.example/none',
      });
      expect(target.status).toBe(400);
      expectNoStore(target, 'client_credentials unknown audience');
      const scope = await token(s, web, {
        grant_type: 'client_credentials',
        audience: API,
        scope: 'write:orders',
      });
      expect(scope.status).toBe(400);
      expectNoStore(scope, 'client_credentials scope');
    });

    it('password: the tokens, and invalid_grant', async () => {
      const ok = await token(s, web, {
        grant_type: 'password',
        username: creds.email,
        password: creds.password,
        scope: 'openid',
      });
      expect(ok.status, JSON.stringify(ok.body)).toBe(200);
      expectNoStore(ok, 'password');
      const bad = await token(s, web, {
        grant_type: 'password',
        username: creds.email,
        password: 'wrong password',
        scope: 'openid',
      });
      expectError(bad, 400, 'invalid_grant');
      expectNoStore(bad, 'password error');
    });

    it('device_code: authorization_pending, then the tokens, then invalid_grant', async () => {
      const start = await postForm(s, '/oauth/device/code', {
        client_id: web.clientId,
        client_secret: web.clientSecret as string,
        scope: 'openid',
      });
      expect(start.status, JSON.stringify(start.body)).toBe(200);
      expectNoStore({ status: start.status, headers: start.headers }, 'device authorization');
      const dc = start.body.device_code as string;
      const pending = await token(s, web, { grant_type: DEVICE, device_code: dc });
      expectError(pending, 400, 'authorization_pending');
      expectNoStore(pending, 'device_code pending');
      // a person approves it at /activate
      const agent = s.agent(creds);
      expect((await agent.get('/activate')).headers.get('location')).toEqual(inInteraction('/u/login'));
      const login = await agent.get('/u/login');
      expect((await agent.post('/u/login', { csrf: csrfOf(await login.text()), ...creds })).status).toBe(303);
      const csrf = csrfOf(await (await agent.get('/activate')).text());
      const confirm = await agent.post('/activate', { csrf, user_code: start.body.user_code as string });
      const confirmCsrf = csrfOf(await confirm.text());
      const done = await agent.post('/activate/confirm', {
        csrf: confirmCsrf,
        user_code: start.body.user_code as string,
        decision: 'allow',
      });
      expect(done.status).toBe(200);
      const ok = await token(s, web, { grant_type: DEVICE, device_code: dc });
      expect(ok.status, JSON.stringify(ok.body)).toBe(200);
      expectNoStore(ok, 'device_code');
      const again = await token(s, web, { grant_type: DEVICE, device_code: dc });
      expectError(again, 400, 'invalid_grant');
      expectNoStore(again, 'device_code used');
    });

    /** POST /oauth/token with a raw body (GET when null): status and headers. */
    async function rawPost(body: string | null, contentType = 'application/x-www-form-urlencoded') {
      const res = await s.fetch(
        `${s.issuer}/oauth/token`,
        body === null ? {} : { method: 'POST', headers: { 'content-type': contentType }, body },
      );
      await res.arrayBuffer();
      return { status: res.status, headers: res.headers };
    }

    it('errors before any grant: invalid_client, unsupported_grant_type, invalid_request, a wrong method, a body too large', async () => {
      const answers: [string, JsonAnswer | { status: number; headers: Headers }][] = [
        [
          'invalid_client',
          await token(
            s,
            { clientId: web.clientId, clientSecret: 'wrong' },
            { grant_type: 'client_credentials' },
          ),
        ],
        ['unsupported_grant_type', await token(s, web, { grant_type: 'urn:example:nope' })],
        ['missing grant_type', await token(s, web, {})],
        ['repeated parameter', await rawPost('grant_type=client_credentials&grant_type=password')],
        ['text/plain body', await rawPost('grant_type=client_credentials', 'text/plain')],
        ['GET', await rawPost(null)],
        ['a body over the limit', await rawPost(`grant_type=client_credentials&x=${'a'.repeat(70_000)}`)],
      ];
      expect(answers.map(([w, a]) => [w, a.status])).toEqual([
        ['invalid_client', 401],
        ['unsupported_grant_type', 400],
        ['missing grant_type', 400],
        ['repeated parameter', 400],
        ['text/plain body', 400],
        ['GET', 405],
        ['a body over the limit', 413],
      ]);
      for (const [what, a] of answers) expectNoStore(a, what);
    });
  });

  describe('/userinfo never takes the access token from the query (RFC 9700 §4.3.2)', () => {
    it('GET and POST with ?access_token= → 401 with WWW-Authenticate: Bearer; the header works (the control)', async () => {
      const ok = await token(s, web, {
        grant_type: 'password',
        username: creds.email,
        password: creds.password,
        scope: 'openid',
      });
      const at = ok.body.access_token as string;
      const viaHeader = await s.fetch(`${s.issuer}/userinfo`, { headers: { authorization: `Bearer ${at}` } });
      expect(viaHeader.status).toBe(200);
      expect(((await viaHeader.json()) as { sub: string }).sub).toBeTruthy();
      for (const method of ['GET', 'POST']) {
        const res = await s.fetch(`${s.issuer}/userinfo?access_token=${encodeURIComponent(at)}`, {
          method,
          ...(method === 'POST'
            ? { headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: '' }
            : {}),
        });
        const body = await res.text();
        expect(res.status, `${method}: ${body}`).toBe(401);
        expect(res.headers.get('www-authenticate'), method).toMatch(/^Bearer /);
        expect(body).not.toContain(creds.email);
      }
    });
  });

  describe('client authentication (RFC 6749 §2.3.1)', () => {
    const cc = { grant_type: 'client_credentials', audience: API };

    it('Basic and a body secret together → 400 invalid_request, no token', async () => {
      const res = await postForm(
        s,
        '/oauth/token',
        { ...cc, client_secret: web.clientSecret as string },
        { basic: web },
      );
      expectError(res, 400, 'invalid_request');
      expectNoStore(res, 'two methods');
      expect(res.body.access_token).toBeUndefined();
      // even when both carry the right secret and the body also names the client
      const both = await postForm(
        s,
        '/oauth/token',
        { ...cc, client_id: web.clientId, client_secret: web.clientSecret as string },
        { basic: web },
      );
      expectError(both, 400, 'invalid_request');
    });

    it('a wrong secret → 401 invalid_client with WWW-Authenticate (Basic and body)', async () => {
      const wrong = { clientId: web.clientId, clientSecret: `${web.clientSecret}x` };
      for (const res of [
        await postForm(s, '/oauth/token', cc, { basic: wrong }),
        await token(s, wrong, cc),
        await token(
          s,
          { clientId: web.clientId, clientSecret: (web.clientSecret as string).slice(0, -1) },
          cc,
        ),
        await postForm(s, '/oauth/token', cc, { basic: { clientId: 'no-such-client', clientSecret: 'x' } }),
      ]) {
        expectError(res, 401, 'invalid_client');
        expect(res.headers.get('www-authenticate')).toMatch(/^Basic realm="sesame"/);
        expect(res.body.access_token).toBeUndefined();
      }
    });

    it('Basic credentials with every character percent-encoded (%41 for A…) are decoded and authenticate', async () => {
      const header = `Basic ${Buffer.from(`${escapeAll(web.clientId)}:${escapeAll(web.clientSecret as string)}`).toString('base64')}`;
      const res = await postForm(s, '/oauth/token', cc, { headers: { authorization: header } });
      expect(res.status, JSON.stringify(res.body)).toBe(200);
      expect(typeof res.body.access_token).toBe('string');
      // the plain form works too (the control), and one escaped character changed does not
      expect(
        (
          await postForm(s, '/oauth/token', cc, {
            headers: { authorization: basicAuth(web.clientId, web.clientSecret as string) },
          })
        ).status,
      ).toBe(200);
      const secret = web.clientSecret as string;
      const changed = `${escapeAll(secret.slice(0, -1))}%${(secret.charCodeAt(secret.length - 1) ^ 1).toString(16).toUpperCase()}`;
      const bad = `Basic ${Buffer.from(`${escapeAll(web.clientId)}:${changed}`).toString('base64')}`;
      expectError(
        await postForm(s, '/oauth/token', cc, { headers: { authorization: bad } }),
        401,
        'invalid_client',
      );
    });

    it('Basic with a malformed % escape → 401 invalid_client, not a crash', async () => {
      const secret = web.clientSecret as string;
      for (const broken of [`${secret}%`, `${secret}%zz`, `%E0%A4%A${secret}`, `${secret}%FF`]) {
        const header = `Basic ${Buffer.from(`${web.clientId}:${broken}`).toString('base64')}`;
        expectError(
          await postForm(s, '/oauth/token', cc, { headers: { authorization: header } }),
          401,
          'invalid_client',
        );
      }
    });
  });
});
