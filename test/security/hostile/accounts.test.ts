import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createUser } from '../../../src/admin/users.js';
import type { User } from '../../../src/storage/types.js';
import { sha256 } from '../../../src/util/crypto.js';
import { csrfOf, inInteraction, SESSION_COOKIE } from '../../protocol/sign-in/agent.js';
import { authorizationUrl, decodeJwt } from '../../protocol/sign-in/fixtures.js';
import { describeEachBackend } from '../../support/databases.js';
import { type Answer, buildWorld, CALLBACK, errorOf, send, show, targetById, type World } from './hostile.js';

/**
 * Who a login name means: email addresses that look alike (fullwidth forms, NFD vs NFC, dotless
 * and dotted I, zero-width characters) are either the same account by Sesame's normalisation
 * (trim, NFC, lower case) or a different one, never someone else's; and a password too large
 * to be one is refused at once, not hashed.
 */

/** Accounts whose addresses look alike, each with its own password. */
const ACCOUNTS = {
  ada: { email: 'ada@example.com', password: 'ada password 1' },
  fullwidth: { email: 'ａｄａ@example.com', password: 'fullwidth password 2' },
  jose: { email: 'jos\u00e9@example.com', password: 'jose password 3' },
  admin: { email: 'admin@example.com', password: 'admin password 4' },
  dotless: { email: 'adm\u0131n@example.com', password: 'dotless password 5' },
} as const;
type Account = keyof typeof ACCOUNTS;

/** Typed login name, whose password, and the account it must reach (null: none). */
const ATTEMPTS: { typed: string; password: Account; reaches: Account | null; what: string }[] = [
  { what: 'fullwidth with ada’s password', typed: 'ａｄａ@example.com', password: 'ada', reaches: null },
  {
    what: 'fullwidth with its own password',
    typed: 'ａｄａ@example.com',
    password: 'fullwidth',
    reaches: 'fullwidth',
  },
  { what: 'fullwidth upper case', typed: 'ＡＤＡ@example.com', password: 'fullwidth', reaches: 'fullwidth' },
  {
    what: 'fullwidth upper case with ada’s password',
    typed: 'ＡＤＡ@example.com',
    password: 'ada',
    reaches: null,
  },
  { what: 'ada with the fullwidth password', typed: 'ada@example.com', password: 'fullwidth', reaches: null },
  { what: 'NFD é is the NFC account', typed: 'jose\u0301@example.com', password: 'jose', reaches: 'jose' },
  { what: 'e without accent', typed: 'jose@example.com', password: 'jose', reaches: null },
  {
    what: 'dotless ı with admin’s password',
    typed: 'adm\u0131n@example.com',
    password: 'admin',
    reaches: null,
  },
  {
    what: 'dotless ı with its own password',
    typed: 'adm\u0131n@example.com',
    password: 'dotless',
    reaches: 'dotless',
  },
  { what: 'upper-case dotted İ', typed: 'ADM\u0130N@example.com', password: 'admin', reaches: null },
  { what: 'upper-case ASCII I', typed: 'ADMIN@EXAMPLE.COM', password: 'admin', reaches: 'admin' },
  { what: 'admin with the dotless password', typed: 'admin@example.com', password: 'dotless', reaches: null },
  { what: 'zero-width space', typed: 'ada\u200b@example.com', password: 'ada', reaches: null },
  { what: 'surrounding spaces', typed: '  ada@example.com ', password: 'ada', reaches: 'ada' },
];

const MB = 1024 * 1024;

