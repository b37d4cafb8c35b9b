// Issue #15 end to end: `sesame start` as a process with SESAME_SMTP_URL pointing at an SMTP
// server in this test, the CLI to register an application and turn sign-up on, and a real
// Chromium. A person signs up from an application's login page and lands back at the
// application with a code; the verification email's link verifies the address; signed out, they
// reset a forgotten password through the emailed link (which ends their refresh tokens), sign in
// with the new password (the old one fails), and on /account remove the application's access,
// after which its refresh token is refused.
import { createHash, randomBytes } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import { join } from 'node:path';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, expect, it } from 'vitest';
import {
  type Backend,
  createTestDatabase,
  describeEachBackend,
  type TestDatabase,
} from '../support/databases.js';
import { addressesOf, linkIn, type ParsedMail, sentTo, startSmtp, type TestSmtp } from '../support/smtp.js';
import { describePage, launchChromium, waitVisible } from './browser.js';
import { assertBuilt, freePort, runCli, runCliJson, type SesameProcess, startSesame } from './process.js';

const TEST_TIMEOUT = 30_000;
const NAME = 'Grace Hopper';
const PASSWORD = 'correct horse battery 7';
const NEW_PASSWORD = 'a brand new passphrase 42';
const APP_NAME = 'Accounts App';
const SCOPE = 'openid profile email offline_access';

interface CreatedApp {
  client_id: string;
  client_secret: string;
}

interface Tokens {
  access_token: string;
  id_token: string;
  refresh_token?: string;
}

const b64url = (buf: Buffer) => buf.toString('base64url');
const claimsOf = (jwt: string) =>
  JSON.parse(Buffer.from(jwt.split('.')[1] as string, 'base64url').toString('utf8')) as Record<
    string,
    unknown
  >;

