// What a check of the person's password proves ends when the account changes: the /account page's
// password change and deletion are refused when a reset, an admin or another page changed the
// password (or blocked the person) after the current password was checked; a second click of
// "delete" is not a 500; and a reset link sent earlier stops working when an admin sets the
// password or blocks the person, or when the person signs in with the password grant.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { changeOwnPassword, deleteOwnAccount } from '../../src/admin/my-account.js';
import { issueTicket, openTicket, resetPassword } from '../../src/admin/tickets.js';
import { caller, expectStatus, managementToken } from '../management/support.js';
import { csrfOf, UserAgent } from '../protocol/sign-in/agent.js';
import { newUser, PASSWORD } from '../protocol/sign-in/fixtures.js';
import { startTestApp, type TestApp } from '../support/app.js';
import { describeEachBackend } from '../support/databases.js';

const RESET_PASSWORD = 'the reset chose this passphrase 7';

describeEachBackend('accounts: changes made meanwhile', (backend) => {
  let t: TestApp;

  beforeAll(async () => {
    t = await startTestApp(backend);
  });
  afterAll(async () => t?.close());

  const deps = () => ({
    storage: t.rt.storage,
    clock: t.clock,
    config: t.rt.config,
    tenant: t.rt.tenant,
    mail: t.rt.mail,
  });
  const resetLink = async (userId: string) => {
    const user = (await t.rt.storage.users.get(userId))!;
    const link = await t.rt.storage.transaction((tx) => issueTicket(tx, deps(), 'password_reset', user));
    return new URL(link).searchParams.get('ticket')!;
  };
  const isOpen = async (token: string) =>
    typeof (await openTicket(deps(), 'password_reset', token)) !== 'string';

  describe('what /account checked, then a reset changed the password', () => {
    it('a password change from the stale check is refused; the reset stands', async () => {
      const { user, creds } = await newUser(t);
      const token = await resetLink(user.id);
      expect(typeof (await resetPassword(deps(), token, RESET_PASSWORD))).not.toBe('string');
      const changed = await changeOwnPassword(
        t.rt.storage,
        t.clock,
        user,
        'no-session',
        'attacker passphrase 9',
        async () => {},
      );
      expect(changed).toBe(false);
      const now = (await t.rt.storage.users.getByEmail(creds.email))!;
      const { checkPassword } = await import('../../src/accounts/password.js');
      expect(await checkPassword(now.passwordHash, RESET_PASSWORD)).toBe(true);
    });

    it('a deletion from the stale check is refused; a deletion of a deleted account is done', async () => {
      const { user } = await newUser(t);
      await resetPassword(deps(), await resetLink(user.id), RESET_PASSWORD);
      expect(await deleteOwnAccount(t.rt.storage, t.clock, user)).toBe(false);
      expect(await t.rt.storage.users.get(user.id)).not.toBeNull();
      const fresh = (await t.rt.storage.users.get(user.id))!;
      expect(await deleteOwnAccount(t.rt.storage, t.clock, fresh)).toBe(true);
      expect(await t.rt.storage.users.get(user.id)).toBeNull();
      expect(await deleteOwnAccount(t.rt.storage, t.clock, fresh)).toBe(true);
    });

    it('a change from a check made before the person was blocked is refused', async () => {
      const { user } = await newUser(t);
      await t.rt.storage.users.update(user.id, { blocked: true }, t.clock.now());
      expect(
        await changeOwnPassword(
          t.rt.storage,
          t.clock,
          user,
          'no-session',
          'attacker passphrase 9',
          async () => {},
        ),
      ).toBe(false);
    });
  });

  it('"delete my account" clicked three times at once: no 500, the account is gone', async () => {
    const { user, creds } = await newUser(t);
    const agent = new UserAgent(t, creds);
    const first = await agent.get(new URL('/account', t.issuer));
    const login = await agent.get(new URL(first.headers.get('location')!, t.issuer));
    const posted = await agent.post('/u/login', { csrf: csrfOf(await login.text()), ...creds });
    expect(posted.status).toBe(303);
    const page = await agent.get(new URL('/account', t.issuer));
    const html = await page.text();
    expect(page.status, html).toBe(200);
    // A notice named after an Object property is no notice (it rendered an empty one).
    for (const done of ['constructor', '__proto__', 'toString']) {
      const odd = await agent.get(new URL(`/account?done=${done}`, t.issuer));
      const oddHtml = await odd.text();
      expect(odd.status).toBe(200);
      expect(oddHtml).not.toContain('role="status"');
    }
    const at = html.indexOf('action="/account/delete"');
    const csrf = csrfOf(html.slice(at));
    const answers = await Promise.all(
      [1, 2, 3].map(() => agent.post('/account/delete', { csrf, password: PASSWORD })),
    );
    for (const a of answers) expect([303, 403], await a.clone().text()).toContain(a.status);
    expect(answers.some((a) => a.status === 303)).toBe(true);
    expect(await t.rt.storage.users.get(user.id)).toBeNull();
  });

  it('a reset link used while an admin blocks the person or makes a new link: no deadlock, no 500', async () => {
    const call = caller(t, (await managementToken(t)).token);
    for (let round = 0; round < 8; round++) {
      const { user } = await newUser(t);
      const token = await resetLink(user.id);
      const [reset, admin, ticket] = await Promise.all([
        resetPassword(deps(), token, RESET_PASSWORD),
        call('PATCH', `/users/${user.id}`, { body: { blocked: true } }),
        call('POST', '/tickets/password-change', { body: { user_id: user.id } }),
      ]);
      expect(['used', 'unknown'].includes(reset as string) || typeof reset === 'object').toBe(true);
      expect(admin.status).toBe(200);
      expect(ticket.status).toBe(201);
    }
  });

  describe('a reset link sent earlier stops working', () => {
    it('when an admin sets the password (Management API)', async () => {
      const { user } = await newUser(t);
      const token = await resetLink(user.id);
      const call = caller(t, (await managementToken(t)).token);
      expectStatus(
        await call('PATCH', `/users/${user.id}`, { body: { password: 'the admin chose this 42' } }),
        200,
      );
      expect(await isOpen(token)).toBe(false);
    });

    it('when an admin blocks the person', async () => {
      const { user } = await newUser(t);
      const token = await resetLink(user.id);
      const call = caller(t, (await managementToken(t)).token);
      expectStatus(await call('PATCH', `/users/${user.id}`, { body: { blocked: true } }), 200);
      expect(await isOpen(token)).toBe(false);
    });

    it('not when an admin changes only the name', async () => {
      const { user } = await newUser(t);
      const token = await resetLink(user.id);
      const call = caller(t, (await managementToken(t)).token);
      expectStatus(await call('PATCH', `/users/${user.id}`, { body: { name: 'Ada' } }), 200);
      expect(await isOpen(token)).toBe(true);
    });

    it('when the person signs in with the password grant', async () => {
      const { user, creds } = await newUser(t);
      const token = await resetLink(user.id);
      const app = await t.createApp({ name: 'Password grant', type: 'web', grants: ['password'] });
      const res = await t.fetch(`${t.issuer}/oauth/token`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({
          grant_type: 'password',
          username: creds.email,
          password: creds.password,
          client_id: app.clientId,
          client_secret: app.clientSecret ?? '',
        }).toString(),
      });
      expect(res.status, await res.clone().text()).toBe(200);
      expect(await isOpen(token)).toBe(false);
    });
  });
});
