import { hash } from '@node-rs/argon2';
import { afterAll, beforeAll, expect, it, vi } from 'vitest';
import { checkPassword } from '../../src/accounts/password.js';
import { createUser, setBlocked } from '../../src/admin/users.js';
import type { User } from '../../src/storage/types.js';
import { csrfOf } from '../protocol/sign-in/agent.js';
import {
  browser,
  CALLBACK,
  PASSWORD,
  webAuthorizationUrl,
  webConfig,
  webSignIn,
} from '../protocol/sign-in/fixtures.js';
import { startTestApp, type TestApp } from '../support/app.js';
import { describeEachBackend } from '../support/databases.js';

/**
 * #16: passwords are hashed with 7 MiB and 5 passes. A hash an older Sesame made (19 MiB,
 * 2 passes) still verifies, and is made again with today's settings at its owner's next sign-in.
 */

const CURRENT = /^\$argon2id\$v=19\$m=7168,t=5,p=1\$/;
/** What Sesame used before: argon2id (algorithm 2), 19 MiB, 2 passes. */
const OLD = { algorithm: 2, memoryCost: 19456, timeCost: 2, parallelism: 1 };

let emails = 0;
const uniqueEmail = () => `rehash-${++emails}-${Math.random().toString(36).slice(2, 8)}@example.com`;

describeEachBackend('password hashes made with older settings', (backend) => {
  let t: TestApp;

  beforeAll(async () => {
    t = await startTestApp(backend);
  });
  afterAll(async () => {
    await t?.close();
  });

  /** A user whose stored hash an older Sesame made. */
  async function oldUser(): Promise<User> {
    const user = await createUser(t.rt.storage, t.clock, { email: uniqueEmail(), password: PASSWORD });
    const old = await hash(PASSWORD, OLD);
    expect(await t.rt.storage.users.rehash(user.id, user.passwordHash, old)).toBe(true);
    return { ...user, passwordHash: old };
  }

  const stored = async (id: string) => (await t.rt.storage.users.get(id))?.passwordHash;

  /** A web application with the code flow and the password grant. */
  const webApp = () =>
    t.createApp({
      name: 'Web',
      type: 'web',
      callbacks: [CALLBACK],
      grants: ['authorization_code', 'password'],
    });

  /** A password grant request of `app` for `email`. */
  const passwordGrant = (app: { clientId: string; clientSecret?: string }, email: string, password: string) =>
    t.fetch(`${t.issuer}/oauth/token`, {
      method: 'POST',
      headers: {
        'content-type': 'application/x-www-form-urlencoded',
        authorization: `Basic ${Buffer.from(`${app.clientId}:${app.clientSecret}`).toString('base64')}`,
      },
      body: new URLSearchParams({ grant_type: 'password', username: email, password }).toString(),
    });

  /** The login page's answer to `email` and `password`, for a sign-in to `app`. */
  async function loginPage(
    app: { clientId: string; clientSecret?: string },
    email: string,
    password: string,
  ) {
    const agent = browser(t);
    const { url } = await webAuthorizationUrl(await webConfig(t, app));
    const { html } = await agent.signIn(url, { stopAt: 'login' });
    return agent.post('/u/login', { csrf: csrfOf(html.login ?? ''), email, password });
  }

  it('rehash replaces the hash only while it is still the one given, and keeps updated_at', async () => {
    const user = await oldUser();
    const before = await t.rt.storage.users.get(user.id);
    t.clock.advance(5);
    expect(await t.rt.storage.users.rehash(user.id, 'not the stored hash', 'x')).toBe(false);
    expect(await t.rt.storage.users.rehash('no-such-user', user.passwordHash, 'x')).toBe(false);
    expect(await stored(user.id)).toBe(user.passwordHash);
    expect(await t.rt.storage.users.rehash(user.id, user.passwordHash, 'the new hash')).toBe(true);
    const after = await t.rt.storage.users.get(user.id);
    expect(after?.passwordHash).toBe('the new hash');
    expect(after?.updatedAt).toBe(before?.updatedAt);
  });

  it('the password grant signs in with an old hash and stores a current one; a wrong password changes nothing', async () => {
    const app = await webApp();
    const user = await oldUser();
    const grant = (password: string) => passwordGrant(app, user.email, password);

    const wrong = await grant('not the password');
    expect(wrong.status).toBe(400);
    expect(((await wrong.json()) as { error: string }).error).toBe('invalid_grant');
    expect(await stored(user.id)).toBe(user.passwordHash);

    const right = await grant(PASSWORD);
    expect(right.status, await right.clone().text()).toBe(200);
    const now = await stored(user.id);
    expect(now).toMatch(CURRENT);
    expect(await checkPassword(now, PASSWORD)).toBe(true);
    expect(await checkPassword(now, 'not the password')).toBe(false);

    // A current hash is left alone.
    expect((await grant(PASSWORD)).status).toBe(200);
    expect(await stored(user.id)).toBe(now);
  });

  it('the login page signs in with an old hash and stores a current one', async () => {
    const app = await webApp();
    const user = await oldUser();
    const { claims } = await webSignIn(
      browser(t, { email: user.email, password: PASSWORD }),
      await webConfig(t, app),
    );
    expect(claims.sub).toBe(user.id);
    const now = await stored(user.id);
    expect(now).toMatch(CURRENT);
    expect(await checkPassword(now, PASSWORD)).toBe(true);
  });

  it('a wrong password on the login page, or the right one of a blocked user, leaves the old hash', async () => {
    const web = await webApp();
    const user = await oldUser();
    expect((await loginPage(web, user.email, 'not the password')).status).toBe(400);
    expect(await stored(user.id)).toBe(user.passwordHash);
    await setBlocked(t.rt.storage, t.clock, user.id, true);
    expect((await loginPage(web, user.email, PASSWORD)).status).toBe(400);
    expect((await passwordGrant(web, user.email, PASSWORD)).status).toBe(400);
    expect(await stored(user.id)).toBe(user.passwordHash);
  });

  it('a rehash that fails does not fail the sign-in, and the old hash stays', async () => {
    const web = await webApp();
    const user = await oldUser();
    const failing = vi.spyOn(t.rt.storage.users, 'rehash').mockRejectedValue(new Error('disk full'));
    try {
      expect((await passwordGrant(web, user.email, PASSWORD)).status).toBe(200);
      expect((await loginPage(web, user.email, PASSWORD)).status).toBe(303);
      expect(failing).toHaveBeenCalledTimes(2);
    } finally {
      failing.mockRestore();
    }
    expect(await stored(user.id)).toBe(user.passwordHash);
  });
});
