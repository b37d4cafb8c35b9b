import { afterAll, beforeAll, expect, it } from 'vitest';
import { sha256 } from '../../../src/util/crypto.js';
import { startTestApp, type TestApp } from '../../support/app.js';
import { describeEachBackend } from '../../support/databases.js';
import { csrfOf, INTERACTION_COOKIE, type UserAgent } from './agent.js';
import { authorizationUrl, browser, CALLBACK, newUser } from './fixtures.js';

/**
 * Several sign-ins under way in one browser (two applications' tabs, or /account beside an
 * application's login page): each page posts to its own, and each ends at its own callback.
 */
describeEachBackend('sign-in: several at once in one browser', (backend) => {
  let t: TestApp;
  type App = { clientId: string };
  let shop: App;
  let blog: App;
  beforeAll(async () => {
    t = await startTestApp(backend);
    const app = (name: string) =>
      t.createApp({ name, type: 'web', requirePkce: false, callbacks: [CALLBACK], skipConsent: true });
    [shop, blog] = await Promise.all([app('Shop'), app('Blog')]);
  });
  afterAll(async () => t?.close());

  /** Opens the application's /authorize in `agent`: the login page it leads to, and its form's action. */
  async function loginPage(agent: UserAgent, app: App, state: string) {
    const start = await agent.get(
      authorizationUrl(t, { client_id: app.clientId, redirect_uri: CALLBACK, state, nonce: 'n' }),
    );
    const page = await agent.get(new URL(start.headers.get('location') as string, t.issuer));
    const html = await page.text();
    expect(page.status, html).toBe(200);
    const action =
      /<form method="post" action="([^"]+)">\s*<input type="hidden" name="csrf"[^>]*>\s*<label/.exec(
        html,
      )?.[1];
    return { html, action: (action ?? '').replaceAll('&amp;', '&') };
  }

  /** Posts the login form and follows Sesame's redirects: where the browser leaves Sesame for. */
  async function submit(
    agent: UserAgent,
    form: { html: string; action: string },
    creds: { email: string; password: string },
  ) {
    let res = await agent.post(form.action, { csrf: csrfOf(form.html), ...creds });
    expect(res.status, await res.clone().text()).toBe(303);
    for (let hops = 0; hops < 5; hops++) {
      const next = new URL(res.headers.get('location') as string, t.issuer);
      if (next.origin !== new URL(t.issuer).origin) return next;
      res = await agent.get(next);
    }
    throw new Error('no way out of Sesame');
  }

  it("two applications' login pages open at once: each form signs in to its own application", async () => {
    const { creds } = await newUser(t);
    const agent = browser(t);
    const first = await loginPage(agent, shop, 'shop-state');
    const second = await loginPage(agent, blog, 'blog-state');
    expect(first.action).toMatch(/^\/u\/login\?i=[\w-]+$/);
    expect(second.action).not.toBe(first.action);
    // the older tab first: it used to be refused (its interaction had been replaced)
    const back = await submit(agent, first, creds);
    expect(back.searchParams.get('state')).toBe('shop-state');
    expect(back.searchParams.get('code')).toEqual(expect.any(String));
    const other = await submit(agent, second, creds);
    expect(other.searchParams.get('state')).toBe('blog-state');
    expect(other.searchParams.get('code')).toEqual(expect.any(String));
    // both ended: the browser keeps no interaction cookie
    expect([...agent.cookies.keys()].some((k) => k.includes('interaction'))).toBe(false);
  });

  it('two tabs redirected before either page loads: each page, and its reload, is its own sign-in', async () => {
    const { creds } = await newUser(t);
    const agent = browser(t);
    const start = async (app: App, state: string) =>
      (
        await agent.get(
          authorizationUrl(t, { client_id: app.clientId, redirect_uri: CALLBACK, state, nonce: 'n' }),
        )
      ).headers.get('location') as string;
    // both redirects before either page: the first redirect names its sign-in (`?i=`), so the
    // first tab's page is not the last begun one
    const [toShop, toBlog] = [await start(shop, 'shop-first'), await start(blog, 'blog-second')];
    expect(toShop).toMatch(/^\/u\/login\?i=[\w-]+$/);
    expect(toBlog).not.toBe(toShop);
    const page = async (location: string) => {
      const res = await agent.get(new URL(location, t.issuer));
      const html = await res.text();
      expect(res.status, html).toBe(200);
      const action = /<form method="post" action="([^"]+)">\s*<input type="hidden" name="csrf"/.exec(
        html,
      )?.[1];
      return { html, action: (action ?? '').replaceAll('&amp;', '&') };
    };
    await page(toShop);
    await page(toBlog);
    // the first tab reloaded after the second began: still the first application's sign-in
    const shopPage = await page(toShop);
    expect(shopPage.html).toContain('Shop');
    expect((await submit(agent, shopPage, creds)).searchParams.get('state')).toBe('shop-first');
  });

  it("/account opened beside an application's login page leaves that sign-in in place", async () => {
    const { creds } = await newUser(t);
    const agent = browser(t);
    const app = await loginPage(agent, shop, 'kept');
    const account = await agent.get(`${t.issuer}/account`);
    expect(new URL(account.headers.get('location') as string, t.issuer).pathname).toBe('/u/login');
    const back = await submit(agent, app, creds);
    expect(back.origin + back.pathname).toBe(CALLBACK);
    expect(back.searchParams.get('state')).toBe('kept');
  });

  it('a browser keeps at most five sign-ins under way: the oldest ends when a sixth begins', async () => {
    const { creds } = await newUser(t);
    const agent = browser(t);
    const pages = [];
    for (let i = 0; i < 6; i++) pages.push(await loginPage(agent, i % 2 ? blog : shop, `s${i}`));
    const oldest = await agent.post(pages[0]!.action, { csrf: csrfOf(pages[0]!.html), ...creds });
    expect(oldest.status).toBe(400);
    expect(await oldest.text()).toContain('This sign-in is no longer in progress');
    expect((await submit(agent, pages[1]!, creds)).searchParams.get('state')).toBe('s1');
  });

  it('a cookie from before handles (one token) still finds its sign-in, which then ends as before', async () => {
    const { creds } = await newUser(t);
    const agent = browser(t);
    const token = 'legacy-interaction-token-0123456789abcdefghij';
    await t.rt.storage.interactions.create({
      idHash: sha256(token),
      csrf: 'legacy-csrf',
      payload: { returnTo: '/account' },
      expiresAt: t.clock.now() + 600,
    });
    agent.cookies.set(INTERACTION_COOKIE, token);
    const page = await agent.get(`${t.issuer}/u/login`);
    const html = await page.text();
    expect(page.status, html).toBe(200);
    expect(html).toContain('action="/u/login"');
    const res = await agent.post('/u/login', { csrf: csrfOf(html), ...creds });
    expect(res.status).toBe(303);
    expect(res.headers.get('location')).toBe('/account');
  });

  it('a malformed i finds no sign-in (never the last one begun in its place)', async () => {
    const agent = browser(t);
    await loginPage(agent, shop, 'any');
    const res = await agent.get(`${t.issuer}/u/login?i=${encodeURIComponent('not a handle!')}`);
    expect(res.status).toBe(400);
    expect(await res.text()).toContain('This sign-in is no longer in progress');
  });

  it("a page's i names nothing without the browser's own cookie", async () => {
    const agent = browser(t);
    const form = await loginPage(agent, shop, 'mine');
    const stranger = browser(t);
    const res = await stranger.post(form.action, {
      csrf: csrfOf(form.html),
      email: 'x@example.com',
      password: 'y',
    });
    expect(res.status).toBe(400);
    expect(await res.text()).toContain('This sign-in is no longer in progress');
  });
});
