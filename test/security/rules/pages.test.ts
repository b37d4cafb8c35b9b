import { performance } from 'node:perf_hooks';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { killAll } from '../../e2e/process.js';
import { type Credentials, csrfOf, inInteraction, type UserAgent } from '../../protocol/sign-in/agent.js';
import { describeEachBackend } from '../../support/databases.js';
import {
  authorizeUrl,
  type Client,
  launch,
  median,
  newApp,
  newUser,
  openLogin,
  postForm,
  type Sesame,
  s256,
  token,
} from './server.js';

// Sesame's own pages (login, consent, device activation, logout, errors, form_post):
// CSRF tokens on every form that changes something (RFC 6749 §10.12, RFC 9700 §4.11.1 for
// sessions); no framing (RFC 9700 §4.16: frame-ancestors 'none' and X-Frame-Options DENY);
// no Referer leaks; no CORS on /authorize; every echoed value escaped. And the login page does
// the same argon2 work for an unknown user as for a wrong password.

const CALLBACK = 'https://app.example/cb';
const DEVICE = 'urn:ietf:params:oauth:grant-type:device_code';
const XSS = '"><script>alert(1)</script>';
// no < or > (refused in an application's name, Auth0's rule): quotes and an ampersand still break out of an attribute unescaped
const APP_NAME = `"' onfocus=alert("app") autofocus x='&amp;`;
const VERIFIER = 'pages-suite-verifier-0123456789-abcdefghijklmnopqrstuvwxyz';
const PKCE = { code_challenge: s256(VERIFIER), code_challenge_method: 'S256' };

/** RFC 9700 §4.16 (clickjacking) and the rest of the page headers. */
function expectPageHeaders(res: Response, what: string): void {
  const h = res.headers;
  expect(h.get('content-type'), what).toMatch(/^text\/html/);
  expect(h.get('content-security-policy'), what).toMatch(/(^|;)\s*frame-ancestors 'none'\s*(;|$)/);
  expect(h.get('x-frame-options'), what).toBe('DENY');
  expect(h.get('referrer-policy'), what).toBe('no-referrer');
  expect(h.get('cache-control'), what).toMatch(/no-store/);
  expect(h.get('x-content-type-options'), what).toBe('nosniff');
}

