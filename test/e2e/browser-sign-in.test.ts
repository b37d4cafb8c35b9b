// A person signs in through a real Chromium: `sesame start` as a process, two instances of the
// example relying party (examples/web-app, openid-client) as processes, the CLI to register
// everything. Login page, consent page, SSO into a second app, logout back to the first app.
//
// App 1 runs on http://127.0.0.1:PORT, app 2 on http://localhost:PORT. Cookies ignore ports
// (RFC 6265 §8.5): both example apps name their cookie `app_session`, so on one host each would
// overwrite the other's session. `localhost` is a loopback host Sesame accepts for http callbacks,
// and it makes app 2 a different site from Sesame, so SSO also goes through a cross-site
// (SameSite=Lax) top-level navigation.
import { mkdirSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, expect, it } from 'vitest';
import {
  type Backend,
  createTestDatabase,
  describeEachBackend,
  type TestDatabase,
} from '../support/databases.js';
import {
  describePage,
  type ExampleApp,
  externalResources,
  launchChromium,
  startExampleApp,
  waitVisible,
} from './browser.js';
import { assertBuilt, freePort, runCliJson, type SesameProcess, startSesame } from './process.js';

const TEST_TIMEOUT = 60_000;
const EMAIL = 'ada@example.com';
const PASSWORD = 'correct horse battery staple';
const NAME = 'Ada Lovelace';
const API = 'https://api.example.test/things';
const SCOPE = 'openid profile email offline_access read:things';
const GENERIC_ERROR = 'Wrong email or password.';

interface CreatedApp {
  client_id: string;
  client_secret: string;
  name: string;
}

