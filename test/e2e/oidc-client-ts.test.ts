// oidc-client-ts 3.5.0, unmodified (its browser bundle, global `oidc`), in Chromium against a real
// Sesame process (issue #13: the generic OIDC libraries work against Sesame unmodified).
//
// The test page is served by a tiny node:http server on another port of localhost (a secure
// context, so Web Crypto works for PKCE); its origin is the callback's, the logout URL's and a
// registered web origin of a spa application. Every call the library makes to Sesame is
// cross-origin: discovery, the token endpoint, /userinfo (with an Authorization header, so a
// preflight). The page: signinRedirect → Sesame's login and consent → signinRedirectCallback
// (with loadUserInfo) → signinSilent, which uses the refresh token → signoutRedirect, with the
// ID token as hint, back to the page; the Sesame session is then gone.
//
// Sesame's issuer here is the form without a trailing slash (node-sdks.test.ts runs Auth0's form).
import { readFileSync } from 'node:fs';

import { join } from 'node:path';
import { decodeJwt } from 'jose';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from '../support/databases.js';
import { describePage, launchChromium, serveFiles } from './browser.js';
import { assertBuilt, freePort, ROOT, runCliJson, type SesameProcess, startSesame } from './process.js';

const TEST_TIMEOUT = 90_000;
const EMAIL = 'katherine@example.com';
const PASSWORD = 'correct horse battery staple';
const NAME = 'Katherine Johnson';
const SCOPE = 'openid profile email offline_access';

const BUNDLE = readFileSync(
  join(ROOT, 'node_modules', 'oidc-client-ts', 'dist', 'browser', 'oidc-client-ts.js'),
);

/**
 * The single-page app: one page for `/`, `/callback` and `/signed-out`, which does what its path
 * says. `#status` tells where it is, `#user` shows the user oidc-client-ts holds.
 */
const appPage = (settings: Record<string, string>) => `<!doctype html>
<html><head><meta charset="utf-8"><title>oidc-client-ts test page</title>
<script src="/oidc-client-ts.js"></script></head>
<body>
<p id="status">loading</p>
<pre id="user"></pre>
<p id="signout-state"></p>
<button id="signin">Sign in</button> <button id="signout">Sign out</button>
<script>
const settings = ${JSON.stringify(settings)};
const mgr = new oidc.UserManager({ ...settings, loadUserInfo: true, automaticSilentRenew: false });
window.mgr = mgr;
window.describeUser = (u) => u && {
  profile: u.profile, access_token: u.access_token, refresh_token: u.refresh_token,
  id_token: u.id_token, scope: u.scope, token_type: u.token_type, expires_at: u.expires_at,
};
function show(status, user) {
  document.getElementById('user').textContent = JSON.stringify(window.describeUser(user) || null);
  document.getElementById('status').textContent = status;
}
const fail = (e) => show('error: ' + (e && e.message), null);
document.getElementById('signin').onclick = () => mgr.signinRedirect().catch(fail);
// state: data oidc-client-ts keeps under the state parameter and hands back after the logout
document.getElementById('signout').onclick = () =>
  mgr.signoutRedirect({ state: 'back from Sesame' }).catch(fail);
(async () => {
  if (location.pathname === '/callback') {
    show('signed in', await mgr.signinRedirectCallback());
  } else if (location.pathname === '/signed-out') {
    const response = await mgr.signoutRedirectCallback();
    document.getElementById('signout-state').textContent = String(response.userState);
    show('signed out', await mgr.getUser());
  } else {
    const user = await mgr.getUser();
    show(user ? 'signed in' : 'anonymous', user);
  }
})().catch(fail);
</script>
</body></html>`;

/** What the page shows of oidc-client-ts's User. */
interface ShownUser {
  profile: Record<string, unknown>;
  access_token: string;
  refresh_token?: string;
  id_token?: string;
  scope?: string;
  token_type: string;
  expires_at?: number;
}

/** A request the browser made, with what came back. */
interface Seen {
  method: string;
  url: string;
  body: string | null;
  status?: number;
  headers?: Record<string, string>;
}

