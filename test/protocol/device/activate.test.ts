// /activate (RFC 8628 §3.3): the person signs in, enters the user code (case and dashes do not
// matter), sees the application and its scopes, and allows or denies once. Forms are
// CSRF-protected; pages cannot be framed.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Api, User } from '../../../src/storage/types.js';
import { sha256 } from '../../../src/util/crypto.js';
import { startTestApp, type TestApp } from '../../support/app.js';
import { describeEachBackend } from '../../support/databases.js';
import type { Credentials } from '../sign-in/agent.js';
import {
  csrfOf,
  INTERACTION_COOKIE,
  inInteraction,
  SESSION_COOKIE,
  UserAgent,
  unescapeHtml,
} from '../sign-in/agent.js';
import { newUser } from '../sign-in/fixtures.js';
import {
  Activator,
  alertOf,
  type ClientCreds,
  type DeviceGrant,
  headingOf,
  INVALID_CODE,
  listItems,
  outcome,
  poll,
  startDevice,
  verifyWithJwks,
} from './device.js';

/** Asserts the headers every HTML page of Sesame carries (no framing, no caching). */
function expectPageHeaders(res: Response, what: string): void {
  const csp = res.headers.get('content-security-policy') ?? '';
  expect({
    what,
    type: res.headers.get('content-type'),
    frameAncestors: /(^|;)\s*frame-ancestors 'none'\s*(;|$)/.test(csp),
    xfo: res.headers.get('x-frame-options'),
    cache: res.headers.get('cache-control'),
  }).toEqual({
    what,
    type: 'text/html; charset=utf-8',
    frameAncestors: true,
    xfo: 'DENY',
    cache: 'no-store',
  });
}

/** The user_code field's prefilled value on an /activate page. */
const prefilled = (html: string) =>
  unescapeHtml(/<input id="user_code"[^>]*value="([^"]*)"/.exec(html)?.[1] ?? '(no user_code field)');

