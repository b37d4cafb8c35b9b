import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { setBlocked } from '../../../src/admin/users.js';
import { startTestApp, type TestApp } from '../../support/app.js';
import { describeEachBackend } from '../../support/databases.js';
import {
  csrfOf,
  INTERACTION_COOKIE,
  inInteraction,
  parseSetCookie,
  SESSION_COOKIE,
  type UserAgent,
} from './agent.js';
import {
  authorizationUrl,
  browser,
  CALLBACK,
  codeFor,
  newUser,
  PASSWORD,
  s256,
  webAuthorizationUrl,
  webConfig,
  webSignIn,
} from './fixtures.js';

type App = { clientId: string; clientSecret?: string };

/** Asserts the headers every HTML page of Sesame carries. */
function expectPageHeaders(res: Response, what: string): void {
  const csp = res.headers.get('content-security-policy') ?? '';
  expect({
    what,
    type: res.headers.get('content-type'),
    frameAncestors: /(^|;)\s*frame-ancestors 'none'\s*(;|$)/.test(csp),
    defaultSrc: /(^|;)\s*default-src 'none'/.test(csp),
    xfo: res.headers.get('x-frame-options'),
    referrer: res.headers.get('referrer-policy'),
    cache: res.headers.get('cache-control'),
  }).toEqual({
    what,
    type: 'text/html; charset=utf-8',
    frameAncestors: true,
    defaultSrc: true,
    xfo: 'DENY',
    referrer: 'no-referrer',
    cache: 'no-store',
  });
}

/** The alert text of a login page. */
const alertOf = (html: string) => /role="alert">([^<]*)</.exec(html)?.[1]?.trim();