/** Asserts that `html` shows `payload` only escaped: never raw markup, no script but the nonce'd one. */
function expectEscaped(html: string, payload: string, what: string, scripts = 0): void {
  expect(html, what).not.toContain(payload);
  expect(html, what).not.toContain('<script>alert');
  expect(html, what).not.toMatch(/"><script/);
  expect((html.match(/<script/g) ?? []).length, what).toBe(scripts);
}

// every `sesame` this file started is gone at the end, even after a failed beforeAll
afterAll(() => killAll());

describeEachBackend('security rules: Sesame’s pages (running server)', (backend) => {
  let s: Sesame;
  let web: Client;
  let creds: Credentials;

  beforeAll(async () => {
    // high limits: the timing test below makes 30 failed logins from one address
    s = await launch(backend, { config: { login: { accountFailures: 1000, ipFailures: 1000 } } });
    [web, creds] = await Promise.all([
      newApp(
        s,
        'web',
        ['--callback', CALLBACK, '--grant', 'authorization_code', '--grant', DEVICE],
        APP_NAME,
      ),
      newUser(s),
    ]);
  });
  afterAll(async () => s?.stop());

  const loginUrl = (extra: Record<string, string> = {}) =>
    authorizeUrl(s, { client_id: web.clientId, redirect_uri: CALLBACK, ...PKCE, ...extra });

  /** Whether `agent` is signed in: prompt=none gets a code (or consent_required), not login_required. */
  async function signedIn(agent: UserAgent): Promise<boolean> {
    const res = await agent.get(loginUrl({ prompt: 'none' }));
    const error = new URL(res.headers.get('location') as string).searchParams.get('error');
    return error !== 'login_required';
  }

  /** A signed-in agent (the login page answered), with consent given unless `consent` is false. */
  async function signedInAgent(consent = true): Promise<UserAgent> {
    const agent = s.agent(creds);
    const flow = await agent.signIn(loginUrl(), consent ? {} : { stopAt: 'consent' });
    if (consent) expect(flow.location?.searchParams.get('code')).toBeTruthy();
    return agent;
  }

  /** Signs `agent` in through /activate and returns the activation form's CSRF token. */
  async function activateSession(agent: UserAgent): Promise<string> {
    const first = await agent.get('/activate');
    if (first.status === 200) return csrfOf(await first.text());
    expect(first.headers.get('location')).toEqual(inInteraction('/u/login'));
    const login = await agent.get('/u/login');
    const res = await agent.post('/u/login', { csrf: csrfOf(await login.text()), ...creds });
    expect(res.status).toBe(303);
    expect(res.headers.get('location')).toBe('/activate');
    const page = await agent.get('/activate');
    expect(page.status).toBe(200);
    return csrfOf(await page.text());
  }

  /** A new device authorization: its device_code and user_code. */
  async function deviceCode() {
    const res = await postForm(s, '/oauth/device/code', {
      client_id: web.clientId,
      client_secret: web.clientSecret as string,
      scope: 'openid',
    });
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    return { deviceCode: res.body.device_code as string, userCode: res.body.user_code as string };
  }
  const poll = (code: string) => token(s, web, { grant_type: DEVICE, device_code: code });

  /** Asserts the 403 CSRF page. */
  async function expect403(res: Response, what: string): Promise<void> {
    const text = await res.text();
    expect(res.status, `${what}\n${text.slice(0, 300)}`).toBe(403);
    expect(res.headers.get('location'), what).toBeNull();
    expectPageHeaders(res, what);
  }

  describe('CSRF', () => {
    it('login: a missing, empty or foreign CSRF token → 403, no session; the right one then works', async () => {
      const agent = s.agent(creds);
      const { csrf } = await openLogin(agent, loginUrl());
      const other = s.agent(creds);
      const foreign = (await openLogin(other, loginUrl())).csrf;
      for (const [what, fields] of [
        ['missing', { ...creds }],
        ['empty', { csrf: '', ...creds }],
        ['foreign', { csrf: foreign, ...creds }],
        ['truncated', { csrf: csrf.slice(0, -1), ...creds }],
      ] as const) {
        const res = await agent.post('/u/login', fields);
        await expect403(res, `login, ${what} token`);
        expect(
          res.headers.getSetCookie().filter((c) => c.startsWith('sesame_session=')),
          what,
        ).toEqual([]);
        expect(await signedIn(agent), what).toBe(false);
      }
      const ok = await agent.post('/u/login', { csrf, ...creds });
      expect(ok.status).toBe(303);
      expect(await signedIn(agent)).toBe(true);
    });

    it('consent: a missing or foreign CSRF token → 403, and nothing is granted (prompt=none still needs consent)', async () => {
      const agent = s.agent(creds);
      const flow = await agent.signIn(loginUrl({ scope: 'openid profile' }), { stopAt: 'consent' });
      const csrf = csrfOf(flow.html.consent as string);
      const other = s.agent(creds);
      const foreign = csrfOf(
        (await other.signIn(loginUrl({ scope: 'openid profile' }), { stopAt: 'consent' })).html
          .consent as string,
      );
      expect(foreign).not.toBe(csrf);
      for (const [what, fields] of [
        ['missing', { decision: 'allow' }],
        ['foreign', { csrf: foreign, decision: 'allow' }],
      ] as const) {
        await expect403(await agent.post('/u/consent', fields), `consent, ${what} token`);
      }
      const none = await agent.get(loginUrl({ scope: 'openid profile', prompt: 'none' }));
      expect(new URL(none.headers.get('location') as string).searchParams.get('error')).toBe(
        'consent_required',
      );
      // the right token grants it (the control)
      const ok = await agent.post('/u/consent', { csrf, decision: 'allow' });
      expect(ok.status).toBe(303);
      expect(ok.headers.get('location')).toEqual(inInteraction('/authorize/resume'));
    });

    it('device activation (/activate and /activate/confirm): a missing or foreign CSRF token → 403, and the device stays pending', async () => {
      const agent = s.agent(creds);
      const csrf = await activateSession(agent);
      const foreign = await activateSession(s.agent(creds));
      expect(foreign).not.toBe(csrf);
      const { deviceCode: dc, userCode } = await deviceCode();
      for (const [what, extra] of [
        ['missing', {}],
        ['foreign', { csrf: foreign }],
      ] as const) {
        await expect403(
          await agent.post('/activate', { user_code: userCode, ...extra }),
          `/activate, ${what}`,
        );
        await expect403(
          await agent.post('/activate/confirm', { user_code: userCode, decision: 'allow', ...extra }),
          `/activate/confirm, ${what}`,
        );
      }
      const pending = await poll(dc);
      expect(pending.body.error, JSON.stringify(pending.body)).toBe('authorization_pending');
      // the right token (the control): the confirmation page, then the approval
      const confirm = await agent.post('/activate', { csrf, user_code: userCode });
      expect(confirm.status).toBe(200);
      expectPageHeaders(confirm, 'device confirmation page');
      const confirmHtml = await confirm.text();
      expectEscaped(confirmHtml, APP_NAME, 'device confirmation page (app name)');
      const done = await agent.post('/activate/confirm', {
        csrf: csrfOf(confirmHtml),
        user_code: userCode,
        decision: 'allow',
      });
      expect(done.status).toBe(200);
      expectPageHeaders(done, 'device done page');
      const tokens = await poll(dc);
      expect(tokens.status, JSON.stringify(tokens.body)).toBe(200);
    });

    it('logout confirmation: a missing or foreign CSRF token (POST, or a GET link) → 403, and the session lives on', async () => {
      const agent = await signedInAgent();
      const page = await agent.get('/oidc/logout');
      expect(page.status).toBe(200);
      expectPageHeaders(page, 'logout confirmation page');
      const csrf = csrfOf(await page.text());
      const other = await signedInAgent();
      const foreign = csrfOf(await (await other.get('/oidc/logout')).text());
      expect(foreign).not.toBe(csrf);
      await expect403(await agent.post('/oidc/logout', { confirm: 'yes' }), 'logout POST, missing');
      await expect403(
        await agent.post('/oidc/logout', { confirm: 'yes', csrf: foreign }),
        'logout POST, foreign',
      );
      await expect403(await agent.get('/oidc/logout?confirm=yes'), 'logout GET link, missing');
      await expect403(
        await agent.get(`/oidc/logout?confirm=yes&csrf=${encodeURIComponent(foreign)}`),
        'logout GET link, foreign',
      );
      expect(await signedIn(agent)).toBe(true);
      // the right token signs out (the control)
      const done = await agent.post('/oidc/logout', { confirm: 'yes', csrf });
      expect(done.status).toBe(200);
      expectPageHeaders(done, 'logout done page');
      expect(await signedIn(agent)).toBe(false);
    });
  });

  describe('headers on every page', () => {
    it('login, login failure, consent, form_post, error pages, activate: frame-ancestors none, X-Frame-Options DENY, no-referrer', async () => {
      const agent = s.agent(creds);
      const { csrf } = await openLogin(
        agent,
        loginUrl({ scope: 'openid email', response_mode: 'form_post' }),
      );
      const pages: [string, Response][] = [];
      pages.push(['login page', await agent.get('/u/login')]);
      pages.push([
        'login failure page',
        await agent.post('/u/login', { csrf, email: creds.email, password: 'wrong password!' }),
      ]);
      const loggedIn = await agent.post('/u/login', { csrf, ...creds });
      expect(loggedIn.status).toBe(303);
      pages.push(['consent page', await agent.get('/u/consent')]);
      const consent = pages[2]?.[1] as Response;
      const allow = await agent.post('/u/consent', {
        csrf: csrfOf(await consent.clone().text()),
        decision: 'allow',
      });
      expect(allow.headers.get('location')).toEqual(inInteraction('/authorize/resume'));
      pages.push(['form_post page', await agent.get('/authorize/resume')]);
      pages.push([
        'error page: unknown client',
        await agent.get(authorizeUrl(s, { client_id: 'nope', redirect_uri: CALLBACK })),
      ]);
      pages.push([
        'error page: bad redirect_uri',
        await agent.get(
          authorizeUrl(s, { client_id: web.clientId, redirect_uri: 'https://evil.example/cb' }),
        ),
      ]);
      pages.push(['error page: expired interaction', await agent.get('/u/login')]);
      pages.push(['activate page', await agent.get('/activate')]);
      pages.push(['logout page (signed out)', await s.agent().get('/oidc/logout')]);
      for (const [what, res] of pages) {
        expect(res.status, what).toBeLessThan(500);
        expectPageHeaders(res, what);
      }
      expect(pages.map(([w, r]) => [w, r.status])).toEqual([
        ['login page', 200],
        ['login failure page', 400],
        ['consent page', 200],
        ['form_post page', 200],
        ['error page: unknown client', 400],
        ['error page: bad redirect_uri', 400],
        ['error page: expired interaction', 400],
        ['activate page', 200],
        ['logout page (signed out)', 200],
      ]);
    });

    it('no CORS headers on /authorize, even with an Origin header (GET, POST, preflight)', async () => {
      const origin = { origin: 'https://evil.example' };
      const responses = [
        await s.raw(loginUrl(), { headers: origin }),
        await s.raw(loginUrl({ prompt: 'none' }), { headers: origin }),
        await s.raw(authorizeUrl(s, { client_id: 'nope' }), { headers: origin }),
        await s.raw('/authorize', {
          method: 'POST',
          headers: { ...origin, 'content-type': 'application/x-www-form-urlencoded' },
          body: new URL(loginUrl()).search.slice(1),
        }),
        await s.raw('/authorize', {
          method: 'OPTIONS',
          headers: {
            ...origin,
            'access-control-request-method': 'GET',
            'access-control-request-headers': 'authorization',
          },
        }),
      ];
      expect(responses.map((r) => r.status)).toEqual([303, 303, 400, 303, 405]);
      for (const r of responses) {
        expect(Object.keys(r.headers).filter((k) => k.startsWith('access-control-'))).toEqual([]);
      }
    });
  });

  describe('every echoed value is escaped', () => {
    it('state with "><script> in a form_post response (a code and an error)', async () => {
      const agent = await signedInAgent();
      for (const extra of [{}, { scope: 'openid bogus' }] as Record<string, string>[]) {
        const res = await agent.get(loginUrl({ response_mode: 'form_post', state: XSS, ...extra }));
        expect(res.status).toBe(200);
        expectPageHeaders(res, 'form_post');
        const html = await res.text();
        expectEscaped(html, XSS, 'form_post', 1);
        expect(html).toContain('value="&quot;&gt;&lt;script&gt;alert(1)&lt;/script&gt;"');
        // its CSP lets the form post only to the client
        expect(res.headers.get('content-security-policy')).toMatch(/form-action https:\/\/app\.example;/);
      }
    });

    it('login_hint with "><script> prefilled into the login page', async () => {
      const { html } = await openLogin(s.agent(), loginUrl({ login_hint: XSS }));
      expectEscaped(html, XSS, 'login page');
      expect(html).toContain('value="&quot;&gt;&lt;script&gt;alert(1)&lt;/script&gt;"');
    });

    it('the email typed, shown again on the login error page', async () => {
      const agent = s.agent();
      const { csrf } = await openLogin(agent, loginUrl());
      const res = await agent.post('/u/login', {
        csrf,
        email: `a${XSS}@example.com`,
        password: 'wrong password!',
      });
      expect(res.status).toBe(400);
      expectEscaped(await res.text(), XSS, 'login error page');
    });

    it('a user_code in the /activate link, prefilled into the page', async () => {
      const agent = s.agent(creds);
      await activateSession(agent);
      const res = await agent.get(`/activate?user_code=${encodeURIComponent(XSS)}`);
      expect(res.status).toBe(200);
      expectEscaped(await res.text(), XSS, 'activate page');
    });

    it('an application name with quotes and an ampersand (registered with the CLI) on the login and consent pages', async () => {
      const agent = s.agent(creds);
      const flow = await agent.signIn(loginUrl({ scope: 'openid phone' }), { stopAt: 'consent' });
      expectEscaped(flow.html.login as string, APP_NAME, 'login page (app name)');
      expectEscaped(flow.html.consent as string, APP_NAME, 'consent page (app name)');
      expect(flow.html.consent).toMatch(/&quot;|&#34;/);
      expect(flow.html.consent).toContain('&amp;amp;');
    });
  });

  describe('login timing', () => {
    it('an unknown user costs the same hashing work as a wrong password (median of 15 each)', async () => {
      const agent = s.agent();
      const { csrf } = await openLogin(agent, loginUrl());
      const time = async (email: string) => {
        const start = performance.now();
        const res = await agent.post('/u/login', { csrf, email, password: 'not the password' });
        await res.arrayBuffer();
        expect(res.status).toBe(400);
        return performance.now() - start;
      };
      await time(creds.email); // warm-up (the dummy hash is made on first use)
      await time('warm-up@nowhere.example');
      const unknown: number[] = [];
      const wrong: number[] = [];
      for (let i = 0; i < 15; i++) {
        unknown.push(await time(`nobody-${i}@nowhere.example`));
        wrong.push(await time(creds.email));
      }
      const [u, w] = [median(unknown), median(wrong)];
      expect(w, `wrong password median ${w} ms`).toBeGreaterThanOrEqual(5);
      expect(u, `unknown user median ${u} ms vs wrong password ${w} ms`).toBeGreaterThanOrEqual(5);
      expect(u, `unknown user median ${u} ms vs wrong password ${w} ms`).toBeGreaterThanOrEqual(w * 0.5);
    });
  });
});
