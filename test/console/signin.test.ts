import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { updateApi } from '../../src/admin/apis.js';
import { hasAdmin, issueSetupToken } from '../../src/admin/console.js';
import { deleteUserSessions } from '../../src/admin/sessions.js';
import { updateSettings } from '../../src/admin/settings.js';
import { managementIdentifier } from '../../src/admin/system.js';
import { csrfOf, unescapeHtml } from '../protocol/sign-in/agent.js';
import { browser } from '../protocol/sign-in/fixtures.js';
import { startTestApp, type TestApp } from '../support/app.js';
import { describeEachBackend } from '../support/databases.js';
import { open, signedInAdmin, signedInNobody } from './support.js';

describeEachBackend('console: first admin, sign-in, no access, sign-out', (backend) => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp(backend);
  });
  afterAll(async () => t?.close());

  // Before the first admin exists (the setup link works only until then).
  it('the setup form: a bad name is shown next to the field; a body over the limit is 413, not read', async () => {
    const token = await issueSetupToken(t.rt.storage, t.clock);
    const agent = browser(t);
    const long = await agent.post('/console/setup', {
      token,
      email: 'named@example.com',
      password: 'correct horse battery',
      name: 'n'.repeat(300),
    });
    expect(long.status).toBe(400);
    expect(await long.text()).toContain('<p class="field-error" id="name-error" role="alert">name: at most');
    const limit = t.rt.config.bodyLimit;
    const big = `token=${token}&name=${'x'.repeat(limit + 10)}`;
    const declared = await t.fetch(`${t.issuer}/console/setup`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: big,
    });
    expect(declared.status).toBe(413);
    const chunk = new TextEncoder().encode('x'.repeat(16_384));
    let sent = 0;
    const streamed = await t.fetch(`${t.issuer}/console/setup`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new ReadableStream<Uint8Array>({
        pull(controller) {
          if (sent++ > Math.ceil(limit / 16_384) + 4) return controller.close();
          controller.enqueue(chunk);
        },
      }),
      duplex: 'half',
    } as RequestInit);
    expect(streamed.status).toBe(413);
  });

  it('the setup link makes the first admin once; a mistake leaves it usable', async () => {
    expect(await hasAdmin(t.rt.storage)).toBe(false);
    const token = await issueSetupToken(t.rt.storage, t.clock);
    const agent = browser(t);
    const form = await open(agent, `/console/setup?token=${token}`);
    expect(form.status).toBe(200);
    expect(form.html).toContain('Create the first admin');
    const short = await agent.post('/console/setup', {
      token,
      email: 'first@example.com',
      password: 'short',
    });
    expect(short.status).toBe(400);
    expect(await short.text()).toMatch(/password/);
    const ok = await agent.post('/console/setup', {
      token,
      email: 'first@example.com',
      password: 'correct horse battery',
    });
    expect(ok.status, await ok.clone().text()).toBe(200);
    expect(await hasAdmin(t.rt.storage)).toBe(true);
    expect((await open(agent, `/console/setup?token=${token}`)).status).toBe(400);
    const again = await agent.post('/console/setup', {
      token,
      email: 'second@example.com',
      password: 'correct horse battery',
    });
    expect(again.status).toBe(400);
    expect((await open(agent, '/console/setup?token=forged')).status).toBe(400);
  });

  it('an admin signs in through /authorize and sees the dashboard; the browser holds no token', async () => {
    const { agent, dashboard } = await signedInAdmin(t);
    expect(dashboard).toContain('Dashboard');
    expect(dashboard).toMatch(/id="count-users">\d+</);
    // the console's style sheet is a file (nothing inline for the CSP to refuse), as written
    expect(dashboard).not.toMatch(/<style|\sstyle=/);
    expect(dashboard).toContain('<link rel="stylesheet" href="/console/assets/console.css"/>');
    const css = await t.fetch(`${t.issuer}/console/assets/console.css`);
    expect(css.headers.get('content-type')).toBe('text/css; charset=utf-8');
    expect(await css.text()).toContain('.row>*{flex:1 1 14rem}');
    for (const value of agent.cookies.values()) expect(value).not.toMatch(/^eyJ/);
    expect(JSON.stringify([...agent.setCookies])).not.toContain('eyJ');
    const cookie = agent.setCookies.find((h) => h.includes('sesame_console='));
    expect(cookie).toMatch(/HttpOnly/i);
  });

  it('a person without Sesame Admin gets a clear "no access" page', async () => {
    const { agent, flow } = await signedInNobody(t);
    expect(flow.response.status).toBe(403);
    const html = await flow.response.text();
    expect(html).toContain('No access');
    // its "sign out" ends the sign-in and comes back to the console, to sign in as someone else
    const href = unescapeHtml(/<a href="(\/oidc\/logout\?[^"]+)">sign out<\/a>/.exec(html)?.[1] ?? '');
    const to = new URL(href, t.issuer);
    expect(to.searchParams.get('post_logout_redirect_uri')).toBe(`${t.issuer.replace(/\/+$/, '')}/console`);
    const ask = await agent.get(to);
    expect(ask.status).toBe(200);
    const out = await agent.post('/oidc/logout', {
      ...Object.fromEntries(to.searchParams),
      confirm: 'yes',
      csrf: csrfOf(await ask.text()),
    });
    expect(out.status).toBe(303);
    expect(out.headers.get('location')).toBe(`${t.issuer.replace(/\/+$/, '')}/console`);
  });

  it("the console's sign-in offers no sign-up, even when the tenant allows it (a new account has no access)", async () => {
    await updateSettings(t.rt.storage, t.clock, { signup_enabled: true });
    try {
      const agent = browser(t, { email: 'nobody@example.com', password: 'unused' });
      let res = await agent.get('/console');
      for (let hops = 0; res.status === 302 || res.status === 303; hops++) {
        expect(hops).toBeLessThan(5);
        res = await agent.get(new URL(res.headers.get('location')!, t.issuer));
      }
      const login = await res.text();
      expect(res.status).toBe(200);
      expect(login).toContain('name="password"');
      expect(login).not.toContain('/u/signup');
      const signup = await agent.get('/u/signup');
      expect(signup.status).toBe(404);
      expect(await signup.text()).toContain('Sign-up is not available');
    } finally {
      await updateSettings(t.rt.storage, t.clock, { signup_enabled: false });
    }
  });

  it('signing out needs the CSRF token and ends the console and SSO sessions', async () => {
    const { agent, dashboard } = await signedInAdmin(t);
    expect((await agent.post('/console/logout', {})).status).toBe(403);
    const out = await agent.post('/console/logout', { csrf: csrfOf(dashboard) });
    expect(out.status).toBe(303);
    expect(out.headers.get('location')).toMatch(/^\/oidc\/logout\?/);
    const logout = await agent.get(out.headers.get('location')!);
    expect(logout.status).toBe(303);
    expect(logout.headers.get('location')).toBe(`${t.issuer}/console`);
    const back = await open(agent, '/console');
    expect(back.status).toBe(303);
    expect(back.location).toMatch(/^\/console\/login/);
  });

  it('signing out after the console session ended does not sign in again: the SSO logout asks first', async () => {
    const { agent } = await signedInAdmin(t);
    t.clock.advance(3601); // the console session (an hour) is over; the SSO session is not
    const out = await agent.post('/console/logout', {});
    expect(out.status).toBe(303);
    const to = new URL(out.headers.get('location') ?? '', t.issuer);
    expect(to.pathname).toBe('/oidc/logout');
    expect(to.searchParams.get('id_token_hint')).toBeNull();
    expect(to.searchParams.get('post_logout_redirect_uri')).toBe(`${t.issuer.replace(/\/+$/, '')}/console`);
    const page = await agent.get(to);
    expect(page.status, 'a page that asks, not a way back into the console').toBe(200);
    expect(await page.text()).toMatch(/<form[^>]*method="post"/i);
  });

  it('a user policy saved on the Management API (deny_all) does not lock admins out of the console', async () => {
    const system = managementIdentifier(t.issuer);
    await updateApi(t.rt.storage, t.clock, system, { userPolicy: 'deny_all' });
    try {
      const { dashboard } = await signedInAdmin(t);
      expect(dashboard).toContain('Dashboard');
    } finally {
      await updateApi(t.rt.storage, t.clock, system, { userPolicy: 'require_client_grant' });
    }
  });

  it('signing a person out everywhere ends their console session too', async () => {
    const { agent, email } = await signedInAdmin(t);
    expect((await open(agent, '/console')).status).toBe(200);
    const user = await t.rt.storage.users.getByEmail(email);
    await deleteUserSessions(t.rt.storage, user!.id);
    const after = await open(agent, '/console');
    expect(after.status).toBe(303);
    expect(after.location).toMatch(/^\/console\/login/);
  });

  it('a form sent after the admin’s token stopped working leads to a new sign-in, not to a missing page', async () => {
    const { agent, email, dashboard } = await signedInAdmin(t);
    const user = await t.rt.storage.users.getByEmail(email);
    for (const { jti, expiresAt } of await t.rt.storage.grantTokens.listWhere(
      { userId: user!.id },
      t.clock.now(),
    ))
      await t.rt.storage.revocations.revoke(jti, expiresAt);
    const sent = await agent.post(`/console/users/${user!.id}/password`, {
      csrf: csrfOf(dashboard),
      password: 'another long passphrase',
    });
    expect(sent.status).toBe(401);
    expect(await sent.text()).toContain('what it asked for was not done');
  });

  it('a form sent after the console session ended says it was not done (not the dashboard as if it had been); nothing is made', async () => {
    const { agent, dashboard } = await signedInAdmin(t);
    t.clock.advance(3601); // the console session (an hour) is over; the SSO session is not
    const sent = await agent.post('/console/roles', { csrf: csrfOf(dashboard), name: 'Made too late' });
    expect(sent.status).toBe(401);
    const html = await sent.text();
    expect(html).toContain('This form came without a console session, so what it asked for was not done');
    expect(html).toContain('href="/console/login"');
    // sent from a console page, signing in again leads back to it
    const fromPage = await agent.request('/console/roles', {
      method: 'POST',
      headers: {
        'content-type': 'application/x-www-form-urlencoded',
        referer: `${t.issuer}/console/roles?page=2`,
      },
      body: new URLSearchParams({ csrf: csrfOf(dashboard), name: 'Made too late' }).toString(),
    });
    expect(fromPage.status).toBe(401);
    expect(await fromPage.text()).toContain(
      `href="/console/login?return=${encodeURIComponent('/console/roles?page=2')}"`,
    );
    expect(await t.rt.storage.roles.getByName('Made too late')).toBeNull();
  });

  it("an address of the console with no page gets the console's own 404 page, also a form's address", async () => {
    const { agent } = await signedInAdmin(t);
    for (const path of ['/console/nope', `/console/roles/rol_x/members`, '/console/users/usr_x/password']) {
      const res = await open(agent, path);
      expect(res.status, path).toBe(404);
      expect(res.html, path).toContain('There is no page at this address.');
      expect(res.html, path).toContain('<nav class="console"');
    }
  });

  it('the live search without a console session is sent to sign in (HX-Redirect), keeping its query; a page load gets a 303', async () => {
    const search = '/console/users?q=clerk';
    const asHtmx = await t.fetch(`${t.issuer}${search}`, {
      redirect: 'manual',
      headers: { 'HX-Request': 'true' },
    });
    expect(asHtmx.status).toBe(204);
    expect(asHtmx.headers.get('location')).toBeNull();
    expect(asHtmx.headers.get('hx-redirect')).toBe(`/console/login?return=${encodeURIComponent(search)}`);
    const plain = await t.fetch(`${t.issuer}${search}`, { redirect: 'manual' });
    expect(plain.status).toBe(303);
    expect(plain.headers.get('location')).toBe(`/console/login?return=${encodeURIComponent(search)}`);
    expect(plain.headers.get('hx-redirect')).toBeNull();
  });

  it('GET / leads to the console', async () => {
    const res = await t.fetch(`${t.issuer}/`, { redirect: 'manual' });
    expect(res.status).toBe(302);
    expect(res.headers.get('location')).toBe('/console');
  });

  describe('assets', () => {
    it('serves htmx and Pico from Sesame itself', async () => {
      for (const [name, type] of [
        ['htmx.min.js', 'javascript'],
        ['pico.min.css', 'css'],
      ]) {
        const res = await t.fetch(`${t.issuer}/console/assets/${name}`);
        expect(res.status).toBe(200);
        expect(res.headers.get('content-type')).toContain(type);
      }
      // `..` leaves the assets: /console/package.json, a console address like any other (sign in first)
      const dotdot = await t.fetch(`${t.issuer}/console/assets/../package.json`, { redirect: 'manual' });
      expect(dotdot.status).toBe(303);
      expect(dotdot.headers.get('location')).toMatch(/^\/console\/login\?return=/);
      for (const name of ['__proto__', 'constructor', 'toString', 'hasOwnProperty'])
        expect((await t.fetch(`${t.issuer}/console/assets/${name}`)).status, name).toBe(404);
    });
  });
});
