// The device flow (RFC 8628) end to end: `sesame start` as a real process, the CLI registers a
// user, an API and a native TV app; this test is the TV (it asks for a code over HTTP and polls
// the token endpoint every `interval` seconds, slowing down when told to) while a person in a
// real Chromium opens verification_uri, signs in, types the code and presses Allow.
import { join } from 'node:path';
import { createRemoteJWKSet, jwtVerify } from 'jose';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, expect, it } from 'vitest';
import {
  type Backend,
  createTestDatabase,
  describeEachBackend,
  type TestDatabase,
} from '../support/databases.js';
import { describePage, externalResources, launchChromium, waitVisible } from './browser.js';
import { assertBuilt, freePort, runCliJson, type SesameProcess, startSesame } from './process.js';

const TEST_TIMEOUT = 90_000;
const DEVICE_GRANT = 'urn:ietf:params:oauth:grant-type:device_code';
const EMAIL = 'grace@example.com';
const PASSWORD = 'correct horse battery staple';
const NAME = 'Grace Hopper';
const API = 'https://api.example.test/things';
const TV_NAME = 'Living Room TV';

interface CreatedApp {
  client_id: string;
  client_secret?: string;
  grant_types: string[];
}

interface DeviceGrant {
  device_code: string;
  user_code: string;
  verification_uri: string;
  verification_uri_complete: string;
  expires_in: number;
  interval: number;
}