describeEachBackend('device activation pages (RFC 8628 §3.3)', (backend) => {
  let t: TestApp;
  let api: Api;
  let tv: ClientCreds;
  let user: User;
  let creds: Credentials;
  let other: Credentials;

  beforeAll(async () => {
    // The wrong-code limits (see throttle.test.ts) stay out of the way here: one person signs in for every test.
    t = await startTestApp(backend, { login: { accountFailures: 1000, ipFailures: 1000 } });
    api = await t.createApi({
      name: 'Things API',
      allowOfflineAccess: true,
      scopes: ['read:things=Read your things', 'write:things=Change your things'],
    });
    tv = await t.createApp({ name: 'Living Room TV', type: 'native', callbacks: ['com.example.tv:/cb'] });
    ({ user, creds } = await newUser(t));
    ({ creds: other } = await newUser(t));
  });
  afterAll(async () => t?.close());

  const device = (params: Record<string, string> = { scope: 'openid' }) => startDevice(t, tv, params);
  /** What the device hears on its next poll (after waiting its interval). */
  async function deviceHears(d: DeviceGrant): Promise<string> {
    t.clock.advance(d.interval);
    return outcome(await poll(t, tv, d.device_code));
  }

  describe('without a session', () => {
    it('sends GET /activate to the login page, and back to /activate after login', async () => {
      const agent = new UserAgent(t, creds);
      const res = await agent.get('/activate');
      expect(res.status).toBe(303);
      expect(res.headers.get('location')).toEqual(inInteraction('/u/login'));
      expect(res.headers.get('cache-control')).toBe('no-store');
      expect(agent.cookies.has(INTERACTION_COOKIE)).toBe(true);
      const login = await agent.get('/u/login');
      expect(login.status).toBe(200);
      const back = await agent.post('/u/login', { csrf: csrfOf(await login.text()), ...creds });
      expect(back.status).toBe(303);
      expect(back.headers.get('location')).toBe('/activate');
      expect(agent.cookies.has(SESSION_COOKIE)).toBe(true);
      const page = await agent.get('/activate');
      const html = await page.text();
      expect(page.status).toBe(200);
      expect(headingOf(html)).toBe('Connect a device');
      expect(prefilled(html)).toBe('');
    });

    it('keeps the user_code of verification_uri_complete through the login', async () => {
      const d = await device();
      const path =
        new URL(d.verification_uri_complete).pathname + new URL(d.verification_uri_complete).search;
      const agent = new UserAgent(t, creds);
      const res = await agent.get(path);
      expect(res.headers.get('location')).toEqual(inInteraction('/u/login'));
      const login = await agent.get('/u/login');
      const back = await agent.post('/u/login', { csrf: csrfOf(await login.text()), ...creds });
      expect(back.headers.get('location')).toBe(`/activate?user_code=${d.user_code}`);
      const page = await agent.get(back.headers.get('location') as string);
      const html = await page.text();
      expect(page.status).toBe(200);
      expect(prefilled(html)).toBe(d.user_code);
      // The prefilled form only needs Continue: nothing is decided by opening the link.
      expect(await deviceHears(d)).toBe('400 authorization_pending');
      const confirm = await agent.post('/activate', { csrf: csrfOf(html), user_code: prefilled(html) });
      expect(confirm.status).toBe(200);
      expect(headingOf(await confirm.text())).toBe('Allow Living Room TV on your device?');
    });

    it('keeps an odd user_code safely (URL-encoded in the redirect, HTML-escaped in the field)', async () => {
      const odd = 'a"><script>x</script>&b=c';
      const person = await Activator.signIn(t, creds, `/activate?user_code=${encodeURIComponent(odd)}`);
      const page = await person.agent.get(`/activate?user_code=${encodeURIComponent(odd)}`);
      const html = await page.text();
      expect(html).not.toContain('<script>x</script>');
      expect(prefilled(html)).toBe(odd);
    });

    it('answers POST /activate and POST /activate/confirm with the login page, deciding nothing', async () => {
      const d = await device();
      const anonymous = new UserAgent(t);
      const enter = await anonymous.post('/activate', { csrf: 'x', user_code: d.user_code });
      expect({ status: enter.status, location: enter.headers.get('location') }).toEqual({
        status: 303,
        location: inInteraction('/u/login'),
      });
      const confirm = await anonymous.post('/activate/confirm', {
        csrf: 'x',
        user_code: d.user_code,
        decision: 'allow',
      });
      expect({ status: confirm.status, location: confirm.headers.get('location') }).toEqual({
        status: 303,
        location: inInteraction('/u/login'),
      });
      expect(await deviceHears(d)).toBe('400 authorization_pending');
    });
  });

  describe('entering the code', () => {
    it('accepts the code in any case, with or without the dash, with spaces around', async () => {
      const person = await Activator.signIn(t, creds);
      const d = await device();
      const plain = d.user_code.replace('-', '');
      const variants = [
        d.user_code,
        d.user_code.toLowerCase(), // bcdf-ghjk
        plain, // BCDFGHJK
        ` ${plain.toLowerCase()} `, // ' bcdfghjk '
        `${plain.slice(0, 4).toLowerCase()} ${plain.slice(4)}`, // bcdf GHJK
      ];
      for (const v of variants) {
        const { res, html } = await person.enter(v);
        expect({ typed: v, status: res.status, alert: alertOf(html) }).toEqual({
          typed: v,
          status: 200,
          alert: undefined,
        });
        expect(html).toContain(`<strong>${d.user_code}</strong>`);
        expect(/name="user_code" value="([^"]+)"/.exec(html)?.[1]).toBe(d.user_code);
      }
      // Looking at the code decides nothing.
      expect(await deviceHears(d)).toBe('400 authorization_pending');
    });

    it('shows the application, the API and every scope by its description', async () => {
      const person = await Activator.signIn(t, creds);
      const d = await device({
        scope: 'openid email offline_access read:things write:things',
        audience: api.identifier,
      });
      const { res, html } = await person.enter(d.user_code.toLowerCase());
      expect(res.status).toBe(200);
      expectPageHeaders(res, 'confirmation page');
      expect(headingOf(html)).toBe('Allow Living Room TV on your device?');
      expect(html).toContain('It asks for access to Things API:');
      expect(listItems(html)).toEqual([
        'Sign you in (openid)',
        'Your email address (email)',
        'Stay connected when you are not using it (offline_access)',
        'Read your things (read:things)',
        'Change your things (write:things)',
      ]);
      expect(html).toMatch(/<button type="submit" name="decision" value="allow">\s*Allow/);
      expect(html).toMatch(/<button type="submit" name="decision" value="deny"[^>]*>\s*Deny/);
    });

    it("escapes the application's name", async () => {
      const evil = await t.createApp({
        name: 'Evil TV',
        type: 'native',
        callbacks: ['com.example.evil:/cb'],
      });
      // a name stored before Auth0's rule on < and > was kept (older versions took it)
      const evilName = { name: 'Evil <img src=x onerror=alert(1)> TV' };
      await t.rt.storage.applications.update(evil.clientId, evilName, t.clock.now());
      const person = await Activator.signIn(t, creds);
      const d = await startDevice(t, evil, { scope: 'openid' });
      const { res, html } = await person.enter(d.user_code);
      expect(res.status).toBe(200);
      expect(html).not.toContain('<img');
      expect(unescapeHtml(headingOf(html) as string)).toBe(
        'Allow Evil <img src=x onerror=alert(1)> TV on your device?',
      );
    });

    it('answers a wrong code with a 400 page that says so and shows the form again', async () => {
      const person = await Activator.signIn(t, creds);
      const d = await device();
      // A code of the right alphabet that was never issued: change the first letter.
      const letters = 'BCDFGHJKLMNPQRSTVWXZ';
      const first = d.user_code[0] as string;
      const wrong = `${letters[(letters.indexOf(first) + 1) % letters.length]}${d.user_code.slice(1)}`;
      const { res, html } = await person.enter(wrong);
      expect(res.status).toBe(400);
      expectPageHeaders(res, 'wrong code page');
      expect(alertOf(html)).toBe(INVALID_CODE);
      expect(headingOf(html)).toBe('Connect a device');
      expect(csrfOf(html)).toBe(person.csrf);
      expect(html).not.toContain('Living Room TV');
      expect(await deviceHears(d)).toBe('400 authorization_pending');
    });

    it('answers malformed codes (vowels, too short, too long, empty) with the same 400 page', async () => {
      const person = await Activator.signIn(t, creds);
      for (const typed of ['AEIO-UAEI', 'BCDF-GHJ']) {
        const { res, html } = await person.enter(typed);
        expect({ typed, status: res.status, alert: alertOf(html) }).toEqual({
          typed,
          status: 400,
          alert: INVALID_CODE,
        });
      }
      // A fresh session: the two above count towards its limit of three.
      const again = await Activator.signIn(t, creds);
      for (const typed of ['BCDF-GHJKL', '']) {
        const { res, html } = await again.enter(typed);
        expect({ typed, status: res.status, alert: alertOf(html) }).toEqual({
          typed,
          status: 400,
          alert: INVALID_CODE,
        });
      }
    });
  });

  describe('deciding', () => {
    it('Allow: the done page, and the device gets tokens for the person who allowed', async () => {
      const person = await Activator.signIn(t, creds);
      const d = await device({ scope: 'openid read:things', audience: api.identifier });
      const { res, html } = await person.approve(d.user_code);
      expectPageHeaders(res, 'done page');
      expect(headingOf(html)).toBe('Device connected');
      t.clock.advance(d.interval);
      const a = await poll(t, tv, d.device_code);
      expect(a.status, JSON.stringify(a.body)).toBe(200);
      const at = await verifyWithJwks(t, a.body.access_token as string, { audience: api.identifier });
      expect(at.sub).toBe(user.id);
    });

    it('Deny: the denied page, and the device hears access_denied', async () => {
      const person = await Activator.signIn(t, creds);
      const d = await device();
      const { res, html } = await person.approve(d.user_code, 'deny');
      expectPageHeaders(res, 'denied page');
      expect(headingOf(html)).toBe('Request denied');
      expect(await deviceHears(d)).toBe('400 access_denied');
      const stored = await t.rt.storage.deviceCodes.get(sha256(d.device_code));
      expect(stored?.status).toBe('denied');
    });

    it('grants nothing for a decision other than allow (missing, empty, "yes", "Allow")', async () => {
      const person = await Activator.signIn(t, creds);
      for (const decision of [null, '', 'yes', 'Allow']) {
        const d = await device();
        expect((await person.enter(d.user_code)).res.status).toBe(200);
        const res = await person.agent.post('/activate/confirm', {
          csrf: person.csrf,
          user_code: d.user_code,
          ...(decision === null ? {} : { decision }),
        });
        const html = await res.text();
        expect({ decision, heading: headingOf(html) }).not.toEqual({ decision, heading: 'Device connected' });
        expect({ decision, device: await deviceHears(d) }).not.toEqual({ decision, device: 'ok' });
      }
    });

    it('refuses to decide a code that expired while the confirmation page was open', async () => {
      const person = await Activator.signIn(t, creds);
      const d = await device();
      expect((await person.enter(d.user_code)).res.status).toBe(200);
      t.clock.advance(d.expires_in + 1);
      const late = await person.decide(d.user_code, 'allow');
      expect({ status: late.res.status, alert: alertOf(late.html) }).toEqual({
        status: 400,
        alert: INVALID_CODE,
      });
      expect(await deviceHears(d)).toBe('400 expired_token');
    });

    it('does not let an allowed code be denied, entered or allowed again', async () => {
      const person = await Activator.signIn(t, creds);
      const d = await device();
      await person.approve(d.user_code);
      const deny = await person.decide(d.user_code, 'deny');
      expect({ status: deny.res.status, alert: alertOf(deny.html) }).toEqual({
        status: 400,
        alert: INVALID_CODE,
      });
      const again = await person.decide(d.user_code, 'allow');
      expect(again.res.status).toBe(400);
      const enter = await person.enter(d.user_code);
      expect(enter.res.status).toBe(400);
      expect(await deviceHears(d)).toBe('ok');
      // Once the device has its tokens the code stays used (by now the repeated tries on a
      // decided code may count as wrong codes: 429 is as much a refusal as 400).
      expect([400, 429]).toContain((await person.decide(d.user_code, 'deny')).res.status);
      expect(await deviceHears(d)).toBe('400 invalid_grant');
    });

    it('does not let a denied code be allowed, also not by another person', async () => {
      const person = await Activator.signIn(t, creds);
      const someoneElse = await Activator.signIn(t, other);
      const d = await device();
      await person.approve(d.user_code, 'deny');
      const allow = await person.decide(d.user_code, 'allow');
      expect(allow.res.status).toBe(400);
      const theirs = await someoneElse.decide(d.user_code, 'allow');
      expect({ status: theirs.res.status, alert: alertOf(theirs.html) }).toEqual({
        status: 400,
        alert: INVALID_CODE,
      });
      expect(await deviceHears(d)).toBe('400 access_denied');
    });

    it('lets only the first of two people decide', async () => {
      const first = await Activator.signIn(t, creds);
      const second = await Activator.signIn(t, other);
      const d = await device({ scope: 'openid read:things', audience: api.identifier });
      // Both see the confirmation page; the second presses Allow after the first pressed Deny.
      expect((await first.enter(d.user_code)).res.status).toBe(200);
      expect((await second.enter(d.user_code)).res.status).toBe(200);
      expect((await first.decide(d.user_code, 'deny')).res.status).toBe(200);
      expect((await second.decide(d.user_code, 'allow')).res.status).toBe(400);
      expect(await deviceHears(d)).toBe('400 access_denied');
    });

    it('decides a code once when Allow and Deny arrive together', async () => {
      const person = await Activator.signIn(t, creds);
      const d = await device();
      const answers = await Promise.all(
        ['allow', 'deny', 'allow', 'deny', 'allow', 'deny'].map((x) =>
          person.decide(d.user_code, x as 'allow' | 'deny'),
        ),
      );
      const ok = answers.filter((a) => a.res.status === 200);
      expect(ok).toHaveLength(1);
      // The others are refused: 400 (or 429 under a stricter limit).
      expect(answers.filter((a) => a.res.status === 400 || a.res.status === 429)).toHaveLength(5);
      const won =
        headingOf((ok[0] as { html: string }).html) === 'Device connected' ? 'ok' : '400 access_denied';
      expect(await deviceHears(d)).toBe(won);
    });

    it('answers a signed-out browser with the login page, deciding nothing', async () => {
      const person = await Activator.signIn(t, creds);
      const d = await device();
      const out = await person.agent.get('/oidc/logout');
      const signOut = await person.agent.post('/oidc/logout', {
        csrf: csrfOf(await out.text()),
        confirm: 'yes',
      });
      expect(signOut.status).toBe(200);
      const res = await person.agent.post('/activate/confirm', {
        csrf: person.csrf,
        user_code: d.user_code,
        decision: 'allow',
      });
      expect({ status: res.status, location: res.headers.get('location') }).toEqual({
        status: 303,
        location: inInteraction('/u/login'),
      });
      expect(await deviceHears(d)).toBe('400 authorization_pending');
    });
  });

  describe('CSRF', () => {
    /** Asserts the 403 page for a form whose CSRF token is missing or not this session's. */
    function expectForbidden(answer: { res: Response; html: string }, what: string): void {
      expect({ what, status: answer.res.status }).toEqual({ what, status: 403 });
      expectPageHeaders(answer.res, what);
      expect(headingOf(answer.html)).toBe('Forbidden');
    }

    /** CSRF tokens that are not the activation token of `person`'s session. */
    async function foreignTokens(person: Activator): Promise<Record<string, string | null>> {
      const stranger = await Activator.signIn(t, other);
      const logout = await person.agent.get('/oidc/logout');
      const logoutCsrf = csrfOf(await logout.text());
      expect(logoutCsrf).not.toBe(person.csrf);
      return {
        missing: null,
        empty: '',
        "another session's": stranger.csrf,
        "this session's logout form's": logoutCsrf,
        'a truncated one': person.csrf.slice(0, -1),
      };
    }

    it('refuses POST /activate (403) without counting a wrong code or showing a right one', async () => {
      const person = await Activator.signIn(t, creds);
      const d = await device();
      for (const [what, csrf] of Object.entries(await foreignTokens(person))) {
        expectForbidden(await person.enter('BBBB-BBBB', csrf), `wrong code, ${what} token`);
        const right = await person.enter(d.user_code, csrf);
        expectForbidden(right, `right code, ${what} token`);
        expect(right.html).not.toContain('Living Room TV');
      }
      // Refused for CSRF, the right code was never shown; it still works with the real token.
      const { res } = await person.enter(d.user_code);
      expect(res.status).toBe(200);
    });

    it('refuses POST /activate/confirm (403) and leaves the code pending', async () => {
      const person = await Activator.signIn(t, creds);
      const d = await device();
      expect((await person.enter(d.user_code)).res.status).toBe(200);
      for (const [what, csrf] of Object.entries(await foreignTokens(person))) {
        expectForbidden(await person.decide(d.user_code, 'allow', csrf), `allow, ${what} token`);
        expectForbidden(await person.decide(d.user_code, 'deny', csrf), `deny, ${what} token`);
      }
      expect(await deviceHears(d)).toBe('400 authorization_pending');
      expect((await t.rt.storage.deviceCodes.get(sha256(d.device_code)))?.status).toBe('pending');
      // With its own token the same form works.
      expect((await person.decide(d.user_code, 'allow')).res.status).toBe(200);
      expect(await deviceHears(d)).toBe('ok');
    });

    it('binds the token to the session: a new login gets a new token', async () => {
      const a = await Activator.signIn(t, creds);
      const b = await Activator.signIn(t, creds);
      expect(a.csrf).not.toBe(b.csrf);
      expect(a.csrf).toMatch(/^[A-Za-z0-9_-]{20,}$/);
      const page = await a.agent.get('/activate');
      expect(csrfOf(await page.text())).toBe(a.csrf);
    });
  });

  describe('headers', () => {
    it("sends frame-ancestors 'none' and X-Frame-Options DENY on every activation page", async () => {
      const person = await Activator.signIn(t, creds);
      expectPageHeaders(await person.agent.get('/activate'), 'GET /activate');
      expectPageHeaders(await person.agent.get('/activate?user_code=BCDF-GHJK'), 'GET /activate?user_code');
      const d = await device();
      expectPageHeaders((await person.enter(d.user_code)).res, 'POST /activate (confirmation)');
      expectPageHeaders((await person.decide(d.user_code, 'allow')).res, 'POST /activate/confirm (done)');
      expectPageHeaders((await person.decide(d.user_code, 'allow')).res, 'POST /activate/confirm (decided)');
      expectPageHeaders((await person.enter(d.user_code)).res, 'POST /activate (wrong code)');
      expectPageHeaders((await person.enter(d.user_code, null)).res, 'POST /activate (no CSRF)');
    });
  });
});
