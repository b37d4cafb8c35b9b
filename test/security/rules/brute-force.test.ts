import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { killAll } from '../../e2e/process.js';
import { type Credentials, csrfOf, inInteraction, type UserAgent } from '../../protocol/sign-in/agent.js';
import { describeEachBackend } from '../../support/databases.js';
import {
  authorizeUrl,
  type Client,
  expectError,
  launch,
  newApp,
  newUser,
  openLogin,
  postForm,
  type Sesame,
  s256,
  token,
} from './server.js';

// RFC 9700 §4.15 / OWASP ASVS V2.2: password guessing at the login page and at the password
// grant, and user-code guessing at /activate (RFC 8628 §5.1), are throttled with the counts in
// the database: two Sesame processes on one database (one SQLite file, or one PostgreSQL
// database) add up to one count. Passwords are counted per account from one address (then
// delays), per address (then a lock), and per account from everywhere (a ceiling that shuts out
// only places the account never signed in from, #14 §2). Each test is its own client IPs (source
// addresses on 127/8), so that the per-IP counts of different tests do not mix.

const CALLBACK = 'https://app.example/cb';
const DEVICE = 'urn:ietf:params:oauth:grant-type:device_code';
const ACCOUNT_FAILURES = 3;
const IP_FAILURES = 4;
const ACCOUNT_CEILING = 5;
const LOCK_SECONDS = 600;
const PKCE = {
  code_challenge: s256('brute-force-suite-verifier-0123456789-abcdefghijkl'),
  code_challenge_method: 'S256',
};

// every `sesame` this file started is gone at the end, even after a failed beforeAll
afterAll(() => killAll());