type Answer = { status: number; body: Record<string, unknown> & { error?: string } };

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describeEachBackend('device flow: a TV, a real server and Chromium', (backend: Backend) => {
  let db: TestDatabase | undefined;
  let sesame: SesameProcess | undefined;
  let browser: Browser | undefined;
  let context: BrowserContext;
  let page: Page;
  let issuer: string;
  let meta: Record<string, string>;
  let userId: string;
  let tv: CreatedApp;
  let kiosk: CreatedApp;

  const logs = () => `sesame stderr:\n${sesame?.stderr() ?? ''}`;

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
    tv = await runCliJson<CreatedApp>(
      ['apps', 'create', '--name', TV_NAME, '--type', 'native', '--callback', 'com.example.tv:/cb'],
      env,
    );
    kiosk = await runCliJson<CreatedApp>(
      [
        'apps',
        'create',
        '--name',
        'Kiosk',
        '--type',
        'web',
        '--callback',
        'https://kiosk.example/cb',
        '--grant',
        'device_code',
      ],
      env,
    );
    const res = await fetch(`${issuer}/.well-known/openid-configuration`);
    meta = (await res.json()) as Record<string, string>;

    browser = await launchChromium();
    context = await browser.newContext();
    context.setDefaultTimeout(15_000);
    context.setDefaultNavigationTimeout(15_000);
    page = await context.newPage();
  }, 120_000);

  afterAll(async () => {
    await browser?.close().catch(() => {});
    await sesame?.kill();
    await db?.drop().catch(() => {});
  });

  /** POSTs a form over real HTTP and reads the JSON answer. */
  async function postForm(
    url: string,
    fields: Record<string, string>,
    headers: Record<string, string> = {},
  ): Promise<Answer> {
    const res = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', ...headers },
      body: new URLSearchParams(fields),
    });
    return { status: res.status, body: (await res.json()) as Answer['body'] };
  }

  /** The TV asks for a device code. */
  async function startDevice(fields: Record<string, string>): Promise<DeviceGrant> {
    const a = await postForm(meta.device_authorization_endpoint as string, fields);
    expect(a.status, JSON.stringify(a.body)).toBe(200);
    return a.body as unknown as DeviceGrant;
  }

  const pollOnce = (d: DeviceGrant, clientId: string) =>
    postForm(meta.token_endpoint as string, {
      grant_type: DEVICE_GRANT,
      device_code: d.device_code,
      client_id: clientId,
    });

  /**
   * The TV's polling loop (RFC 8628 §3.5): waits `interval` seconds between polls, adds 5 s on
   * slow_down, and stops at anything but authorization_pending / slow_down. Returns every answer.
   */
  async function pollUntilDecided(d: DeviceGrant, clientId: string, deadlineMs = 75_000): Promise<Answer[]> {
    const answers: Answer[] = [];
    let interval = d.interval;
    const deadline = Date.now() + deadlineMs;
    for (;;) {
      await sleep(interval * 1000);
      const a = await pollOnce(d, clientId);
      answers.push(a);
      if (a.body.error === 'slow_down') interval += 5;
      else if (a.body.error !== 'authorization_pending') return answers;
      if (Date.now() > deadline) {
        throw new Error(
          `no decision within ${deadlineMs} ms: ${answers.map((x) => x.body.error).join(', ')}`,
        );
      }
    }
  }

  /** Waits until the page is at `path` on Sesame. */
  async function at(path: string, what: string): Promise<void> {
    try {
      await page.waitForURL((u) => u.origin === issuer && u.pathname === path);
    } catch {
      throw new Error(`${what}: expected ${issuer}${path}\n${await describePage(page)}\n${logs()}`);
    }
  }

  it('registers the TV with the device grant by default and the kiosk with --grant device_code', () => {
    expect(tv.grant_types).toContain(DEVICE_GRANT);
    expect(tv.client_secret).toBeUndefined();
    expect(kiosk.grant_types).toEqual([DEVICE_GRANT]);
    expect(kiosk.client_secret).toBeTruthy();
    expect(meta.device_authorization_endpoint).toBe(`${issuer}/oauth/device/code`);
    expect(meta.grant_types_supported).toContain(DEVICE_GRANT);
  });

  it(
    'the TV polls while a person signs in with Chromium, types the code and allows it; the TV gets tokens',
    async () => {
      const d = await startDevice({
        client_id: tv.client_id,
        scope: 'openid profile offline_access read:things',
        audience: API,
      });
      expect(d.verification_uri).toBe(`${issuer}/activate`);
      expect(d.user_code).toMatch(/^[BCDFGHJKLMNPQRSTVWXZ]{4}-[BCDFGHJKLMNPQRSTVWXZ]{4}$/);
      expect({ expires_in: d.expires_in, interval: d.interval }).toEqual({ expires_in: 600, interval: 5 });
      const first = await pollOnce(d, tv.client_id);
      expect(first.body.error).toBe('authorization_pending');
      const polling = pollUntilDecided(d, tv.client_id);
      polling.catch(() => {}); // awaited below; keep an early failure from being unhandled

      // The person, on another screen.
      await page.goto(d.verification_uri);
      await at('/u/login', 'verification_uri without a session goes to the login page');
      expect(await page.locator('h1').innerText()).toBe('Sign in to continue to Sesame');
      await page.getByLabel('Email').fill(EMAIL);
      await page.getByLabel('Password').fill(PASSWORD);
      await page.getByRole('button', { name: 'Sign in' }).click();
      await at('/activate', 'after login the person is back at /activate');
      await waitVisible(page, '#user_code', 'the code form', logs);
      expect(await page.locator('h1').innerText()).toBe('Connect a device');
      expect(await externalResources(page)).toEqual([]);
      await page.locator('#user_code').pressSequentially(d.user_code.replace('-', '').toLowerCase());
      await page.getByRole('button', { name: 'Continue' }).click();
      await waitVisible(page, 'button[value=allow]', 'the confirmation page', logs);
      expect(await page.locator('h1').innerText()).toBe(`Allow ${TV_NAME} on your device?`);
      expect(await page.locator('main').innerText()).toContain(d.user_code);
      expect(await page.locator('main').innerText()).toContain('Things API');
      const scopes = await page.locator('li').allInnerTexts();
      expect(scopes.some((s) => s.includes('Read things'))).toBe(true);
      expect(scopes.some((s) => s.includes('Your name and profile'))).toBe(true);
      await page.getByRole('button', { name: 'Allow' }).click();
      await waitVisible(page, 'h1:text("Device connected")', 'the done page', logs);

      // The TV.
      const answers = await polling;
      const last = answers.at(-1) as Answer;
      expect(last.status, JSON.stringify(last.body)).toBe(200);
      expect(answers.slice(0, -1).every((a) => a.body.error === 'authorization_pending')).toBe(true);
      const tokens = last.body as Record<string, string>;
      expect(tokens.token_type).toBe('Bearer');
      expect(tokens.refresh_token).toBeTruthy();

      const jwks = createRemoteJWKSet(new URL(meta.jwks_uri as string));
      const at_ = await jwtVerify(tokens.access_token as string, jwks, {
        issuer,
        audience: API,
        typ: 'at+jwt',
      });
      expect(at_.payload.sub).toBe(userId);
      expect(at_.payload.client_id).toBe(tv.client_id);
      expect((at_.payload.scope as string).split(' ')).toContain('read:things');
      const id = await jwtVerify(tokens.id_token as string, jwks, { issuer, audience: tv.client_id });
      expect(id.payload.sub).toBe(userId);
      expect(id.payload.name).toBe(NAME);

      // The device code is spent.
      const replay = await pollOnce(d, tv.client_id);
      expect({ status: replay.status, error: replay.body.error }).toEqual({
        status: 400,
        error: 'invalid_grant',
      });
    },
    TEST_TIMEOUT,
  );

  it(
    'the signed-in person opens verification_uri_complete for a second TV and denies it',
    async () => {
      const d = await startDevice({ client_id: tv.client_id, scope: 'openid' });
      const polling = pollUntilDecided(d, tv.client_id);
      polling.catch(() => {});
      await page.goto(d.verification_uri_complete);
      await at('/activate', 'with a session, verification_uri_complete shows /activate');
      expect(await page.locator('#user_code').inputValue()).toBe(d.user_code);
      await page.getByRole('button', { name: 'Continue' }).click();
      await waitVisible(page, 'button[value=deny]', 'the confirmation page', logs);
      await page.getByRole('button', { name: 'Deny' }).click();
      await waitVisible(page, 'h1:text("Request denied")', 'the denied page', logs);
      const answers = await polling;
      const last = answers.at(-1) as Answer;
      expect({ status: last.status, error: last.body.error }).toEqual({
        status: 400,
        error: 'access_denied',
      });
    },
    TEST_TIMEOUT,
  );

  it('a web app given the device grant with the CLI authenticates with its secret', async () => {
    const basic = (secret: string) =>
      `Basic ${Buffer.from(`${kiosk.client_id}:${encodeURIComponent(secret)}`).toString('base64')}`;
    const ok = await postForm(
      meta.device_authorization_endpoint as string,
      { scope: 'openid' },
      { authorization: basic(kiosk.client_secret as string) },
    );
    expect(ok.status, JSON.stringify(ok.body)).toBe(200);
    expect(ok.body.user_code).toMatch(/^[A-Z]{4}-[A-Z]{4}$/);
    const wrong = await postForm(
      meta.device_authorization_endpoint as string,
      { scope: 'openid' },
      { authorization: basic('wrong') },
    );
    expect({ status: wrong.status, error: wrong.body.error }).toEqual({
      status: 401,
      error: 'invalid_client',
    });
  });
});
