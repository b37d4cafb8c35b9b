// Issue #14 §2: the login lockouts could be turned against people: wrong passwords for someone
// else's account, sent from anywhere, locked its owner out. Now a password sign-in (login page and
// password grant) is charged to three limits: the account from this address (IPv6 per /64) or from
// this known device, with delays that double from 15 s; the address across accounts; and the
// account from everywhere (a ceiling). The ceiling only refuses places the account has never
// signed in from: an address, or a device cookie set by a successful login-page sign-in. So an
// attacker's guessing locks out other guessers, never the owner at home. Each lock, and each
// refusal, is a limit_wc event (limit_mu for an address). In-process requests, each test from its own client addresses.
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openRuntime, type Runtime } from '../../../src/runtime.js';
import { createServer } from '../../../src/server.js';
import type { LogEvent } from '../../../src/storage/types.js';
import {
  type Credentials,
  csrfOf,
  parseSetCookie,
  SESSION_COOKIE,
  UserAgent,
} from '../../protocol/sign-in/agent.js';
import { authorizationUrl, CALLBACK, newUser, s256 } from '../../protocol/sign-in/fixtures.js';
import { startTestApp, type TestApp } from '../../support/app.js';
import { describeEachBackend } from '../../support/databases.js';

const ACCOUNT_FAILURES = 3;
const ACCOUNT_CEILING = 10;
const IP_FAILURES = 8;
const LOCK_SECONDS = 900;
const LIMITS = {
  accountFailures: ACCOUNT_FAILURES,
  accountCeiling: ACCOUNT_CEILING,
  ipFailures: IP_FAILURES,
  window: 900,
  lockSeconds: LOCK_SECONDS,
};
/** The device cookie on an https issuer (`sesame_device` with the `__Host-` prefix). */
const DEVICE_COOKIE = '__Host-sesame_device';
const YEAR = 365 * 86_400;
const WRONG = 'not the password';
const VERIFIER = 'lockouts-suite-verifier-0123456789-abcdefghijklmnop';

type Server = ReturnType<typeof createServer>;

/** What a sign-in attempt got: the status, Retry-After, and for the login page the cookies set. */
interface Attempt {
  status: number;
  retryAfter: string | null;
  contentType: string | null;
  /** Login page: the Set-Cookie headers by cookie name. */
  cookies: Map<string, ReturnType<typeof parseSetCookie>>;
  /** Password grant: the JSON answer. */
  body: Record<string, unknown>;
  text: string;
}

const show = (a: Attempt) => `${a.status} Retry-After ${a.retryAfter} ${a.text.slice(0, 300)}`;

/** A refusal by a lock: 429 with Retry-After (exactly `retryAfter` when given; the clock stands still). */
function expectRefused(a: Attempt, retryAfter?: number): void {
  expect(a.status, show(a)).toBe(429);
  expect(a.retryAfter, show(a)).toMatch(/^[1-9][0-9]*$/);
  expect(Number(a.retryAfter)).toBeLessThanOrEqual(LOCK_SECONDS);
  if (retryAfter !== undefined) expect(Number(a.retryAfter), show(a)).toBe(retryAfter);
  expect(a.cookies.has(SESSION_COOKIE)).toBe(false);
  expect(a.body.access_token).toBeUndefined();
}

/** A wrong password that was checked (not refused by a lock). */
function expectWrong(a: Attempt, what = ''): void {
  expect(a.status, `${what} ${show(a)}`).toBe(400);
  expect(a.retryAfter).toBeNull();
}

/** A login-page sign-in that went through: 303 and a session. */
function expectSignedIn(a: Attempt, what = ''): void {
  expect(a.status, `${what} ${show(a)}`).toBe(303);
  expect(a.cookies.has(SESSION_COOKIE), what).toBe(true);
}

/** A password grant that went through. */
function expectTokens(a: Attempt, what = ''): void {
  expect(a.status, `${what} ${show(a)}`).toBe(200);
  expect(a.body.access_token).toEqual(expect.any(String));
}

