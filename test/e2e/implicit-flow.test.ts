// The implicit flow in a real browser (OIDC Core §3.2): `sesame start` as a process, the CLI to
// register a person and a spa application allowed the implicit grant, a tiny static callback page
// (node:http, here) that reads location.hash, and Chromium driven through /authorize with
// response_type=id_token token: login page, consent page, then back to the callback, where the
// fragment is read and its ID token validated against the real JWKS; the access token then opens
// /userinfo. A second sign-in uses form_post, so the auto-submitting form runs in the browser.
import { createHash, randomBytes } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import { join } from 'node:path';
import { createRemoteJWKSet, jwtVerify } from 'jose';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from '../support/databases.js';
import { describePage, launchChromium } from './browser.js';
import { assertBuilt, freePort, runCliJson, type SesameProcess, startSesame } from './process.js';

const TEST_TIMEOUT = 60_000;
const EMAIL = 'grace@example.com';
const PASSWORD = 'correct horse battery staple';
const NAME = 'Grace Hopper';

/** The callback page: shows the fragment it was given; no cookies, no requests of its own. */
const CALLBACK_PAGE = `<!doctype html>
<html><head><meta charset="utf-8"><title>callback</title></head>
<body>
<h1>Callback</h1>
<pre id="fragment"></pre>
<script>document.getElementById('fragment').textContent = location.hash.slice(1) || '(empty)';</script>
</body></html>`;

/** The page a form_post lands on: shows the posted body. */
const postedPage = (body: string) => `<!doctype html>
<html><head><meta charset="utf-8"><title>posted</title></head>
<body><pre id="posted">${body.replace(/&/g, '&amp;').replace(/</g, '&lt;')}</pre></body></html>`;

/** OIDC Core §3.1.3.6 at_hash for RS256: left half of SHA-256 of the ASCII token, base64url. */
const atHash = (token: string) =>
  createHash('sha256').update(Buffer.from(token, 'ascii')).digest().subarray(0, 16).toString('base64url');

const random = () => randomBytes(16).toString('base64url');

interface CreatedApp {
  client_id: string;
  grant_types: string[];
  client_secret?: string;
}

