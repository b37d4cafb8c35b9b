// Auth0's SPA SDK (@auth0/auth0-spa-js, the published bundle, unmodified) in a real Chromium
// against a real `sesame start` (issue #13). Sesame runs on http://localhost:PORT with the issuer
// in Auth0's form (`http://localhost:PORT/`, trailing slash: the SDK checks `iss` = `<domain>/`);
// a tiny static server here serves the test page and the SDK bundle on another port of localhost
// (a secure context, so Web Crypto works). The CLI registers a spa application (callback, logout
// URL and web origin on that port, first-party so no consent page), an API and a person.
//
// The page only exposes the SDK to the test: every step is a call the SDK's own README shows
// (loginWithRedirect, handleRedirectCallback, getUser, getTokenSilently, logout). What the SDK
// sent and got is read from Chromium's network events (the page, its hidden iframe and the
// SDK's token worker), and the CORS preflights from the DevTools protocol.
import { readFileSync } from 'node:fs';

import { join } from 'node:path';
import type { Browser, BrowserContext, CDPSession, Page, Request } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from '../support/databases.js';
import { describePage, launchChromium, serveFiles } from './browser.js';
import { assertBuilt, freePort, ROOT, runCliJson, type SesameProcess, startSesame } from './process.js';

const EMAIL = 'margaret@example.com';
const PASSWORD = 'correct horse battery staple';
const NAME = 'Margaret Hamilton';
const API = 'https://api.example.test/things';
const API_SCOPE = 'read:things';
/** What the refresh client asks for (the SDK adds offline_access; a scope given replaces its default). */
const REFRESH_SCOPE = `openid profile email ${API_SCOPE}`;
const SDK_BUNDLE = join(ROOT, 'node_modules', '@auth0', 'auth0-spa-js', 'dist', 'auth0-spa-js.production.js');

/**
 * The test page. `__CONFIG__` is replaced by the server with {domain, clientId, audience, scope}.
 * Clients: `iframe` (the SDK's defaults: memory cache, silent auth in a hidden iframe), `refresh`
 * (useRefreshTokens in memory: the SDK's token worker holds the refresh token; asks for the API),
 * `json` (useFormData: false: JSON bodies to /oauth/token). `spa.call` awaits a method and
 * returns {ok} or {error, description} (after handleRedirectCallback it also drops code and state
 * from the address, as the SDK's README shows); `spa.start` starts one that navigates away.
 */
const PAGE = `<!doctype html>
<html><head><meta charset="utf-8"><title>Auth0 SPA SDK test page</title>
<script src="/auth0-spa-js.production.js"></script>
</head><body>
<h1>Auth0 SPA SDK test page</h1>
<script>
const CONFIG = __CONFIG__;
const clients = {};
function options(kind) {
  const redirect_uri = location.origin + '/';
  const base = { domain: CONFIG.domain, clientId: CONFIG.clientId, authorizationParams: { redirect_uri } };
  if (kind === 'refresh') {
    return Object.assign({}, base, {
      useRefreshTokens: true,
      cacheLocation: 'memory',
      authorizationParams: { redirect_uri, audience: CONFIG.audience, scope: CONFIG.scope },
    });
  }
  if (kind === 'json') return Object.assign({}, base, { useFormData: false });
  return base;
}
function client(kind) {
  if (!clients[kind]) clients[kind] = new auth0.Auth0Client(options(kind));
  return clients[kind];
}
function failure(e) {
  return { error: (e && (e.error || e.name)) || String(e), description: e && (e.error_description || e.message) };
}
window.spa = {
  async create(kind) {
    try { clients[kind] = await auth0.createAuth0Client(options(kind)); return { ok: true }; }
    catch (e) { return failure(e); }
  },
  async call(kind, method, args) {
    try {
      const ok = await client(kind)[method](...args);
      // What the SDK's README has an app do after the callback: drop code and state from the URL.
      if (method === 'handleRedirectCallback') history.replaceState({}, document.title, '/');
      return { ok: ok === undefined ? null : ok };
    }
    catch (e) { return failure(e); }
  },
  start(kind, method, args) {
    window.started = client(kind)[method](...args).catch((e) => { window.startError = failure(e); });
  },
  async fetchJson(url, init) {
    try { const res = await fetch(url, init); return { ok: { status: res.status, body: await res.text() } }; }
    catch (e) { return failure(e); }
  },
};
</script>
</body></html>`;

