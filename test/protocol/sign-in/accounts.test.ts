import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { setBlocked } from '../../../src/admin/users.js';
import { openRuntime, type Runtime } from '../../../src/runtime.js';
import { createServer } from '../../../src/server.js';
import type { Api } from '../../../src/storage/types.js';
import { startTestApp, type TestApp } from '../../support/app.js';
import { describeEachBackend } from '../../support/databases.js';
import { csrfOf, inInteraction, SESSION_COOKIE, type UserAgent } from './agent.js';
import {
  authorizationUrl,
  browser,
  CALLBACK,
  codeFor,
  expectTokenError,
  newUser,
  PASSWORD,
  s256,
  tokenRequest,
  webAuthorizationUrl,
  webConfig,
  webSignIn,
} from './fixtures.js';

type App = { clientId: string; clientSecret?: string };

const GENERIC = 'Wrong email or password.';

/** The alert text of a login page. */
const alertOf = (html: string) => /role="alert">([^<]*)</.exec(html)?.[1]?.trim();

/** A plain authorization URL for `app` on `t` (PKCE S256, state). */
const urlFor = (t: TestApp, app: App, params: Record<string, string | null> = {}) =>
  authorizationUrl(t, {
    client_id: app.clientId,
    redirect_uri: CALLBACK,
    state: 's',
    code_challenge: s256('p'.repeat(43)),
    code_challenge_method: 'S256',
    ...params,
  });

/** Opens the authorization URL and the login page; returns the login form's CSRF token. */
async function atLogin(agent: UserAgent, url: string): Promise<string> {
  const res = await agent.get(url);
  expect(res.headers.get('location')).toEqual(inInteraction('/u/login'));
  const page = await agent.get('/u/login');
  expect(page.status).toBe(200);
  return csrfOf(await page.text());
}

/** Posts the login form. */
const login = (agent: UserAgent, csrf: string, email: string, password: string) =>
  agent.post('/u/login', { csrf, email, password });

