// Wrong user codes are throttled per session and per IP address (RFC 8628 §5.1: user codes are
// short, so guessing must be rate-limited), with the login.* settings: accountFailures per
// session, ipFailures per address, lockSeconds.
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from '../../support/app.js';
import { describeEachBackend } from '../../support/databases.js';
import type { Credentials } from '../sign-in/agent.js';
import { newUser } from '../sign-in/fixtures.js';
import {
  Activator,
  alertOf,
  type ClientCreds,
  type DeviceGrant,
  fromIp,
  headingOf,
  INVALID_CODE,
  outcome,
  type PageAnswer,
  poll,
  startDevice,
} from './device.js';

const SESSION_LIMIT = 3; // login.accountFailures
const IP_LIMIT = 5; // login.ipFailures
const LOCK = 120; // login.lockSeconds

/** Well-formed codes, each different, that no device was given (a clash is a 1 in 20^8 chance). */
let wrongCounter = 0;
const LETTERS = 'BCDFGHJKLMNPQRSTVWXZ';
function wrongCode(): string {
  const n = wrongCounter++;
  return `ZZZZ-${LETTERS[n % 20]}${LETTERS[Math.floor(n / 20) % 20]}ZZ`;
}

describeEachBackend('device activation: wrong codes are throttled (RFC 8628 §5.1)', (backend) => {
  let t: TestApp;
  let tv: ClientCreds;
  let creds: Credentials;
  let ips = 0;
  /** A fresh peer address for each test, so that tests do not share the per-IP count. */
  const newIp = () => `192.0.2.${++ips}`;

  beforeAll(async () => {
    t = await startTestApp(backend, {
      login: { accountFailures: SESSION_LIMIT, ipFailures: IP_LIMIT, lockSeconds: LOCK },
    });
    tv = await t.createApp({ name: 'TV', type: 'native', callbacks: ['com.example.tv:/cb'] });
  });
  // A new person for each test, so that tests do not share the per-account count.
  beforeEach(async () => {
    ({ creds } = await newUser(t));
  });
  afterAll(async () => t?.close());

  const signIn = (ip: string, who: Credentials = creds) => Activator.signIn(fromIp(t, ip), who);

  async function expectWrong(person: Activator, n: number): Promise<void> {
    for (let i = 0; i < n; i++) {
      const { res, html } = await person.enter(wrongCode());
      expect({ attempt: i + 1, status: res.status, alert: alertOf(html) }).toEqual({
        attempt: i + 1,
        status: 400,
        alert: INVALID_CODE,
      });
    }
  }

  function expectLocked(answer: PageAnswer, retryAfter: number): void {
    expect(
      {
        status: answer.res.status,
        retryAfter: answer.res.headers.get('retry-after'),
        heading: headingOf(answer.html),
        alert: alertOf(answer.html),
      },
      answer.html,
    ).toEqual({
      status: 429,
      retryAfter: String(retryAfter),
      heading: 'Too many attempts',
      alert: 'Too many wrong codes. Wait a while and try again.',
    });
    expect(answer.html).toContain('<a href="/activate">Enter a code</a>');
    expect(answer.res.headers.get('content-type')).toBe('text/html; charset=utf-8');
    expect(answer.res.headers.get('x-frame-options')).toBe('DENY');
    expect(answer.res.headers.get('content-security-policy')).toContain("frame-ancestors 'none'");
  }

  async function deviceHears(d: DeviceGrant): Promise<string> {
    t.clock.advance(d.interval);
    return outcome(await poll(t, tv, d.device_code));
  }

  describe('per account', () => {
    it('locks an account after login.accountFailures wrong codes: 429 with Retry-After, even for a right code', async () => {
      const ip = newIp();
      const person = await signIn(ip);
      const d = await startDevice(t, tv, { scope: 'openid' });
      await expectWrong(person, SESSION_LIMIT);
      const locked = await person.enter(d.user_code);
      expectLocked(locked, LOCK);
      expect(locked.html).not.toContain('Allow');
      expectLocked(await person.enter(wrongCode()), LOCK);
      expect(await deviceHears(d)).toBe('400 authorization_pending');
    });

    it('counts down Retry-After and lets the account try again after login.lockSeconds', async () => {
      const person = await signIn(newIp());
      const d = await startDevice(t, tv, { scope: 'openid' });
      await expectWrong(person, SESSION_LIMIT);
      expectLocked(await person.enter(d.user_code), LOCK);
      t.clock.advance(30);
      expectLocked(await person.enter(d.user_code), LOCK - 30);
      t.clock.advance(LOCK - 30);
      const open = await person.enter(d.user_code);
      expect(open.res.status, open.html).toBe(200);
      expect((await person.decide(d.user_code, 'allow')).res.status).toBe(200);
      expect(await deviceHears(d)).toBe('ok');
    });

    it('locks every session of the person, from any address (signing in again does not reset it)', async () => {
      const ip = newIp();
      const locked = await signIn(ip);
      await expectWrong(locked, SESSION_LIMIT);
      expectLocked(await locked.enter(wrongCode()), LOCK);
      const d = await startDevice(t, tv, { scope: 'openid' });
      expect((await (await signIn(ip)).enter(d.user_code)).res.status).toBe(429);
      expect((await (await signIn(newIp())).enter(d.user_code)).res.status).toBe(429);
      // Another person, even from the same address (its count, 3, is below login.ipFailures, 5), is not.
      const { creds: someoneElse } = await newUser(t);
      expect((await (await signIn(ip, someoneElse)).enter(d.user_code)).res.status).toBe(200);
    });

    it('counts wrong codes, not attempts: right codes in between do not lock', async () => {
      const person = await signIn(newIp());
      const d = await startDevice(t, tv, { scope: 'openid' });
      for (let i = 0; i < SESSION_LIMIT + 2; i++) {
        expect((await person.enter(d.user_code)).res.status).toBe(200);
      }
      await expectWrong(person, SESSION_LIMIT - 1);
      expect((await person.enter(d.user_code)).res.status).toBe(200);
    });
  });

  describe('per IP address', () => {
    it('locks an address after login.ipFailures wrong codes from several sessions', async () => {
      const ip = newIp();
      // 2 + 2 + 1 wrong codes from three people: none reaches their own limit of 3.
      const people = [(await newUser(t)).creds, (await newUser(t)).creds, (await newUser(t)).creds];
      await expectWrong(await signIn(ip, people[0]), 2);
      await expectWrong(await signIn(ip, people[1]), 2);
      await expectWrong(await signIn(ip, people[2]), IP_LIMIT - 4);
      const d = await startDevice(t, tv, { scope: 'openid' });
      // A new session from that address is locked at once, even with a right code.
      const fresh = await signIn(ip);
      expectLocked(await fresh.enter(d.user_code), LOCK);
      // Another address is not.
      const elsewhere = await signIn(newIp());
      expect((await elsewhere.enter(d.user_code)).res.status).toBe(200);
      expect(await deviceHears(d)).toBe('400 authorization_pending');
    });
  });

  describe('per IPv6 /64', () => {
    it('counts the addresses of one /64 together (#14 §1): another address in it is locked, another /64 is not', async () => {
      const net = `2001:db8:${++ips}:7`;
      const people = [(await newUser(t)).creds, (await newUser(t)).creds, (await newUser(t)).creds];
      await expectWrong(await signIn(`${net}::1`, people[0]), 2);
      await expectWrong(await signIn(`${net}::2`, people[1]), 2);
      await expectWrong(await signIn(`${net}:ffff:ffff:ffff:ffff`, people[2]), IP_LIMIT - 4);
      const d = await startDevice(t, tv, { scope: 'openid' });
      expectLocked(await (await signIn(`${net}::abcd`)).enter(d.user_code), LOCK);
      expect((await (await signIn(`2001:db8:${++ips}:7::1`)).enter(d.user_code)).res.status).toBe(200);
    });
  });

  describe('/activate/confirm', () => {
    // The confirmation form posts the user code again; it must not be a way around the limit.
    it('refuses a locked session at /activate/confirm too, deciding nothing', async () => {
      const person = await signIn(newIp());
      const d = await startDevice(t, tv, { scope: 'openid' });
      await expectWrong(person, SESSION_LIMIT);
      expectLocked(await person.enter(d.user_code), LOCK);
      const decided = await person.decide(d.user_code, 'allow');
      expect({ status: decided.res.status, heading: headingOf(decided.html) }).toEqual({
        status: 429,
        heading: 'Too many attempts',
      });
      expect(await deviceHears(d)).toBe('400 authorization_pending');
    });

    it('counts wrong codes posted straight to /activate/confirm', async () => {
      const person = await signIn(newIp());
      const d = await startDevice(t, tv, { scope: 'openid' });
      for (let i = 0; i < SESSION_LIMIT; i++) {
        const guess = await person.decide(wrongCode(), 'allow');
        expect(guess.res.status).toBe(400);
      }
      // Three wrong guesses: the session is locked, at either form.
      const next = await person.decide(d.user_code, 'allow');
      expect(next.res.status).toBe(429);
      expect(await deviceHears(d)).toBe('400 authorization_pending');
      // (the device's poll moved the clock, so the lock has a little less left to run)
      const entered = await person.enter(d.user_code);
      expect(entered.res.status).toBe(429);
      expect(Number(entered.res.headers.get('retry-after'))).toBeGreaterThan(LOCK - 30);
    });
  });
});