/** What `spa.call` answers. */
type Outcome<T> =
  | { ok: T; error?: undefined; description?: undefined }
  | { ok?: undefined; error: string; description?: string };

/** The payload of a JWT, unverified (the SDK is what checks ID tokens here). */
function payload(jwt: string): Record<string, unknown> {
  const part = jwt.split('.')[1];
  if (!part) throw new Error(`not a JWT: ${jwt.slice(0, 40)}`);
  return JSON.parse(Buffer.from(part, 'base64url').toString('utf8')) as Record<string, unknown>;
}

/** One request Chromium made to Sesame, with what came back. */
interface Seen {
  request: Request;
  url: URL;
  method: string;
  /** All request headers, as sent (Origin included). */
  headers: Promise<Record<string, string>>;
  body: string;
  /** Status, headers and text of the answer; settles when the answer is in (or failed). */
  response: Promise<{ status: number; headers: Record<string, string>; text: string } | null>;
}

/** A CORS preflight seen through the DevTools protocol. */
interface Preflight {
  url: string;
  requestHeaders: Record<string, string>;
  status?: number;
  responseHeaders?: Record<string, string>;
}

describe('@auth0/auth0-spa-js in Chromium against sesame start', { timeout: 180_000 }, () => {
  let db: TestDatabase | undefined;
  let sesame: SesameProcess | undefined;
  let appServer: { close(): Promise<void> } | undefined;
  let browser: Browser | undefined;
  let context: BrowserContext;
  let domain: string;
  let issuer: string;
  let appOrigin: string;
  /** The same page server under another origin, which no application registered. */
  let strangerOrigin: string;
  let clientId: string;
  let userId: string;
  let page1: Page;
  let page2: Page;
  const seen: Seen[] = [];
  const preflights: Preflight[] = [];
  const cdpSessions: CDPSession[] = [];
  const pageErrors: string[] = [];

  const logs = () =>
    `page errors: ${JSON.stringify(pageErrors)}\nsesame stderr:\n${sesame?.stderr() ?? ''}\nsesame stdout:\n${sesame?.stdout().slice(-4_000) ?? ''}`;

  /** Records every request to Sesame (pages, frames, workers) and the CORS preflights of `page`. */
  async function watch(page: Page): Promise<void> {
    page.on('pageerror', (e) => pageErrors.push(e.message));
    const cdp = await context.newCDPSession(page);
    cdpSessions.push(cdp);
    const byId = new Map<string, Preflight>();
    cdp.on('Network.requestWillBeSent', (e) => {
      if (e.request.method !== 'OPTIONS' || !e.request.url.startsWith(domain)) return;
      const p: Preflight = { url: e.request.url, requestHeaders: lower(e.request.headers) };
      byId.set(e.requestId, p);
      preflights.push(p);
    });
    cdp.on('Network.responseReceived', (e) => {
      const p = byId.get(e.requestId);
      if (!p) return;
      p.status = e.response.status;
      p.responseHeaders = lower(e.response.headers);
    });
    await cdp.send('Network.enable');
  }

  const lower = (h: Record<string, unknown>) =>
    Object.fromEntries(Object.entries(h).map(([k, v]) => [k.toLowerCase(), String(v)]));

  /** The requests seen so far to `path` on Sesame, from `since` on. */
  const requestsTo = (path: string, since = 0) => seen.slice(since).filter((s) => s.url.pathname === path);

  /** Calls `spa.call(kind, method, args)` in `page`. */
  function call<T>(page: Page, kind: string, method: string, ...args: unknown[]): Promise<Outcome<T>> {
    return page.evaluate(
      ([k, m, a]) =>
        (
          globalThis as unknown as {
            spa: { call(k: string, m: string, a: unknown[]): Promise<Outcome<T>> };
          }
        ).spa.call(k, m, a),
      [kind, method, args] as const,
    );
  }

  /** Like `call`, but fails the test with the SDK's error and the logs. */
  async function ok<T>(page: Page, kind: string, method: string, ...args: unknown[]): Promise<T> {
    const out = await call<T>(page, kind, method, ...args);
    if (out.error !== undefined) {
      throw new Error(
        `${kind}.${method}(${JSON.stringify(args)}) failed: ${out.error}: ${out.description}\n${logs()}`,
      );
    }
    return out.ok as T;
  }

  /** Starts a method that navigates away (loginWithRedirect, logout), without awaiting it. */
  async function start(page: Page, kind: string, method: string, ...args: unknown[]): Promise<void> {
    await page.evaluate(
      ([k, m, a]) =>
        (globalThis as unknown as { spa: { start(k: string, m: string, a: unknown[]): void } }).spa.start(
          k,
          m,
          a,
        ),
      [kind, method, args] as const,
    );
  }

  /** Waits until `page` is at `origin` + `path`. */
  async function at(page: Page, origin: string, path: string, what: string): Promise<URL> {
    try {
      await page.waitForURL((u) => u.origin === origin && u.pathname === path, { timeout: 20_000 });
    } catch {
      throw new Error(`${what}: expected ${origin}${path}\n${await describePage(page)}\n${logs()}`);
    }
    return new URL(page.url());
  }

  /** The answer of a recorded request, which must have come. */
  async function answer(s: Seen) {
    const res = await s.response;
    if (!res) throw new Error(`no answer to ${s.method} ${s.url}\n${logs()}`);
    return res;
  }

  beforeAll(async () => {
    assertBuilt();
    db = await createTestDatabase('sqlite');
    const port = await freePort();
    domain = `http://localhost:${port}`;
    issuer = `${domain}/`;
    const env = {
      SESAME_PORT: String(port),
      SESAME_HOST: '127.0.0.1',
      SESAME_ISSUER: issuer,
      SESAME_DATA_DIR: join(db.dataDir, 'data'),
      SESAME_LOG_LEVEL: 'warn',
    };
    sesame = startSesame(env);
    await sesame.waitReady(`http://127.0.0.1:${port}/readyz`);

    const appPort = await freePort();
    appOrigin = `http://localhost:${appPort}`;
    strangerOrigin = `http://127.0.0.1:${appPort}`;

    const user = await runCliJson<{ id: string }>(
      ['users', 'create', '--email', EMAIL, '--password', PASSWORD, '--name', NAME],
      env,
    );
    userId = user.id;
    await runCliJson(
      [
        'apis',
        'create',
        '--name',
        'Things API',
        '--identifier',
        API,
        '--allow-offline-access',
        '--scope',
        `${API_SCOPE}=Read things`,
      ],
      env,
    );
    const app = await runCliJson<{ client_id: string; grant_types: string[]; client_secret?: string }>(
      [
        'apps',
        'create',
        '--name',
        'Auth0 SPA',
        '--type',
        'spa',
        '--callback',
        `${appOrigin}/`,
        '--logout-callback',
        `${appOrigin}/`,
        '--web-origin',
        appOrigin,
        '--grant',
        'authorization_code',
        '--grant',
        'refresh_token',
        '--skip-consent',
        '--allow-offline-access',
      ],
      env,
    );
    expect(app.client_secret).toBeUndefined();
    expect(app.grant_types).toEqual(expect.arrayContaining(['authorization_code', 'refresh_token']));
    clientId = app.client_id;

    const sdk = readFileSync(SDK_BUNDLE);
    const html = PAGE.replace(
      '__CONFIG__',
      JSON.stringify({ domain, clientId, audience: API, scope: REFRESH_SCOPE }).replace(/</g, '\\u003c'),
    );
    appServer = await serveFiles(appPort, {
      '/': { type: 'html', body: html },
      '/auth0-spa-js.production.js': { type: 'js', body: sdk },
    });

    browser = await launchChromium();
    context = await browser.newContext();
    context.setDefaultTimeout(20_000);
    context.setDefaultNavigationTimeout(20_000);
    context.on('request', (request) => {
      const url = new URL(request.url());
      if (url.origin !== domain) return;
      seen.push({
        request,
        url,
        method: request.method(),
        headers: request.allHeaders().catch(() => request.headers()),
        body: request.postData() ?? '',
        response: request
          .response()
          .then(async (res) =>
            res
              ? {
                  status: res.status(),
                  headers: await res.allHeaders(),
                  text: res.status() >= 300 && res.status() < 400 ? '' : await res.text().catch(() => ''),
                }
              : null,
          )
          .catch(() => null),
      });
    });
  }, 120_000);

  afterAll(async () => {
    await Promise.all(cdpSessions.map((s) => s.detach().catch(() => {})));
    await browser?.close().catch(() => {});
    await appServer?.close();
    await sesame?.kill();
    await db?.drop().catch(() => {});
  });

  it('loginWithRedirect → Sesame login page → back → handleRedirectCallback → getUser', async () => {
    page1 = await context.newPage();
    await watch(page1);
    await page1.goto(`${appOrigin}/`);
    const since = seen.length;
    await start(page1, 'iframe', 'loginWithRedirect');
    await at(page1, domain, '/u/login', 'loginWithRedirect shows the login page');

    // The SDK's own /authorize request: PKCE, its auth0Client parameter (ignored by Sesame).
    const [authorize] = requestsTo('/authorize', since);
    expect(authorize, 'a top-level /authorize').toBeDefined();
    const q = authorize?.url.searchParams;
    expect(q?.get('client_id')).toBe(clientId);
    expect(q?.get('redirect_uri')).toBe(`${appOrigin}/`);
    expect(q?.get('response_type')).toBe('code');
    expect(q?.get('code_challenge_method')).toBe('S256');
    expect(q?.get('auth0Client')).toBeTruthy();

    await page1.getByLabel('Email').fill(EMAIL);
    await page1.getByLabel('Password').fill(PASSWORD);
    await page1.getByRole('button', { name: 'Sign in' }).click();
    const back = await at(page1, appOrigin, '/', 'after sign-in the browser is back on the app');
    expect(back.searchParams.get('code')).toBeTruthy();
    expect(back.searchParams.get('state')).toBe(q?.get('state'));
    expect(back.searchParams.get('iss')).toBe(issuer);

    const before = seen.length;
    await ok(page1, 'iframe', 'handleRedirectCallback');
    const user = await ok<Record<string, unknown>>(page1, 'iframe', 'getUser');
    expect(user).toMatchObject({ sub: userId, email: EMAIL, name: NAME });
    const claims = await ok<Record<string, unknown>>(page1, 'iframe', 'getIdTokenClaims');
    expect(claims.iss).toBe(issuer);
    expect(claims.aud).toBe(clientId);
    expect(await ok<boolean>(page1, 'iframe', 'isAuthenticated')).toBe(true);

    // The code exchange: a form body with the Auth0-Client header (so preflighted), answered
    // with this origin in Access-Control-Allow-Origin and never with credentials.
    const exchanges = requestsTo('/oauth/token', before).filter((s) => s.method === 'POST');
    expect(exchanges).toHaveLength(1);
    const exchange = exchanges[0] as Seen;
    const sentHeaders = await exchange.headers;
    expect(sentHeaders.origin).toBe(appOrigin);
    expect(sentHeaders['auth0-client']).toBeTruthy();
    expect(new URLSearchParams(exchange.body).get('grant_type')).toBe('authorization_code');
    const res = await answer(exchange);
    expect(res.status).toBe(200);
    expect(res.headers['access-control-allow-origin']).toBe(appOrigin);
    expect(res.headers['access-control-allow-credentials']).toBeUndefined();
    const tokens = JSON.parse(res.text) as Record<string, unknown>;
    expect(typeof tokens.id_token).toBe('string');
    expect(payload(tokens.id_token as string).iss).toBe(issuer);
  });

  it('getTokenSilently with an audience goes through the hidden iframe (web_message, prompt=none)', async () => {
    const since = seen.length;
    const token = await ok<string>(page1, 'iframe', 'getTokenSilently', {
      authorizationParams: { audience: API, scope: API_SCOPE },
    });
    const claims = payload(token);
    expect([claims.aud].flat()).toContain(API);
    expect(claims.iss).toBe(issuer);
    expect(claims.sub).toBe(userId);
    expect(String(claims.scope).split(' ')).toContain(API_SCOPE);

    // No navigation of the page itself: a frame loaded /authorize with web_message and prompt=none.
    expect(page1.url()).toMatch(new RegExp(`^${appOrigin}/`));
    const silent = requestsTo('/authorize', since);
    expect(silent).toHaveLength(1);
    const s = silent[0] as Seen;
    expect(s.request.isNavigationRequest()).toBe(true);
    expect(s.request.frame()).not.toBe(page1.mainFrame());
    expect(s.url.searchParams.get('response_mode')).toBe('web_message');
    expect(s.url.searchParams.get('prompt')).toBe('none');
    expect(s.url.searchParams.get('audience')).toBe(API);
    const page = await answer(s);
    expect(page.status).toBe(200);
    expect(page.headers['content-security-policy']).toMatch(
      new RegExp(`frame-ancestors [^;]*${appOrigin.replace(/[.]/g, '\\.')}`),
    );
    expect(page.headers['x-frame-options']).toBeUndefined();

    // Then the code went to /oauth/token, cross-origin, and the answer was readable.
    const exchanges = requestsTo('/oauth/token', since).filter((r) => r.method === 'POST');
    expect(exchanges).toHaveLength(1);
    const res = await answer(exchanges[0] as Seen);
    expect(res.status).toBe(200);
    expect(res.headers['access-control-allow-origin']).toBe(appOrigin);

    // A second call is answered from the SDK's cache: no new request.
    const count = seen.length;
    expect(
      await ok<string>(page1, 'iframe', 'getTokenSilently', {
        authorizationParams: { audience: API, scope: API_SCOPE },
      }),
    ).toBe(token);
    expect(seen.length).toBe(count);
  });

  // Reads the preflights Chromium sent for the SDK's token calls of the two tests above.
  it('the token calls are preflighted (Auth0-Client) and the preflight allows this origin', async () => {
    const toToken = preflights.filter((p) => new URL(p.url).pathname === '/oauth/token');
    expect(toToken.length, 'Chromium sent a preflight for /oauth/token').toBeGreaterThan(0);
    for (const p of toToken) {
      expect(p.requestHeaders.origin).toBe(appOrigin);
      expect(p.requestHeaders['access-control-request-method']).toBe('POST');
      expect(p.requestHeaders['access-control-request-headers']).toMatch(/auth0-client/i);
      expect(p.status).toBe(204);
      expect(p.responseHeaders?.['access-control-allow-origin']).toBe(appOrigin);
      expect(p.responseHeaders?.['access-control-allow-headers']).toMatch(/auth0-client/i);
      expect(p.responseHeaders?.['access-control-allow-methods']).toMatch(/POST/);
      expect(p.responseHeaders?.['access-control-allow-credentials']).toBeUndefined();
    }
  });

  it('useRefreshTokens (token worker): each refresh sends the last refresh token and gets a new one, and a new ID token', async () => {
    // The refresh client signs in with its own redirect: SSO, so no login page.
    const since = seen.length;
    await start(page1, 'refresh', 'loginWithRedirect');
    await page1.waitForURL((u) => u.origin === appOrigin && u.searchParams.has('code'), { timeout: 20_000 });
    expect(requestsTo('/u/login', since)).toEqual([]);
    const authorize = requestsTo('/authorize', since)[0];
    expect(authorize?.url.searchParams.get('scope')?.split(' ')).toEqual(
      expect.arrayContaining(['openid', 'offline_access', API_SCOPE]),
    );
    expect(authorize?.url.searchParams.get('audience')).toBe(API);

    const before = seen.length;
    await ok(page1, 'refresh', 'handleRedirectCallback');
    expect(await ok<Record<string, unknown>>(page1, 'refresh', 'getUser')).toMatchObject({
      sub: userId,
      email: EMAIL,
    });
    const exchange = requestsTo('/oauth/token', before).filter((s) => s.method === 'POST');
    expect(exchange, 'the code exchange, made by the worker').toHaveLength(1);
    // The SDK runs its token calls in a worker of its own (a blob: URL), which keeps the refresh token.
    expect(page1.workers().map((w) => w.url())).toEqual([expect.stringMatching(/^blob:/)]);
    const first = JSON.parse((await answer(exchange[0] as Seen)).text) as Record<string, string>;
    expect(first.refresh_token, 'the code exchange gave a refresh token').toBeTruthy();

    let last = first.refresh_token as string;
    const used = new Set([last]);
    for (let i = 0; i < 3; i++) {
      const from = seen.length;
      const got = await ok<{ access_token: string; id_token: string; refresh_token?: string }>(
        page1,
        'refresh',
        'getTokenSilently',
        {
          cacheMode: 'off',
          detailedResponse: true,
        },
      );
      const calls = requestsTo('/oauth/token', from).filter((s) => s.method === 'POST');
      expect(calls, `refresh ${i + 1}: one token request`).toHaveLength(1);
      expect(requestsTo('/authorize', from), `refresh ${i + 1}: no iframe`).toEqual([]);
      const call = calls[0] as Seen;
      expect((await call.headers)['auth0-client']).toBeTruthy();
      const sent = new URLSearchParams(call.body);
      expect(sent.get('grant_type')).toBe('refresh_token');
      expect(sent.get('refresh_token'), `refresh ${i + 1} sends the latest refresh token`).toBe(last);
      const res = await answer(call);
      expect(res.status, res.text).toBe(200);
      expect(res.headers['access-control-allow-origin']).toBe(appOrigin);
      const body = JSON.parse(res.text) as Record<string, string>;
      expect(body.refresh_token, `refresh ${i + 1} rotates`).toBeTruthy();
      expect(used.has(body.refresh_token as string), `refresh ${i + 1} gives a new refresh token`).toBe(
        false,
      );
      used.add(body.refresh_token as string);
      last = body.refresh_token as string;

      expect(typeof body.id_token).toBe('string');
      expect(got.refresh_token, 'the worker keeps the refresh token from the page').toBeUndefined();
      expect(got.id_token).toBe(body.id_token);
      expect(got.access_token).toBe(body.access_token);
      expect([payload(got.access_token).aud].flat()).toContain(API);
      // The SDK re-read the new ID token: its claims are the ones of this answer.
      const claims = await ok<Record<string, unknown>>(page1, 'refresh', 'getIdTokenClaims');
      expect(claims.__raw).toBe(body.id_token);
      expect(claims.iss).toBe(issuer);
      expect(await ok<Record<string, unknown>>(page1, 'refresh', 'getUser')).toMatchObject({
        sub: userId,
        email: EMAIL,
        name: NAME,
      });
    }
  });

  it('useFormData: false sends JSON bodies to /oauth/token, and they work', async () => {
    const since = seen.length;
    const token = await ok<string>(page1, 'json', 'getTokenSilently', {
      authorizationParams: { audience: API },
    });
    expect([payload(token).aud].flat()).toContain(API);
    const calls = requestsTo('/oauth/token', since).filter((s) => s.method === 'POST');
    expect(calls).toHaveLength(1);
    const call = calls[0] as Seen;
    expect((await call.headers)['content-type']).toMatch(/^application\/json/);
    expect(JSON.parse(call.body)).toMatchObject({ grant_type: 'authorization_code', client_id: clientId });
    expect((await answer(call)).headers['access-control-allow-origin']).toBe(appOrigin);
  });

  it('a second tab is signed in through SSO: createAuth0Client finds the session, no login page', async () => {
    page2 = await context.newPage();
    await watch(page2);
    await page2.goto(`${appOrigin}/`);
    const since = seen.length;
    const created = await page2.evaluate(
      (k) => (globalThis as unknown as { spa: { create(k: string): Promise<Outcome<true>> } }).spa.create(k),
      'iframe',
    );
    expect(created).toEqual({ ok: true });
    expect(await ok<boolean>(page2, 'iframe', 'isAuthenticated')).toBe(true);
    expect(await ok<Record<string, unknown>>(page2, 'iframe', 'getUser')).toMatchObject({
      sub: userId,
      email: EMAIL,
    });
    const token = await ok<string>(page2, 'iframe', 'getTokenSilently', {
      authorizationParams: { audience: API },
    });
    expect([payload(token).aud].flat()).toContain(API);

    expect(page2.url()).toBe(`${appOrigin}/`);
    expect(requestsTo('/u/login', since)).toEqual([]);
    const silent = requestsTo('/authorize', since);
    expect(silent.length).toBeGreaterThan(0);
    for (const s of silent) {
      expect(s.url.searchParams.get('prompt')).toBe('none');
      expect(s.url.searchParams.get('response_mode')).toBe('web_message');
      expect(s.request.frame()).not.toBe(page2.mainFrame());
    }
  });

  it('logout goes through /v2/logout and back to the app; then getTokenSilently answers login_required', async () => {
    const since = seen.length;
    // The next load event of page 1 is that of the page the logout lands on.
    const loaded = page1.waitForEvent('load', { timeout: 20_000 });
    await start(page1, 'iframe', 'logout', { logoutParams: { returnTo: `${appOrigin}/` } });
    await loaded;
    expect(page1.url()).toBe(`${appOrigin}/`);
    const logouts = requestsTo('/v2/logout', since);
    expect(logouts).toHaveLength(1);
    const l = logouts[0] as Seen;
    expect(l.request.isNavigationRequest()).toBe(true);
    expect(l.url.searchParams.get('client_id')).toBe(clientId);
    expect(l.url.searchParams.get('returnTo')).toBe(`${appOrigin}/`);
    const res = await answer(l);
    expect(res.status).toBe(303);
    expect(res.headers.location).toBe(`${appOrigin}/`);
    const landing = l.request.redirectedTo();
    expect(landing?.url()).toBe(`${appOrigin}/`);
    expect((await landing?.response())?.status()).toBe(200);

    // A fresh client on the page it landed on: the session at Sesame is gone.
    const from = seen.length;
    const after = await call<string>(page1, 'iframe', 'getTokenSilently');
    expect(after).toMatchObject({ error: 'login_required' });
    const silent = requestsTo('/authorize', from);
    expect(silent).toHaveLength(1);
    expect(silent[0]?.url.searchParams.get('prompt')).toBe('none');
    expect((await answer(silent[0] as Seen)).text).toContain('login_required');
    expect(await ok<unknown>(page1, 'iframe', 'getUser')).toBeNull();

    // The other tab still holds tokens in memory, but Sesame no longer signs it in.
    const other = await call<string>(page2, 'iframe', 'getTokenSilently', { cacheMode: 'off' });
    expect(other).toMatchObject({ error: 'login_required' });
  });

  it('CORS from the browser: discovery from any origin; token errors readable by a registered origin only', async () => {
    const tokenInit = (body: string) => ({
      method: 'POST',
      headers: {
        'Content-Type': 'application/x-www-form-urlencoded',
        'Auth0-Client': Buffer.from('{"name":"test","version":"0"}').toString('base64'),
      },
      body,
    });
    const fetchIn = (page: Page, url: string, init?: unknown) =>
      page.evaluate(
        ([u, i]) =>
          (
            globalThis as unknown as {
              spa: { fetchJson(u: string, i: unknown): Promise<Outcome<{ status: number; body: string }>> };
            }
          ).spa.fetchJson(u, i),
        [url, init] as const,
      );
    const bad = `grant_type=refresh_token&client_id=${encodeURIComponent(clientId)}&refresh_token=not-a-token`;

    // The registered origin reads the error (so an SPA sees invalid_grant).
    const mine = await fetchIn(page1, `${domain}/oauth/token`, tokenInit(bad));
    expect(mine.error, mine.description).toBeUndefined();
    expect(mine.ok?.status).toBe(400);
    expect(JSON.parse(mine.ok?.body ?? '{}')).toEqual({
      error: 'invalid_grant',
      error_description: 'Unknown or invalid refresh token.',
    });
    const discovery = await fetchIn(page1, `${domain}/.well-known/openid-configuration`);
    const meta = JSON.parse(discovery.ok?.body ?? '{}') as Record<string, unknown>;
    expect(meta.issuer).toBe(issuer);
    expect(meta.response_modes_supported).toContain('web_message');

    // A page of an origin no application registered: discovery and JWKS yes, the token endpoint no.
    const stranger = await context.newPage();
    await watch(stranger);
    await stranger.goto(`${strangerOrigin}/`);
    const meta2 = await fetchIn(stranger, `${domain}/.well-known/openid-configuration`);
    expect(meta2.ok?.status).toBe(200);
    const jwks = await fetchIn(stranger, `${domain}/.well-known/jwks.json`);
    expect(jwks.ok?.status).toBe(200);
    const theirs = await fetchIn(stranger, `${domain}/oauth/token`, tokenInit(bad));
    expect(theirs).toMatchObject({ error: 'TypeError' });
    const blocked = preflights.filter(
      (p) => p.requestHeaders.origin === strangerOrigin && new URL(p.url).pathname === '/oauth/token',
    );
    expect(blocked.length).toBeGreaterThan(0);
    for (const p of blocked) expect(p.responseHeaders?.['access-control-allow-origin']).toBeUndefined();
    await stranger.close();
  });
});