describeEachBackend('sign-in: pages, CSRF, cookies, login (OWASP, RFC 6265bis)', (backend) => {
  let t: TestApp;
  let web: App;

  beforeAll(async () => {
    t = await startTestApp(backend);
    web = await t.createApp({
      name: 'Web',
      type: 'web',
      requirePkce: false,
      callbacks: [CALLBACK],
      logoutCallbacks: [CALLBACK],
    });
  });
  afterAll(async () => t?.close());

  const url = (params: Record<string, string | null> = {}) =>
    authorizationUrl(t, {
      client_id: web.clientId,
      redirect_uri: CALLBACK,
      state: 's',
      code_challenge: s256('p'.repeat(43)),
      code_challenge_method: 'S256',
      ...params,
    });

  /** Opens the authorization URL and the login page; returns its CSRF token. */
  async function atLogin(agent: UserAgent, params: Record<string, string | null> = {}): Promise<string> {
    const res = await agent.get(url(params));
    expect(res.headers.get('location')).toEqual(inInteraction('/u/login'));
    const page = await agent.get('/u/login');
    expect(page.status).toBe(200);
    return csrfOf(await page.text());
  }

  /** Logs in and stops at the consent page; returns its CSRF token. */
  async function atConsent(agent: UserAgent): Promise<string> {
    const flow = await agent.signIn(url({ scope: 'openid profile' }), { stopAt: 'consent' });
    expect(flow.pages).toEqual(['login', 'consent']);
    return csrfOf(flow.html.consent as string);
  }

  describe('CSRF', () => {
    it('POST /u/login without the CSRF token → 403, no session, and the interaction still works', async () => {
      const { creds } = await newUser(t);
      const agent = browser(t, creds);
      const csrf = await atLogin(agent);
      const res = await agent.post('/u/login', { email: creds.email, password: PASSWORD });
      expect(res.status).toBe(403);
      expect(res.headers.get('location')).toBeNull();
      expectPageHeaders(res, '403 page');
      expect(agent.cookies.has(SESSION_COOKIE)).toBe(false);
      const ok = await agent.post('/u/login', { csrf, email: creds.email, password: PASSWORD });
      expect([ok.status, ok.headers.get('location')]).toEqual([303, inInteraction('/authorize/resume')]);
    });

    it('POST /u/login with another browser’s CSRF token → 403 and no session', async () => {
      const { creds } = await newUser(t);
      const victim = browser(t, creds);
      const attacker = browser(t, creds);
      await atLogin(victim);
      const foreign = await atLogin(attacker);
      const res = await victim.post('/u/login', { csrf: foreign, email: creds.email, password: PASSWORD });
      expect(res.status).toBe(403);
      expect(victim.cookies.has(SESSION_COOKIE)).toBe(false);
    });

    it('POST /u/login with an empty CSRF token → 403', async () => {
      const { creds } = await newUser(t);
      const agent = browser(t, creds);
      await atLogin(agent);
      const res = await agent.post('/u/login', { csrf: '', email: creds.email, password: PASSWORD });
      expect(res.status).toBe(403);
    });

    it('POST /u/consent without the CSRF token → 403 and nothing is granted', async () => {
      const { creds } = await newUser(t);
      const agent = browser(t, creds);
      await atConsent(agent);
      const res = await agent.post('/u/consent', { decision: 'allow' });
      expect(res.status).toBe(403);
      expect(res.headers.get('location')).toBeNull();
      // still not granted: prompt=none says so
      const check = await agent.get(url({ scope: 'openid profile', prompt: 'none' }));
      expect(new URL(check.headers.get('location') as string).searchParams.get('error')).toBe(
        'consent_required',
      );
    });

    it('POST /u/consent with another browser’s CSRF token → 403 and nothing is granted', async () => {
      const a = await newUser(t);
      const b = await newUser(t);
      const victim = browser(t, a.creds);
      const attacker = browser(t, b.creds);
      const own = await atConsent(victim);
      const foreign = await atConsent(attacker);
      const res = await victim.post('/u/consent', { csrf: foreign, decision: 'allow' });
      expect(res.status).toBe(403);
      const resume = await victim.post('/u/consent', { csrf: own, decision: 'allow' });
      expect([resume.status, resume.headers.get('location')]).toEqual([
        303,
        inInteraction('/authorize/resume'),
      ]);
    });

    it('POST /u/login with no interaction at all → an error page, no session', async () => {
      const agent = browser(t);
      const res = await agent.post('/u/login', { csrf: 'x', email: 'a@example.com', password: PASSWORD });
      expect(res.status).toBe(400);
      expect(res.headers.get('location')).toBeNull();
      expect(agent.cookies.has(SESSION_COOKIE)).toBe(false);
    });
  });

  describe('headers on every page', () => {
    it('login page, consent page, login error page', async () => {
      const { creds } = await newUser(t);
      const agent = browser(t, creds);
      const csrf = await atLogin(agent, { scope: 'openid profile' });
      expectPageHeaders(await agent.get('/u/login'), 'login page');
      const wrong = await agent.post('/u/login', { csrf, email: creds.email, password: 'not the password' });
      expect(wrong.status).toBe(400);
      expectPageHeaders(wrong, 'login error page');
      const ok = await agent.post('/u/login', { csrf, email: creds.email, password: PASSWORD });
      await agent.get(ok.headers.get('location') as string);
      expectPageHeaders(await agent.get('/u/consent'), 'consent page');
    });

    it('error pages (unknown client, bad redirect_uri, expired interaction)', async () => {
      expectPageHeaders(await t.fetch(url({ client_id: 'nope' }), { redirect: 'manual' }), 'unknown client');
      expectPageHeaders(await t.fetch(url({ redirect_uri: 'https://evil.example/' })), 'bad redirect_uri');
      expectPageHeaders(await t.fetch(`${t.issuer}/u/login`), 'no interaction');
      expectPageHeaders(await t.fetch(`${t.issuer}/u/consent`), 'no interaction (consent)');
    });

    it('form_post page and logout pages', async () => {
      const { creds } = await newUser(t);
      const agent = browser(t, creds);
      const flow = await agent.signIn(url({ response_mode: 'form_post' }));
      expect(flow.response.status).toBe(200);
      expectPageHeaders(flow.response, 'form_post');
      expectPageHeaders(await agent.get('/oidc/logout'), 'logout confirmation');
      expectPageHeaders(await agent.post('/oidc/logout', { confirm: 'yes' }), 'logout 403');
      expectPageHeaders(await browser(t).get('/oidc/logout'), 'logged out');
    });
  });

  describe('CSP form-action lets the sign-in end at the client (browsers apply it to redirects after a form POST)', () => {
    /** Whether a CSP form-action source list allows navigating to `target` (scheme- or origin-source). */
    function formActionAllows(csp: string, target: string): boolean {
      const sources = /(?:^|;)\s*form-action ([^;]*)/.exec(csp)?.[1]?.trim().split(/\s+/) ?? [];
      const url = new URL(target);
      return sources.includes(url.protocol) || (url.origin !== 'null' && sources.includes(url.origin));
    }

    it.each([
      ['a web callback', 'web', CALLBACK],
      ['a loopback callback', 'native', 'http://127.0.0.1:4711/cb'],
      ['a private-use scheme callback (RFC 8252 §7.1)', 'native', 'com.example.app:/cb'],
    ])('%s: login and consent pages allow it', async (_, type, callback) => {
      const registered = callback.startsWith('http://127.0.0.1') ? 'http://127.0.0.1/cb' : callback;
      const app = await t.createApp({ name: 'CSP', type, callbacks: [registered] });
      const { creds } = await newUser(t);
      const flow = await browser(t, creds).signIn(
        authorizationUrl(t, {
          client_id: app.clientId,
          redirect_uri: callback,
          code_challenge: s256('p'.repeat(43)),
          code_challenge_method: 'S256',
        }),
        { stopAt: 'consent' },
      );
      expect(flow.pages).toEqual(['login', 'consent']);
      const agent = browser(t, creds);
      const login = await agent.signIn(
        authorizationUrl(t, {
          client_id: app.clientId,
          redirect_uri: callback,
          prompt: 'login',
          code_challenge: s256('p'.repeat(43)),
          code_challenge_method: 'S256',
        }),
        { stopAt: 'login' },
      );
      const loginCsp = login.response.headers.get('content-security-policy') ?? '';
      const consentCsp = flow.response.headers.get('content-security-policy') ?? '';
      expect({ loginCsp, allowed: formActionAllows(loginCsp, callback) }).toMatchObject({ allowed: true });
      expect({ consentCsp, allowed: formActionAllows(consentCsp, callback) }).toMatchObject({
        allowed: true,
      });
    });
  });

  describe('cookies', () => {
    it('session, interaction and device cookies are __Host-, HttpOnly, Secure, SameSite=Lax, Path=/, no Domain', async () => {
      const { creds } = await newUser(t);
      const agent = browser(t, creds);
      await agent.signIn(url());
      const seen = new Set<string>();
      for (const header of agent.setCookies) {
        const { name, value, attrs } = parseSetCookie(header);
        seen.add(name);
        expect(name).toMatch(/^__Host-sesame_(session|interaction|device)$/);
        // __Host- requires Secure, Path=/ and no Domain, or the browser ignores the header (deletions too)
        expect({
          name,
          secure: attrs.has('secure'),
          path: attrs.get('path'),
          domain: attrs.has('domain'),
        }).toEqual({
          name,
          secure: true,
          path: '/',
          domain: false,
        });
        if (value !== '' && attrs.get('max-age') !== '0') {
          expect({ name, httpOnly: attrs.has('httponly'), sameSite: attrs.get('samesite') }).toEqual({
            name,
            httpOnly: true,
            sameSite: 'Lax',
          });
        }
      }
      expect([...seen].sort()).toEqual(['__Host-sesame_device', INTERACTION_COOKIE, SESSION_COOKIE]);
    });

    it('the interaction cookie is removed when the sign-in completes', async () => {
      const { creds } = await newUser(t);
      const agent = browser(t, creds);
      await agent.signIn(url());
      expect(agent.cookies.has(INTERACTION_COOKIE)).toBe(false);
      expect(agent.cookies.has(SESSION_COOKIE)).toBe(true);
    });

    it('login replaces a planted session cookie value (session fixation)', async () => {
      const { creds } = await newUser(t);
      const agent = browser(t, creds);
      agent.cookies.set(SESSION_COOKIE, 'attacker-chosen-value');
      await agent.signIn(url());
      const value = agent.cookies.get(SESSION_COOKIE);
      expect(value).toBeTruthy();
      expect(value).not.toBe('attacker-chosen-value');
    });

    it('a new login (prompt=login) regenerates the session cookie and ends the old session', async () => {
      const { creds } = await newUser(t);
      const agent = browser(t, creds);
      const config = await webConfig(t, web);
      await webSignIn(agent, config);
      const before = agent.cookies.get(SESSION_COOKIE) as string;
      const again = await webSignIn(agent, config, { prompt: 'login' });
      expect(again.flow.pages).toEqual(['login']);
      const after = agent.cookies.get(SESSION_COOKIE) as string;
      expect(after).not.toBe(before);
      const old = browser(t);
      old.cookies.set(SESSION_COOKIE, before);
      const pending = await webAuthorizationUrl(config, { prompt: 'none' });
      const res = await old.get(pending.url);
      expect(new URL(res.headers.get('location') as string).searchParams.get('error')).toBe('login_required');
    });
  });

  describe('login', () => {
    it('an unknown user and a wrong password get the same status and message', async () => {
      const { creds } = await newUser(t);
      const agent = browser(t, creds);
      const csrf = await atLogin(agent);
      const unknown = await agent.post('/u/login', {
        csrf,
        email: 'nobody-here@example.com',
        password: PASSWORD,
      });
      const wrong = await agent.post('/u/login', { csrf, email: creds.email, password: 'wrong password!' });
      const [u, w] = [await unknown.text(), await wrong.text()];
      expect([unknown.status, wrong.status]).toEqual([400, 400]);
      expect(alertOf(u)).toBe('Wrong email or password.');
      expect(alertOf(w)).toBe(alertOf(u));
      expect(agent.cookies.has(SESSION_COOKIE)).toBe(false);
    });

    it('a failed login keeps the typed email in the form, escaped', async () => {
      const agent = browser(t);
      const csrf = await atLogin(agent);
      const res = await agent.post('/u/login', {
        csrf,
        email: '"><b>x</b>@example.com',
        password: 'whatever1',
      });
      const html = await res.text();
      expect(html).not.toContain('"><b>x</b>');
    });

    it('the email is matched without regard to case and surrounding spaces', async () => {
      const { creds } = await newUser(t);
      const agent = browser(t);
      const flow = await agent.signIn(url(), {
        credentials: { email: `  ${creds.email.toUpperCase()} `, password: PASSWORD },
      });
      expect(flow.location?.searchParams.get('code')).toBeTruthy();
    });
  });

  describe('interactions', () => {
    it('the login page after the sign-in finished → “Sign-in expired” page, no session change', async () => {
      const { creds } = await newUser(t);
      const agent = browser(t, creds);
      const csrf = await atLogin(agent);
      await agent.post('/u/login', { csrf, email: creds.email, password: PASSWORD });
      await agent.signIn('/authorize/resume');
      const res = await agent.post('/u/login', { csrf, email: creds.email, password: PASSWORD });
      expect(res.status).toBe(400);
      expect(await res.text()).toContain('Sign-in expired');
    });

    it('/authorize/resume from another browser (no interaction cookie) → error page, no code', async () => {
      const res = await browser(t).get('/authorize/resume');
      expect(res.status).toBe(400);
      expect(res.headers.get('location')).toBeNull();
    });

    it('an interaction older than its lifetime (900 s) → “Sign-in expired”', async () => {
      const { creds } = await newUser(t);
      const agent = browser(t, creds);
      const csrf = await atLogin(agent);
      t.clock.advance(901);
      const res = await agent.post('/u/login', { csrf, email: creds.email, password: PASSWORD });
      expect(res.status).toBe(400);
      expect(await res.text()).toContain('Sign-in expired');
      expect(agent.cookies.has(SESSION_COOKIE)).toBe(false);
    });

    it('a blocked user gets the same message as a wrong password', async () => {
      const { user, creds } = await newUser(t);
      await setBlocked(t.rt.storage, t.clock, user.id, true);
      const agent = browser(t, creds);
      const csrf = await atLogin(agent);
      const res = await agent.post('/u/login', { csrf, email: creds.email, password: PASSWORD });
      expect(res.status).toBe(400);
      expect(alertOf(await res.text())).toBe('Wrong email or password.');
      expect(agent.cookies.has(SESSION_COOKIE)).toBe(false);
    });

    it('POST /authorize (OIDC Core §3.1.2.1) works like GET', async () => {
      const q = new URL(url()).searchParams;
      const res = await t.fetch(`${t.issuer}/authorize`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: q,
        redirect: 'manual',
      });
      expect([res.status, res.headers.get('location')]).toEqual([303, inInteraction('/u/login')]);
    });

    it('POST /authorize with a repeated scope → invalid_request redirect', async () => {
      const q = new URL(url()).searchParams;
      q.append('scope', 'openid');
      const res = await t.fetch(`${t.issuer}/authorize`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: q,
        redirect: 'manual',
      });
      expect(res.status).toBe(303);
      const loc = new URL(res.headers.get('location') as string);
      expect([loc.searchParams.get('error'), loc.searchParams.get('state')]).toEqual([
        'invalid_request',
        's',
      ]);
    });
  });

  describe('throttling', () => {
    let throttled: TestApp;
    let app: App;

    beforeAll(async () => {
      // a high per-IP limit, so that what locks is the account (login.accountFailures, default 5)
      throttled = await startTestApp(backend, { login: { ipFailures: 1000 } });
      app = await throttled.createApp({
        name: 'Web',
        type: 'web',
        requirePkce: false,
        callbacks: [CALLBACK],
      });
    });
    afterAll(async () => throttled?.close());

    const throttledUrl = () =>
      authorizationUrl(throttled, {
        client_id: app.clientId,
        redirect_uri: CALLBACK,
        code_challenge: s256('p'.repeat(43)),
        code_challenge_method: 'S256',
      });

    it('after 5 failures for one account → 429 with Retry-After, even with the right password', async () => {
      const { creds } = await newUser(throttled);
      const agent = browser(throttled, creds);
      await agent.get(throttledUrl());
      const csrf = csrfOf(await (await agent.get('/u/login')).text());
      const statuses: number[] = [];
      for (let i = 0; i < 5; i++) {
        const res = await agent.post('/u/login', {
          csrf,
          email: creds.email,
          password: `wrong-${i}-password`,
        });
        statuses.push(res.status);
      }
      expect(statuses).toEqual([400, 400, 400, 400, 400]);
      const locked = await agent.post('/u/login', { csrf, email: creds.email, password: PASSWORD });
      expect(locked.status).toBe(429);
      const retryAfter = Number(locked.headers.get('retry-after'));
      expect(retryAfter).toBeGreaterThan(0);
      expect(retryAfter).toBeLessThanOrEqual(900);
      expectPageHeaders(locked, '429 page');
      // not a dead end: back to the sign-in (to wait there), or the way to a new password
      const lockedHtml = await locked.text();
      expect(lockedHtml).toMatch(/<a href="\/u\/login\?i=[\w-]+">Back to sign in<\/a>/);
      expect(lockedHtml).toContain('<a href="/u/forgot-password">Forgot your password?</a>');
      expect(agent.cookies.has(SESSION_COOKIE)).toBe(false);
    });

    it('the lock is per account: another account still logs in', async () => {
      const victim = await newUser(throttled);
      const other = await newUser(throttled);
      const agent = browser(throttled, other.creds);
      await agent.get(throttledUrl());
      const csrf = csrfOf(await (await agent.get('/u/login')).text());
      for (let i = 0; i < 5; i++) {
        await agent.post('/u/login', { csrf, email: victim.creds.email, password: `wrong-${i}-password` });
      }
      expect(
        (await agent.post('/u/login', { csrf, email: victim.creds.email, password: PASSWORD })).status,
      ).toBe(429);
      const ok = await agent.post('/u/login', { csrf, email: other.creds.email, password: PASSWORD });
      expect(ok.status).toBe(303);
    });

    it('4 failures then the right password logs in (the limit is 5)', async () => {
      const { creds } = await newUser(throttled);
      const agent = browser(throttled, creds);
      await agent.get(throttledUrl());
      const csrf = csrfOf(await (await agent.get('/u/login')).text());
      for (let i = 0; i < 4; i++) {
        await agent.post('/u/login', { csrf, email: creds.email, password: `wrong-${i}-password` });
      }
      expect((await agent.post('/u/login', { csrf, email: creds.email, password: PASSWORD })).status).toBe(
        303,
      );
      const code = await codeFor(agent, throttledUrl());
      expect(code).toBeTruthy();
    });
  });
});