describeEachBackend('sign-in: blocked users, long passwords, login throttling', (backend) => {
  let t: TestApp;
  let web: App;
  let api: Api;

  beforeAll(async () => {
    // a high per-IP limit: every in-process request comes from IP 'unknown'
    t = await startTestApp(backend, { login: { ipFailures: 1000 } });
    web = await t.createApp({ name: 'Web', type: 'web', requirePkce: false, callbacks: [CALLBACK] });
    api = await t.createApi({ allowOfflineAccess: true });
  });
  afterAll(async () => t?.close());

  describe('a blocked user', () => {
    it('cannot log in, and sees the same status and message as for a wrong password', async () => {
      const { user, creds } = await newUser(t);
      const agent = browser(t, creds);
      const csrf = await atLogin(agent, urlFor(t, web));
      const wrong = await login(agent, csrf, creds.email, 'not the password');
      const wrongHtml = await wrong.text();
      await setBlocked(t.rt.storage, t.clock, user.id, true);
      const blocked = await login(agent, csrf, creds.email, PASSWORD);
      const blockedHtml = await blocked.text();
      expect([wrong.status, blocked.status]).toEqual([400, 400]);
      expect(alertOf(wrongHtml)).toBe(GENERIC);
      expect(alertOf(blockedHtml)).toBe(GENERIC);
      expect(blocked.headers.get('location')).toBeNull();
      expect(agent.cookies.has(SESSION_COOKIE)).toBe(false);
      // nothing else on the page tells a blocked account from a wrong password
      const strip = (html: string) => html.replace(/nonce-[^'"]+|nonce="[^"]*"/g, '');
      expect(strip(blockedHtml)).toBe(strip(wrongHtml));
      expect(blockedHtml).not.toMatch(/blocked/i);
    });

    it('can log in again once unblocked', async () => {
      const { user, creds } = await newUser(t);
      await setBlocked(t.rt.storage, t.clock, user.id, true);
      const agent = browser(t, creds);
      const csrf = await atLogin(agent, urlFor(t, web));
      expect((await login(agent, csrf, creds.email, PASSWORD)).status).toBe(400);
      await setBlocked(t.rt.storage, t.clock, user.id, false);
      const ok = await login(agent, csrf, creds.email, PASSWORD);
      expect([ok.status, ok.headers.get('location')]).toEqual([303, inInteraction('/authorize/resume')]);
      const flow = await agent.signIn('/authorize/resume');
      expect(flow.location?.origin).toBe(new URL(CALLBACK).origin);
      expect(flow.location?.searchParams.get('code')).toBeTruthy();
    });

    describe('blocked after signing in', () => {
      const SCOPE = 'openid offline_access read:things';

      async function signedIn() {
        const { user, creds } = await newUser(t);
        const agent = browser(t, creds);
        const config = await webConfig(t, web);
        const { tokens } = await webSignIn(agent, config, { scope: SCOPE, audience: api.identifier });
        expect(tokens.refresh_token).toEqual(expect.any(String));
        return { user, agent, config, tokens };
      }

      it('the existing session no longer serves them: the next /authorize goes to the login page', async () => {
        const { user, agent, config } = await signedIn();
        const again = async () =>
          agent.get((await webAuthorizationUrl(config, { scope: SCOPE, audience: api.identifier })).url);
        // the session serves the user before the block: no page, straight back to the client
        const before = await again();
        expect(before.status).toBe(303);
        const back = new URL(before.headers.get('location') as string, t.issuer);
        expect([back.origin, back.searchParams.has('code')]).toEqual([new URL(CALLBACK).origin, true]);
        await setBlocked(t.rt.storage, t.clock, user.id, true);
        const after = await again();
        expect([after.status, after.headers.get('location')]).toEqual([303, inInteraction('/u/login')]);
      });

      it('prompt=none → login_required, no code', async () => {
        const { user, agent, config } = await signedIn();
        await setBlocked(t.rt.storage, t.clock, user.id, true);
        const pending = await webAuthorizationUrl(config, {
          scope: SCOPE,
          audience: api.identifier,
          prompt: 'none',
        });
        const res = await agent.get(pending.url);
        const loc = new URL(res.headers.get('location') as string);
        expect([loc.origin, loc.searchParams.get('error'), loc.searchParams.get('code')]).toEqual([
          new URL(CALLBACK).origin,
          'login_required',
          null,
        ]);
      });

      it('their refresh token fails with invalid_grant (and worked just before the block)', async () => {
        const { user, tokens } = await signedIn();
        const refresh = (token: string) =>
          tokenRequest(t, {
            grant_type: 'refresh_token',
            refresh_token: token,
            client_id: web.clientId,
            client_secret: web.clientSecret as string,
          });
        const first = await refresh(tokens.refresh_token as string);
        expect(first.status, JSON.stringify(first.body)).toBe(200);
        await setBlocked(t.rt.storage, t.clock, user.id, true);
        expectTokenError(await refresh(first.body.refresh_token as string), 400, 'invalid_grant');
      });

      it('a code issued before the block cannot be exchanged', async () => {
        const { user, creds } = await newUser(t);
        const agent = browser(t, creds);
        const config = await webConfig(t, web);
        const pending = await webAuthorizationUrl(config);
        const flow = await agent.signIn(pending.url);
        const code = flow.location?.searchParams.get('code') as string;
        expect(code).toBeTruthy();
        await setBlocked(t.rt.storage, t.clock, user.id, true);
        const answer = await tokenRequest(t, {
          grant_type: 'authorization_code',
          code,
          redirect_uri: CALLBACK,
          code_verifier: pending.verifier,
          client_id: web.clientId,
          client_secret: web.clientSecret as string,
        });
        expectTokenError(answer, 400, 'invalid_grant');
      });
    });
  });

  describe('passwords over 1024 bytes at /u/login', () => {
    it.each([
      ['1025 × “a”', 'a'.repeat(1025)],
      ['342 × “€” (1026 bytes)', '€'.repeat(342)],
      ['60 000 × “a”', 'a'.repeat(60_000)],
    ])('%s for a real user → 400 with the generic message, not 500', async (_what, password) => {
      const { creds } = await newUser(t);
      const agent = browser(t, creds);
      const csrf = await atLogin(agent, urlFor(t, web));
      const res = await login(agent, csrf, creds.email, password);
      expect(res.status).toBe(400);
      expect(res.headers.get('content-type')).toMatch(/^text\/html/);
      expect(alertOf(await res.text())).toBe(GENERIC);
      expect(agent.cookies.has(SESSION_COOKIE)).toBe(false);
    });

    it('for an unknown email → the same 400 and message', async () => {
      const agent = browser(t);
      const csrf = await atLogin(agent, urlFor(t, web));
      const res = await login(agent, csrf, 'nobody-long@example.com', 'a'.repeat(1025));
      expect(res.status).toBe(400);
      expect(alertOf(await res.text())).toBe(GENERIC);
    });
  });

  describe('throttling per IP address', () => {
    let ip: TestApp;
    let app: App;
    const LOCK = 120;

    beforeAll(async () => {
      ip = await startTestApp(backend, {
        login: { ipFailures: 3, accountFailures: 1000, lockSeconds: LOCK },
      });
      app = await ip.createApp({ name: 'Web', type: 'web', requirePkce: false, callbacks: [CALLBACK] });
    });
    afterAll(async () => ip?.close());

    it('3 failures for 3 different emails → the next attempt (even right) gets 429 with Retry-After; it lifts after lockSeconds', async () => {
      const victim = await newUser(ip);
      const agent = browser(ip, victim.creds);
      const csrf = await atLogin(agent, urlFor(ip, app));
      const statuses: number[] = [];
      for (const email of ['one@example.com', 'two@example.com', 'three@example.com']) {
        statuses.push((await login(agent, csrf, email, 'wrong password')).status);
      }
      expect(statuses).toEqual([400, 400, 400]);

      const locked = await login(agent, csrf, victim.creds.email, PASSWORD);
      expect(locked.status).toBe(429);
      const retryAfter = Number(locked.headers.get('retry-after'));
      expect(retryAfter).toBeGreaterThan(0);
      expect(retryAfter).toBeLessThanOrEqual(LOCK);
      expect(await locked.text()).toContain('Too many');
      expect(agent.cookies.has(SESSION_COOKIE)).toBe(false);
      // a fresh browser from the same address is locked out too
      const other = browser(ip, victim.creds);
      const otherCsrf = await atLogin(other, urlFor(ip, app));
      expect((await login(other, otherCsrf, 'four@example.com', 'whatever123')).status).toBe(429);

      ip.clock.advance(LOCK - 1);
      expect((await login(agent, csrf, victim.creds.email, PASSWORD)).status).toBe(429);
      ip.clock.advance(1);
      const ok = await login(agent, csrf, victim.creds.email, PASSWORD);
      expect([ok.status, ok.headers.get('location')]).toEqual([303, inInteraction('/authorize/resume')]);
    });
  });

  describe('throttling across instances on one database', () => {
    let a: TestApp;
    let rtB: Runtime;
    let b: TestApp;
    let app: App;
    const LOCK = 300;

    beforeAll(async () => {
      a = await startTestApp(backend, { login: { accountFailures: 3, ipFailures: 1000, lockSeconds: LOCK } });
      app = await a.createApp({ name: 'Web', type: 'web', requirePkce: false, callbacks: [CALLBACK] });
      // instance B: its own runtime and server on the same database (and the same test clock)
      rtB = await openRuntime(a.rt.config, { clock: a.clock, logger: pino({ level: 'silent' }) });
      const serverB = createServer(rtB);
      b = {
        ...a,
        rt: rtB,
        fetch: async (input, init) =>
          serverB.fetch(input instanceof Request && !init ? input : new Request(input, init)),
      };
    });
    afterAll(async () => {
      await rtB?.storage.close();
      await a?.close();
    });

    it('failures from one address on instance A delay the account there on instance B; the delay expires', async () => {
      const { creds } = await newUser(a);
      const onA = browser(a, creds);
      const csrfA = await atLogin(onA, urlFor(a, app));
      const statuses: number[] = [];
      for (let i = 0; i < 3; i++) statuses.push((await login(onA, csrfA, creds.email, `wrong-${i}`)).status);
      expect(statuses).toEqual([400, 400, 400]);

      const onB = browser(b, creds);
      const csrfB = await atLogin(onB, urlFor(b, app));
      const locked = await login(onB, csrfB, creds.email, PASSWORD);
      expect(locked.status).toBe(429);
      const retryAfter = Number(locked.headers.get('retry-after'));
      expect(retryAfter).toBeGreaterThan(0);
      expect(retryAfter).toBeLessThanOrEqual(LOCK);
      expect(onB.cookies.has(SESSION_COOKIE)).toBe(false);

      // the delay is of the account from this address: another account logs in on B
      const other = await newUser(a);
      const otherAgent = browser(b, other.creds);
      expect((await codeFor(otherAgent, urlFor(b, app))).length).toBeGreaterThan(0);

      // the first delay (#14 §2): 15 s, then doubling up to lockSeconds
      expect(retryAfter).toBe(15);
      a.clock.advance(14);
      expect((await login(onB, csrfB, creds.email, PASSWORD)).status).toBe(429);
      a.clock.advance(1);
      const ok = await login(onB, csrfB, creds.email, PASSWORD);
      expect([ok.status, ok.headers.get('location')]).toEqual([303, inInteraction('/authorize/resume')]);
    });

    it('failures split between the instances add up to one lock', async () => {
      const { creds } = await newUser(a);
      const onA = browser(a, creds);
      const onB = browser(b, creds);
      const csrfA = await atLogin(onA, urlFor(a, app));
      const csrfB = await atLogin(onB, urlFor(b, app));
      expect((await login(onA, csrfA, creds.email, 'wrong-a1')).status).toBe(400);
      expect((await login(onB, csrfB, creds.email, 'wrong-b1')).status).toBe(400);
      expect((await login(onA, csrfA, creds.email, 'wrong-a2')).status).toBe(400);
      expect((await login(onB, csrfB, creds.email, PASSWORD)).status).toBe(429);
      expect((await login(onA, csrfA, creds.email, PASSWORD)).status).toBe(429);
    });
  });
});