describe('oidc-client-ts in Chromium, from another origin', () => {
  let db: TestDatabase | undefined;
  let sesame: SesameProcess | undefined;
  let pageServer: { close(): Promise<void> } | undefined;
  let browser: Browser | undefined;
  let context: BrowserContext;
  let page: Page;
  /** `http://localhost:PORT`, exactly as configured. */
  let issuer: string;
  let discovery: Record<string, string | string[]>;
  /** The test page's origin, `http://localhost:PORT2`. */
  let appOrigin: string;
  let userId: string;
  let clientId: string;
  const seen: Seen[] = [];
  const pageErrors: string[] = [];
  const consoleErrors: string[] = [];
  const logs = () =>
    `page errors: ${JSON.stringify(pageErrors)}\nconsole errors: ${JSON.stringify(consoleErrors)}\n` +
    `sesame stderr:\n${sesame?.stderr() ?? ''}`;

  /** The user the sign-in gave, and the one the refresh gave. */
  let signedIn: ShownUser;
  let refreshed: ShownUser;

  beforeAll(async () => {
    assertBuilt();
    db = await createTestDatabase('sqlite');
    const port = await freePort();
    issuer = `http://localhost:${port}`;
    const env = {
      SESAME_PORT: String(port),
      SESAME_HOST: '127.0.0.1',
      SESAME_ISSUER: issuer,
      SESAME_DATA_DIR: join(db.dataDir, 'data'),
      SESAME_LOG_LEVEL: 'warn',
    };
    sesame = startSesame(env);
    await sesame.waitReady(`${issuer}/readyz`);
    discovery = (await (await fetch(`${issuer}/.well-known/openid-configuration`)).json()) as Record<
      string,
      string | string[]
    >;

    userId = (
      await runCliJson<{ id: string }>(
        ['users', 'create', '--email', EMAIL, '--password', PASSWORD, '--name', NAME],
        env,
      )
    ).id;

    const pagePort = await freePort();
    appOrigin = `http://localhost:${pagePort}`;
    const app = await runCliJson<{ client_id: string; client_secret?: string }>(
      [
        'apps',
        'create',
        '--name',
        'oidc-client-ts SPA',
        '--type',
        'spa',
        '--callback',
        `${appOrigin}/callback`,
        '--logout-callback',
        `${appOrigin}/signed-out`,
        '--web-origin',
        appOrigin,
        '--allow-offline-access',
      ],
      env,
    );
    expect(app.client_secret).toBeUndefined();
    clientId = app.client_id;

    const html = appPage({
      authority: issuer,
      client_id: clientId,
      redirect_uri: `${appOrigin}/callback`,
      post_logout_redirect_uri: `${appOrigin}/signed-out`,
      scope: SCOPE,
      response_type: 'code',
    });
    const spa = { type: 'html', body: html } as const;
    pageServer = await serveFiles(pagePort, {
      '/oidc-client-ts.js': { type: 'js', body: BUNDLE },
      '/': spa,
      '/callback': spa,
      '/signed-out': spa,
    });

    browser = await launchChromium();
    context = await browser.newContext();
    context.setDefaultTimeout(20_000);
    context.setDefaultNavigationTimeout(20_000);
    context.on('request', (r) => seen.push({ method: r.method(), url: r.url(), body: r.postData() }));
    context.on('response', async (r) => {
      const entry = seen.findLast((s) => s.url === r.url() && s.method === r.request().method());
      if (entry) {
        entry.status = r.status();
        entry.headers = await r.allHeaders().catch(() => ({}));
      }
    });
    context.on('page', (p) => {
      p.on('pageerror', (err) => pageErrors.push(`${p.url()}: ${err.message}`));
      p.on('console', (m) => {
        if (m.type() === 'error') consoleErrors.push(`${p.url()}: ${m.text()}`);
      });
    });
    page = await context.newPage();
  }, 180_000);

  afterAll(async () => {
    await browser?.close().catch(() => {});
    await pageServer?.close();
    await sesame?.kill();
    await db?.drop().catch(() => {});
  });

  /** Waits until the page is at `origin` + `path`. */
  async function at(origin: string, path: string, what: string): Promise<void> {
    try {
      await page.waitForURL((u) => u.origin === origin && u.pathname === path, { timeout: 20_000 });
    } catch {
      throw new Error(`${what}: expected ${origin}${path}\n${await describePage(page)}\n${logs()}`);
    }
  }

  /** Waits until the test page's `#status` is `status` (fails at once on "error: …"). */
  async function status(want: string, what: string): Promise<void> {
    const el = page.locator('#status');
    try {
      await page.waitForFunction(
        `(() => { const t = document.getElementById('status')?.textContent ?? '';
          return t === ${JSON.stringify(want)} || t.startsWith('error:'); })()`,
        undefined,
        { timeout: 20_000 },
      );
    } catch {
      throw new Error(`${what}: the page never showed "${want}"\n${await describePage(page)}\n${logs()}`);
    }
    const text = await el.innerText();
    if (text !== want)
      throw new Error(`${what}: the page shows "${text}"\n${await describePage(page)}\n${logs()}`);
  }

  /** The user the page shows. */
  async function shownUser(): Promise<ShownUser | null> {
    return JSON.parse(await page.locator('#user').innerText()) as ShownUser | null;
  }

  /** The requests the browser made to one of Sesame's endpoints. */
  const to = (endpoint: string, method?: string) =>
    seen.filter((s) => s.url.split('?')[0] === endpoint && (method === undefined || s.method === method));

  /** Waits until the response to the last request to `endpoint` has been recorded. */
  const answered = (endpoint: string, method: string) =>
    expect
      .poll(() => to(endpoint, method).at(-1)?.headers, { timeout: 10_000 })
      .toBeDefined()
      .then(() => to(endpoint, method).at(-1) as Seen);

  it(
    'signinRedirect → Sesame login → signinRedirectCallback: the user and their profile, CORS at the token endpoint and /userinfo',
    async () => {
      await page.goto(`${appOrigin}/`);
      await status('anonymous', 'the page starts without a user');
      await page.locator('#signin').click();
      await at(issuer, '/u/login', 'signinRedirect shows Sesame’s login page');
      await page.getByLabel('Email').fill(EMAIL);
      await page.getByLabel('Password').fill(PASSWORD);
      await page.getByRole('button', { name: 'Sign in' }).click();
      await page.waitForURL(
        (u) => (u.origin === issuer && u.pathname === '/u/consent') || u.origin === appOrigin,
      );
      if (new URL(page.url()).origin === issuer) await page.getByRole('button', { name: 'Allow' }).click();
      await at(appOrigin, '/callback', 'back on the page’s callback');
      await status('signed in', 'signinRedirectCallback resolves with a user');

      const user = await shownUser();
      expect(user).not.toBeNull();
      signedIn = user as ShownUser;
      expect(signedIn.profile).toMatchObject({ sub: userId, email: EMAIL, name: NAME, iss: issuer });
      expect(signedIn.token_type).toMatch(/^bearer$/i);
      expect(signedIn.access_token).toEqual(expect.any(String));
      expect(signedIn.refresh_token).toEqual(expect.any(String));
      expect(signedIn.id_token).toEqual(expect.any(String));
      expect(signedIn.scope?.split(' ').sort()).toEqual(SCOPE.split(' ').sort());
      expect(decodeJwt(signedIn.id_token as string)).toMatchObject({
        iss: issuer,
        aud: clientId,
        sub: userId,
      });

      // The authorization request: code flow with PKCE.
      const authorize = to(discovery.authorization_endpoint as string, 'GET');
      expect(authorize).toHaveLength(1);
      const asked = new URL(authorize[0]?.url ?? '').searchParams;
      expect(asked.get('response_type')).toBe('code');
      expect(asked.get('client_id')).toBe(clientId);
      expect(asked.get('scope')).toBe(SCOPE);
      expect(asked.get('code_challenge_method')).toBe('S256');
      const callback = seen.find((s) => s.url.startsWith(`${appOrigin}/callback?`));
      expect(new URL(callback?.url ?? `${appOrigin}/`).searchParams.get('iss')).toBe(issuer);

      // The code was redeemed cross-origin; the answer was readable (CORS for this origin).
      const token = await answered(discovery.token_endpoint as string, 'POST');
      expect(new URLSearchParams(token.body ?? '').get('grant_type')).toBe('authorization_code');
      expect(token.status).toBe(200);
      expect(token.headers?.['access-control-allow-origin']).toBe(appOrigin);
      expect(token.headers?.['access-control-allow-credentials']).toBeUndefined();

      // loadUserInfo: /userinfo with the access token in an Authorization header (preflighted).
      const userinfo = await answered(discovery.userinfo_endpoint as string, 'GET');
      expect(userinfo.status).toBe(200);
      expect(userinfo.headers?.['access-control-allow-origin']).toBe(appOrigin);
    },
    TEST_TIMEOUT,
  );

  it(
    'signinSilent uses the refresh token: a refresh_token grant is posted, new tokens come back',
    async () => {
      expect(signedIn?.refresh_token).toEqual(expect.any(String));
      const authorizeBefore = to(discovery.authorization_endpoint as string).length;
      const tokenBefore = to(discovery.token_endpoint as string, 'POST').length;

      const user = (await page.evaluate(
        '(async () => window.describeUser(await window.mgr.signinSilent()))()',
      )) as ShownUser | null;
      expect(user).not.toBeNull();
      refreshed = user as ShownUser;

      const posts = to(discovery.token_endpoint as string, 'POST').slice(tokenBefore);
      expect(posts).toHaveLength(1);
      const form = new URLSearchParams(posts[0]?.body ?? '');
      expect(form.get('grant_type')).toBe('refresh_token');
      expect(form.get('refresh_token')).toBe(signedIn.refresh_token);
      expect(form.get('client_id')).toBe(clientId);
      const answer = await answered(discovery.token_endpoint as string, 'POST');
      expect(answer.status).toBe(200);
      expect(answer.headers?.['access-control-allow-origin']).toBe(appOrigin);
      // No iframe, no /authorize: the refresh token did it.
      expect(to(discovery.authorization_endpoint as string)).toHaveLength(authorizeBefore);

      expect(refreshed.access_token).toEqual(expect.any(String));
      expect(refreshed.access_token).not.toBe(signedIn.access_token);
      expect(refreshed.refresh_token).toEqual(expect.any(String));
      expect(refreshed.refresh_token).not.toBe(signedIn.refresh_token); // rotated
      expect(refreshed.id_token).toEqual(expect.any(String));
      expect(refreshed.id_token).not.toBe(signedIn.id_token); // a new ID token with the refresh
      expect(refreshed.profile).toMatchObject({ sub: userId, email: EMAIL, name: NAME });
      expect(decodeJwt(refreshed.access_token)).toMatchObject({ iss: issuer, sub: userId });
    },
    TEST_TIMEOUT,
  );

  it(
    'a cross-origin fetch to /userinfo with the new access token reads the claims (CORS)',
    async () => {
      expect(refreshed?.access_token).toEqual(expect.any(String));
      const result = (await page.evaluate(
        `(async () => {
          const res = await fetch(${JSON.stringify(discovery.userinfo_endpoint)}, {
            headers: { Authorization: 'Bearer ' + ${JSON.stringify(refreshed.access_token)} },
          });
          return { status: res.status, body: await res.json() };
        })()`,
      )) as { status: number; body: Record<string, unknown> };
      expect(result.status).toBe(200);
      expect(result.body).toMatchObject({ sub: userId, email: EMAIL, name: NAME });
      const userinfo = await answered(discovery.userinfo_endpoint as string, 'GET');
      expect(userinfo.headers?.['access-control-allow-origin']).toBe(appOrigin);
      expect(userinfo.headers?.vary?.toLowerCase()).toContain('origin');
    },
    TEST_TIMEOUT,
  );

  it(
    'signoutRedirect (id_token_hint + post_logout_redirect_uri) returns to the page, and the Sesame session is gone',
    async () => {
      expect(refreshed?.id_token).toEqual(expect.any(String));
      const logoutBefore = to(discovery.end_session_endpoint as string).length;
      await page.locator('#signout').click();
      await at(appOrigin, '/signed-out', 'signoutRedirect comes back to the page');
      await status('signed out', 'signoutRedirectCallback resolves');
      expect(await shownUser()).toBeNull();

      const logout = to(discovery.end_session_endpoint as string).slice(logoutBefore);
      expect(logout).toHaveLength(1);
      const params = new URL(logout[0]?.url ?? '').searchParams;
      expect(params.get('id_token_hint')).toBe(refreshed.id_token);
      expect(params.get('post_logout_redirect_uri')).toBe(`${appOrigin}/signed-out`);
      const state = params.get('state');
      expect(state).toEqual(expect.any(String));
      expect(new URL(page.url()).searchParams.get('state')).toBe(state);
      // signoutRedirectCallback matched the state and returned the data kept under it.
      expect(await page.locator('#signout-state').innerText()).toBe('back from Sesame');

      // A new sign-in asks for the password again: the SSO session ended.
      await page.locator('#signin').click();
      await at(issuer, '/u/login', 'after logout, signinRedirect shows Sesame’s login page again');
      await page.getByLabel('Password').waitFor({ state: 'visible' });
    },
    TEST_TIMEOUT,
  );
});
