// PATCH /api/v2/users/{id} with a new email, and `verify_email` on POST and PATCH /users:
// OpenID Connect's email_verified speaks of the address, so a new address is unverified unless the
// request says otherwise; `verify_email: true` sends the verification email (to a real SMTP server
// in-process), and its link verifies the new address.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { csrfOf, UserAgent, unescapeHtml } from '../protocol/sign-in/agent.js';
import { startTestApp, type TestApp } from '../support/app.js';
import { describeEachBackend } from '../support/databases.js';
import { linkIn, type ParsedMail, sentTo, startSmtp, type TestSmtp } from '../support/smtp.js';
import { type Call, caller, expectStatus, managementToken } from './support.js';

const isVerification = (email: string) => (m: ParsedMail) =>
  sentTo(m, email) && m.subject === 'Verify your email for Sesame';

describeEachBackend('management: a user email change and verify_email', (backend) => {
  let t: TestApp;
  let smtp: TestSmtp;
  let call: Call;
  let n = 0;
  const address = (tag: string) => `${tag}-${++n}-${Date.now()}@example.com`;

  beforeAll(async () => {
    smtp = await startSmtp();
    t = await startTestApp(backend, { email: { smtpUrl: smtp.url } });
    call = caller(t, (await managementToken(t)).token);
  });
  afterAll(async () => {
    await t?.rt.mail?.stop();
    await t?.close();
    await smtp?.stop();
  });

  // biome-ignore lint/suspicious/noExplicitAny: tests read arbitrary JSON shapes
  async function created(body: Record<string, unknown>): Promise<any> {
    const a = await call('POST', '/users', {
      body: { connection: 'Username-Password-Authentication', password: 'a long enough password', ...body },
    });
    expectStatus(a, 201);
    return a.body;
  }
  const patch = async (id: string, body: Record<string, unknown>) => {
    const a = await call('PATCH', `/users/${encodeURIComponent(id)}`, { body });
    expectStatus(a, 200);
    return a.body;
  };
  const mailTo = async (email: string) => {
    await t.rt.mail.deliverDue();
    return smtp.messages.filter(isVerification(email));
  };

  describe('a new email', () => {
    it('is unverified after the change, whatever the old one was', async () => {
      const user = await created({ email: address('old'), email_verified: true });
      expect(user.email_verified).toBe(true);
      const to = address('new');
      expect(await patch(user.user_id, { email: to })).toMatchObject({ email: to, email_verified: false });
      const again = await call('GET', `/users/${encodeURIComponent(user.user_id)}`);
      expect(again.body).toMatchObject({ email: to, email_verified: false });
    });

    it('stays verified when the request says so', async () => {
      const user = await created({ email: address('old') });
      const to = address('new');
      expect(await patch(user.user_id, { email: to, email_verified: true })).toMatchObject({
        email: to,
        email_verified: true,
      });
    });

    it('the same email sent again changes nothing', async () => {
      const email = address('same');
      const user = await created({ email, email_verified: true });
      expect(await patch(user.user_id, { email: email.toUpperCase() })).toMatchObject({
        email,
        email_verified: true,
      });
    });

    it('other changes leave email_verified alone', async () => {
      const user = await created({ email: address('name'), email_verified: true });
      expect(await patch(user.user_id, { name: 'Ada' })).toMatchObject({ name: 'Ada', email_verified: true });
    });
  });

  describe('verify_email', () => {
    it('on creation: true sends the verification email; false or absent sends none', async () => {
      const yes = address('yes');
      const no = address('no');
      const quiet = address('quiet');
      await created({ email: yes, verify_email: true });
      await created({ email: no, verify_email: false });
      await created({ email: quiet });
      expect(await mailTo(yes)).toHaveLength(1);
      expect(await mailTo(no)).toHaveLength(0);
      expect(await mailTo(quiet)).toHaveLength(0);
    });

    it('on creation of a verified user: no email', async () => {
      const email = address('verified');
      await created({ email, email_verified: true, verify_email: true });
      expect(await mailTo(email)).toHaveLength(0);
    });

    it('with a new email: the new address gets the email, and its link verifies it', async () => {
      const from = address('from');
      const user = await created({ email: from, email_verified: true });
      const to = address('to');
      expect(await patch(user.user_id, { email: to, verify_email: true })).toMatchObject({
        email: to,
        email_verified: false,
      });
      const [mail] = await mailTo(to);
      expect(mail).toBeDefined();
      expect(await mailTo(from)).toHaveLength(0);
      const link = linkIn(mail!, '/u/email-verification');
      expect(link).toBeDefined();
      const agent = new UserAgent(t);
      const html = await (await agent.get(link!)).text();
      const ticket = /name="ticket" value="([^"]+)"/.exec(html)?.[1];
      const done = await agent.post('/u/email-verification', {
        csrf: csrfOf(html),
        ticket: unescapeHtml(ticket ?? ''),
      });
      expect(done.status, await done.text()).toBe(200);
      const after = await call('GET', `/users/${encodeURIComponent(user.user_id)}`);
      expect(after.body).toMatchObject({ email: to, email_verified: true });
    });
  });
});
