// A new install run from the console in a real Chromium: `sesame start` as a process, the
// setup link from its log, the first admin, an API with permissions, an m2m application whose
// Test token verifies, a role and a user who holds it, a web application (examples/web-app)
// the user signs in to with a token carrying the permissions, the logs, a key rotation, sign-out;
// a person without the admin role is refused; an application's hostile name stays text.
import { mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from '../support/databases.js';
import { type ExampleApp, launchChromium, startExampleApp } from './browser.js';
import { assertBuilt, eventually, freePort, ROOT, type SesameProcess, startSesame } from './process.js';

const ADMIN = { email: 'admin@example.com', password: 'correct horse battery staple' };
const CLERK = { email: 'clerk@example.com', password: 'another long passphrase' };
const API = 'https://orders.example/api';

describe('e2e: the console in Chromium, from a new install', { timeout: 120_000 }, () => {
  let db: TestDatabase;
  let sesame: SesameProcess;
  let browser: Browser;
  let page: Page;
  let issuer: string;
  let shop: ExampleApp | undefined;
  const dialogs: string[] = [];
  /** Whatever the browser refused under the console's Content-Security-Policy. */
  const refused: string[] = [];
  // Screenshots of each page: test artifacts under test-results/console (not committed).
  const shots = process.env.SESAME_E2E_SCREENSHOTS ?? join(ROOT, 'test-results', 'console');
  let shot = 0;
  const snap = async (name: string, p: Page = page) => {
    await p.screenshot({
      path: join(shots, `${String(++shot).padStart(2, '0')}-${name}.png`),
      fullPage: true,
    });
  };
  const go = async (path: string) => {
    await page.goto(`${issuer}${path}`);
  };
  const button = (name: string) => page.getByRole('button', { name, exact: true });

  beforeAll(async () => {
    assertBuilt();
    rmSync(shots, { recursive: true, force: true });
    mkdirSync(shots, { recursive: true });
    db = await createTestDatabase('sqlite');
    const port = await freePort();
    issuer = `http://127.0.0.1:${port}`;
    sesame = startSesame({
      SESAME_DATA_DIR: db.dataDir,
      SESAME_DATABASE_URL: db.url,
      SESAME_ISSUER: issuer,
      SESAME_PORT: String(port),
      SESAME_HOST: '127.0.0.1',
      SESAME_KEY_ACTIVATION_DELAY: '0',
    });
    await sesame.waitReady(`${issuer}/healthz`);
    browser = await launchChromium();
    page = await (await browser.newContext({ viewport: { width: 1280, height: 900 } })).newPage();
    page.on('console', (m) => {
      if (m.type() === 'error' && /Content Security Policy/i.test(m.text())) refused.push(m.text());
    });
    page.on('dialog', (d) => {
      dialogs.push(d.message());
      void d.dismiss();
    });
  });
  afterAll(async () => {
    await shop?.kill();
    await browser?.close();
    await sesame?.kill();
    await db?.drop();
  });

  it('the setup link makes the first admin, who signs in to the dashboard', async () => {
    // logged once the server listens, so it may follow the first answer by a moment
    const link = await eventually(
      async () => /"setup":"([^"]+)"/.exec(sesame.stdout() + sesame.stderr())?.[1],
      10_000,
      'the setup link',
    );
    expect(link, sesame.stdout()).toMatch(/\/console\/setup\?token=/);
    await page.goto(link!);
    await page.getByLabel('Email').fill(ADMIN.email);
    await page.getByLabel('Password').fill(ADMIN.password);
    await snap('setup');
    await button('Create admin').click();
    await page.getByText('Admin created').waitFor();
    await page.getByRole('link', { name: 'Sign in to the console' }).click();
    await page.getByLabel('Email').fill(ADMIN.email);
    await page.getByLabel('Password').fill(ADMIN.password);
    await button('Sign in').click();
    await page.getByRole('heading', { name: 'Dashboard' }).waitFor();
    expect(new URL(page.url()).pathname).toBe('/console');
    await snap('dashboard');
    // the first Tab reaches a link past the navigation (WCAG 2.4.1), shown while it has focus
    type Focus = { tagName: string; id: string; textContent: string | null };
    const focused = () =>
      page.evaluate(() => {
        const { activeElement: e } = (globalThis as unknown as { document: { activeElement: Focus | null } })
          .document;
        return e ? { tag: e.tagName, id: e.id, text: e.textContent } : null;
      });
    await page.keyboard.press('Tab');
    expect(await focused()).toMatchObject({ tag: 'A', text: 'Skip to content' });
    const skip = page.getByRole('link', { name: 'Skip to content' });
    expect((await skip.boundingBox())?.y ?? -1).toBeGreaterThanOrEqual(0);
    await page.keyboard.press('Enter');
    expect(await focused()).toMatchObject({ tag: 'MAIN', id: 'main' });
  });

  let m2m: { id: string; secret: string };
  it('creates an API with permissions and RBAC, and an m2m application whose Test token verifies', async () => {
    await go('/console/apis');
    await page.getByLabel('Name').fill('Orders');
    await page.locator('#identifier').fill(API);
    await page.locator('#scopes').fill('read:orders Read orders\nship:orders Ship orders');
    await button('Create API').click();
    await page.getByRole('heading', { name: 'Orders' }).first().waitFor();
    const apiPath = new URL(page.url()).pathname;
    await page.getByLabel(/enforce/i).check();
    await page.locator('select[name=token_dialect]').selectOption('rfc9068_profile_authz');
    await button('Save settings').click();
    await snap('api-settings');

    await go('/console/applications/new');
    await page.getByLabel('Name').fill('Order bot');
    await page.locator('input[name=type][value=m2m]').check();
    await button('Create').click();
    await page.locator('#client-secret').waitFor();
    // The copy button appears only when the console's own script ran under the CSP.
    await page.getByRole('button', { name: 'Copy secret' }).waitFor();
    await snap('application-quick-start');
    m2m = {
      id: await page.locator('#client-id').inputValue(),
      secret: await page.locator('#client-secret').inputValue(),
    };
    expect(m2m.secret).toMatch(/^[\w-]{43}$/);
    // A reload of that answer makes no second application and shows the secret no more.
    await page.reload();
    await page.locator('#secret-shown').waitFor();
    expect(await page.locator('#client-secret').count()).toBe(0);
    const appPage = page.url();
    await go('/console/applications');
    expect(await page.getByRole('link', { name: 'Order bot', exact: true }).count()).toBe(1);
    await page.goto(appPage);

    await go(`${apiPath.replace(/^\/console/, '/console')}/applications`);
    await page.locator(`input[name="authorized:${m2m.id}"]`).check();
    await page.locator(`input[name="scope:${m2m.id}"][value="read:orders"]`).check();
    await button('Save access').click();
    await go(`${apiPath}/test`);
    await page.locator('select[name=client_id]').selectOption(m2m.id);
    await page.locator('#client_secret').fill(m2m.secret);
    await button('Get a test token').click();
    await page.getByText('signature verified').waitFor();
    expect(await page.content()).toContain('read:orders');
    await snap('api-test');
  });

  it('creates a role with a permission and a user who holds it', async () => {
    await go('/console/roles');
    await page.getByLabel('Name').fill('Clerk');
    await button('Create role').click();
    await page.locator('select[name=permission]').selectOption(`${API} read:orders`);
    await button('Add permission').click();
    await page.getByText('Permission added').waitFor();
    await go('/console/users');
    await page.locator('#create').getByLabel('Email').fill(CLERK.email);
    await page.locator('#create').getByLabel('Password').fill(CLERK.password);
    await button('Create user').click();
    await page.getByText(CLERK.email).first().waitFor();
    if (!new URL(page.url()).pathname.startsWith('/console/users/usr_')) {
      await page.getByRole('link', { name: CLERK.email }).first().click();
    }
    await page.locator('select[name=role]').selectOption({ label: 'Clerk' });
    await button('Assign role').click();
    await page.getByText('Role: Clerk').first().waitFor();
    await snap('user');
    // Searching narrows the list as one types (htmx), without a page load.
    await go('/console/users');
    await page.locator('input[name=q]').pressSequentially('clerk', { delay: 30 });
    await page.waitForURL(/q=clerk/);
    expect(await page.locator('#user-results').textContent()).toContain(CLERK.email);
    expect(await page.locator('#user-results').textContent()).not.toContain(ADMIN.email);
    // the page htmx fetched brings nothing the console's CSP refuses (an inline style did)
    expect(refused).toEqual([]);
    // With the console and sign-in sessions gone, typing leads the whole page to the login
    // page (it used to empty the list); signed in again, the search is back where it was.
    const context = page.context();
    await context.clearCookies();
    await page.locator('input[name=q]').pressSequentially('x', { delay: 30 });
    await page.waitForURL(/\/u\/login/);
    await page.getByLabel('Email').fill(ADMIN.email);
    await page.getByLabel('Password').fill(ADMIN.password);
    await button('Sign in').click();
    await page.waitForURL(/\/console\/users\?q=clerkx/);
    expect(await page.locator('input[name=q]').inputValue()).toBe('clerkx');
    // Back shows the search before with its text: htmx restored a snapshot of the page as it
    // loaded, with an empty box. No page of the console is kept in the browser's storage.
    await go('/console/users');
    await page.locator('input[name=q]').pressSequentially('cle', { delay: 30 });
    await page.waitForURL(/q=cle$/);
    await page.locator('input[name=q]').pressSequentially('rk', { delay: 30 });
    await page.waitForURL(/q=clerk$/);
    await page.goBack();
    await page.waitForURL(/q=cle$/);
    await page.locator('#user-results').waitFor();
    expect(await page.locator('input[name=q]').inputValue()).toBe('cle');
    expect(await page.evaluate('sessionStorage.getItem("htmx-history-cache")')).toBeNull();
  });

  it('the user signs in to a web application made in the console; the token carries the permission', async () => {
    const port = await freePort();
    const url = `http://localhost:${port}`;
    await go('/console/applications/new');
    await page.getByLabel('Name').fill('Shop');
    await page.locator('input[name=type][value=web]').check();
    await button('Create').click();
    const id = await page.locator('#client-id').inputValue();
    const secret = await page.locator('#client-secret').inputValue();
    await go(`/console/applications/${id}`);
    await page.locator('textarea[name=callbacks]').fill(`${url}/callback`);
    await page.locator('textarea[name=allowed_logout_urls]').fill(`${url}/`);
    await page.locator('#settings').locator('..').getByRole('button', { name: /save/i }).click();
    shop = await startExampleApp({
      issuer,
      clientId: id,
      clientSecret: secret,
      port,
      url,
      scope: 'openid profile email read:orders ship:orders',
      audience: API,
    });
    const user = await (await browser.newContext()).newPage();
    await user.goto(url);
    await user.click('#login');
    await user.getByLabel('Email').fill(CLERK.email);
    await user.getByLabel('Password').fill(CLERK.password);
    await user.getByRole('button', { name: 'Sign in' }).click();
    await user.getByRole('button', { name: 'Allow' }).click();
    await user.locator('#access-token').waitFor();
    const at = JSON.parse((await user.locator('#access-token').textContent()) ?? '{}');
    expect(at.scope).toBe('openid profile email read:orders');
    expect(at.permissions).toEqual(['read:orders']);
    await snap('web-app', user);
    await user.context().close();
  });

  it('the logs page shows those events; keys rotate; a hostile application name stays text', async () => {
    // Token-endpoint successes are written in batches within a second.
    for (let i = 0; i < 20 && !(await page.content()).includes('Shop'); i++) {
      await go('/console/logs?type=seacft');
      await page.waitForTimeout(250);
    }
    expect(await page.locator('main').textContent()).toContain('Shop');
    await go('/console/logs');
    const types = await page.locator('tbody code').allTextContents();
    expect(types).toEqual(expect.arrayContaining(['s', 'seacft', 'seccft', 'sapi', 'consent_given']));
    await snap('logs');
    await go('/console/keys');
    await button('Rotate keys').click();
    await page.getByText('New keys published').waitFor();
    await snap('keys');
    await go('/console/applications/new');
    // < and > are refused in an application's name (Auth0's rule), said beside the field
    await page.getByLabel('Name').fill('<script>alert(1)</script>');
    await button('Create').click();
    await page.getByText('name: must not contain < or >').first().waitFor();
    await page.getByLabel('Name').fill(`"' onfocus=alert(1) autofocus x='&amp;`);
    await button('Create').click();
    await page.getByText('Application created.').waitFor();
    await go('/console/applications');
    await page.getByText(`"' onfocus=alert(1) autofocus x='&amp;`).first().waitFor();
    expect(dialogs).toEqual([]);
    await go('/console');
    await snap('dashboard-busy');
    await page.setViewportSize({ width: 390, height: 800 });
    await go('/console');
    await snap('dashboard-390');
    expect(await page.evaluate('document.documentElement.scrollWidth')).toBeLessThanOrEqual(400);
    await page.setViewportSize({ width: 1280, height: 900 });
  });

  it('signs out; a person without the admin role is refused', async () => {
    await go('/console');
    // A form posted without the session's CSRF token changes nothing.
    const forged = `fetch('/console/keys/rotate', {method: 'POST', headers: {'content-type': 'application/x-www-form-urlencoded'}, body: 'x=1'}).then((r) => r.status)`;
    expect(await page.evaluate(forged)).toBe(403);
    await button('Sign out').click();
    await page.getByLabel('Password').waitFor();
    expect(new URL(page.url()).pathname).toBe('/u/login');
    await page.getByLabel('Email').fill(CLERK.email);
    await page.getByLabel('Password').fill(CLERK.password);
    await button('Sign in').click();
    await page.getByRole('heading', { name: 'No access' }).waitFor();
    await snap('no-access');
  });
});