describeEachBackend('hostile accounts', (backend) => {
  let w: World;
  const users = {} as Record<Account, User>;
  beforeAll(async () => {
    w = await buildWorld(backend);
    for (const [name, a] of Object.entries(ACCOUNTS)) {
      users[name as Account] = await createUser(w.t.rt.storage, w.t.clock, a);
    }
  });
  afterAll(async () => w?.t.close());

  const whoseId = (id: string | undefined) =>
    (Object.keys(users) as Account[]).find((k) => users[k].id === id) ?? (id ? `another user ${id}` : null);

  /** The password grant: who the ID token names, or null when refused. */
  async function passwordGrant(typed: string, password: string): Promise<{ a: Answer; who: string | null }> {
    const a = await send(w.t, {
      method: 'POST',
      path: '/oauth/token',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({
        grant_type: 'password',
        client_id: w.web.clientId,
        client_secret: w.web.clientSecret,
        username: typed,
        password,
        scope: 'openid',
      }).toString(),
    });
    if (a.status !== 200) return { a, who: null };
    const idToken = (JSON.parse(a.text) as { id_token: string }).id_token;
    return { a, who: whoseId(decodeJwt(idToken).payload.sub as string) };
  }

  /** A fresh login interaction, then POST /u/login: who the new session belongs to, or null. */
  async function loginPage(typed: string, password: string): Promise<{ a: Answer; who: string | null }> {
    const url = new URL(authorizationUrl(w.t, { client_id: w.web.clientId, redirect_uri: CALLBACK }));
    const begun = await send(w.t, { method: 'GET', path: `${url.pathname}${url.search}` });
    expect(begun.location).toEqual(inInteraction('/u/login'));
    const cookie = begun.headers
      .getSetCookie()
      .map((c) => c.split(';')[0])
      .join('; ');
    const page = await send(w.t, { method: 'GET', path: '/u/login', headers: { cookie } });
    const a = await send(w.t, {
      method: 'POST',
      path: '/u/login',
      headers: { cookie, 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ csrf: csrfOf(page.text), email: typed, password }).toString(),
    });
    if (a.status !== 303) return { a, who: null };
    const session = a.headers
      .getSetCookie()
      .find((c) => c.startsWith(`${SESSION_COOKIE}=`))
      ?.split(';')[0]
      ?.split('=')[1];
    const record = session ? await w.t.rt.storage.sessions.get(sha256(session)) : null;
    return { a, who: whoseId(record?.userId) };
  }

  for (const [endpoint, attempt] of [
    ['the password grant', passwordGrant],
    ['/u/login', loginPage],
  ] as const) {
    describe(`look-alike emails at ${endpoint} reach their own account or none`, () => {
      it.each(ATTEMPTS)('$what', async ({ typed, password, reaches }) => {
        const { a, who } = await attempt(typed, ACCOUNTS[password].password);
        expect(a.status, show(a)).toBeLessThan(500);
        expect(who, show(a)).toBe(reaches);
        if (reaches === null) {
          // Refused like any wrong credential: invalid_grant, or the login page again.
          if (endpoint === 'the password grant')
            expect(`${a.status} ${errorOf(a)}`).toBe('400 invalid_grant');
          else expect(a.status).toBe(400);
        }
      });
    });
  }

  describe('a 1 MB password is refused quickly, never hashed', () => {
    it('at the password grant: 413', async () => {
      const a = await send(w.t, {
        method: 'POST',
        path: '/oauth/token',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({
          grant_type: 'password',
          client_id: w.web.clientId,
          client_secret: w.web.clientSecret,
          username: w.creds.email,
          password: 'p'.repeat(MB),
        }).toString(),
      });
      expect({ status: a.status, error: errorOf(a) }, show(a)).toEqual({
        status: 413,
        error: 'invalid_request',
      });
      expect(a.ms).toBeLessThan(2_000);
    });

    it('at /u/login: 413', async () => {
      const target = targetById('POST /u/login');
      const a = await send(w.t, {
        method: 'POST',
        path: '/u/login',
        headers: { cookie: target.cookie(w) as string, 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({
          csrf: w.interaction.csrf,
          email: w.creds.email,
          password: 'p'.repeat(MB),
        }).toString(),
      });
      expect([400, 413], show(a)).toContain(a.status);
      expect(a.ms).toBeLessThan(2_000);
    });

    it('just under the body cap (60 KB) at the password grant: invalid_grant at once', async () => {
      const a = await send(w.t, {
        method: 'POST',
        path: '/oauth/token',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({
          grant_type: 'password',
          client_id: w.web.clientId,
          client_secret: w.web.clientSecret,
          username: w.creds.email,
          password: 'p'.repeat(60_000),
        }).toString(),
      });
      expect({ status: a.status, error: errorOf(a) }, show(a)).toEqual({
        status: 400,
        error: 'invalid_grant',
      });
      expect(a.ms).toBeLessThan(2_000);
    });

    it('just under the body cap (60 KB) at /u/login: the login page again, at once', async () => {
      const target = targetById('POST /u/login');
      const a = await send(w.t, {
        method: 'POST',
        path: '/u/login',
        headers: { cookie: target.cookie(w) as string, 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({
          csrf: w.interaction.csrf,
          email: w.creds.email,
          password: 'p'.repeat(60_000),
        }).toString(),
      });
      expect(a.status, show(a)).toBe(400);
      expect(a.text).toContain('Wrong email or password.');
      expect(a.ms).toBeLessThan(2_000);
    });
  });
});