describe('implicit flow in Chromium: id_token token to a static callback page', () => {
  let db: TestDatabase | undefined;
  let sesame: SesameProcess | undefined;
  let callbackServer: Server | undefined;
  let browser: Browser | undefined;
  let context: BrowserContext;
  let issuer: string;
  let callback: string;
  let userId: string;
  let app: CreatedApp;
  /** Every request the callback server received: method, URL, body. */
  const received: { method: string; url: string; body: string }[] = [];

  /** Script errors of the pages Chromium showed (e.g. Sesame's form_post page), for failure messages. */
  const pageErrors: string[] = [];
  const logs = () => `page errors: ${JSON.stringify(pageErrors)}\nsesame stderr:\n${sesame?.stderr() ?? ''}`;
  /** The requests that reached the callback path (the browser also asks for /favicon.ico). */
  const toCallback = () => received.filter((r) => r.url.startsWith('/cb'));

  beforeAll(async () => {
    assertBuilt();
    db = await createTestDatabase('sqlite');
    const port = await freePort();
    issuer = `http://127.0.0.1:${port}`;
    const env = {
      SESAME_PORT: String(port),
      SESAME_HOST: '127.0.0.1',
      SESAME_ISSUER: issuer,
      SESAME_DATA_DIR: join(db.dataDir, 'data'),
      SESAME_LOG_LEVEL: 'warn',
    };
    sesame = startSesame(env);
    await sesame.waitReady(`${issuer}/readyz`);

    const cbPort = await freePort();
    callback = `http://127.0.0.1:${cbPort}/cb`;
    callbackServer = createServer((req, res) => {
      let body = '';
      req.setEncoding('utf8');
      req.on('data', (d: string) => {
        body += d;
      });
      req.on('end', () => {
        received.push({ method: req.method ?? '', url: req.url ?? '', body });
        const path = new URL(req.url ?? '/', callback).pathname;
        if (path !== '/cb') {
          res.writeHead(404, { 'content-type': 'text/plain' }).end('not found');
          return;
        }
        const html = req.method === 'POST' ? postedPage(body) : CALLBACK_PAGE;
        res
          .writeHead(200, { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store' })
          .end(html);
      });
    });
    await new Promise<void>((resolve, reject) => {
      callbackServer?.once('error', reject);
      callbackServer?.listen(cbPort, '127.0.0.1', () => resolve());
    });

    const user = await runCliJson<{ id: string }>(
      ['users', 'create', '--email', EMAIL, '--password', PASSWORD, '--name', NAME],
      env,
    );
    userId = user.id;
    app = await runCliJson<CreatedApp>(
      [
        'apps',
        'create',
        '--name',
        'Implicit SPA',
        '--type',
        'spa',
        '--grant',
        'authorization_code',
        '--grant',
        'implicit',
        '--callback',
        callback,
      ],
      env,
    );
    browser = await launchChromium();
    context = await browser.newContext();
    context.setDefaultTimeout(15_000);
    context.setDefaultNavigationTimeout(15_000);
    context.on('page', (p) => p.on('pageerror', (err) => pageErrors.push(`${p.url()}: ${err.message}`)));
  }, 120_000);

  afterAll(async () => {
    await browser?.close().catch(() => {});
    await new Promise<void>((resolve) =>
      callbackServer ? callbackServer.close(() => resolve()) : resolve(),
    );
    await sesame?.kill();
    await db?.drop().catch(() => {});
  });

  /** Waits until the page is at `origin` + `path`. */
  async function at(page: Page, url: string, what: string): Promise<void> {
    const want = new URL(url);
    try {
      await page.waitForURL((u) => u.origin === want.origin && u.pathname === want.pathname);
    } catch {
      throw new Error(`${what}: expected ${url}\n${await describePage(page)}\n${logs()}`);
    }
  }

  const authorizeUrl = (params: Record<string, string>) =>
    `${issuer}/authorize?${new URLSearchParams({
      client_id: app.client_id,
      redirect_uri: callback,
      scope: 'openid profile email',
      ...params,
    })}`;

  /** Verifies an ID token against the JWKS Sesame publishes over real HTTP. */
  const verifyIdToken = (idToken: string) =>
    jwtVerify(idToken, createRemoteJWKSet(new URL(`${issuer}/.well-known/jwks.json`)), {
      issuer,
      audience: app.client_id,
      algorithms: ['RS256'],
    });

  it('registers the spa application with the implicit grant through the CLI', async () => {
    expect(app.grant_types).toEqual(['authorization_code', 'implicit']);
    expect(app.client_secret).toBeUndefined();
    const meta = (await (await fetch(`${issuer}/.well-known/openid-configuration`)).json()) as Record<
      string,
      unknown
    >;
    expect(meta.response_types_supported).toEqual(expect.arrayContaining(['id_token token', 'id_token']));
  });

  it(
    'signs in with response_type=id_token token: login, consent, tokens in the fragment only',
    async () => {
      const nonce = random();
      const state = random();
      const page = await context.newPage();
      await page.goto(authorizeUrl({ response_type: 'id_token token', nonce, state }));
      await at(page, `${issuer}/u/login`, 'the authorization request shows the login page');
      await page.getByLabel('Email').fill(EMAIL);
      await page.getByLabel('Password').fill(PASSWORD);
      await page.getByRole('button', { name: 'Sign in' }).click();
      await at(page, `${issuer}/u/consent`, 'after login, the consent page');
      await page.getByRole('button', { name: 'Allow' }).click();
      await at(page, callback, 'after Allow, the browser is back on the callback page');

      // The page's own script read location.hash.
      const shown = page.locator('#fragment');
      await expect.poll(() => shown.innerText(), { timeout: 10_000 }).not.toBe('');
      const text = await shown.innerText();
      expect(text).not.toBe('(empty)');
      expect(text).toBe(new URL(page.url()).hash.slice(1));
      const fragment = new URLSearchParams(text);
      expect([...fragment.keys()].sort()).toEqual(
        ['access_token', 'expires_in', 'id_token', 'iss', 'scope', 'state', 'token_type'].sort(),
      );
      expect(fragment.get('state')).toBe(state);
      expect(fragment.get('iss')).toBe(issuer);
      expect(fragment.get('token_type')).toBe('Bearer');
      expect(fragment.get('expires_in')).toBe('900');
      expect(new URL(page.url()).search).toBe('');

      // The fragment never reached the callback server: it saw one GET /cb with no query.
      expect(toCallback()).toEqual([{ method: 'GET', url: '/cb', body: '' }]);

      const accessToken = fragment.get('access_token') as string;
      const { payload, protectedHeader } = await verifyIdToken(fragment.get('id_token') as string);
      expect(protectedHeader.alg).toBe('RS256');
      expect(payload).toMatchObject({ iss: issuer, aud: app.client_id, sub: userId, nonce });
      expect(payload.at_hash).toBe(atHash(accessToken));
      expect(payload.auth_time).toEqual(expect.any(Number));
      expect(payload.sid).toEqual(expect.any(String));
      // With an access token returned, the profile claims come from /userinfo, not the ID token.
      expect(payload).not.toHaveProperty('email');

      const res = await fetch(`${issuer}/userinfo`, { headers: { authorization: `Bearer ${accessToken}` } });
      expect(res.status).toBe(200);
      expect(await res.json()).toMatchObject({ sub: userId, name: NAME, email: EMAIL });
      await page.close();
    },
    TEST_TIMEOUT,
  );

  it(
    'signs in again with response_mode=form_post: the auto-submitting form posts the tokens (SSO, no pages)',
    async () => {
      received.length = 0;
      const nonce = random();
      const state = random();
      const page = await context.newPage();
      await page.goto(
        authorizeUrl({ response_type: 'id_token token', response_mode: 'form_post', nonce, state }),
      );
      await at(page, callback, 'the form posts to the callback');
      const posted = page.locator('#posted');
      await posted.waitFor({ state: 'visible' });
      const body = new URLSearchParams(await posted.innerText());
      expect(toCallback().map((r) => `${r.method} ${r.url}`)).toEqual(['POST /cb']);
      expect(Object.fromEntries(new URLSearchParams(toCallback()[0]?.body))).toEqual(
        Object.fromEntries(body),
      );
      expect(body.get('state')).toBe(state);
      expect(body.get('iss')).toBe(issuer);
      const { payload } = await verifyIdToken(body.get('id_token') as string);
      expect(payload.nonce).toBe(nonce);
      expect(payload.at_hash).toBe(atHash(body.get('access_token') as string));
      const res = await fetch(`${issuer}/userinfo`, {
        headers: { authorization: `Bearer ${body.get('access_token')}` },
      });
      expect(res.status).toBe(200);
      await page.close();
    },
    TEST_TIMEOUT,
  );
});
