// #16 "at most two argon2 verifications at once", and the queue behind them bounded: with both
// slots taken and MOST_WAITING computations waiting, a sign-in (login page, password grant) or a
// password set through the Management API is answered 503 temporarily_unavailable with
// Retry-After, at once, instead of waiting behind an unbounded queue; the attempt is not charged
// as a failure. Real argon2: two verifications of a deliberately slow hash hold both slots while
// the queue is full of quick ones, so the refusals are certain, not a race.
import { hash } from '@node-rs/argon2';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  checkPassword,
  hashPassword,
  MOST_WAITING,
  PasswordWorkBusy,
  passwordWork,
  refuseWhenBusy,
} from '../../../src/accounts/password.js';
import { caller, managementToken } from '../../management/support.js';
import { csrfOf, UserAgent } from '../../protocol/sign-in/agent.js';
import {
  authorizationUrl,
  CALLBACK,
  newUser,
  PASSWORD,
  s256,
  tokenRequest,
} from '../../protocol/sign-in/fixtures.js';
import { startTestApp, type TestApp } from '../../support/app.js';

const ARGON2ID = 2;
const VERIFIER = 'password-queue-suite-verifier-0123456789-abcdefghij';

/** Both slots held by `slow` verifications, MOST_WAITING quick ones behind them; all settle later. */
async function fillQueue(slow: string, quick: string): Promise<Promise<boolean>[]> {
  // Whatever the app computes on its own (at start) finishes first.
  const idle = () => passwordWork().running === 0 && passwordWork().queued === 0;
  for (let i = 0; i < 400 && !idle(); i++) await new Promise((r) => setTimeout(r, 25));
  const work = [checkPassword(slow, 'x'), checkPassword(slow, 'x')];
  for (let i = 0; i < MOST_WAITING; i++) work.push(checkPassword(quick, 'x'));
  for (let i = 0; i < 200 && passwordWork().queued < MOST_WAITING; i++)
    await new Promise((r) => setTimeout(r, 5));
  expect(passwordWork()).toEqual({ running: 2, queued: MOST_WAITING });
  return work;
}

describe('argon2 queue bounded (#16)', () => {
  let t: TestApp;
  let slow: string;
  let quick: string;

  beforeAll(async () => {
    t = await startTestApp('sqlite', { login: { accountFailures: 1 } });
    // Its cost is in the hash: about two seconds a verification, while the others take microseconds.
    slow = await hash('slow', { algorithm: ARGON2ID, memoryCost: 7168, timeCost: 2000, parallelism: 1 });
    quick = await hash('quick', { algorithm: ARGON2ID, memoryCost: 8, timeCost: 1, parallelism: 1 });
    await checkPassword(quick, 'warm'); // the dummy hash for unknown accounts is made once, now
  }, 60_000);
  afterAll(async () => {
    await t?.close();
  });

  it('past the full queue a new hash is refused at once; an admitted check still queues; all finish', async () => {
    const work = await fillQueue(slow, quick);
    expect(() => refuseWhenBusy()).toThrow(PasswordWorkBusy);
    await expect(hashPassword('another password')).rejects.toBeInstanceOf(PasswordWorkBusy);
    // A sign-in asked refuseWhenBusy before its attempt was counted: its check is never refused after.
    const admitted = checkPassword(quick, 'quick');
    expect(await Promise.all(work)).toEqual(work.map(() => false));
    expect(await admitted).toBe(true);
    expect(passwordWork()).toEqual({ running: 0, queued: 0 });
    expect(() => refuseWhenBusy()).not.toThrow();
  }, 60_000);

  it('login page, password grant and Management API answer 503 with Retry-After; nothing is charged', async () => {
    const { user, creds } = await newUser(t);
    const web = await t.createApp({
      name: 'Queue web',
      type: 'web',
      callbacks: [CALLBACK],
      grants: ['authorization_code', 'password'],
      skipConsent: true,
    });
    const agent = new UserAgent(t, creds);
    const url = authorizationUrl(t, {
      client_id: web.clientId,
      redirect_uri: CALLBACK,
      state: 'st',
      code_challenge: s256(VERIFIER),
      code_challenge_method: 'S256',
    });
    const login = await agent.signIn(url, { stopAt: 'login' });
    const csrf = csrfOf(login.html.login ?? '');
    const call = caller(t, (await managementToken(t)).token);

    const work = await fillQueue(slow, quick);
    const [page, grant, created] = await Promise.all([
      agent.request('/u/login', {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded', accept: 'text/html' },
        body: new URLSearchParams({ csrf, email: creds.email, password: creds.password }).toString(),
      }),
      tokenRequest(t, {
        grant_type: 'password',
        client_id: web.clientId,
        client_secret: web.clientSecret ?? '',
        username: creds.email,
        password: PASSWORD,
      }),
      call('POST', '/users', {
        body: {
          connection: 'Username-Password-Authentication',
          email: 'queued@example.com',
          password: PASSWORD,
        },
      }),
    ]);
    await Promise.all(work);

    expect(page.status).toBe(503);
    expect(page.headers.get('retry-after')).toBe('1');
    expect(page.headers.get('content-type')).toMatch(/^text\/html/);
    expect(await page.text()).toContain('Try again shortly');

    expect(grant.status, JSON.stringify(grant.body)).toBe(503);
    expect(grant.body.error).toBe('temporarily_unavailable');
    expect(grant.headers.get('retry-after')).toBe('1');

    expect(created.status, created.text).toBe(503);
    expect(created.body).toMatchObject({ statusCode: 503, errorCode: 'temporarily_unavailable' });
    expect(await t.rt.storage.users.getByEmail('queued@example.com')).toBeNull();

    // With one failure allowed (accountFailures 1), a charged refusal would lock the account now.
    const after = await tokenRequest(t, {
      grant_type: 'password',
      client_id: web.clientId,
      client_secret: web.clientSecret ?? '',
      username: creds.email,
      password: PASSWORD,
    });
    expect(after.status, JSON.stringify(after.body)).toBe(200);
    expect(after.body.access_token).toEqual(expect.any(String));
    const again = await agent.request('/u/login', {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ csrf, email: creds.email, password: creds.password }).toString(),
    });
    expect(again.status).toBe(303);
    expect(user.id).toEqual(expect.any(String));

    // The account page's password change checks the current password: the same refusal, uncharged.
    const account = await agent.get('/account');
    const accountHtml = await account.text();
    expect(account.status, accountHtml).toBe(200);
    const change = (password: string) =>
      agent.request('/account/password', {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded', accept: 'text/html' },
        body: new URLSearchParams({
          csrf: csrfOf(accountHtml),
          current_password: PASSWORD,
          password,
        }).toString(),
      });
    const held = await fillQueue(slow, quick);
    const busy = await change('a brand new passphrase 1');
    await Promise.all(held);
    expect(busy.status).toBe(503);
    expect(await busy.text()).toContain('Try again shortly');
    const changed = await change('a brand new passphrase 2');
    expect(changed.status, await changed.text()).toBe(303);
  }, 60_000);
});