describeEachBackend('security rules: brute force, across two instances on one database', (backend) => {
  let a: Sesame;
  let b: Sesame;
  let web: Client;
  let u1: Credentials;
  let u2: Credentials;
  let u3: Credentials;

  beforeAll(async () => {
    const config = {
      login: {
        accountFailures: ACCOUNT_FAILURES,
        ipFailures: IP_FAILURES,
        accountCeiling: ACCOUNT_CEILING,
        window: LOCK_SECONDS,
        lockSeconds: LOCK_SECONDS,
      },
    };
    a = await launch(backend, { config });
    [b, web, u1, u2, u3] = await Promise.all([
      launch(backend, { config, shared: a }),
      newApp(a, 'web', [
        '--callback',
        CALLBACK,
        ...['authorization_code', 'password', 'device_code'].flatMap((g) => ['--grant', g]),
      ]),
      newUser(a),
      newUser(a),
      newUser(a),
    ]);
  });
  afterAll(async () => {
    await b?.stop();
    await a?.stop();
  });

  const both = () =>
    [
      ['A', a],
      ['B', b],
    ] as const;
  const loginUrl = (s: Sesame) =>
    authorizeUrl(s, { client_id: web.clientId, redirect_uri: CALLBACK, ...PKCE });

  /** One login attempt at /u/login on `s` from `ip`, in a fresh browser: the status and Retry-After. */
  async function login(s: Sesame, ip: string, creds: Credentials) {
    const agent = s.agent(undefined, { localAddress: ip });
    const { csrf } = await openLogin(agent, loginUrl(s));
    const res = await agent.post('/u/login', { csrf, email: creds.email, password: creds.password });
    await res.arrayBuffer();
    const session = res.headers.getSetCookie().some((c) => c.startsWith('sesame_session='));
    return { status: res.status, retryAfter: res.headers.get('retry-after'), session };
  }
  const wrong = (c: Credentials): Credentials => ({ email: c.email, password: 'not the password' });
  const nobody = (n: string): Credentials => ({
    email: `nobody-${n}@nowhere.example`,
    password: 'not the password',
  });

  /** A password-grant attempt on `s` from `ip`. */
  const passwordGrant = (s: Sesame, ip: string, creds: Credentials) =>
    token(
      s,
      web,
      { grant_type: 'password', username: creds.email, password: creds.password, scope: 'openid' },
      ip,
    );

  function expectLocked(r: { status: number; retryAfter: string | null }, what: string) {
    expect(r.status, what).toBe(429);
    const wait = Number(r.retryAfter);
    expect(wait, `${what}: Retry-After ${r.retryAfter}`).toBeGreaterThan(0);
    expect(wait, what).toBeLessThanOrEqual(LOCK_SECONDS);
  }

  // first, while every account can still sign in (the tests below lock u1 and u3 at the login)
  describe('user_code entry (/activate)', () => {
    /** A browser signed in as `creds` on `s` from `ip`, at /activate: the browser and its CSRF token. */
    async function activator(s: Sesame, ip: string, creds: Credentials) {
      const agent = s.agent(undefined, { localAddress: ip });
      expect((await agent.get('/activate')).headers.get('location')).toEqual(inInteraction('/u/login'));
      const page = await agent.get('/u/login');
      const res = await agent.post('/u/login', { csrf: csrfOf(await page.text()), ...creds });
      expect(res.status, 'login for /activate').toBe(303);
      const form = await agent.get('/activate');
      return { agent, csrf: csrfOf(await form.text()) };
    }

    /**
     * Enters `userCode` at /activate of instance `s` with `agent`'s cookies (one session on both
     * instances); at /activate/confirm (with decision=allow) when `confirm`.
     */
    async function enter(
      s: Sesame,
      agent: UserAgent,
      ip: string,
      csrf: string,
      userCode: string,
      confirm = false,
    ) {
      const res = await s.fetch(`${s.issuer}/activate${confirm ? '/confirm' : ''}`, {
        method: 'POST',
        headers: {
          'content-type': 'application/x-www-form-urlencoded',
          cookie: [...agent.cookies].map(([k, v]) => `${k}=${v}`).join('; '),
        },
        body: new URLSearchParams({
          csrf,
          user_code: userCode,
          ...(confirm ? { decision: 'allow' } : {}),
        }).toString(),
        localAddress: ip,
      });
      await res.arrayBuffer();
      return { status: res.status, retryAfter: res.headers.get('retry-after') };
    }

    /** The user_code of a new, pending device authorization. */
    async function pendingUserCode(): Promise<string> {
      return (await pendingDevice()).userCode;
    }

    /** A new, pending device authorization: its user_code and device_code. */
    async function pendingDevice() {
      const res = await postForm(a, '/oauth/device/code', {
        client_id: web.clientId,
        client_secret: web.clientSecret as string,
        scope: 'openid',
      });
      expect(res.status, JSON.stringify(res.body)).toBe(200);
      return { userCode: res.body.user_code as string, deviceCode: res.body.device_code as string };
    }
    const poll = (deviceCode: string) => token(a, web, { grant_type: DEVICE, device_code: deviceCode });

    it(`per session: ${ACCOUNT_FAILURES} wrong codes on both instances → 429 even for a valid code, on both; a valid code works before (the control)`, async () => {
      const { agent, csrf } = await activator(a, '127.0.0.51', u1);
      expect((await enter(b, agent, '127.0.0.51', csrf, await pendingUserCode())).status).toBe(200);
      expect((await enter(a, agent, '127.0.0.51', csrf, 'BBBB-BBBB')).status).toBe(400);
      expect((await enter(b, agent, '127.0.0.52', csrf, 'CCCC-CCCC')).status).toBe(400);
      expect((await enter(a, agent, '127.0.0.52', csrf, 'DDDD-DDDD')).status).toBe(400);
      const valid = await pendingDevice();
      for (const [name, s] of both()) {
        expectLocked(await enter(s, agent, '127.0.0.53', csrf, valid.userCode), `valid code on ${name}`);
        // nor can the locked session approve it at /activate/confirm directly
        expectLocked(await enter(s, agent, '127.0.0.53', csrf, valid.userCode, true), `confirm on ${name}`);
      }
      expectError(await poll(valid.deviceCode), 400, 'authorization_pending');
    });

    it('per account: signing in again (a new session, from another IP) does not reset the count of wrong codes', async () => {
      const again = await activator(b, '127.0.0.54', u1);
      expectLocked(
        await enter(b, again.agent, '127.0.0.54', again.csrf, await pendingUserCode()),
        'a new session of the account that entered 3 wrong codes',
      );
    });

    it(`per IP: ${IP_FAILURES} wrong codes from one IP, across sessions, accounts and instances → 429 from it; another IP is fine`, async () => {
      const ip = '127.0.0.61';
      // two accounts, two wrong codes each: below the per-session (and per-account) limit
      for (const [i, creds] of [u2, u3].entries()) {
        const { agent, csrf } = await activator(i ? b : a, ip, creds);
        expect((await enter(a, agent, ip, csrf, 'FFFF-FFFF')).status).toBe(400);
        expect((await enter(b, agent, ip, csrf, 'GGGG-GGGG')).status).toBe(400);
      }
      const valid = await pendingUserCode();
      const fresh = await activator(a, ip, u2);
      for (const [name, s] of both()) {
        expectLocked(await enter(s, fresh.agent, ip, fresh.csrf, valid), `from the locked IP on ${name}`);
      }
      const elsewhere = await activator(b, '127.0.0.62', u3);
      expect((await enter(b, elsewhere.agent, '127.0.0.62', elsewhere.csrf, valid)).status).toBe(200);
    });

    it(`guessing at /activate/confirm directly (skipping /activate) is counted too: after ${ACCOUNT_FAILURES} wrong codes a valid one is not approved`, async () => {
      const ip = '127.0.0.71';
      const { agent, csrf } = await activator(b, ip, u2);
      for (let i = 0; i < ACCOUNT_FAILURES; i++) {
        const r = await enter(i % 2 ? a : b, agent, ip, csrf, `HHHH-HHH${'BCD'[i]}`, true);
        expect([400, 429], `wrong code ${i + 1} at /activate/confirm`).toContain(r.status);
      }
      const valid = await pendingDevice();
      expectLocked(
        await enter(a, agent, ip, csrf, valid.userCode, true),
        'a valid code at /activate/confirm',
      );
      expectError(await poll(valid.deviceCode), 400, 'authorization_pending');
    });
  });

  /** `n` addresses 127.0.0.<from>…, one for each guess of a distributed attack. */
  const addresses = (from: number, n: number) => Array.from({ length: n }, (_, i) => `127.0.0.${from + i}`);

  describe('the login page (/u/login)', () => {
    it(`per account and address: ${ACCOUNT_FAILURES} failures from one IP on both instances delay it there, even for the right password; from another IP the right password works`, async () => {
      expect((await login(a, '127.0.0.11', wrong(u1))).status).toBe(400);
      expect((await login(b, '127.0.0.11', wrong(u1))).status).toBe(400);
      expect((await login(a, '127.0.0.11', wrong(u1))).status).toBe(400);
      for (const [name, s] of both()) {
        const r = await login(s, '127.0.0.11', u1);
        expectLocked(r, `u1 with the right password from the same IP on ${name}`);
        expect(r.session, name).toBe(false);
      }
      const elsewhere = await login(b, '127.0.0.12', u1);
      expect(elsewhere.status).toBe(303);
      expect(elsewhere.session).toBe(true);
    });

    it(`per account from everywhere: ${ACCOUNT_CEILING} failures from as many IPs lock out a never-seen IP, on both instances, but not an IP the account signed in from`, async () => {
      expect((await login(a, '127.0.0.13', u2)).status).toBe(303); // u2 now knows 127.0.0.13
      for (const [i, ip] of addresses(150, ACCOUNT_CEILING).entries()) {
        expect((await login(i % 2 ? b : a, ip, wrong(u2))).status, `guess from ${ip}`).toBe(400);
      }
      for (const [name, s] of both()) {
        const r = await login(s, '127.0.0.14', u2);
        expectLocked(r, `u2 with the right password from a never-seen IP on ${name}`);
        expect(r.session, name).toBe(false);
        expect((await login(s, '127.0.0.13', u2)).status, `u2 from its known IP on ${name}`).toBe(303);
      }
    });

    it(`per IP: ${IP_FAILURES} failures for different accounts from one IP lock that IP on both instances; another IP is not locked`, async () => {
      for (let i = 0; i < IP_FAILURES; i++) {
        const r = await login(i % 2 ? b : a, '127.0.0.21', nobody(`ip-${backend}-${i}`));
        expect(r.status, `failure ${i + 1}`).toBe(400);
      }
      for (const [name, s] of both())
        expectLocked(await login(s, '127.0.0.21', u3), `u3 from the locked IP on ${name}`);
      expect((await login(a, '127.0.0.22', u3)).status).toBe(303);
    });

    async function concurrentGuesses(target: Credentials, ips: string[]) {
      const agents: [UserAgent, string][] = [];
      for (const [i, ip] of ips.entries()) {
        const s = i % 2 ? b : a;
        const agent = s.agent(undefined, { localAddress: ip });
        agents.push([agent, (await openLogin(agent, loginUrl(s))).csrf]);
      }
      const statuses = await Promise.all(
        agents.map(async ([agent, csrf]) => {
          const res = await agent.post('/u/login', { csrf, ...target });
          await res.arrayBuffer();
          return res.status;
        }),
      );
      expect(
        statuses.every((st) => st === 400 || st === 429),
        statuses.join(' '),
      ).toBe(true);
      return statuses;
    }

    it(`concurrent guesses from one IP: at most ${ACCOUNT_FAILURES} of 12 simultaneous wrong passwords for one account get a password check (the others 429)`, async () => {
      const statuses = await concurrentGuesses(nobody(`concurrent-${backend}`), Array(12).fill('127.0.0.90'));
      expect(statuses.filter((st) => st === 400).length, statuses.join(' ')).toBeLessThanOrEqual(
        ACCOUNT_FAILURES,
      );
    });

    it(`concurrent guesses from 12 IPs: at most ${ACCOUNT_CEILING} get a password check`, async () => {
      const statuses = await concurrentGuesses(nobody(`spread-${backend}`), addresses(100, 12));
      expect(statuses.filter((st) => st === 400).length, statuses.join(' ')).toBeLessThanOrEqual(
        ACCOUNT_CEILING,
      );
    });
  });

  describe('the password grant', () => {
    it(`per account and address: ${ACCOUNT_FAILURES} failures from one IP on both instances → 429 invalid_grant with Retry-After for the right password from it, and the login page is delayed there too; another IP is fine`, async () => {
      expectError(await passwordGrant(a, '127.0.0.31', wrong(u3)), 400, 'invalid_grant');
      expectError(await passwordGrant(b, '127.0.0.31', wrong(u3)), 400, 'invalid_grant');
      expectError(await passwordGrant(a, '127.0.0.31', wrong(u3)), 400, 'invalid_grant');
      for (const [name, s] of both()) {
        const res = await passwordGrant(s, '127.0.0.31', u3);
        expectError(res, 429, 'invalid_grant');
        expectLocked(
          { status: res.status, retryAfter: res.headers.get('retry-after') },
          `password grant on ${name}`,
        );
        expect(res.body.access_token).toBeUndefined();
      }
      expectLocked(await login(b, '127.0.0.31', u3), 'login page for the same account and IP');
      expect((await passwordGrant(a, '127.0.0.33', u3)).status).toBe(200);
    });

    it(`per account from everywhere: ${ACCOUNT_CEILING} failures from as many IPs → 429 from a never-seen IP, 200 from a known one`, async () => {
      const victim = await newUser(a);
      expect((await passwordGrant(a, '127.0.0.34', victim)).status).toBe(200);
      for (const [i, ip] of addresses(160, ACCOUNT_CEILING).entries()) {
        expectError(await passwordGrant(i % 2 ? b : a, ip, wrong(victim)), 400, 'invalid_grant');
      }
      for (const [name, s] of both()) {
        expectError(await passwordGrant(s, '127.0.0.35', victim), 429, 'invalid_grant');
        expect((await passwordGrant(s, '127.0.0.34', victim)).status, `known IP on ${name}`).toBe(200);
      }
    });

    it(`per IP: ${IP_FAILURES} failures for different accounts from one IP → 429 for a right password from it, on both instances; another IP is fine`, async () => {
      for (let i = 0; i < IP_FAILURES; i++) {
        expectError(
          await passwordGrant(i % 2 ? b : a, '127.0.0.41', nobody(`grant-ip-${backend}-${i}`)),
          400,
          'invalid_grant',
        );
      }
      for (const [name, s] of both()) {
        const res = await passwordGrant(s, '127.0.0.41', u1);
        expectError(res, 429, 'invalid_grant');
        expect(Number(res.headers.get('retry-after')), name).toBeGreaterThan(0);
      }
      // (u1: u2 is past its account ceiling since the login-page tests, and .42 is new to it)
      expect((await passwordGrant(b, '127.0.0.42', u1)).status).toBe(200);
    });

    it(`concurrent guesses from 12 IPs: at most ${ACCOUNT_CEILING} of 12 simultaneous wrong passwords for one account get a password check`, async () => {
      const target = nobody(`grant-concurrent-${backend}`);
      const answers = await Promise.all(
        addresses(120, 12).map((ip, i) => passwordGrant(i % 2 ? b : a, ip, target)),
      );
      const statuses = answers.map((r) => r.status);
      expect(
        statuses.every((st) => st === 400 || st === 429),
        statuses.join(' '),
      ).toBe(true);
      expect(
        statuses.filter((st) => st === 400).length,
        `password checks: ${statuses.join(' ')}`,
      ).toBeLessThanOrEqual(ACCOUNT_CEILING);
    });
  });
});
