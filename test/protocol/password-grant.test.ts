import { createLocalJWKSet, decodeJwt, type JSONWebKeySet, jwtVerify } from 'jose';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createUser, setBlocked } from '../../src/admin/users.js';
import type { ConfigInput } from '../../src/config/schema.js';
import { openRuntime, type Runtime } from '../../src/runtime.js';
import { createServer } from '../../src/server.js';
import type { Api, User } from '../../src/storage/types.js';
import { startTestApp, type TestApp } from '../support/app.js';
import { describeEachBackend } from '../support/databases.js';

/** RFC 6749 §4.3: the resource owner password credentials grant, and its throttling. */

const PASSWORD = 'correct horse battery staple';
const WRONG = 'not the right password';
const CALLBACK = 'https://legacy.example/cb';
const NATIVE_CALLBACK = 'com.example.legacy:/cb';
/** The body every refused credential gets: one message, whatever was wrong (no user enumeration). */
const GENERIC = { error: 'invalid_grant', error_description: 'wrong username or password' };

type Fields = Record<string, string>;
type Fetch = TestApp['fetch'];

interface TokenBody {
  access_token?: string;
  token_type?: string;
  expires_in?: number;
  id_token?: string;
  refresh_token?: string;
  scope?: string;
  error?: string;
  error_description?: string;
}

/** What a token request got back, with the body read once. */
interface Answer {
  status: number;
  headers: Headers;
  text: string;
  body: TokenBody;
}

interface Client {
  clientId: string;
  clientSecret?: string;
}

const basic = (c: Client) =>
  `Basic ${Buffer.from(`${encodeURIComponent(c.clientId)}:${encodeURIComponent(c.clientSecret ?? '')}`).toString('base64')}`;

const formInit = (fields: Fields, headers: Record<string, string> = {}): RequestInit => ({
  method: 'POST',
  headers: { 'content-type': 'application/x-www-form-urlencoded', ...headers },
  body: new URLSearchParams(fields).toString(),
});

/** POSTs `fields` to the token endpoint through `fetch` and reads the answer. */
async function tokenRequest(
  t: TestApp,
  fields: Fields,
  headers: Record<string, string> = {},
  fetch: Fetch = t.fetch,
): Promise<Answer> {
  const res = await fetch(`${t.issuer}/oauth/token`, formInit(fields, headers));
  const text = await res.text();
  let body: TokenBody = {};
  try {
    body = JSON.parse(text) as TokenBody;
  } catch {
    // asserted by the caller through `text`
  }
  return { status: res.status, headers: res.headers, text, body };
}

/**
 * A password grant request for `client`: client_secret_basic by default for confidential
 * clients, client_secret_post with `post`, client_id alone for public ones.
 */
function passwordGrant(
  t: TestApp,
  client: Client,
  fields: Fields,
  opts: { post?: boolean; fetch?: Fetch } = {},
): Promise<Answer> {
  const form: Fields = { grant_type: 'password', ...fields };
  const headers: Record<string, string> = {};
  if (client.clientSecret === undefined) form.client_id = client.clientId;
  else if (opts.post) Object.assign(form, { client_id: client.clientId, client_secret: client.clientSecret });
  else headers.authorization = basic(client);
  return tokenRequest(t, form, headers, opts.fetch);
}

const show = (a: Answer) => `${a.status} ${a.text}`;

function expectOk(a: Answer): TokenBody {
  expect(a.status, show(a)).toBe(200);
  expect(a.headers.get('cache-control')).toContain('no-store');
  expect(a.body.access_token).toEqual(expect.any(String));
  expect(a.body.token_type).toBe('Bearer');
  return a.body;
}

function expectError(a: Answer, error: string, description?: RegExp): void {
  expect(a.status, show(a)).toBe(400);
  expect(a.body.error, show(a)).toBe(error);
  if (description) expect(a.body.error_description).toMatch(description);
  expect(a.body.access_token).toBeUndefined();
}

/** The generic refusal, byte for byte. */
function expectGeneric(a: Answer): void {
  expect(a.status, show(a)).toBe(400);
  expect(a.headers.get('retry-after')).toBeNull();
  expect(JSON.parse(a.text)).toEqual(GENERIC);
}

