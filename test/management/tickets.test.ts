// Issue #15: the Management API's tickets and jobs, in Auth0's shapes.
//   POST /api/v2/tickets/password-change   (create:user_tickets) → 201 {ticket: <issuer>/u/reset-password?ticket=…}
//   POST /api/v2/tickets/email-verification (create:user_tickets) → 201 {ticket: <issuer>/u/email-verification?ticket=…}
//   POST /api/v2/jobs/verification-email   (update:users) → 201 {type, status: pending, created_at, id: job_…}
//   GET  /api/v2/jobs/{id}                 (read:users or create:users)
// The links work end to end in-process (reset the password, verify the email), ttl_sec is honoured,
// result_url lands on the success page, the job's email reaches a real SMTP server in-process and
// the job becomes completed. The same calls through the unmodified `auth0` SDK (7.1.0), whose
// ManagementClient accepts a custom `fetch`, pointed at the in-process app.
import { ManagementClient, ManagementError } from 'auth0';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { User } from '../../src/storage/types.js';
import { refusal } from '../e2e/sdk.js';
import { csrfOf, UserAgent, unescapeHtml } from '../protocol/sign-in/agent.js';
import { authorizationUrl, CALLBACK, newUser, PASSWORD, s256 } from '../protocol/sign-in/fixtures.js';
import { startTestApp, type TestApp } from '../support/app.js';
import { describeEachBackend } from '../support/databases.js';
import { linkIn, type ParsedMail, sentTo, startSmtp, type TestSmtp } from '../support/smtp.js';
import {
  ALL_SCOPES,
  type Call,
  caller,
  expectError,
  expectStatus,
  ISO_TIME,
  managementToken,
  toAnswer,
} from './support.js';

const NEW_PASSWORD = 'ticket chosen passphrase 9';
const VERIFIER = 'tickets-suite-verifier-0123456789-abcdefghijklmnopq';
const RESULT = 'https://rp.example/after?from=sesame';

const titleOf = (html: string) => unescapeHtml(/<h1[^>]*>([\s\S]*?)<\/h1>/.exec(html)?.[1]?.trim() ?? '');
const alertOf = (html: string) =>
  unescapeHtml(
    /<p[^>]*role="alert"[^>]*>([\s\S]*?)<\/p>/
      .exec(html)?.[1]
      ?.replace(/<[^>]+>/g, '')
      .trim() ?? '',
  );