describeEachBackend('browser sign-in with the example web app', (backend: Backend) => {
  let db: TestDatabase | undefined;
  let sesame: SesameProcess | undefined;
  const apps: ExampleApp[] = [];
  let browser: Browser | undefined;
  let context: BrowserContext;
  let issuer: string;
  let userId: string;
  let app1: { url: string; reg: CreatedApp };
  let app2: { url: string; reg: CreatedApp };
  let page1: Page;
  let page2: Page;
  let firstAuthTime: unknown;
  // Screenshots go to a temp dir removed afterwards, or to SESAME_E2E_SCREENSHOTS to keep them.
  const keepShots = process.env.SESAME_E2E_SCREENSHOTS;
  const shots = keepShots ?? mkdtempSync(join(tmpdir(), 'sesame-screens-'));
  mkdirSync(shots, { recursive: true });

  /** Logs of every child, for failure messages. */
  const logs = () =>
    [
      `sesame stderr:\n${sesame?.stderr() ?? ''}`,
      ...apps.map((a) => `example app ${a.url}:\n${a.output()}`),
    ].join('\n');

  beforeAll(async () => {
    assertBuilt();
    db = await createTestDatabase(backend);
    const port = await freePort();
    issuer = `http://127.0.0.1:${port}`;
    const env = {
      SESAME_PORT: String(port),
      SESAME_HOST: '127.0.0.1',
      SESAME_ISSUER: issuer,
      SESAME_DATA_DIR: join(db.dataDir, 'data'),
      SESAME_DATABASE_URL: backend === 'postgres' ? db.url : undefined,
      SESAME_LOG_LEVEL: 'warn',
    };
    sesame = startSesame(env);
    await sesame.waitReady(`${issuer}/readyz`);

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
        'read:things=Read things',
      ],
      env,
    );
    const [port1, port2] = [await freePort(), await freePort()];
    const register = async (name: string, url: string) =>
      runCliJson<CreatedApp>(
        [
          'apps',
          'create',
          '--name',
          name,
          '--type',
          'web',
          '--callback',
          `${url}/callback`,
          '--logout-callback',
          `${url}/`,
        ],
        env,
      );
    const url1 = `http://127.0.0.1:${port1}`;
    const url2 = `http://localhost:${port2}`;
    app1 = { url: url1, reg: await register('Example One', url1) };
    app2 = { url: url2, reg: await register('Example Two', url2) };
    for (const [app, p] of [
      [app1, port1],
      [app2, port2],
    ] as const) {
      apps.push(
        await startExampleApp({
          issuer,
          clientId: app.reg.client_id,
          clientSecret: app.reg.client_secret,
          port: p,
          url: app.url,
          scope: SCOPE,
          audience: API,
        }),
      );
    }
    browser = await launchChromium();
    context = await browser.newContext();
    context.setDefaultTimeout(15_000);
    context.setDefaultNavigationTimeout(15_000);
  }, 120_000);

  afterAll(async () => {
    await browser?.close().catch(() => {});
    await Promise.all(apps.map((a) => a.kill()));
    await sesame?.kill();
    await db?.drop().catch(() => {});
    if (!keepShots) rmSync(shots, { recursive: true, force: true });
  });

  /** Waits until the page is at `path` on `origin`. */
  async function at(page: Page, origin: string, path: string, what: string): Promise<void> {
    try {
      await page.waitForURL((u) => u.origin === origin && u.pathname === path);
    } catch {
      throw new Error(`${what}: expected ${origin}${path}\n${await describePage(page)}\n${logs()}`);
    }
  }

  /** The ID-token claims the example app shows after sign-in. */
  async function claimsOn(page: Page): Promise<Record<string, unknown>> {
    return JSON.parse(await page.locator('#claims').innerText()) as Record<string, unknown>;
  }

  it('publishes the discovery fields the example app relies on (ID token alg, userinfo, logout)', async () => {
    const res = await fetch(`${issuer}/.well-known/openid-configuration`);
    const meta = (await res.json()) as Record<string, unknown>;
    // openid-client accepts only ID-token algorithms listed here (app IDs default to RS256).
    expect(meta.id_token_signing_alg_values_supported).toContain('RS256');
    expect(meta.userinfo_endpoint).toBe(`${issuer}/userinfo`);
    expect(meta.end_session_endpoint).toBe(`${issuer}/oidc/logout`);
  });

  it(
    'signs in on app 1: login page (one generic error), consent, back with ID token and refresh token',
    async () => {
      page1 = await context.newPage();
      await page1.goto(`${app1.url}/`);
      await page1.click('#login');
      await at(page1, issuer, '/u/login', 'app 1 sign-in goes to the login page');
      await expect(page1.locator('h1').innerText()).resolves.toBe('Sign in to continue to Example One');
      const loginShot = join(shots, `login-${backend}.png`);
      await page1.screenshot({ path: loginShot, fullPage: true });
      expect(statSync(loginShot).size).toBeGreaterThan(1_000);
      expect(await externalResources(page1)).toEqual([]);

      // A wrong password, then an unknown email: the same single message, nothing more.
      await page1.getByLabel('Email').fill(EMAIL);
      await page1.getByLabel('Password').fill('wrong password!');
      await page1.getByRole('button', { name: 'Sign in' }).click();
      await waitVisible(page1, '[role=alert]', 'wrong password shows an error', logs);
      await at(page1, issuer, '/u/login', 'a wrong password stays on the login page');
      expect(await page1.locator('[role=alert]').allInnerTexts()).toEqual([GENERIC_ERROR]);
      expect(await page1.getByLabel('Email').inputValue()).toBe(EMAIL);
      expect(await page1.getByLabel('Password').inputValue()).toBe('');

      await page1.getByLabel('Email').fill('nobody@example.com');
      await page1.getByLabel('Password').fill('wrong password!');
      await page1.getByRole('button', { name: 'Sign in' }).click();
      await page1.waitForLoadState();
      await waitVisible(page1, '[role=alert]', 'an unknown email shows an error', logs);
      expect(await page1.locator('[role=alert]').allInnerTexts()).toEqual([GENERIC_ERROR]);

      await page1.getByLabel('Email').fill(EMAIL);
      await page1.getByLabel('Password').fill(PASSWORD);
      await page1.getByRole('button', { name: 'Sign in' }).click();
      await at(page1, issuer, '/u/consent', 'the right password goes to the consent page');
      await expect(page1.locator('h1').innerText()).resolves.toBe('Example One wants to access your account');
      const listed = await page1.locator('li').allInnerTexts();
      expect(listed.some((t) => t.includes('Read things'))).toBe(true);
      expect(await page1.locator('main').innerText()).toContain('Things API');
      const consentShot = join(shots, `consent-${backend}.png`);
      await page1.screenshot({ path: consentShot, fullPage: true });
      expect(statSync(consentShot).size).toBeGreaterThan(1_000);
      expect(await externalResources(page1)).toEqual([]);

      await page1.getByRole('button', { name: 'Allow' }).click();
      await waitVisible(page1, '#email', 'after Allow, app 1 shows the signed-in user', logs);
      await at(page1, app1.url, '/', 'after sign-in app 1 is on its home page');
      expect(await page1.locator('#email').innerText()).toBe(EMAIL);
      const claims = await claimsOn(page1);
      expect(claims.iss).toBe(issuer);
      expect(claims.sub).toBe(userId);
      expect([claims.aud].flat()).toContain(app1.reg.client_id);
      firstAuthTime = claims.auth_time;
      expect(typeof firstAuthTime).toBe('number');
      expect(await page1.locator('#refresh').innerText()).toBe('refresh token received');
    },
    TEST_TIMEOUT,
  );

  it(
    'signs in on app 2 without a password (SSO): only the consent page for app 2',
    async () => {
      page2 = await context.newPage();
      const sesamePaths: string[] = [];
      page2.on('request', (req) => {
        const u = new URL(req.url());
        if (u.origin === issuer && req.isNavigationRequest()) sesamePaths.push(u.pathname);
      });
      await page2.goto(`${app2.url}/`);
      await page2.click('#login');
      await at(page2, issuer, '/u/consent', 'app 2 sign-in goes straight to consent');
      expect(await page2.locator('input[type=password]').count()).toBe(0);
      await expect(page2.locator('h1').innerText()).resolves.toBe('Example Two wants to access your account');
      expect((await page2.locator('li').allInnerTexts()).some((t) => t.includes('Read things'))).toBe(true);

      await page2.getByRole('button', { name: 'Allow' }).click();
      await waitVisible(page2, '#email', 'after Allow, app 2 shows the signed-in user', logs);
      await at(page2, app2.url, '/', 'after sign-in app 2 is on its home page');
      expect(sesamePaths).not.toContain('/u/login');
      expect(await page2.locator('#email').innerText()).toBe(EMAIL);
      const claims = await claimsOn(page2);
      expect(claims.iss).toBe(issuer);
      expect(claims.sub).toBe(userId);
      expect([claims.aud].flat()).toContain(app2.reg.client_id);
      expect(claims.auth_time).toBe(firstAuthTime); // the same login, not a new one
      expect(await page2.locator('#refresh').innerText()).toBe('refresh token received');
    },
    TEST_TIMEOUT,
  );

  it(
    'logs out from app 1 back to app 1; app 2 then needs the password again (and no second consent)',
    async () => {
      await page1.goto(`${app1.url}/`);
      await page1.click('#logout');
      await waitVisible(page1, '#login', 'after logout app 1 shows its sign-in link', logs);
      await at(page1, app1.url, '/', 'Sesame logout redirects back to app 1');
      const sesameCookies = (await context.cookies(issuer)).map((c) => c.name);
      expect(sesameCookies).not.toContain('sesame_session');

      // App 2 still has its own session; its sign-in link is /login.
      await page2.goto(`${app2.url}/login`);
      await at(page2, issuer, '/u/login', 'after logout, app 2 sign-in shows the login page');
      await expect(page2.locator('h1').innerText()).resolves.toBe('Sign in to continue to Example Two');
      await page2.getByLabel('Email').fill(EMAIL);
      await page2.getByLabel('Password').fill(PASSWORD);
      await page2.getByRole('button', { name: 'Sign in' }).click();
      // Consent was given before, so the login leads straight back to app 2.
      await waitVisible(page2, '#email', 'after login app 2 shows the user without a consent page', logs);
      await at(page2, app2.url, '/', 'after the second login app 2 is on its home page');
      const claims = await claimsOn(page2);
      expect(claims.sub).toBe(userId);
      expect(claims.auth_time).toBeGreaterThanOrEqual(firstAuthTime as number);
    },
    TEST_TIMEOUT,
  );
});