/** A lock: 429, Retry-After in seconds, and still error invalid_grant (RFC 6585 §4). */
function expectLocked(a: Answer, retryAfter?: number): void {
  expect(a.status, show(a)).toBe(429);
  expect(a.body.error).toBe('invalid_grant');
  expect(a.body.access_token).toBeUndefined();
  const header = a.headers.get('retry-after');
  expect(header).toMatch(/^[1-9][0-9]*$/);
  if (retryAfter !== undefined) expect(Number(header)).toBe(retryAfter);
}

async function jwks(t: TestApp): Promise<JSONWebKeySet> {
  const res = await t.fetch(`${t.issuer}/.well-known/jwks.json`);
  expect(res.status).toBe(200);
  return (await res.json()) as JSONWebKeySet;
}

/** Verifies a JWT against the published keys at the test clock's time. */
async function verify(t: TestApp, token: string, audience: string, typ: string, alg: string) {
  const { payload, protectedHeader } = await jwtVerify(token, createLocalJWKSet(await jwks(t)), {
    issuer: t.issuer,
    audience,
    typ,
    algorithms: [alg],
    currentDate: new Date(t.clock.now() * 1000),
  });
  return { payload, protectedHeader };
}

let emails = 0;
/** An email no other test of the file uses. */
const uniqueEmail = (tag = 'person') =>
  `${tag}-${++emails}-${Math.random().toString(36).slice(2, 8)}@example.com`;

/** A user with PASSWORD (or `password`). */
const newUser = (t: TestApp, email = uniqueEmail(), password = PASSWORD): Promise<User> =>
  createUser(t.rt.storage, t.clock, { email, password });

/** A confidential web application with the password grant (and refresh_token unless told). */
const legacyWebApp = (t: TestApp, grants = ['password', 'refresh_token'], allowOfflineAccess = false) =>
  t.createApp({ name: 'Legacy web', type: 'web', callbacks: [CALLBACK], grants, allowOfflineAccess });

/** Sesame's login page, driven with raw requests: GET /authorize, then the form at /u/login. */
class LoginPage {
  private readonly cookies = new Map<string, string>();
  private csrf = '';

  constructor(
    private readonly t: TestApp,
    private readonly fetch: Fetch = t.fetch,
  ) {}

  private async send(path: string, init: RequestInit = {}): Promise<Response> {
    const headers = new Headers(init.headers);
    if (this.cookies.size > 0)
      headers.set('cookie', [...this.cookies].map(([k, v]) => `${k}=${v}`).join('; '));
    const res = await this.fetch(new URL(path, this.t.issuer).toString(), {
      ...init,
      headers,
      redirect: 'manual',
    });
    for (const c of res.headers.getSetCookie()) {
      const [pair = ''] = c.split(';');
      const eq = pair.indexOf('=');
      const name = pair.slice(0, eq).trim();
      const value = pair.slice(eq + 1).trim();
      if (value === '' || /max-age=0/i.test(c)) this.cookies.delete(name);
      else this.cookies.set(name, value);
    }
    return res;
  }

  /** Starts a sign-in for `clientId` and loads the login form. */
  async open(clientId: string): Promise<void> {
    const q = new URLSearchParams({
      client_id: clientId,
      redirect_uri: CALLBACK,
      response_type: 'code',
      scope: 'openid',
      state: 'st',
      nonce: 'n',
      // PKCE is required of every client (#14 §11); this page is never completed
      code_challenge: 'E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM',
      code_challenge_method: 'S256',
    });
    const res = await this.send(`/authorize?${q}`);
    const body = await res.text();
    expect(res.status, body).toBe(303);
    const location = res.headers.get('location') ?? '';
    expect(new URL(location, this.t.issuer).pathname).toBe('/u/login');
    const page = await this.send(location);
    const html = await page.text();
    expect(page.status, html).toBe(200);
    const csrf = /name="csrf" value="([^"]+)"/.exec(html)?.[1];
    if (!csrf) throw new Error(`no csrf field on the login page:\n${html}`);
    this.csrf = csrf;
  }

  /** Submits the login form. */
  async submit(email: string, password: string): Promise<{ status: number; headers: Headers; html: string }> {
    const res = await this.send(
      '/u/login',
      formInit({ csrf: this.csrf, email, password }, { origin: new URL(this.t.issuer).origin }),
    );
    return { status: res.status, headers: res.headers, html: await res.text() };
  }
}