const wrong = (c: Credentials): Credentials => ({ email: c.email, password: WRONG });

describeEachBackend('hardening: lockouts that cannot be turned against people (#14 §2)', (backend) => {
  let t: TestApp;
  let server: Server;
  let web: { clientId: string; clientSecret?: string };
  let hosts = 0;
  /** A client address no test used before (so never seen by any account, and with no count). */
  const address = () => {
    hosts++;
    return `10.14.${Math.floor(hosts / 250)}.${(hosts % 250) + 1}`;
  };

  beforeAll(async () => {
    t = await startTestApp(backend, { login: LIMITS });
    server = createServer(t.rt);
    web = await t.createApp({
      name: 'Lockouts',
      type: 'web',
      callbacks: [CALLBACK],
      grants: ['authorization_code', 'password'],
      skipConsent: true,
    });
  });
  afterAll(async () => t?.close());

  /** Sesame as reached from the socket address `ip` (through `via`, by default this instance). */
  function from(ip: string, via: Server = server): TestApp {
    const env = { incoming: { socket: { remoteAddress: ip } } };
    const fetch = async (input: string | URL | Request, init?: RequestInit) =>
      via.fetch(input instanceof Request && !init ? input : new Request(input, init), env);
    return { ...t, fetch };
  }

  /**
   * One sign-in at the login page from `ip`, in a new browser holding `cookies`: GET /authorize,
   * the login form, and its POST with `creds`.
   */
  async function login(
    ip: string,
    creds: Credentials,
    cookies: Record<string, string> = {},
    via: Server = server,
  ): Promise<Attempt> {
    const agent = new UserAgent(from(ip, via));
    for (const [k, v] of Object.entries(cookies)) agent.cookies.set(k, v);
    const start = await agent.get(
      authorizationUrl(t, {
        client_id: web.clientId,
        redirect_uri: CALLBACK,
        state: 'st',
        nonce: 'n',
        code_challenge: s256(VERIFIER),
        code_challenge_method: 'S256',
      }),
    );
    const location = start.headers.get('location');
    expect(location, `authorize answered ${start.status}`).not.toBeNull();
    expect(new URL(location as string, t.issuer).pathname).toBe('/u/login');
    const form = await agent.get(location as string);
    const html = await form.text();
    expect(form.status, html).toBe(200);
    const res = await agent.post('/u/login', {
      csrf: csrfOf(html),
      email: creds.email,
      password: creds.password,
    });
    const text = await res.text();
    const set = new Map(res.headers.getSetCookie().map((h) => [parseSetCookie(h).name, parseSetCookie(h)]));
    return {
      status: res.status,
      retryAfter: res.headers.get('retry-after'),
      contentType: res.headers.get('content-type'),
      cookies: set,
      body: {},
      text,
    };
  }

  /** One password grant from `ip`. */
  async function grant(ip: string, creds: Credentials, via: Server = server): Promise<Attempt> {
    const res = await from(ip, via).fetch(`${t.issuer}/oauth/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({
        grant_type: 'password',
        client_id: web.clientId,
        client_secret: web.clientSecret as string,
        username: creds.email,
        password: creds.password,
        scope: 'openid',
      }),
    });
    const text = await res.text();
    let body: Record<string, unknown> = {};
    try {
      body = JSON.parse(text) as Record<string, unknown>;
    } catch {
      // shown by the assertions through `text`
    }
    return {
      status: res.status,
      retryAfter: res.headers.get('retry-after'),
      contentType: res.headers.get('content-type'),
      cookies: new Map(),
      body,
      text,
    };
  }

  /** A refusal at the password grant: 429, and still RFC 6749's invalid_grant, as JSON. */
  function expectGrantRefused(a: Attempt, retryAfter?: number): void {
    expectRefused(a, retryAfter);
    expect(a.contentType).toMatch(/^application\/json/);
    expect(a.body.error, show(a)).toBe('invalid_grant');
  }

  /** A refusal at the login page: 429 as an HTML page, with Retry-After. */
  function expectPageRefused(a: Attempt, retryAfter?: number): void {
    expectRefused(a, retryAfter);
    expect(a.contentType).toMatch(/^text\/html/);
  }

  /**
   * The attack of the issue: wrong passwords for `creds`' account from addresses it never used,
   * ACCOUNT_FAILURES from each (so no growing delay stops them), half at the login page and half
   * at the password grant, until the ceiling locks the account. Then the right password from a
   * never-seen address is refused for lockSeconds. Returns the attackers' addresses.
   */
  async function lockCeiling(creds: Credentials): Promise<string[]> {
    const attackers: string[] = [];
    for (let i = 0; i < ACCOUNT_CEILING; i++) {
      if (i % ACCOUNT_FAILURES === 0) attackers.push(address());
      const ip = attackers[attackers.length - 1] as string;
      const a = i % 2 ? await grant(ip, wrong(creds)) : await login(ip, wrong(creds));
      expectWrong(a, `guess ${i + 1} from ${ip}`);
    }
    expectPageRefused(await login(address(), creds), LOCK_SECONDS);
    return attackers;
  }

  /** The lock events (limit_wc, limit_mu) so far (flushed), oldest first, with `keep` deciding which. */
  async function limitEvents(keep: (e: LogEvent) => boolean): Promise<LogEvent[]> {
    await t.rt.events.flush();
    const types = ['limit_wc', 'limit_mu'];
    const all = await t.rt.storage.logs.list({ types }, { offset: 0, limit: 10_000 }, true);
    return all.filter(keep);
  }
  /**
   * Where each event came from and what its details say of the lock (the token endpoint's
   * refusals also carry their `error`), in a stable order (events of one request may share a time).
   */
  const detailsOf = (events: LogEvent[]) =>
    events
      .map((e) => {
        const { lock, locked_for, retry_after } = e.details;
        return JSON.stringify({ ip: e.ip, lock, locked_for, retry_after });
      })
      .sort();
  const entries = (rows: Record<string, unknown>[]) => rows.map((r) => JSON.stringify(r)).sort();

  it('the attack: guesses from elsewhere reach the ceiling, yet the owner signs in from a known address (login page and password grant); never-seen addresses are refused', async () => {
    const { user, creds } = await newUser(t);
    const home = address();
    expectSignedIn(await login(home, creds), 'first sign-in at home');

    const attackers = await lockCeiling(creds);

    // The owner, at home, in a browser with no cookies: known by the address alone.
    expectSignedIn(await login(home, creds), 'owner at home during the ceiling lock');
    expectTokens(await grant(home, creds), 'password grant from home during the ceiling lock');
    // ... and signs in again, over and over: the ceiling does not catch up with them.
    expectSignedIn(await login(home, creds), 'owner at home, again');

    // Distributed guessing still meets the ceiling: the right password from never-seen places.
    expectPageRefused(await login(address(), creds), LOCK_SECONDS);
    expectGrantRefused(await grant(address(), creds), LOCK_SECONDS);
    // and the attackers themselves, even with the right password
    for (const ip of attackers) expectRefused(await login(ip, creds));

    // Another account is not affected by this one's ceiling.
    const other = await newUser(t);
    expectSignedIn(await login(address(), other.creds), 'another account from a new address');

    // The ceiling lock ends after lockSeconds.
    t.clock.advance(LOCK_SECONDS);
    expectSignedIn(await login(address(), creds), 'a new address after the ceiling lock');

    // limit_wc: one ceiling lock for lockSeconds; the refusals by the ceiling (the never-seen
    // places, and the last attacker address, whose own count had not reached a delay).
    const events = await limitEvents((e) => e.userName === user.email);
    const ceiling = events.filter((e) => e.details.lock === 'account');
    expect(detailsOf(ceiling.filter((e) => 'locked_for' in e.details))).toEqual([
      JSON.stringify({ ip: attackers[attackers.length - 1], lock: 'account', locked_for: LOCK_SECONDS }),
    ]);
    expect(
      ceiling.filter((e) => 'retry_after' in e.details).map((e) => e.details.retry_after),
      JSON.stringify(ceiling),
    ).toEqual([LOCK_SECONDS, LOCK_SECONDS, LOCK_SECONDS, LOCK_SECONDS]);
    // each attacker address that made ACCOUNT_FAILURES guesses started its own 15 s delay
    const full = attackers.slice(0, Math.floor(ACCOUNT_CEILING / ACCOUNT_FAILURES));
    expect(
      detailsOf(events.filter((e) => e.details.lock === 'account_address' && 'locked_for' in e.details)),
    ).toEqual(entries(full.map((ip) => ({ ip, lock: 'account_address', locked_for: 15 }))));
    // and nothing ever refused or locked the owner at home
    expect(events.filter((e) => e.ip === home)).toEqual([]);
  });

  it('growing delays from one address: 15 s after accountFailures failures, then 30, 60, 120; another address is not delayed', async () => {
    const { user, creds } = await newUser(t);
    const [p, q] = [address(), address()];
    for (let i = 0; i < ACCOUNT_FAILURES; i++) expectWrong(await login(p, wrong(creds)), `failure ${i + 1}`);
    expectPageRefused(await login(p, wrong(creds)), 15);
    // the login page and the password grant share the delay
    expectGrantRefused(await grant(p, wrong(creds)), 15);
    // another address is not delayed for this account
    expectWrong(await login(q, wrong(creds)), 'another address');

    let delay = 15;
    for (let round = 0; round < 3; round++) {
      t.clock.advance(delay + 1);
      expectWrong(await login(p, wrong(creds)), `one more failure after waiting ${delay + 1} s`);
      delay *= 2;
      expectPageRefused(await login(p, wrong(creds)), delay);
    }
    expect(delay).toBe(120);
    expectGrantRefused(await grant(p, wrong(creds)), 120);
    // the other address still signs in (7 failures in all: below the ceiling)
    expectSignedIn(await login(q, creds), 'another address, right password');

    const events = await limitEvents((e) => e.userName === user.email);
    expect(detailsOf(events)).toEqual(
      entries([
        ...[15, 30, 60, 120].map((s) => ({ ip: p, lock: 'account_address', locked_for: s })),
        ...[15, 15, 30, 60, 120, 120].map((s) => ({ ip: p, lock: 'account_address', retry_after: s })),
      ]),
    );
  });

  it('IPv6 addresses are counted per /64 for the account-from-here delay', async () => {
    const { creds } = await newUser(t);
    const net = `2001:db8:14:${hosts++}`;
    for (let i = 0; i < ACCOUNT_FAILURES; i++) expectWrong(await login(`${net}::${i + 1}`, wrong(creds)));
    expectPageRefused(await login(`${net}:ffff::9`, wrong(creds)), 15);
    expectWrong(await login(`2001:db8:15:${hosts++}::1`, wrong(creds)), 'another /64');
  });

  it('a correct password at a delayed address is refused while the delay runs, and works after it', async () => {
    const { creds } = await newUser(t);
    const p = address();
    for (let i = 0; i < ACCOUNT_FAILURES; i++) expectWrong(await grant(p, wrong(creds)), `failure ${i + 1}`);
    expectPageRefused(await login(p, creds), 15);
    expectGrantRefused(await grant(p, creds), 15);
    t.clock.advance(14);
    expectPageRefused(await login(p, creds), 1);
    t.clock.advance(1);
    expectSignedIn(await login(p, creds), 'right password once the delay has run');
    expectTokens(await grant(p, creds), 'and the password grant');
  });

  it.each(['login page', 'password grant'])(
    'a success clears the count of the account from that address (%s)',
    async (via) => {
      const attempt = via === 'login page' ? login : grant;
      const { creds } = await newUser(t);
      const p = address();
      for (let i = 0; i < ACCOUNT_FAILURES - 1; i++) expectWrong(await attempt(p, wrong(creds)));
      const ok = await attempt(p, creds);
      if (via === 'login page') expectSignedIn(ok);
      else expectTokens(ok);
      // accountFailures failures again before the first delay, not one
      for (let i = 0; i < ACCOUNT_FAILURES; i++) {
        expectWrong(await attempt(p, wrong(creds)), `failure ${i + 1} after the success`);
      }
      const refused = await attempt(p, wrong(creds));
      if (via === 'login page') expectPageRefused(refused, 15);
      else expectGrantRefused(refused, 15);
    },
  );

  it('the device cookie: set by a login-page sign-in; with it the person signs in from a new address during the ceiling lock; a made-up value is unknown', async () => {
    const { user, creds } = await newUser(t);
    const first = await login(address(), creds);
    expectSignedIn(first, 'first sign-in');
    const cookie = first.cookies.get(DEVICE_COOKIE);
    expect(cookie, [...first.cookies.keys()].join(', ')).toBeDefined();
    const device = cookie?.value as string;
    expect(device.length).toBeGreaterThanOrEqual(32);
    expect(cookie?.attrs.has('httponly')).toBe(true);
    expect(cookie?.attrs.has('secure')).toBe(true);
    expect(cookie?.attrs.get('path')).toBe('/');
    expect(Number(cookie?.attrs.get('max-age'))).toBe(YEAR);

    await lockCeiling(creds);

    // a new address, with the device cookie: known
    const again = await login(address(), creds, { [DEVICE_COOKIE]: device });
    expectSignedIn(again, 'a new address with the device cookie during the ceiling lock');
    expect(again.cookies.get(DEVICE_COOKIE)?.value ?? device).toBe(device);
    // a made-up device cookie, or none, from a new address: unknown, refused
    expectPageRefused(
      await login(address(), creds, { [DEVICE_COOKIE]: `made-up-${device.slice(8)}` }),
      LOCK_SECONDS,
    );
    expectPageRefused(await login(address(), creds), LOCK_SECONDS);

    // wrong passwords with the device cookie get growing delays of their own (account_device)
    const d = address();
    for (let i = 0; i < ACCOUNT_FAILURES; i++) {
      expectWrong(await login(d, wrong(creds), { [DEVICE_COOKIE]: device }), `device failure ${i + 1}`);
    }
    // the delay follows the device, not the address
    const elsewhere = address();
    expectPageRefused(await login(elsewhere, creds, { [DEVICE_COOKIE]: device }), 15);

    const events = await limitEvents((e) => e.userName === user.email && e.details.lock === 'account_device');
    expect(detailsOf(events)).toEqual(
      entries([
        { ip: d, lock: 'account_device', locked_for: 15 },
        { ip: elsewhere, lock: 'account_device', retry_after: 15 },
      ]),
    );
  });

  it('the per-address lock across accounts still works: ipFailures wrong passwords for different accounts lock that address; other addresses are fine', async () => {
    const [x, y] = [address(), address()];
    const { creds } = await newUser(t);
    const withDevice = await newUser(t);
    const signedIn = await login(y, withDevice.creds);
    expectSignedIn(signedIn);
    const device = signedIn.cookies.get(DEVICE_COOKIE)?.value as string;

    for (let i = 0; i < IP_FAILURES; i++) {
      const nobody = { email: `nobody-${i}-${x}@nowhere.example`, password: WRONG };
      expectWrong(i % 2 ? await grant(x, nobody) : await login(x, nobody), `failure ${i + 1}`);
    }
    expectPageRefused(await login(x, creds), LOCK_SECONDS);
    expectGrantRefused(await grant(x, creds), LOCK_SECONDS);
    expectSignedIn(await login(y, creds), 'another address');
    expectTokens(await grant(address(), creds), 'another address, password grant');
    // A browser with a known device cookie is not counted by the address (its own counter).
    expectSignedIn(await login(x, withDevice.creds, { [DEVICE_COOKIE]: device }), 'known device at x');

    const events = await limitEvents((e) => e.ip === x);
    expect(detailsOf(events)).toEqual(
      entries([
        { ip: x, lock: 'address', locked_for: LOCK_SECONDS },
        { ip: x, lock: 'address', retry_after: LOCK_SECONDS },
        { ip: x, lock: 'address', retry_after: LOCK_SECONDS },
      ]),
    );
    // Auth0's "Blocked IP Address", not "Blocked Account"
    expect(events.map((e) => e.type)).toEqual(['limit_mu', 'limit_mu', 'limit_mu']);
  });

  describe('a second instance on the same database', () => {
    let rt2: Runtime;
    let second: Server;
    beforeAll(async () => {
      rt2 = await openRuntime(t.rt.config, {
        clock: t.clock,
        logger: pino({ level: 'silent' }),
        server: true,
      });
      second = createServer(rt2);
    });
    afterAll(async () => {
      await rt2?.events.flush();
      await rt2?.storage.close();
    });

    it('sees the delays, the ceiling lock and the known places the first one wrote', async () => {
      // the account-from-here count adds up across instances, and its delay holds on both
      const delayed = (await newUser(t)).creds;
      const p = address();
      expectWrong(await login(p, wrong(delayed)));
      expectWrong(await grant(p, wrong(delayed), second));
      expectWrong(await login(p, wrong(delayed), {}, second));
      expectPageRefused(await login(p, delayed), 15);
      expectGrantRefused(await grant(p, delayed, second), 15);

      // a known place written by the first instance, the ceiling lock too
      const { creds } = await newUser(t);
      const home = address();
      expectSignedIn(await login(home, creds), 'home, on the first instance');
      await lockCeiling(creds);
      expectPageRefused(await login(address(), creds, {}, second), LOCK_SECONDS);
      expectGrantRefused(await grant(address(), creds, second), LOCK_SECONDS);
      expectSignedIn(await login(home, creds, {}, second), 'home, on the second instance');
      expectTokens(await grant(home, creds, second), 'home, password grant on the second instance');
    });
  });
});

describeEachBackend(
  'hardening: a delay that reaches lockSeconds does not restart the count (#14 §2)',
  (backend) => {
    // window = lockSeconds: the longest delay ends exactly when a quiet window would have passed
    const SHORT = { accountFailures: 2, window: 60, lockSeconds: 60, ipFailures: 1000, accountCeiling: 1000 };
    let t: TestApp;
    let web: { clientId: string; clientSecret?: string };

    beforeAll(async () => {
      t = await startTestApp(backend, { login: SHORT });
      web = await t.createApp({ name: 'Short', type: 'web', callbacks: [CALLBACK], grants: ['password'] });
    });
    afterAll(async () => t?.close());

    async function grant(password: string, email: string) {
      const res = await t.fetch(`${t.issuer}/oauth/token`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({
          grant_type: 'password',
          client_id: web.clientId,
          client_secret: web.clientSecret as string,
          username: email,
          password,
        }),
      });
      await res.arrayBuffer();
      return { status: res.status, retryAfter: res.headers.get('retry-after') };
    }

    it('after the capped delay runs out, the next failure is delayed for lockSeconds again, not counted from one', async () => {
      const { creds } = await newUser(t);
      expect((await grant(WRONG, creds.email)).status).toBe(400);
      expect((await grant(WRONG, creds.email)).status).toBe(400); // the 2nd failure: 15 s
      expect(await grant(creds.password, creds.email)).toEqual({ status: 429, retryAfter: '15' });
      t.clock.advance(15);
      expect((await grant(WRONG, creds.email)).status).toBe(400); // 30 s
      t.clock.advance(30);
      expect((await grant(WRONG, creds.email)).status).toBe(400); // 60 s, the cap
      t.clock.advance(60);
      // the window has passed since the last failure, but not since the delay ended
      expect((await grant(WRONG, creds.email)).status).toBe(400);
      expect(await grant(creds.password, creds.email)).toEqual({ status: 429, retryAfter: '60' });
      // a quiet window after the delay ends does start the count again
      t.clock.advance(60 + 60);
      expect((await grant(WRONG, creds.email)).status).toBe(400);
      expect((await grant(creds.password, creds.email)).status).toBe(200);
    });
  },
);