describeEachBackend('self-service accounts in a browser', (backend: Backend) => {
  let db: TestDatabase | undefined;
  let smtp: TestSmtp | undefined;
  let sesame: SesameProcess | undefined;
  let callbackServer: Server | undefined;
  let browser: Browser | undefined;
  let context: BrowserContext;
  let page: Page;
  let issuer: string;
  let callbackUrl: string;
  let app: CreatedApp;
  const email = `grace-${backend}-${randomBytes(4).toString('hex')}@example.com`;
  /** What the application received at its callback, in order. */
  const callbacks: URL[] = [];
  /** The pending authorization request: state and PKCE verifier. */
  let pending: { state: string; verifier: string };
  let firstTokens: Tokens;
  let refreshToken: string;
  /** The server's environment, for the CLI on its data. */
  let env: Record<string, string | undefined>;

  const logs = () => `sesame stderr:\n${sesame?.stderr() ?? ''}\nsesame stdout:\n${sesame?.stdout() ?? ''}`;

  beforeAll(async () => {
    assertBuilt();
    smtp = await startSmtp();
    db = await createTestDatabase(backend);
    const port = await freePort();
    const cbPort = await freePort();
    issuer = `http://127.0.0.1:${port}`;
    callbackUrl = `http://127.0.0.1:${cbPort}/callback`;
    env = {
      SESAME_PORT: String(port),
      SESAME_HOST: '127.0.0.1',
      SESAME_ISSUER: issuer,
      SESAME_DATA_DIR: join(db.dataDir, 'data'),
      SESAME_DATABASE_URL: backend === 'postgres' ? db.url : undefined,
      SESAME_LOG_LEVEL: 'warn',
      SESAME_SMTP_URL: smtp.url,
      SESAME_EMAIL_FROM: 'Sesame Test <accounts@example.com>',
      SESAME_EMAIL_POLL_INTERVAL: '1',
    };
    // Registered before the server starts, so its tenant-settings cache never holds the old value.
    const set = await runCli(['settings', 'set', 'signup_enabled=true'], env);
    expect(set.code, set.stderr).toBe(0);
    app = await runCliJson<CreatedApp>(
      [
        'apps',
        'create',
        '--name',
        APP_NAME,
        '--type',
        'web',
        '--callback',
        callbackUrl,
        '--allow-offline-access',
      ],
      env,
    );
    callbackServer = createServer((req, res) => {
      const url = new URL(req.url ?? '/', `http://127.0.0.1:${cbPort}`);
      if (url.pathname === '/callback') callbacks.push(url);
      res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
      res.end('<!doctype html><title>App</title><h1 id="app">Back at the app</h1>');
    });
    await new Promise<void>((resolve) => callbackServer?.listen(cbPort, '127.0.0.1', resolve));
    sesame = startSesame(env);
    await sesame.waitReady(`${issuer}/readyz`);
    browser = await launchChromium();
    context = await browser.newContext();
    context.setDefaultTimeout(10_000);
    context.setDefaultNavigationTimeout(10_000);
    page = await context.newPage();
  }, 60_000);

  afterAll(async () => {
    await browser?.close().catch(() => {});
    await sesame?.kill();
    await new Promise<void>((resolve) => {
      callbackServer?.closeAllConnections();
      callbackServer?.close(() => resolve());
      if (!callbackServer) resolve();
    });
    await smtp?.stop();
    await db?.drop().catch(() => {});
  });

  /** A new authorization request of the app (PKCE S256, offline_access). */
  function authorizeUrl(): string {
    const verifier = b64url(randomBytes(32));
    const state = b64url(randomBytes(12));
    pending = { state, verifier };
    const q = new URLSearchParams({
      response_type: 'code',
      client_id: app.client_id,
      redirect_uri: callbackUrl,
      scope: SCOPE,
      state,
      nonce: b64url(randomBytes(12)),
      code_challenge: b64url(createHash('sha256').update(verifier).digest()),
      code_challenge_method: 'S256',
    });
    return `${issuer}/authorize?${q}`;
  }

  async function at(path: string, what: string, origin = issuer): Promise<void> {
    try {
      await page.waitForURL((u) => u.origin === origin && u.pathname === path);
    } catch {
      throw new Error(`${what}: expected ${origin}${path}\n${await describePage(page)}\n${logs()}`);
    }
  }

  async function h1(): Promise<string> {
    return (await page.locator('h1').innerText()).trim();
  }

  /** Posts the token endpoint as the app (client_secret_post). */
  async function token(
    params: Record<string, string>,
  ): Promise<{ status: number; body: Record<string, unknown> }> {
    const res = await fetch(`${issuer}/oauth/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ client_id: app.client_id, client_secret: app.client_secret, ...params }),
    });
    return { status: res.status, body: (await res.json()) as Record<string, unknown> };
  }

  /** Waits for the app's callback with a code for the pending request; exchanges the code. */
  async function codeExchange(what: string): Promise<Tokens> {
    const origin = new URL(callbackUrl).origin;
    await at('/callback', what, origin);
    const cb = callbacks.at(-1) as URL;
    expect(cb.searchParams.get('error'), cb.toString()).toBeNull();
    expect(cb.searchParams.get('state')).toBe(pending.state);
    expect(cb.searchParams.get('iss')).toBe(issuer);
    const code = cb.searchParams.get('code');
    expect(code).toBeTruthy();
    const answer = await token({
      grant_type: 'authorization_code',
      code: code as string,
      redirect_uri: callbackUrl,
      code_verifier: pending.verifier,
    });
    expect(answer.status, JSON.stringify(answer.body)).toBe(200);
    expect(typeof answer.body.refresh_token, 'offline_access gives a refresh token').toBe('string');
    return answer.body as unknown as Tokens;
  }

  /** The email with `subject` sent to the person, from email.from. */
  async function mailFor(subject: string): Promise<ParsedMail> {
    const mail = await (smtp as TestSmtp).waitFor((m) => sentTo(m, email) && m.subject === subject, 15_000);
    expect(addressesOf(mail.from)).toEqual(['accounts@example.com']);
    return mail;
  }

  it(
    'signs up from the app’s login page and lands back at the app with a code',
    async () => {
      await page.goto(authorizeUrl());
      await at('/u/login', 'the app’s sign-in shows the login page');
      await expect(page.getByRole('link', { name: 'Forgot your password?' }).count()).resolves.toBe(1);
      await page.getByRole('link', { name: 'Sign up' }).click();
      await at('/u/signup', 'the Sign up link opens the sign-up form');
      expect(await h1()).toBe(`Create your account for ${APP_NAME}`);

      await page.getByLabel('Name').fill(NAME);
      await page.getByLabel('Email').fill(email);
      await page.getByLabel('Password').fill(PASSWORD);
      await page.getByRole('button', { name: 'Sign up' }).click();
      await at('/u/consent', 'after sign-up the app asks for consent');
      await page.getByRole('button', { name: 'Allow' }).click();
      firstTokens = await codeExchange('after consent the browser is back at the app');
      expect(await page.locator('#app').innerText()).toBe('Back at the app');

      const claims = claimsOf(firstTokens.id_token);
      expect(claims.iss).toBe(issuer);
      expect(claims.email).toBe(email);
      expect(claims.email_verified).toBe(false);
      expect(claims.name).toBe(NAME);
    },
    TEST_TIMEOUT,
  );

  it(
    'the verification email arrives; its link, opened in the browser, verifies the address',
    async () => {
      const mail = await mailFor('Verify your email for Sesame');
      const link = linkIn(mail, '/u/email-verification', issuer);
      expect(link, mail.text).toMatch(
        new RegExp(`^${issuer}/u/email-verification\\?ticket=[A-Za-z0-9_-]{43}$`),
      );
      expect(String(mail.html)).toContain(`href="${link}"`);

      await page.goto(link as string);
      await at('/u/email-verification', 'the link opens the verification page');
      expect(await h1()).toBe('Verify your email');
      await page.getByRole('button', { name: 'Verify my email' }).click();
      await waitVisible(page, 'h1:has-text("Email verified")', 'the button verifies the address', logs);
      expect(await page.locator('[role=status]').innerText()).toContain(email);

      const info = await fetch(`${issuer}/userinfo`, {
        headers: { authorization: `Bearer ${firstTokens.access_token}` },
      });
      expect(info.status).toBe(200);
      expect(((await info.json()) as Record<string, unknown>).email_verified).toBe(true);
    },
    TEST_TIMEOUT,
  );

  it(
    'signed out, the person resets a forgotten password from the login page through the emailed link',
    async () => {
      await page.goto(`${issuer}/oidc/logout?id_token_hint=${firstTokens.id_token}`);
      await page.waitForLoadState();
      expect((await context.cookies(issuer)).map((c) => c.name)).not.toContain('sesame_session');

      await page.goto(authorizeUrl());
      await at('/u/login', 'signed out, the app’s sign-in shows the login page again');
      await page.getByRole('link', { name: 'Forgot your password?' }).click();
      await at('/u/forgot-password', 'the link opens the forgot-password form');
      await page.getByLabel('Email').fill(email);
      await page.getByRole('button', { name: 'Send the link' }).click();
      await waitVisible(page, 'h1:has-text("Check your email")', 'the request is answered', logs);
      expect(await page.locator('[role=status]').innerText()).toBe(
        'If an account exists for that email, a link to reset its password is on its way. The link works for 1 hour.',
      );

      const mail = await mailFor('Reset your password for Sesame');
      const link = linkIn(mail, '/u/reset-password', issuer);
      expect(link, mail.text).toMatch(new RegExp(`^${issuer}/u/reset-password\\?ticket=[A-Za-z0-9_-]{43}$`));
      await page.goto(link as string);
      await at('/u/reset-password', 'the link opens the reset page');
      expect(await h1()).toBe('Choose a new password');
      await page.getByLabel('New password').fill(NEW_PASSWORD);
      await page.getByRole('button', { name: 'Change my password' }).click();
      await waitVisible(page, 'h1:has-text("Password changed")', 'the new password is taken', logs);
      expect(await page.locator('[role=status]').innerText()).toBe(
        'Your password has been changed. You can now sign in with it.',
      );

      // A reset ends the person's refresh tokens (password_reset_ends_sessions, on by default).
      const old = await token({
        grant_type: 'refresh_token',
        refresh_token: firstTokens.refresh_token as string,
      });
      expect({ status: old.status, error: old.body.error }).toEqual({ status: 400, error: 'invalid_grant' });
    },
    TEST_TIMEOUT,
  );

  it(
    'the old password fails and the new one signs in',
    async () => {
      await page.goto(authorizeUrl());
      await at('/u/login', 'the app’s sign-in shows the login page');
      await page.getByLabel('Email').fill(email);
      await page.getByLabel('Password').fill(PASSWORD);
      await page.getByRole('button', { name: 'Sign in' }).click();
      await waitVisible(page, '[role=alert]', 'the old password is refused', logs);
      await at('/u/login', 'the old password stays on the login page');
      expect(await page.locator('[role=alert]').allInnerTexts()).toEqual(['Wrong email or password.']);

      await page.getByLabel('Email').fill(email);
      await page.getByLabel('Password').fill(NEW_PASSWORD);
      await page.getByRole('button', { name: 'Sign in' }).click();
      // Consent was given at sign-up: straight back to the app.
      const tokens = await codeExchange('the new password signs in');
      expect(claimsOf(tokens.id_token).email_verified).toBe(true);
      // Two sign-ins counted (the sign-up's and this one; not the refused old password), from
      // the browser's address
      const person = await runCliJson(['users', 'show', email], env);
      expect(person).toMatchObject({
        logins_count: 2,
        last_ip: expect.stringMatching(/^127\.0\.0\.1$|^::1$/),
      });
      expect(person.last_login).toEqual(expect.any(Number));
      // The refresh token works (and may rotate) before the app is disconnected.
      const refreshed = await token({
        grant_type: 'refresh_token',
        refresh_token: tokens.refresh_token as string,
      });
      expect(refreshed.status, JSON.stringify(refreshed.body)).toBe(200);
      refreshToken = (refreshed.body.refresh_token as string | undefined) ?? (tokens.refresh_token as string);
    },
    TEST_TIMEOUT,
  );

  it(
    '/account shows the connected app; removing its access ends its refresh token',
    async () => {
      await page.goto(`${issuer}/account`);
      await at('/account', 'the signed-in person sees their account');
      expect(await h1()).toBe('Your account');
      expect(await page.locator('h2').allInnerTexts()).toEqual([
        'Profile',
        'Email',
        'Password',
        'Connected applications',
        'Sessions',
        'Delete account',
      ]);
      expect(await page.locator('main').innerText()).toContain(`${email} (verified)`);
      const remove = page.getByRole('button', { name: `Remove access of ${APP_NAME}` });
      await expect(remove.count()).resolves.toBe(1);
      await remove.click();
      await page.waitForURL((u) => u.pathname === '/account' && u.searchParams.get('done') === 'revoked');
      expect(await page.locator('[role=status]').innerText()).toBe(
        'The application no longer has access to your account.',
      );
      await expect(page.getByRole('button', { name: `Remove access of ${APP_NAME}` }).count()).resolves.toBe(
        0,
      );

      const refused = await token({ grant_type: 'refresh_token', refresh_token: refreshToken });
      expect({ status: refused.status, error: refused.body.error }, JSON.stringify(refused.body)).toEqual({
        status: 400,
        error: 'invalid_grant',
      });
    },
    TEST_TIMEOUT,
  );

  it(
    'an address with letters beyond ASCII signs up and signs in, whichever spelling of its domain is typed',
    async () => {
      // A new browser: no session yet. The field is text with an email keyboard, so the browser
      // neither refuses the é nor turns the domain into punycode; punycode typed is the same account.
      const fresh = await (browser as Browser).newContext();
      const tab = await fresh.newPage();
      const intl = `jos\u00e9-${backend}-${randomBytes(3).toString('hex')}@b\u00fccher.example`;
      const ascii = intl.replace('b\u00fccher.example', 'xn--bcher-kva.example');
      try {
        await tab.goto(authorizeUrl());
        await tab.getByRole('link', { name: 'Sign up' }).click();
        await tab.getByLabel('Name').fill('Jos\u00e9');
        await tab.getByLabel('Email').fill(intl);
        await tab.getByLabel('Password').fill(PASSWORD);
        await tab.getByRole('button', { name: 'Sign up' }).click();
        await tab.waitForURL((u) => u.pathname === '/u/consent');
        const shown = await runCliJson<{ users: { email: string }[] }>(
          ['users', 'list', '--search', `email:"${ascii}"`],
          env,
        );
        expect(shown.users.map((u) => u.email)).toEqual([intl]);

        // signed out, the punycode spelling signs in to the same account
        await fresh.clearCookies();
        await tab.goto(authorizeUrl());
        await tab.waitForURL((u) => u.pathname === '/u/login');
        await tab.getByLabel('Email').fill(ascii.toUpperCase());
        await tab.getByLabel('Password').fill(PASSWORD);
        await tab.getByRole('button', { name: 'Sign in' }).click();
        await tab.waitForURL((u) => u.pathname === '/u/consent');
        // and signing up again with it is refused: one mailbox, one account
        await fresh.clearCookies();
        await tab.goto(authorizeUrl());
        await tab.getByRole('link', { name: 'Sign up' }).click();
        await tab.getByLabel('Email').fill(ascii);
        await tab.getByLabel('Password').fill(PASSWORD);
        await tab.getByRole('button', { name: 'Sign up' }).click();
        await tab.waitForURL((u) => u.pathname === '/u/signup');
        const listed = await runCliJson<{ users: { email: string }[] }>(
          ['users', 'list', '--search', 'cher.example'],
          env,
        );
        expect(listed.users.map((u) => u.email)).toEqual([intl]);
      } finally {
        await fresh.close();
      }
    },
    TEST_TIMEOUT,
  );
});