/** Sesame's fetch as seen from a peer at `ip` (the node server's socket address). */
function fromIp(t: TestApp, ip: string): Fetch {
  const app = createServer(t.rt);
  return async (input, init) =>
    app.fetch(new Request(input, init), { incoming: { socket: { remoteAddress: ip } } });
}

describeEachBackend('password grant (RFC 6749 §4.3)', (backend) => {
  describe('tokens and refusals', () => {
    let t: TestApp;
    let api: Api;
    let closedApi: Api;
    let ada: User;
    let web: Client;
    const ADA = 'ada@example.com';

    beforeAll(async () => {
      // every in-process request comes from the same (unknown) address: keep the IP lock out of
      // these tests; it has its own below
      t = await startTestApp(backend, { login: { ipFailures: 100_000 } } as Partial<ConfigInput>);
      api = await t.createApi({ allowOfflineAccess: true, tokenLifetime: 600 });
      closedApi = await t.createApi({ allowOfflineAccess: false });
      ada = await newUser(t, ADA);
      web = await legacyWebApp(t);
    });
    afterAll(async () => t?.close());

    it('client_secret_basic: a JWT access token for the audience, an ID token and a refresh token', async () => {
      const a = await passwordGrant(t, web, {
        username: ADA,
        password: PASSWORD,
        scope: 'openid offline_access read:things',
        audience: api.identifier,
      });
      const body = expectOk(a);
      expect(a.headers.get('content-type')).toMatch(/^application\/json/);
      expect(body.expires_in).toBe(600);
      expect(body.scope).toBe('openid offline_access read:things');
      expect(body.refresh_token).toEqual(expect.any(String));
      const at = await verify(t, body.access_token!, api.identifier, 'at+jwt', 'ES256');
      expect(at.payload).toMatchObject({
        iss: t.issuer,
        sub: ada.id,
        aud: [api.identifier, `${t.issuer}/userinfo`],
        client_id: web.clientId,
        scope: 'openid offline_access read:things',
      });
      const id = await verify(t, body.id_token!, web.clientId, 'JWT', 'RS256');
      expect(id.payload).toMatchObject({ iss: t.issuer, sub: ada.id, aud: web.clientId });
      expect(id.payload.auth_time).toBe(t.clock.now());
    });

    it('client_secret_post works the same; without openid there is no ID token', async () => {
      const a = await passwordGrant(
        t,
        web,
        { username: ADA, password: PASSWORD, scope: 'read:things write:things', audience: api.identifier },
        { post: true },
      );
      const body = expectOk(a);
      expect(body.id_token).toBeUndefined();
      expect(body.refresh_token).toBeUndefined();
      expect(body.scope).toBe('read:things write:things');
      const at = await verify(t, body.access_token!, api.identifier, 'at+jwt', 'ES256');
      expect(at.payload.sub).toBe(ada.id);
      expect(at.payload.scope).toBe('read:things write:things');
    });

    it('`resource` (RFC 8707) names the API like `audience`', async () => {
      const body = expectOk(
        await passwordGrant(t, web, { username: ADA, password: PASSWORD, resource: api.identifier }),
      );
      expect(decodeJwt(body.access_token!).aud).toBe(api.identifier);
    });

    it('a public native application with grants [password] authenticates by client_id alone', async () => {
      const native = await t.createApp({
        name: 'Legacy native',
        type: 'native',
        callbacks: [NATIVE_CALLBACK],
        grants: ['password'],
      });
      expect(native.clientSecret).toBeUndefined();
      const a = await passwordGrant(t, native, {
        username: ADA,
        password: PASSWORD,
        scope: 'openid offline_access read:things',
        audience: api.identifier,
      });
      const body = expectOk(a);
      const at = await verify(t, body.access_token!, api.identifier, 'at+jwt', 'ES256');
      expect(at.payload).toMatchObject({ sub: ada.id, client_id: native.clientId });
      const id = await verify(t, body.id_token!, native.clientId, 'JWT', 'RS256');
      expect(id.payload.sub).toBe(ada.id);
      // --grant replaces the defaults: without refresh_token, offline_access gives no refresh token
      expect(body.refresh_token).toBeUndefined();
      // a public client that sends a secret is refused
      const withSecret = await tokenRequest(t, {
        grant_type: 'password',
        username: ADA,
        password: PASSWORD,
        client_id: native.clientId,
        client_secret: 'made-up',
      });
      expect(withSecret.status, show(withSecret)).toBe(401);
      expect(withSecret.body.error).toBe('invalid_client');
    });

    it('the username is normalised: trimmed and lowercased', async () => {
      const body = expectOk(
        await passwordGrant(t, web, {
          username: ' Ada@Example.COM ',
          password: PASSWORD,
          scope: 'openid',
          audience: api.identifier,
        }),
      );
      expect(decodeJwt(body.access_token!).sub).toBe(ada.id);
      expect(decodeJwt(body.id_token!).sub).toBe(ada.id);
    });

    it('without an audience the access token is for userinfo', async () => {
      const body = expectOk(
        await passwordGrant(t, web, { username: ADA, password: PASSWORD, scope: 'openid' }),
      );
      const at = await verify(t, body.access_token!, `${t.issuer}/userinfo`, 'at+jwt', 'ES256');
      expect(at.payload.sub).toBe(ada.id);
      const info = await t.fetch(`${t.issuer}/userinfo`, {
        headers: { authorization: `Bearer ${body.access_token}` },
      });
      expect(info.status).toBe(200);
      expect(((await info.json()) as { sub: string }).sub).toBe(ada.id);
    });

    describe('a refresh token only with offline_access and an API (or app) that allows offline access', () => {
      const cases: {
        name: string;
        scope: string;
        audience: 'open' | 'closed' | 'none';
        appOffline: boolean;
        refresh: boolean;
      }[] = [
        {
          name: 'offline_access, API allows',
          scope: 'offline_access read:things',
          audience: 'open',
          appOffline: false,
          refresh: true,
        },
        {
          name: 'offline_access, API allows, app also allows',
          scope: 'openid offline_access',
          audience: 'open',
          appOffline: true,
          refresh: true,
        },
        {
          name: 'offline_access, API does not allow',
          scope: 'openid offline_access read:things',
          audience: 'closed',
          appOffline: false,
          refresh: false,
        },
        {
          name: 'offline_access, API does not allow, even if the app does',
          scope: 'openid offline_access',
          audience: 'closed',
          appOffline: true,
          refresh: false,
        },
        {
          name: 'no offline_access, API allows',
          scope: 'openid read:things',
          audience: 'open',
          appOffline: false,
          refresh: false,
        },
        {
          name: 'openid-only, app allows',
          scope: 'openid offline_access',
          audience: 'none',
          appOffline: true,
          refresh: true,
        },
        {
          name: 'openid-only, app does not allow',
          scope: 'openid offline_access',
          audience: 'none',
          appOffline: false,
          refresh: false,
        },
        {
          name: 'openid-only, app allows, no offline_access',
          scope: 'openid',
          audience: 'none',
          appOffline: true,
          refresh: false,
        },
      ];
      for (const c of cases) {
        it(`${c.name}: ${c.refresh ? 'refresh token' : 'none'}`, async () => {
          const app = await legacyWebApp(t, ['password', 'refresh_token'], c.appOffline);
          const fields: Fields = { username: ADA, password: PASSWORD, scope: c.scope };
          if (c.audience !== 'none') fields.audience = (c.audience === 'open' ? api : closedApi).identifier;
          const body = expectOk(await passwordGrant(t, app, fields));
          // offline_access is reported only with the refresh token it stands for
          const reported = c.refresh ? c.scope : c.scope.replace(/ ?offline_access/, '');
          expect(body.scope).toBe(reported);
          expect(decodeJwt(body.access_token!).scope).toBe(reported);
          if (c.refresh) expect(body.refresh_token).toEqual(expect.any(String));
          else expect(body.refresh_token).toBeUndefined();
        });
      }
    });

    it('the refresh token from a password grant refreshes (and rotates)', async () => {
      const first = expectOk(
        await passwordGrant(t, web, {
          username: ADA,
          password: PASSWORD,
          scope: 'openid offline_access read:things',
          audience: api.identifier,
        }),
      );
      t.clock.advance(60);
      const refreshed = await tokenRequest(
        t,
        { grant_type: 'refresh_token', refresh_token: first.refresh_token! },
        { authorization: basic(web) },
      );
      const body = expectOk(refreshed);
      expect(body.refresh_token).toEqual(expect.any(String));
      expect(body.refresh_token).not.toBe(first.refresh_token);
      expect(body.scope).toBe('openid offline_access read:things');
      const at = await verify(t, body.access_token!, api.identifier, 'at+jwt', 'ES256');
      expect(at.payload).toMatchObject({
        sub: ada.id,
        client_id: web.clientId,
        scope: 'openid offline_access read:things',
      });
      expect(at.payload.iat).toBe(t.clock.now());
      expect(decodeJwt(body.id_token!).sub).toBe(ada.id);
      // the new one works too
      const again = await tokenRequest(
        t,
        { grant_type: 'refresh_token', refresh_token: body.refresh_token!, scope: 'read:things' },
        { authorization: basic(web) },
      );
      expect(expectOk(again).scope).toBe('read:things');
    });

    it('unknown user, wrong password and blocked user get exactly the same 400 invalid_grant', async () => {
      const blocked = await newUser(t, uniqueEmail('blocked'));
      // the blocked user's password is right, and works before the block
      expectOk(await passwordGrant(t, web, { username: blocked.email, password: PASSWORD }));
      await setBlocked(t.rt.storage, t.clock, blocked.id, true);
      const other = await newUser(t, uniqueEmail('wrong'));
      const answers = [
        await passwordGrant(t, web, { username: uniqueEmail('nobody'), password: PASSWORD }),
        await passwordGrant(t, web, { username: other.email, password: WRONG }),
        await passwordGrant(t, web, { username: blocked.email, password: PASSWORD }),
        await passwordGrant(t, web, { username: other.email, password: WRONG }, { post: true }),
      ];
      for (const a of answers) expectGeneric(a);
      const [first, ...rest] = answers;
      for (const a of rest) {
        expect(a.text).toBe(first!.text);
        expect(a.headers.get('content-type')).toBe(first!.headers.get('content-type'));
        expect(a.headers.get('cache-control')).toBe(first!.headers.get('cache-control'));
      }
    });

    it("a sign-in counts in the user's logins_count, last_login and last_ip; a refused one does not", async () => {
      const u = await newUser(t, uniqueEmail('counted'));
      expectGeneric(await passwordGrant(t, web, { username: u.email, password: WRONG }));
      expect(await t.rt.storage.users.get(u.id)).not.toHaveProperty('loginsCount');
      const from = fromIp(t, '192.0.2.44');
      expectOk(await passwordGrant(t, web, { username: u.email, password: PASSWORD }, { fetch: from }));
      t.clock.advance(5);
      expectOk(await passwordGrant(t, web, { username: u.email, password: PASSWORD })); // in-process: no address
      expectGeneric(await passwordGrant(t, web, { username: u.email, password: WRONG }));
      const after = await t.rt.storage.users.get(u.id);
      expect(after).toMatchObject({ loginsCount: 2, lastLogin: t.clock.now() });
      expect(after).not.toHaveProperty('lastIp');
      expect(after?.updatedAt).toBe(u.updatedAt);
      expectOk(await passwordGrant(t, web, { username: u.email, password: PASSWORD }, { fetch: from }));
      expect(await t.rt.storage.users.get(u.id)).toMatchObject({ loginsCount: 3, lastIp: '192.0.2.44' });
      // a dual-stack socket's IPv4-mapped address is kept as the IPv4 address
      const mapped = fromIp(t, '::ffff:198.51.100.23');
      expectOk(await passwordGrant(t, web, { username: u.email, password: PASSWORD }, { fetch: mapped }));
      expect(await t.rt.storage.users.get(u.id)).toMatchObject({ loginsCount: 4, lastIp: '198.51.100.23' });
    });

    // emails are at most 320 characters: these name no account, so they are unknown users
    it.each([
      ['of 412 characters', `${'x'.repeat(400)}@example.com`],
      ['of 5012 characters', `${'y'.repeat(5000)}@example.com`],
    ])('an unknown username %s gets the same invalid_grant (not 500)', async (_, username) => {
      expectGeneric(await passwordGrant(t, web, { username, password: WRONG }));
      // and it still counts as a failure: after the fifth, that username waits (the first delay)
      for (let i = 0; i < 4; i++) expectGeneric(await passwordGrant(t, web, { username, password: WRONG }));
      expectLocked(await passwordGrant(t, web, { username, password: WRONG }), 15);
    });

    it('a NUL byte in the username is invalid_request naming the parameter, not a server error', async () => {
      const res = await passwordGrant(t, web, { username: 'ada\u0000@example.com', password: WRONG });
      expect(res.status).toBe(400);
      expect(res.body.error).toBe('invalid_request');
      expect(res.body.error_description).toMatch(/username/);
    });

    it('a password over 1024 bytes is invalid_grant, not a server error; 1024 bytes is fine', async () => {
      const long = await newUser(t, uniqueEmail('long'), 'p'.repeat(1024));
      expectOk(await passwordGrant(t, web, { username: long.email, password: 'p'.repeat(1024) }));
      expectGeneric(await passwordGrant(t, web, { username: long.email, password: 'p'.repeat(1025) }));
      // bytes, not characters: 513 × 'é' is 1026 bytes
      expectGeneric(await passwordGrant(t, web, { username: ADA, password: 'é'.repeat(513) }));
      expectGeneric(
        await passwordGrant(t, web, { username: ADA, password: `${PASSWORD}${'x'.repeat(5000)}` }),
      );
    });

    it('an application without the password grant is unauthorized_client, even with the right password', async () => {
      const plain = await t.createApp({ name: 'Plain web', type: 'web', callbacks: [CALLBACK] });
      expectError(
        await passwordGrant(t, plain, { username: ADA, password: PASSWORD }),
        'unauthorized_client',
        /grant_type password/,
      );
      const spa = await t.createApp({
        name: 'Plain spa',
        type: 'spa',
        callbacks: ['https://spa.example/cb'],
      });
      expectError(
        await passwordGrant(t, spa, { username: ADA, password: PASSWORD }),
        'unauthorized_client',
        /grant_type password/,
      );
    });

    it('a wrong client secret is invalid_client (401), whatever the user', async () => {
      const a = await passwordGrant(
        t,
        { clientId: web.clientId, clientSecret: 'wrong-secret' },
        {
          username: ADA,
          password: PASSWORD,
        },
      );
      expect(a.status, show(a)).toBe(401);
      expect(a.body.error).toBe('invalid_client');
      expect(a.headers.get('www-authenticate')).toMatch(/^Basic /);
    });

    it('a missing username or password is invalid_request naming it', async () => {
      expectError(await passwordGrant(t, web, { password: PASSWORD }), 'invalid_request', /username/);
      expectError(await passwordGrant(t, web, { username: ADA }), 'invalid_request', /password/);
      expectError(
        await passwordGrant(t, web, { username: '', password: PASSWORD }),
        'invalid_request',
        /username/,
      );
      expectError(
        await passwordGrant(t, web, { username: ADA, password: '' }),
        'invalid_request',
        /password/,
      );
    });

    it('an unknown scope is invalid_scope naming it', async () => {
      expectError(
        await passwordGrant(t, web, {
          username: ADA,
          password: PASSWORD,
          scope: 'openid delete:everything',
          audience: api.identifier,
        }),
        'invalid_scope',
        /delete:everything/,
      );
      // an API's scope without its audience is unknown too
      expectError(
        await passwordGrant(t, web, { username: ADA, password: PASSWORD, scope: 'openid read:things' }),
        'invalid_scope',
        /read:things/,
      );
    });

    it('an unknown audience is invalid_target', async () => {
      expectError(
        await passwordGrant(t, web, {
          username: ADA,
          password: PASSWORD,
          scope: 'openid',
          audience: 'https://api.unknown.example/',
        }),
        'invalid_target',
        /api\.unknown\.example/,
      );
      expectError(
        await passwordGrant(t, web, { username: ADA, password: PASSWORD, resource: 'https://nope.example/' }),
        'invalid_target',
      );
    });
  });

  describe('throttling (login.accountFailures 5, ipFailures 20, accountCeiling 100, lockSeconds 900; #14 §2)', () => {
    const apps: TestApp[] = [];
    const runtimes: Runtime[] = [];
    afterAll(async () => {
      for (const rt of runtimes) await rt.storage.close();
      for (const t of apps) await t.close();
    });

    /** A fresh Sesame with the default login limits, a password app and a user. */
    async function fresh(config: Partial<ConfigInput> = {}) {
      const t = await startTestApp(backend, config);
      apps.push(t);
      const app = await legacyWebApp(t);
      const user = await newUser(t);
      return { t, app, user };
    }

    it('after 5 failures from one address the account waits there (429, Retry-After 15) even for the right password, until the delay passes', async () => {
      const { t, app, user } = await fresh();
      expect(t.rt.config.login).toMatchObject({
        accountFailures: 5,
        ipFailures: 20,
        accountCeiling: 100,
        lockSeconds: 900,
      });
      for (let i = 0; i < 5; i++) {
        // the lock must not come before the fifth failure
        expectGeneric(await passwordGrant(t, app, { username: user.email, password: `${WRONG} ${i}` }));
      }
      expectLocked(await passwordGrant(t, app, { username: user.email, password: PASSWORD }), 15);
      // the username is normalised for the count too
      expectLocked(
        await passwordGrant(t, app, { username: ` ${user.email.toUpperCase()} `, password: PASSWORD }),
      );
      // a lock is per account: someone else signs in
      const other = await newUser(t);
      expectOk(await passwordGrant(t, app, { username: other.email, password: PASSWORD }));
      t.clock.advance(10);
      expectLocked(await passwordGrant(t, app, { username: user.email, password: PASSWORD }), 5);
      t.clock.advance(4);
      expectLocked(await passwordGrant(t, app, { username: user.email, password: PASSWORD }), 1);
      t.clock.advance(1);
      const body = expectOk(await passwordGrant(t, app, { username: user.email, password: PASSWORD }));
      expect(decodeJwt(body.access_token!).sub).toBe(user.id);
    });

    it('failures from many addresses reach the account ceiling: a never-seen address is locked out, an address the account signed in from is not', async () => {
      const { t, app, user } = await fresh({ login: { accountCeiling: 5 } } as Partial<ConfigInput>);
      const home = fromIp(t, '198.51.100.8');
      expectOk(await passwordGrant(t, app, { username: user.email, password: PASSWORD }, { fetch: home }));
      for (let i = 0; i < 5; i++) {
        const from = fromIp(t, `203.0.113.${i + 1}`);
        expectGeneric(
          await passwordGrant(t, app, { username: user.email, password: WRONG }, { fetch: from }),
        );
      }
      expectLocked(
        await passwordGrant(
          t,
          app,
          { username: user.email, password: PASSWORD },
          { fetch: fromIp(t, '198.51.100.7') },
        ),
        900,
      );
      expectOk(await passwordGrant(t, app, { username: user.email, password: PASSWORD }, { fetch: home }));
    });

    it('failures spread over more than login.window do not lock; a success clears the count', async () => {
      const { t, app, user } = await fresh();
      const fail = async () =>
        expectGeneric(await passwordGrant(t, app, { username: user.email, password: WRONG }));
      for (let i = 0; i < 4; i++) await fail();
      t.clock.advance(t.rt.config.login.window + 1);
      for (let i = 0; i < 4; i++) await fail();
      expectOk(await passwordGrant(t, app, { username: user.email, password: PASSWORD }));
      for (let i = 0; i < 4; i++) await fail();
      expectOk(await passwordGrant(t, app, { username: user.email, password: PASSWORD }));
      // and the count does lock within a window
      for (let i = 0; i < 5; i++) await fail();
      expectLocked(await passwordGrant(t, app, { username: user.email, password: PASSWORD }));
    });

    it('20 failures from one address across different usernames lock that address', async () => {
      const { t, app, user } = await fresh();
      const ip = fromIp(t, '192.0.2.10');
      for (let i = 0; i < 20; i++) {
        const a = await passwordGrant(
          t,
          app,
          { username: uniqueEmail('guess'), password: WRONG },
          { fetch: ip },
        );
        expectGeneric(a);
      }
      // a right password for an account never tried from there is refused too
      expectLocked(
        await passwordGrant(t, app, { username: user.email, password: PASSWORD }, { fetch: ip }),
        900,
      );
      // the in-process address (and any other) is not locked
      expectOk(await passwordGrant(t, app, { username: user.email, password: PASSWORD }));
      expectOk(
        await passwordGrant(
          t,
          app,
          { username: user.email, password: PASSWORD },
          { fetch: fromIp(t, '192.0.2.11') },
        ),
      );
      t.clock.advance(900);
      expectOk(await passwordGrant(t, app, { username: user.email, password: PASSWORD }, { fetch: ip }));
    });

    it('the per-IP lock applies to in-process requests too (one address, many usernames)', async () => {
      const { t, app, user } = await fresh();
      for (let i = 0; i < 20; i++) {
        expectGeneric(await passwordGrant(t, app, { username: uniqueEmail('spray'), password: WRONG }));
      }
      expectLocked(await passwordGrant(t, app, { username: user.email, password: PASSWORD }));
    });

    it('failures at the login page (/u/login) count for the password grant', async () => {
      const { t, app, user } = await fresh();
      const site = await t.createApp({ name: 'Site', type: 'web', callbacks: [CALLBACK] });
      const page = new LoginPage(t);
      await page.open(site.clientId);
      for (let i = 0; i < 5; i++) {
        const res = await page.submit(user.email, WRONG);
        expect(res.status, res.html).toBe(400);
        expect(res.html).toContain('Wrong email or password.');
      }
      expectLocked(await passwordGrant(t, app, { username: user.email, password: PASSWORD }), 15);
      // and the login page waits as well
      const locked = await page.submit(user.email, PASSWORD);
      expect(locked.status).toBe(429);
      expect(locked.headers.get('retry-after')).toBe('15');
    });

    it('failures at the password grant lock the login page', async () => {
      const { t, app, user } = await fresh();
      const site = await t.createApp({ name: 'Site', type: 'web', callbacks: [CALLBACK] });
      for (let i = 0; i < 5; i++) {
        expectGeneric(await passwordGrant(t, app, { username: user.email, password: WRONG }));
      }
      const page = new LoginPage(t);
      await page.open(site.clientId);
      const res = await page.submit(user.email, PASSWORD);
      expect(res.status, res.html).toBe(429);
      expect(res.headers.get('retry-after')).toBe('15');
      expect(res.headers.get('location')).toBeNull();
    });

    it('failures mixed between the login page and the grant add up', async () => {
      const { t, app, user } = await fresh();
      const site = await t.createApp({ name: 'Site', type: 'web', callbacks: [CALLBACK] });
      const page = new LoginPage(t);
      await page.open(site.clientId);
      for (let i = 0; i < 3; i++) expect((await page.submit(user.email, WRONG)).status).toBe(400);
      for (let i = 0; i < 2; i++) {
        expectGeneric(await passwordGrant(t, app, { username: user.email, password: WRONG }));
      }
      expectLocked(await passwordGrant(t, app, { username: user.email, password: PASSWORD }));
    });

    it('the throttle is shared by instances on the same database', async () => {
      const { t, app, user } = await fresh();
      const rt2 = await openRuntime(t.rt.config, { clock: t.clock, logger: pino({ level: 'silent' }) });
      runtimes.push(rt2);
      const second = createServer(rt2);
      const fetch2: Fetch = async (input, init) => second.fetch(new Request(input, init));
      // the second instance serves the grant by itself
      expectOk(await passwordGrant(t, app, { username: user.email, password: PASSWORD }, { fetch: fetch2 }));
      for (let i = 0; i < 3; i++) {
        expectGeneric(await passwordGrant(t, app, { username: user.email, password: WRONG }));
      }
      for (let i = 0; i < 2; i++) {
        expectGeneric(
          await passwordGrant(t, app, { username: user.email, password: WRONG }, { fetch: fetch2 }),
        );
      }
      expectLocked(await passwordGrant(t, app, { username: user.email, password: PASSWORD }), 15);
      expectLocked(
        await passwordGrant(t, app, { username: user.email, password: PASSWORD }, { fetch: fetch2 }),
        15,
      );
      t.clock.advance(15);
      expectOk(await passwordGrant(t, app, { username: user.email, password: PASSWORD }, { fetch: fetch2 }));
    });

    it('login.accountFailures and login.lockSeconds (the longest delay) are read from config', async () => {
      const { t, app, user } = await fresh({
        login: { accountFailures: 2, lockSeconds: 10 },
      } as Partial<ConfigInput>);
      expectGeneric(await passwordGrant(t, app, { username: user.email, password: WRONG }));
      expectGeneric(await passwordGrant(t, app, { username: user.email, password: WRONG }));
      expectLocked(await passwordGrant(t, app, { username: user.email, password: PASSWORD }), 10);
      t.clock.advance(10);
      expectOk(await passwordGrant(t, app, { username: user.email, password: PASSWORD }));
    });
  });
});