/** `p`, or a failure after `ms` (a request that never answers fails its test instead of the whole file). */
async function within<T>(p: Promise<T>, what: string, ms = 8000): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: no answer within ${ms} ms`)), ms);
  });
  try {
    return await Promise.race([p, late]);
  } finally {
    clearTimeout(timer);
  }
}

describeEachBackend('management: tickets and verification-email jobs (#15)', (backend) => {
  let t: TestApp;
  let smtp: TestSmtp;
  let call: Call;
  let token: string;
  let web: { clientId: string; clientSecret?: string };

  beforeAll(async () => {
    smtp = await startSmtp();
    t = await startTestApp(backend, { email: { smtpUrl: smtp.url } });
    web = await t.createApp({ name: 'Tickets web', type: 'web', callbacks: [CALLBACK], skipConsent: true });
  });
  // Tests move the clock by days: each starts with a fresh Management API token.
  beforeEach(async () => {
    token = (await managementToken(t)).token;
    call = caller(t, token);
  });
  afterAll(async () => {
    await within(
      (async () => {
        await t?.rt.mail?.stop();
        await t?.close();
      })(),
      'closing the app',
    ).catch(() => undefined);
    await smtp?.stop();
  });

  /** Whether `password` signs `email` in on the login page (303) or is refused (400). */
  async function canSignIn(email: string, password: string): Promise<boolean> {
    const agent = new UserAgent(t);
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
    const form = await agent.get(start.headers.get('location') as string);
    const html = await form.text();
    expect(form.status, html).toBe(200);
    const res = await agent.post('/u/login', { csrf: csrfOf(html), email, password });
    if (res.status === 303) return true;
    expect(res.status, await res.text()).toBe(400);
    return false;
  }

  /** Opens a reset link and submits `password`; the final page. */
  async function reset(link: string, password: string, agent = new UserAgent(t)) {
    const form = await agent.get(link);
    const formHtml = await form.text();
    if (form.status !== 200) return { res: form, html: formHtml };
    expect(titleOf(formHtml)).toBe('Choose a new password');
    const ticket = /name="ticket" value="([^"]+)"/.exec(formHtml)?.[1];
    expect(ticket).toBeDefined();
    const res = await agent.post('/u/reset-password', {
      csrf: csrfOf(formHtml),
      ticket: unescapeHtml(ticket as string),
      password,
    });
    return { res, html: await res.text() };
  }

  /** Opens a verification link and presses the button; the final page. */
  async function verify(link: string, agent = new UserAgent(t)) {
    const page = await agent.get(link);
    const pageHtml = await page.text();
    if (page.status !== 200) return { res: page, html: pageHtml };
    expect(titleOf(pageHtml)).toBe('Verify your email');
    const ticket = /name="ticket" value="([^"]+)"/.exec(pageHtml)?.[1];
    expect(ticket).toBeDefined();
    const res = await agent.post('/u/email-verification', {
      csrf: csrfOf(pageHtml),
      ticket: unescapeHtml(ticket as string),
    });
    return { res, html: await res.text() };
  }

  const expectLinkError = (r: { res: Response; html: string }, message: string) => {
    expect(r.res.status, r.html).toBe(400);
    expect(titleOf(r.html)).toBe('Link not valid');
    expect(alertOf(r.html)).toBe(message);
  };
  const EXPIRED = 'This link has expired. Ask for a new one.';
  const USED =
    'This link can no longer be used: it was used already, or a newer one replaced it. Ask for a new one if you need it.';

  const unverified = (): Promise<{ user: User; creds: { email: string; password: string } }> =>
    newUser(t, { email_verified: false });

  /** The message must name `field`. */
  const expectBadBody = (a: Awaited<ReturnType<Call>>, field?: string) => {
    expectError(a, 400);
    if (field) expect(a.body.message).toContain(field);
  };

  describe('POST /tickets/password-change', () => {
    it("201 {ticket} with the issuer's reset link; no email is sent; the link resets the password end to end", async () => {
      const { user, creds } = await newUser(t);
      const a = await call('POST', '/tickets/password-change', { body: { user_id: user.id } });
      expectStatus(a, 201);
      expect(Object.keys(a.body)).toEqual(['ticket']);
      expect(a.body.ticket).toMatch(/^https:\/\/sesame\.test\/u\/reset-password\?ticket=[A-Za-z0-9_-]{20,}$/);

      const r = await reset(a.body.ticket, NEW_PASSWORD);
      expect(r.res.status, r.html).toBe(200);
      expect(titleOf(r.html)).toBe('Password changed');
      expect(r.html).toContain('Your password has been changed. You can now sign in with it.');
      expect(await canSignIn(creds.email, NEW_PASSWORD)).toBe(true);
      expect(await canSignIn(creds.email, PASSWORD)).toBe(false);
      // Single use.
      expectLinkError(await reset(a.body.ticket, 'yet another passphrase 1'), USED);
      // A ticket is a link for the admin to send: Sesame mails no link, only the notice of the change.
      await t.rt.mail.deliverDue();
      expect(smtp.messages.filter((m) => sentTo(m, user.email)).map((m) => m.subject)).toEqual([
        'Your password for Sesame was changed',
      ]);
    });

    it('by email (with the connection id) instead of user_id', async () => {
      const { user } = await newUser(t);
      const a = await call('POST', '/tickets/password-change', { body: { email: user.email.toUpperCase() } });
      expectStatus(a, 201);
      const r = await reset(a.body.ticket, NEW_PASSWORD);
      expect(r.res.status, r.html).toBe(200);
      for (const connection_id of ['Username-Password-Authentication', 'con_sesame_database']) {
        const b = await call('POST', '/tickets/password-change', {
          body: { email: user.email, connection_id },
        });
        expectStatus(b, 201);
      }
      // user_id and email together: one person (any case), or a 400 naming email, never the id's
      const { user: other } = await newUser(t);
      const both = (email: string) =>
        call('POST', '/tickets/password-change', { body: { user_id: user.id, email } });
      expectStatus(await both(user.email.toUpperCase()), 201);
      const mismatch = await both(other.email);
      expectError(mismatch, 400);
      expect(mismatch.body.message).toMatch(/^email: /);
    });

    it('refuses what it cannot honour (an organization, another connection, another identity), never drops it', async () => {
      const { user } = await newUser(t);
      const { user: other } = await newUser(t);
      const cases: [string, Record<string, unknown>, string][] = [
        ['/tickets/password-change', { user_id: user.id, organization_id: 'org_1' }, 'organization_id'],
        ['/tickets/password-change', { email: user.email, connection_id: 'con_elsewhere' }, 'connection_id'],
        [
          '/tickets/password-change',
          { user_id: user.id, identity: { user_id: user.id, provider: 'google-oauth2' } },
          'identity.provider',
        ],
        [
          '/tickets/password-change',
          { user_id: user.id, identity: { user_id: other.id, provider: 'auth0' } },
          'identity.user_id',
        ],
        ['/tickets/email-verification', { user_id: user.id, organization_id: 'org_1' }, 'organization_id'],
        [
          '/tickets/email-verification',
          { user_id: user.id, identity: { user_id: other.id, provider: 'auth0' } },
          'identity.user_id',
        ],
        ['/jobs/verification-email', { user_id: user.id, organization_id: 'org_1' }, 'organization_id'],
        [
          '/jobs/verification-email',
          { user_id: user.id, identity: { user_id: user.id, provider: 'github' } },
          'identity.provider',
        ],
        [
          '/tickets/email-verification',
          { user_id: user.id, identity: { user_id: user.id, provider: 'auth0', connection_id: 'con_x' } },
          'identity.connection_id',
        ],
        // Auth0 requires both fields of an identity
        ['/tickets/email-verification', { user_id: user.id, identity: {} }, 'identity.user_id'],
        [
          '/tickets/password-change',
          { user_id: user.id, identity: { user_id: user.id } },
          'identity.provider',
        ],
        [
          '/jobs/verification-email',
          { user_id: user.id, identity: { provider: 'auth0' } },
          'identity.user_id',
        ],
      ];
      for (const [path, body, field] of cases) {
        const answer = await call('POST', path, { body });
        expectError(answer, 400, 'invalid_body');
        expect(answer.body.message, `${path} ${JSON.stringify(body)}`).toContain(`${field}:`);
      }
      // the user's own identity, as Auth0 shows it (auth0|…) or bare, is fine, with its connection too
      for (const id of [user.id, `auth0|${user.id}`]) {
        const body = { user_id: user.id, identity: { user_id: id, provider: 'auth0' } };
        expectStatus(await call('POST', '/tickets/email-verification', { body }), 201);
      }
      const connection = { user_id: user.id, provider: 'auth0', connection_id: 'con_sesame_database' };
      const withConnection = { user_id: user.id, identity: connection };
      expectStatus(await call('POST', '/tickets/email-verification', { body: withConnection }), 201);
    });

    it('by an email with letters beyond ASCII, as sign-up takes them', async () => {
      const { user } = await newUser(t);
      const email = `jos\u00e9-${Date.now()}@example.com`;
      await t.rt.storage.users.update(user.id, { email }, t.clock.now());
      const a = await call('POST', '/tickets/password-change', { body: { email: email.toUpperCase() } });
      expectStatus(a, 201);
      expect(a.body.ticket).toMatch(/\/u\/reset-password\?ticket=/);
    });

    it("the link uses the issuer, never the request's host", async () => {
      const { user } = await newUser(t);
      const res = await t.fetch('https://evil.example/api/v2/tickets/password-change', {
        method: 'POST',
        headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
        body: JSON.stringify({ user_id: user.id }),
      });
      const a = await toAnswer(res);
      if (a.status === 201)
        expect(a.body.ticket.startsWith('https://sesame.test/u/reset-password?ticket=')).toBe(true);
      else expect(a.status).toBeGreaterThanOrEqual(400);
    });

    it('ttl_sec is honoured: the link works before, and shows "expired" after', async () => {
      const { user } = await newUser(t);
      const a = await call('POST', '/tickets/password-change', { body: { user_id: user.id, ttl_sec: 120 } });
      expectStatus(a, 201);
      t.clock.advance(60);
      const form = await new UserAgent(t).get(a.body.ticket);
      expect(form.status).toBe(200);
      t.clock.advance(61);
      expectLinkError(await reset(a.body.ticket, NEW_PASSWORD), EXPIRED);
      // Default: 1 hour; ttl_sec longer than that works too.
      const long = await call('POST', '/tickets/password-change', {
        body: { user_id: user.id, ttl_sec: 7200 },
      });
      expectStatus(long, 201);
      t.clock.advance(5400);
      const ok = await reset(long.body.ticket, NEW_PASSWORD);
      expect(ok.res.status, ok.html).toBe(200);
    });

    it('with no ttl_sec the link lasts 1 hour', async () => {
      const { user } = await newUser(t);
      const a = await call('POST', '/tickets/password-change', { body: { user_id: user.id } });
      t.clock.advance(3601);
      expectLinkError(await reset(a.body.ticket, NEW_PASSWORD), EXPIRED);
    });

    it('result_url: the success page links (or redirects) there', async () => {
      const { user } = await newUser(t);
      const a = await call('POST', '/tickets/password-change', {
        body: { user_id: user.id, result_url: RESULT },
      });
      expectStatus(a, 201);
      const r = await reset(a.body.ticket, NEW_PASSWORD);
      if (r.res.status === 303 || r.res.status === 302) {
        expect(r.res.headers.get('location')?.startsWith(RESULT)).toBe(true);
      } else {
        expect(r.res.status, r.html).toBe(200);
        expect(unescapeHtml(r.html)).toContain(`href="${RESULT}`);
      }
    });

    it('mark_email_as_verified: true verifies the email on reset; by default it stays unverified', async () => {
      const { user } = await unverified();
      const a = await call('POST', '/tickets/password-change', {
        body: { user_id: user.id, mark_email_as_verified: true },
      });
      expectStatus(a, 201);
      expect((await reset(a.body.ticket, NEW_PASSWORD)).res.status).toBe(200);
      expect((await t.rt.storage.users.get(user.id))?.claims.email_verified).toBe(true);
      expect((await call('GET', `/users/${encodeURIComponent(user.id)}`)).body.email_verified).toBe(true);

      const { user: other } = await unverified();
      const b = await call('POST', '/tickets/password-change', { body: { user_id: other.id } });
      expect((await reset(b.body.ticket, NEW_PASSWORD)).res.status).toBe(200);
      expect((await t.rt.storage.users.get(other.id))?.claims.email_verified ?? false).toBe(false);
    });

    it('a policy error on the reset page does not use up the ticket', async () => {
      const { user } = await newUser(t);
      const a = await call('POST', '/tickets/password-change', { body: { user_id: user.id } });
      const bad = await reset(a.body.ticket, 'short');
      expect(bad.res.status, bad.html).toBe(400);
      expect(alertOf(bad.html)).toBe('Your password must be at least 8 characters long.');
      expect((await reset(a.body.ticket, NEW_PASSWORD)).res.status).toBe(200);
    });

    it('an unknown user: 404 (user_id and email); user_id is an id, never an email', async () => {
      expectError(await call('POST', '/tickets/password-change', { body: { user_id: 'nobody-here' } }), 404);
      const { user } = await newUser(t);
      expectError(await call('POST', '/tickets/password-change', { body: { user_id: user.email } }), 404);
      expectStatus(
        await call('POST', '/tickets/password-change', { body: { user_id: `auth0|${user.id}` } }),
        201,
      );
      // with identity, as the SDK's ChangePasswordTicketRequestContent may send it
      expectStatus(
        await call('POST', '/tickets/password-change', {
          body: { user_id: user.id, identity: { user_id: user.id, provider: 'auth0' } },
        }),
        201,
      );
      expectError(
        await call('POST', '/tickets/password-change', { body: { email: 'nobody@nowhere.example' } }),
        404,
      );
    });

    it('bad bodies: 400 with an Auth0 error body', async () => {
      const { user } = await newUser(t);
      const bodies: [unknown, string?][] = [
        [{}],
        [{ user_id: 42 }, 'user_id'],
        [{ user_id: user.id, ttl_sec: 'soon' }, 'ttl_sec'],
        [{ user_id: user.id, ttl_sec: -5 }, 'ttl_sec'],
        [{ user_id: user.id, ttl_sec: 1.5 }, 'ttl_sec'],
        [{ user_id: user.id, mark_email_as_verified: 'yes' }, 'mark_email_as_verified'],
        [{ user_id: user.id, result_url: 'javascript:alert(1)' }, 'result_url'],
        [{ user_id: user.id, result_url: 'not a url' }, 'result_url'],
        ['{"user_id":'],
        [[user.id]],
        // Unknown fields are refused by name, as on every other body (not silently dropped).
        [{ user_id: user.id, new_pasword: 'typo of a field' }, 'new_pasword'],
      ];
      for (const [body, field] of bodies) {
        const a = await call('POST', '/tickets/password-change', { body });
        expectBadBody(a, field);
      }
    });

    it("a malformed email is a bad body (400, as Auth0's schema: format email), not an unknown user", async () => {
      expectBadBody(
        await call('POST', '/tickets/password-change', { body: { email: 'not-an-email' } }),
        'email',
      );
    });

    it('needs create:user_tickets: 403 without it, 401 without a token', async () => {
      const { user } = await newUser(t);
      const weak = await managementToken(
        t,
        ALL_SCOPES.filter((s) => s !== 'create:user_tickets'),
      );
      expectError(
        await call('POST', '/tickets/password-change', { token: weak.token, body: { user_id: user.id } }),
        403,
      );
      expectError(
        await call('POST', '/tickets/email-verification', { token: weak.token, body: { user_id: user.id } }),
        403,
      );
      expectError(
        await call('POST', '/tickets/password-change', { token: null, body: { user_id: user.id } }),
        401,
      );
      const only = await managementToken(t, ['create:user_tickets']);
      expectStatus(
        await call('POST', '/tickets/password-change', { token: only.token, body: { user_id: user.id } }),
        201,
      );
      expectStatus(
        await call('POST', '/tickets/email-verification', { token: only.token, body: { user_id: user.id } }),
        201,
      );
    });
  });

  describe('POST /tickets/email-verification', () => {
    it('201 {ticket}; the link verifies the email (storage, Management API, event sv); single use', async () => {
      const { user } = await unverified();
      const a = await call('POST', '/tickets/email-verification', { body: { user_id: user.id } });
      expectStatus(a, 201);
      expect(Object.keys(a.body)).toEqual(['ticket']);
      expect(a.body.ticket).toMatch(
        /^https:\/\/sesame\.test\/u\/email-verification\?ticket=[A-Za-z0-9_-]{20,}$/,
      );
      const r = await verify(a.body.ticket);
      expect(r.res.status, r.html).toBe(200);
      expect(titleOf(r.html)).toBe('Email verified');
      expect((await t.rt.storage.users.get(user.id))?.claims.email_verified).toBe(true);
      expect((await call('GET', `/users/${encodeURIComponent(user.id)}`)).body.email_verified).toBe(true);
      await t.rt.events.flush();
      expect(await t.rt.storage.logs.count({ types: ['sv'], userId: user.id })).toBe(1);
      expectLinkError(await verify(a.body.ticket), USED);
    });

    it('ttl_sec honoured; default 24 hours', async () => {
      const { user } = await unverified();
      const short = await call('POST', '/tickets/email-verification', {
        body: { user_id: user.id, ttl_sec: 300 },
      });
      const byDefault = await call('POST', '/tickets/email-verification', { body: { user_id: user.id } });
      expectStatus(short, 201);
      t.clock.advance(301);
      expectLinkError(await verify(short.body.ticket), EXPIRED);
      t.clock.advance(23 * 3600);
      const ok = await verify(byDefault.body.ticket);
      expect(ok.res.status, ok.html).toBe(200);
      const { user: late } = await unverified();
      const lateTicket = await call('POST', '/tickets/email-verification', { body: { user_id: late.id } });
      t.clock.advance(24 * 3600 + 1);
      expectLinkError(await verify(lateTicket.body.ticket), EXPIRED);
    });

    it('result_url on the success page', async () => {
      const { user } = await unverified();
      const a = await call('POST', '/tickets/email-verification', {
        body: { user_id: user.id, result_url: RESULT },
      });
      const r = await verify(a.body.ticket);
      if (r.res.status === 303 || r.res.status === 302) {
        expect(r.res.headers.get('location')?.startsWith(RESULT)).toBe(true);
      } else {
        expect(r.res.status, r.html).toBe(200);
        expect(unescapeHtml(r.html)).toContain(`href="${RESULT}`);
      }
    });

    it('unknown user 404; bad bodies 400', async () => {
      expectError(
        await call('POST', '/tickets/email-verification', { body: { user_id: 'nobody-here' } }),
        404,
      );
      const { user } = await unverified();
      for (const [body, field] of [
        [{}, 'user_id'],
        [{ user_id: 7 }, 'user_id'],
        [{ user_id: user.id, ttl_sec: 'x' }, 'ttl_sec'],
        [{ user_id: user.id, result_url: 'javascript:alert(1)' }, 'result_url'],
        [{ user_id: user.id, resultUrl: RESULT }, 'resultUrl'],
        [
          { user_id: user.id, identity: { user_id: user.id, provider: 'auth0', connection: 'x' } },
          'connection',
        ],
      ] as [unknown, string][]) {
        expectBadBody(await call('POST', '/tickets/email-verification', { body }), field);
      }
    });
  });

  describe('POST /jobs/verification-email and GET /jobs/{id}', () => {
    const isVerification = (email: string) => (m: ParsedMail) =>
      sentTo(m, email) && m.subject === 'Verify your email for Sesame';

    it('201 pending job; the email arrives; its link verifies; the job becomes completed', async () => {
      const { user } = await unverified();
      const a = await call('POST', '/jobs/verification-email', { body: { user_id: user.id } });
      expectStatus(a, 201);
      expect(a.body).toEqual({
        type: 'verification_email',
        status: 'pending',
        created_at: expect.stringMatching(ISO_TIME),
        id: expect.stringMatching(/^job_[A-Za-z0-9_-]+$/),
      });
      const mail = await smtp.waitFor(isVerification(user.email));
      expect(mail.text).toContain('Sesame');
      const link = linkIn(mail, '/u/email-verification?ticket=');
      expect(link).toBeDefined();
      await t.rt.mail.deliverDue();
      const job = await call('GET', `/jobs/${a.body.id}`);
      expectStatus(job, 200);
      expect(job.body).toEqual({
        type: 'verification_email',
        status: 'completed',
        created_at: a.body.created_at,
        id: a.body.id,
      });
      // it has no errors list: none (204), not "no such job"
      expectStatus(await call('GET', `/jobs/${a.body.id}/errors`), 204);
      const r = await verify(link as string);
      expect(r.res.status, r.html).toBe(200);
      expect((await t.rt.storage.users.get(user.id))?.claims.email_verified).toBe(true);
    });

    it('the job is pending while the SMTP server is down, and completed once the email is delivered', async () => {
      const { user } = await unverified();
      await smtp.stop();
      let id: string;
      try {
        const a = await call('POST', '/jobs/verification-email', { body: { user_id: user.id } });
        expectStatus(a, 201);
        id = a.body.id;
        await t.rt.mail.deliverDue();
        const pending = await call('GET', `/jobs/${id}`);
        expect(pending.body.status).toBe('pending');
      } finally {
        await smtp.restart();
      }
      t.clock.advance(3601);
      await t.rt.mail.deliverDue();
      await smtp.waitFor(isVerification(user.email));
      expect((await call('GET', `/jobs/${id}`)).body.status).toBe('completed');
    });

    it('scopes: POST needs update:users; GET needs read:users or create:users', async () => {
      const { user } = await unverified();
      const reader = await managementToken(t, ['read:users']);
      const creator = await managementToken(t, ['create:users']);
      const updater = await managementToken(t, ['update:users']);
      const none = await managementToken(t, ['read:clients']);
      expectError(
        await call('POST', '/jobs/verification-email', { token: reader.token, body: { user_id: user.id } }),
        403,
      );
      const a = await call('POST', '/jobs/verification-email', {
        token: updater.token,
        body: { user_id: user.id },
      });
      expectStatus(a, 201);
      expectStatus(await call('GET', `/jobs/${a.body.id}`, { token: reader.token }), 200);
      expectStatus(await call('GET', `/jobs/${a.body.id}`, { token: creator.token }), 200);
      expectError(await call('GET', `/jobs/${a.body.id}`, { token: none.token }), 403);
      expectError(await call('GET', `/jobs/${a.body.id}`, { token: null }), 401);
    });

    it('unknown user 404, unknown job 404, bad bodies 400', async () => {
      expectError(await call('POST', '/jobs/verification-email', { body: { user_id: 'nobody-here' } }), 404);
      expectError(await call('GET', '/jobs/job_doesnotexist123'), 404);
      for (const body of [{}, { user_id: 3 }, '{"user_id"', [1]]) {
        expectBadBody(await call('POST', '/jobs/verification-email', { body }));
      }
      const { user } = await unverified();
      expectBadBody(
        await call('POST', '/jobs/verification-email', { body: { user_id: user.id, template: 'x' } }),
        'template',
      );
    });
  });

  describe('through the auth0 SDK (ManagementClient with a custom fetch)', () => {
    let mgmt: ManagementClient;
    beforeAll(() => {
      mgmt = new ManagementClient({
        domain: new URL(t.issuer).host,
        token: () => token,
        fetch: t.fetch as typeof fetch,
        maxRetries: 0,
      });
    });

    it('tickets.changePassword returns a ticket that resets the password', async () => {
      const { user, creds } = await newUser(t);
      const answer = await mgmt.tickets.changePassword({
        user_id: user.id,
        ttl_sec: 600,
        result_url: RESULT,
      });
      expect(answer.ticket).toMatch(/^https:\/\/sesame\.test\/u\/reset-password\?ticket=/);
      const r = await reset(answer.ticket, NEW_PASSWORD);
      expect([200, 302, 303]).toContain(r.res.status);
      expect(await canSignIn(creds.email, NEW_PASSWORD)).toBe(true);
    });

    it('tickets.verifyEmail returns a ticket that verifies the email', async () => {
      const { user } = await unverified();
      const answer = await mgmt.tickets.verifyEmail({ user_id: user.id });
      expect(answer.ticket).toMatch(/^https:\/\/sesame\.test\/u\/email-verification\?ticket=/);
      expect((await verify(answer.ticket)).res.status).toBe(200);
      expect((await t.rt.storage.users.get(user.id))?.claims.email_verified).toBe(true);
    });

    it('jobs.verificationEmail.create and jobs.get', async () => {
      const { user } = await unverified();
      const job = await mgmt.jobs.verificationEmail.create({ user_id: user.id });
      expect(job.type).toBe('verification_email');
      expect(job.status).toBe('pending');
      expect(job.id).toMatch(/^job_/);
      await smtp.waitFor((m) => sentTo(m, user.email));
      await t.rt.mail.deliverDue();
      const got = await mgmt.jobs.get(job.id);
      expect(got.id).toBe(job.id);
      expect(got.status).toBe('completed');
    });

    it("an unknown user is the SDK's NotFoundError (404, Auth0 body)", async () => {
      const e = await refusal(mgmt.tickets.changePassword({ user_id: 'nobody-here' }));
      expect(e).toBeInstanceOf(ManagementError);
      expect(e.statusCode).toBe(404);
      expect(e.body).toEqual(expect.objectContaining({ statusCode: 404, error: expect.any(String) }));
      const j = await refusal(mgmt.jobs.verificationEmail.create({ user_id: 'nobody-here' }));
      expect(j.statusCode).toBe(404);
    });
  });

  // Last in the file: on a bug it can hold SQLite's only connection.
  describe('an email queued when the tenant settings are not cached (more than 5 s since the last read)', () => {
    it('POST /jobs/verification-email still answers 201 and the email goes out', async () => {
      const { user } = await unverified();
      t.clock.advance(6);
      const a = await within(call('POST', '/jobs/verification-email', { body: { user_id: user.id } }), 'job');
      expectStatus(a, 201);
      await smtp.waitFor((m) => sentTo(m, user.email));
    });
  });
});
