// Issue #15: forgot password. The same answer (status, page, timing class) whether or not the
// email has an account; a single-use link valid 1 h, stored by hash, invalidated by a newer link
// and by a successful sign-in; a reset ends the person's sessions and refresh tokens (tenant
// setting password_reset_ends_sessions, default on); throttled per account (3 emails an hour)
// and per address (10 requests per 15 minutes). Emails are read from an in-process SMTP server.
import type * as client from 'openid-client';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { updateSettings } from '../../src/admin/settings.js';
import { issueTicket } from '../../src/admin/tickets.js';
import { createUser, setBlocked } from '../../src/admin/users.js';
import { createServer } from '../../src/server.js';
import { csrfOf, invalidFields, UserAgent, unescapeHtml } from '../protocol/sign-in/agent.js';
import {
  authorizationUrl,
  CALLBACK,
  s256,
  sessionAlive,
  tokenRequest,
  webConfig,
  webSignIn,
} from '../protocol/sign-in/fixtures.js';
import { startTestApp, type TestApp } from '../support/app.js';
import { describeEachBackend } from '../support/databases.js';
import { linkIn, outboxRows, type ParsedMail, sentTo, startSmtp, type TestSmtp } from '../support/smtp.js';

const PASSWORD = 'correct horse battery 7';
const NEW_PASSWORD = 'a brand new passphrase 42';
const RESET_SUBJECT = 'Reset your password for Sesame';
const CHECK_EMAIL =
  'If an account exists for that email, a link to reset its password is on its way. The link works for 1 hour.';
const BAD_LINK = {
  invalid: 'This link is not valid. Check that you copied all of it, or ask for a new one.',
  used: 'This link can no longer be used: it was used already, or a newer one replaced it. Ask for a new one if you need it.',
  expired: 'This link has expired. Ask for a new one.',
};
const VERIFIER = 'password-reset-suite-verifier-0123456789-abcdefghijk';

/** The text of an element, tags dropped, entities decoded, whitespace collapsed. */
const textOf = (s: string | undefined) =>
  unescapeHtml((s ?? '').replace(/<[^>]+>/g, ''))
    .replace(/\s+/g, ' ')
    .trim();
const titleOf = (html: string) => textOf(/<h1\b[^>]*>([\s\S]*?)<\/h1>/.exec(html)?.[1]);
const alertOf = (html: string) => textOf(/role="alert"[^>]*>([\s\S]*?)<\/p>/.exec(html)?.[1]);
/** The names of the fields of the page's forms. */
const fieldNames = (html: string) =>
  [...html.matchAll(/<(?:input|textarea|select)\b[^>]*\bname="([^"]+)"/g)].map((m) => m[1]);
/** A page with its per-response randomness (CSP nonces, CSRF tokens) blanked out. */
const normalized = (html: string) =>
  html.replace(/nonce="[^"]*"/g, 'nonce=""').replace(/name="csrf" value="[^"]*"/g, 'name="csrf" value=""');

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? (s[m] as number) : ((s[m - 1] as number) + (s[m] as number)) / 2;
};

interface Page {
  status: number;
  headers: Headers;
  html: string;
}

const read = async (res: Response): Promise<Page> => ({
  status: res.status,
  headers: res.headers,
  html: await res.text(),
});
const show = (p: Page) => `${p.status} ${p.html.slice(0, 1500)}`;

describeEachBackend('accounts: forgot password and reset (#15)', (backend) => {
  let t: TestApp;
  let smtp: TestSmtp;
  let server: ReturnType<typeof createServer>;
  let web: { clientId: string; clientSecret?: string };
  let config: client.Configuration;
  let apiIdentifier: string;
  let hosts = 0;
  let people = 0;

  beforeAll(async () => {
    smtp = await startSmtp();
    t = await startTestApp(backend, { email: { smtpUrl: smtp.url } } as never);
    server = createServer(t.rt);
    web = await t.createApp({
      name: 'Web',
      type: 'web',
      callbacks: [CALLBACK],
      skipConsent: true,
    });
    apiIdentifier = (await t.createApi({ allowOfflineAccess: true })).identifier;
    config = await webConfig(t, web);
  });
  afterAll(async () => {
    await (t?.rt as { mail?: { stop(): Promise<void> } } | undefined)?.mail?.stop();
    await t?.close();
    await smtp?.stop();
  });

  /** A client address no test used before. */
  const address = () => {
    hosts++;
    return `10.15.${Math.floor(hosts / 250)}.${(hosts % 250) + 1}`;
  };

  /** Sesame as reached from the socket address `ip`. */
  function at(ip: string): TestApp {
    const env = { incoming: { socket: { remoteAddress: ip } } };
    const fetch = async (input: string | URL | Request, init?: RequestInit) =>
      server.fetch(input instanceof Request && !init ? input : new Request(input, init), env);
    return { ...t, fetch };
  }

  /** A browser at a fresh address (or `ip`). */
  const browserAt = (ip = address()) => new UserAgent(at(ip));

  async function person(): Promise<{ id: string; email: string }> {
    const email = `reset${++people}-${Math.random().toString(36).slice(2, 8)}@example.com`;
    const user = await createUser(t.rt.storage, t.clock, { email, password: PASSWORD });
    return { id: user.id, email };
  }

  /**
   * The forgot-password form, then its POST with `email`: the page, how long the answer took
   * and the statements run before it; then waits for the work done after the answer.
   */
  async function forgot(
    agent: UserAgent,
    email: string,
  ): Promise<Page & { ms: number; statements: string[] }> {
    const form = await read(await agent.get('/u/forgot-password'));
    expect(form.status, show(form)).toBe(200);
    expect(fieldNames(form.html)).toEqual(expect.arrayContaining(['csrf', 'email']));
    const csrf = csrfOf(form.html);
    const statements: string[] = [];
    // the outbox's delivery runs (claims and their outcome, of earlier requests) are not this
    // request's work; queueing its own request is. Nor is the tenant settings' read: whether
    // it runs depends on the read cache's age (a second), not on the email.
    const listener = (q: { sql: string }) => {
      if (!/^update "outbox"|^select "value" from "settings"/.test(q.sql)) statements.push(q.sql);
    };
    t.rt.queries.add(listener);
    const started = performance.now();
    const res = await agent.post('/u/forgot-password', { csrf, email });
    const ms = performance.now() - started;
    const page = await read(res);
    t.rt.queries.delete(listener);
    // the request is due a second later, then the outbox runs it
    t.clock.advance(1);
    await t.rt.mail.deliverDue();
    return { ...page, ms, statements };
  }

  function expectCheckEmail(p: Page): void {
    expect(p.status, show(p)).toBe(200);
    expect(p.headers.get('content-type')).toMatch(/^text\/html/);
    expect(titleOf(p.html)).toBe('Check your email');
    expect(textOf(p.html)).toContain(CHECK_EMAIL);
  }

  const seen = new Set<ParsedMail>();
  /** The next reset email to `email` that this suite has not read yet. */
  async function nextResetMail(email: string): Promise<ParsedMail> {
    const mail = await smtp.waitFor((m) => sentTo(m, email) && m.subject === RESET_SUBJECT && !seen.has(m));
    seen.add(mail);
    return mail;
  }
  const resetMailsTo = (email: string) =>
    smtp.messages.filter((m) => sentTo(m, email) && m.subject === RESET_SUBJECT);

  /** Asks for a reset link for `email` from a fresh browser and returns it (from the email). */
  async function resetLink(email: string): Promise<string> {
    expectCheckEmail(await forgot(browserAt(), email));
    const link = linkIn(await nextResetMail(email), '/u/reset-password');
    expect(link).toMatch(/^https:\/\/sesame\.test\/u\/reset-password\?ticket=[^&\s]+$/);
    return link as string;
  }

  const ticketOf = (link: string) => new URL(link).searchParams.get('ticket') as string;

  /** Opens a reset link: the "Choose a new password" form. */
  async function openReset(agent: UserAgent, link: string): Promise<Page> {
    return read(await agent.get(link));
  }

  /** Opens `link` and posts `password` on its form. */
  async function reset(link: string, password: string, agent = browserAt()): Promise<Page> {
    const form = await openReset(agent, link);
    expect(form.status, show(form)).toBe(200);
    expect(titleOf(form.html)).toBe('Choose a new password');
    expect(fieldNames(form.html)).toEqual(expect.arrayContaining(['csrf', 'ticket', 'password']));
    const res = await agent.post('/u/reset-password', {
      csrf: csrfOf(form.html),
      ticket: ticketOf(link),
      password,
    });
    return read(res);
  }

  function expectPasswordChanged(p: Page): void {
    expect(p.status, show(p)).toBe(200);
    expect(titleOf(p.html)).toBe('Password changed');
    expect(textOf(p.html)).toContain('Your password has been changed. You can now sign in with it.');
    // not a dead end: on to the account (which signs in)
    expect(p.html).toContain('<a href="/account">Go to your account</a>');
  }

  function expectBadLink(p: Page, why: keyof typeof BAD_LINK): void {
    expect(p.status, show(p)).toBe(400);
    expect(p.headers.get('content-type')).toMatch(/^text\/html/);
    expect(titleOf(p.html)).toBe('Link not valid');
    expect(alertOf(p.html)).toBe(BAD_LINK[why]);
    expect(fieldNames(p.html)).not.toContain('password');
    expect(p.html).toContain('<a href="/u/forgot-password">Ask for a new link</a>');
  }

  /** A bad link, both at GET and at POST (the POST with the CSRF token of a good form in that browser). */
  async function expectBadLinkBothWays(link: string, why: keyof typeof BAD_LINK): Promise<void> {
    const agent = browserAt();
    expectBadLink(await openReset(agent, link), why);
    // a form to get a CSRF token this browser may use
    const form = await read(await agent.get('/u/forgot-password'));
    const posted = await read(
      await agent.post('/u/reset-password', {
        csrf: csrfOf(form.html),
        ticket: ticketOf(link),
        password: NEW_PASSWORD,
      }),
    );
    expectBadLink(posted, why);
  }

  /** The web application's /authorize in `agent`: its answer (a redirect to the login page). */
  const startSignIn = (agent: UserAgent) =>
    agent.get(
      authorizationUrl(t, {
        client_id: web.clientId,
        redirect_uri: CALLBACK,
        state: 'st',
        nonce: 'n',
        code_challenge: s256(VERIFIER),
        code_challenge_method: 'S256',
      }),
    );

  /** One sign-in at the login page from a fresh address: status and alert. */
  async function login(email: string, password: string): Promise<{ status: number; alert: string }> {
    const agent = browserAt();
    const start = await startSignIn(agent);
    const loc = start.headers.get('location');
    expect(loc, `authorize answered ${start.status}`).not.toBeNull();
    const form = await read(await agent.get(loc as string));
    expect(form.status, show(form)).toBe(200);
    expect(form.html).toMatch(/href="\/u\/forgot-password\?i=[\w-]+"/);
    const res = await read(await agent.post('/u/login', { csrf: csrfOf(form.html), email, password }));
    return { status: res.status, alert: alertOf(res.html) };
  }

  async function eventsOf(userId: string, type: string) {
    await t.rt.events.flush();
    return t.rt.storage.logs.list({ userId, types: [type] }, { offset: 0, limit: 100 });
  }

  async function setEndsSessions(value: boolean | null): Promise<void> {
    await updateSettings(t.rt.storage, t.clock, { password_reset_ends_sessions: value } as never);
  }

  it('the login page links to the forgot-password form, which works without an interaction', async () => {
    const { status } = await login('nobody-yet@example.com', 'whatever it is 1');
    expect(status).toBe(400);
    const form = await read(await browserAt().get('/u/forgot-password'));
    expect(form.status, show(form)).toBe(200);
    expect(form.headers.get('content-type')).toMatch(/^text\/html/);
  });

  it('an address that is not an email: 400, the form again, the field marked invalid and described by the message', async () => {
    const res = await forgot(browserAt(), 'not-an-email');
    expect(res.status, show(res)).toBe(400);
    expect(titleOf(res.html)).toBe('Reset your password');
    expect(invalidFields(res.html)).toEqual(['email']);
    // a good answer marks nothing
    const fine = await forgot(browserAt(), 'someone@example.com');
    expect(invalidFields(fine.html)).toEqual([]);
  });

  it('answers the same page for a known and an unknown email; only the known one gets a link', async () => {
    const { email } = await person();
    const unknown = `nobody-${Math.random().toString(36).slice(2, 8)}@example.com`;
    const known = await forgot(browserAt(), email);
    const other = await forgot(browserAt(), unknown);
    expectCheckEmail(known);
    expectCheckEmail(other);
    expect(normalized(other.html)).toBe(normalized(known.html));
    expect(other.html).not.toContain(unknown);
    expect(known.html).not.toContain(email);
    const mail = await nextResetMail(email);
    expect(linkIn(mail, '/u/reset-password')).toMatch(/^https:\/\/sesame\.test\/u\/reset-password\?ticket=/);
    await t.rt.mail.deliverDue();
    expect(smtp.messages.filter((m) => sentTo(m, unknown))).toHaveLength(0);
    expect(await outboxRows(t.rt.config.databaseUrl as string, unknown)).toHaveLength(0);
  });

  it('queues the request as pending_request, a status no Sesame from before requests claims', async () => {
    const { email } = await person();
    const url = t.rt.config.databaseUrl as string;
    const agent = browserAt();
    const form = await read(await agent.get('/u/forgot-password'));
    const before = new Set((await outboxRows(url)).map((r) => r.id));
    expectCheckEmail(await read(await agent.post('/u/forgot-password', { csrf: csrfOf(form.html), email })));
    const queued = (await outboxRows(url)).filter((r) => !before.has(r.id));
    // An older instance claims `status = 'pending'` only: it would take this row for an email
    // to nobody (a rolling upgrade runs both).
    expect(queued.map((r) => [r.kind, r.to_address, r.status])).toEqual([
      ['password_reset_request', '', 'pending_request'],
    ]);
    t.clock.advance(1);
    await t.rt.mail.deliverDue();
    const mail = await nextResetMail(email);
    expect(linkIn(mail, '/u/reset-password')).toMatch(/\?ticket=/);
    // the email states the link's lifetime in the page's words
    expect(mail.text).toContain('The link works for 1 hour, once.');
    const [done] = (await outboxRows(url)).filter((r) => r.id === queued[0]?.id);
    expect(done?.status).toBe('sent');
  });

  it('takes the same timing class for a known and an unknown email', async () => {
    const known: string[] = [];
    for (let i = 0; i < 12; i++) known.push((await person()).email);
    const knownMs: number[] = [];
    const unknownMs: number[] = [];
    for (let i = 0; i < known.length; i++) {
      const k = await forgot(browserAt(), known[i] as string);
      const u = await forgot(browserAt(), `ghost${i}-${Math.random().toString(36).slice(2, 8)}@example.com`);
      expectCheckEmail(k);
      expectCheckEmail(u);
      // the same statements before the answer: the account is looked up only after it
      expect(u.statements).toEqual(k.statements);
      expect(k.statements.join('\n')).toMatch(/insert into "outbox"/);
      expect(k.statements.join('\n')).not.toMatch(/"users"|"account_tickets"/);
      // the first two of each warm the paths up
      if (i >= 2) {
        knownMs.push(k.ms);
        unknownMs.push(u.ms);
      }
    }
    const [mk, mu] = [median(knownMs), median(unknownMs)];
    const what = `median known ${mk.toFixed(2)} ms, unknown ${mu.toFixed(2)} ms`;
    expect(mu, what).toBeGreaterThanOrEqual(mk / 3);
    expect(mk, what).toBeGreaterThanOrEqual(mu / 3);
  });

  it('sends a link that sets a new password: the old one is refused, the new one works', async () => {
    const { id, email } = await person();
    const link = await resetLink(email);
    const done = await reset(link, NEW_PASSWORD);
    expectPasswordChanged(done);
    expect(await login(email, PASSWORD)).toEqual({ status: 400, alert: 'Wrong email or password.' });
    expect((await login(email, NEW_PASSWORD)).status).toBe(303);
    expect(await eventsOf(id, 'scpr')).toHaveLength(1);
    expect(await eventsOf(id, 'scp')).toHaveLength(1);
    // the owner is told, with the way back should it not have been them (OWASP)
    const notice = await smtp.waitFor(
      (m) => sentTo(m, email) && m.subject === 'Your password for Sesame was changed',
    );
    expect(notice.text).toContain('was just changed');
    expect(linkIn(notice, '/u/forgot-password')).toBe('https://sesame.test/u/forgot-password');
  });

  it('a reset ends the other sessions and refresh tokens of the person (default setting)', async () => {
    const { email } = await person();
    const other = browserAt();
    const { tokens } = await webSignIn(
      other,
      config,
      { scope: 'openid offline_access', audience: apiIdentifier },
      { credentials: { email, password: PASSWORD } },
    );
    expect(tokens.refresh_token).toEqual(expect.any(String));
    expect(await sessionAlive(other, config)).toBe(true);

    expectPasswordChanged(await reset(await resetLink(email), NEW_PASSWORD));

    expect(await sessionAlive(other, config)).toBe(false);
    const refreshed = await tokenRequest(t, {
      grant_type: 'refresh_token',
      refresh_token: tokens.refresh_token as string,
      client_id: web.clientId,
      client_secret: web.clientSecret as string,
    });
    expect([refreshed.status, refreshed.body.error], JSON.stringify(refreshed.body)).toEqual([
      400,
      'invalid_grant',
    ]);
  });

  it('with password_reset_ends_sessions false, sessions and refresh tokens survive a reset', async () => {
    await setEndsSessions(false);
    try {
      const { email } = await person();
      const other = browserAt();
      const { tokens } = await webSignIn(
        other,
        config,
        { scope: 'openid offline_access', audience: apiIdentifier },
        { credentials: { email, password: PASSWORD } },
      );
      expectPasswordChanged(await reset(await resetLink(email), NEW_PASSWORD));
      expect(await sessionAlive(other, config)).toBe(true);
      const refreshed = await tokenRequest(t, {
        grant_type: 'refresh_token',
        refresh_token: tokens.refresh_token as string,
        client_id: web.clientId,
        client_secret: web.clientSecret as string,
      });
      expect(refreshed.status, JSON.stringify(refreshed.body)).toBe(200);
      expect(await login(email, PASSWORD)).toEqual({ status: 400, alert: 'Wrong email or password.' });
    } finally {
      await setEndsSessions(null);
    }
  });

  it('a used link is refused, at GET and at POST, and changes nothing', async () => {
    const { email } = await person();
    const link = await resetLink(email);
    expectPasswordChanged(await reset(link, NEW_PASSWORD));
    await expectBadLinkBothWays(link, 'used');
    expect((await login(email, NEW_PASSWORD)).status).toBe(303);
  });

  it('a link is refused after 1 hour, at GET and at POST', async () => {
    const { email } = await person();
    const link = await resetLink(email);
    t.clock.advance(3601);
    await expectBadLinkBothWays(link, 'expired');
    expect((await login(email, PASSWORD)).status).toBe(303);
  });

  it('a link still works just before its hour is over', async () => {
    const { email } = await person();
    const link = await resetLink(email);
    t.clock.advance(3590);
    expectPasswordChanged(await reset(link, NEW_PASSWORD));
  });

  it('a tampered, truncated or missing ticket is refused with the "not valid" page', async () => {
    const { email } = await person();
    const link = await resetLink(email);
    const ticket = ticketOf(link);
    const flip = (c: string) => (c === 'A' ? 'B' : 'A');
    const tampered = [
      `${ticket.slice(0, -1)}${flip(ticket.slice(-1))}`,
      `${flip(ticket[0] as string)}${ticket.slice(1)}`,
      ticket.slice(0, -4),
      `${ticket}x`,
      'nonsense',
    ];
    for (const bad of tampered) {
      await expectBadLinkBothWays(
        `${t.issuer}/u/reset-password?ticket=${encodeURIComponent(bad)}`,
        'invalid',
      );
    }
    expectBadLink(await read(await browserAt().get('/u/reset-password')), 'invalid');
    // the real link was not used up by the attempts
    expectPasswordChanged(await reset(link, NEW_PASSWORD));
  });

  it("a blocked account's links do not work until it is unblocked (no reset, no verification)", async () => {
    const { id, email } = await person();
    await setBlocked(t.rt.storage, t.clock, id, true);
    const user = (await t.rt.storage.users.get(id))!;
    const linkOf = (kind: 'password_reset' | 'email_verification') =>
      t.rt.storage.transaction((tx) => issueTicket(tx, { clock: t.clock, config: t.rt.config }, kind, user));
    const [resetAt, verifyAt] = [await linkOf('password_reset'), await linkOf('email_verification')];
    await expectBadLinkBothWays(resetAt, 'invalid');
    const verify = await read(await browserAt().get(verifyAt));
    expect(verify.status, show(verify)).toBe(400);
    expect((await t.rt.storage.users.get(id))?.claims.email_verified).not.toBe(true);
    await setBlocked(t.rt.storage, t.clock, id, false);
    expectPasswordChanged(await reset(resetAt, NEW_PASSWORD));
    expect((await login(email, NEW_PASSWORD)).status).toBe(303);
  });

  it('a newer link invalidates the older one', async () => {
    const { email } = await person();
    const older = await resetLink(email);
    const newer = await resetLink(email);
    expect(newer).not.toBe(older);
    const page = await openReset(browserAt(), older);
    expect(page.status, show(page)).toBe(400);
    expect(titleOf(page.html)).toBe('Link not valid');
    expect([BAD_LINK.used, BAD_LINK.invalid]).toContain(alertOf(page.html));
    expectPasswordChanged(await reset(newer, NEW_PASSWORD));
  });

  it("a link opened beside an application's sign-in leads back to that sign-in, which ends at the callback", async () => {
    const { email } = await person();
    const link = await resetLink(email);
    const agent = browserAt();
    const start = await startSignIn(agent);
    expect(new URL(start.headers.get('location') as string, t.issuer).pathname).toBe('/u/login');
    const done = await reset(link, NEW_PASSWORD, agent);
    expect(titleOf(done.html)).toBe('Password changed');
    expect(done.html).toMatch(/<a href="\/u\/login\?i=[\w-]+">Back to sign in<\/a>/);
    const form = await read(await agent.get('/u/login'));
    const signedIn = await agent.post('/u/login', { csrf: csrfOf(form.html), email, password: NEW_PASSWORD });
    expect(signedIn.status).toBe(303);
    let next = signedIn.headers.get('location') as string;
    for (let hops = 0; !next.startsWith(CALLBACK) && hops < 5; hops++)
      next = (await agent.get(next)).headers.get('location') as string;
    expect(new URL(next).searchParams.get('code')).toEqual(expect.any(String));
  });

  it('a successful sign-in invalidates an open link', async () => {
    const { email } = await person();
    const link = await resetLink(email);
    expect((await login(email, PASSWORD)).status).toBe(303);
    const page = await openReset(browserAt(), link);
    expect(page.status, show(page)).toBe(400);
    expect(titleOf(page.html)).toBe('Link not valid');
    expect([BAD_LINK.used, BAD_LINK.invalid]).toContain(alertOf(page.html));
    expect((await login(email, PASSWORD)).status).toBe(303);
  });

  it('a failed sign-in leaves an open link usable', async () => {
    const { email } = await person();
    const link = await resetLink(email);
    expect((await login(email, 'not the password at all')).status).toBe(400);
    expectPasswordChanged(await reset(link, NEW_PASSWORD));
  });

  it('a policy error re-renders the form and does not use up the link', async () => {
    const { email } = await person();
    const link = await resetLink(email);
    const agent = browserAt();
    const cases: [string, string][] = [
      ['short7!', 'Your password must be at least 8 characters long.'],
      ['é'.repeat(513), 'Your password must be at most 1024 bytes long.'],
      ['password1', 'This password is too common: attackers try it first. Choose another.'],
      [email, 'Your password must not be your email address.'],
    ];
    for (const [password, message] of cases) {
      const form = await openReset(agent, link);
      expect(form.status, show(form)).toBe(200);
      const res = await read(
        await agent.post('/u/reset-password', { csrf: csrfOf(form.html), ticket: ticketOf(link), password }),
      );
      expect(res.status, show(res)).toBe(400);
      expect(titleOf(res.html)).toBe('Choose a new password');
      expect(alertOf(res.html)).toBe(message);
      expect(invalidFields(res.html)).toEqual(['password']);
      expect(res.html).toMatch(/class="error"/);
      expect(fieldNames(res.html)).toEqual(expect.arrayContaining(['csrf', 'ticket', 'password']));
    }
    // none of the refusals used the link up, or changed the password
    expectPasswordChanged(await reset(link, NEW_PASSWORD, agent));
    expect((await login(email, NEW_PASSWORD)).status).toBe(303);
  });

  it('a POST without the right CSRF token changes nothing', async () => {
    const { email } = await person();
    const link = await resetLink(email);
    const agent = browserAt();
    await openReset(agent, link);
    for (const csrf of [undefined, 'wrong']) {
      const fields: Record<string, string> = { ticket: ticketOf(link), password: NEW_PASSWORD };
      if (csrf) fields.csrf = csrf;
      const res = await read(await agent.post('/u/reset-password', fields));
      expect(res.status, show(res)).toBe(403);
      expect(titleOf(res.html)).toBe('Forbidden');
    }
    expect((await login(email, PASSWORD)).status).toBe(303);
  });

  it('sends at most 3 reset emails an hour per account; the 4th request gets the same page', async () => {
    const { email } = await person();
    const pages: Page[] = [];
    for (let i = 0; i < 4; i++) pages.push(await forgot(browserAt(), email));
    for (const p of pages) expectCheckEmail(p);
    expect(new Set(pages.map((p) => normalized(p.html))).size).toBe(1);
    for (let i = 0; i < 3; i++) await nextResetMail(email);
    await t.rt.mail.deliverDue();
    await new Promise((r) => setTimeout(r, 300));
    expect(resetMailsTo(email)).toHaveLength(3);
    expect(await outboxRows(t.rt.config.databaseUrl as string, email)).toHaveLength(3);
    // an hour later, links go out again
    t.clock.advance(3601);
    await resetLink(email);
    expect(resetMailsTo(email)).toHaveLength(4);
  });

  it('links an administrator made (Management API tickets) do not use up the 3 emails an hour', async () => {
    const { id, email } = await person();
    const user = await t.rt.storage.users.get(id);
    if (!user) throw new Error('no user');
    for (let i = 0; i < 3; i++) {
      await t.rt.storage.transaction((tx) =>
        issueTicket(tx, { clock: t.clock, config: t.rt.config }, 'password_reset', user),
      );
    }
    for (let i = 1; i <= 3; i++) {
      await resetLink(email);
      expect(resetMailsTo(email)).toHaveLength(i);
    }
    // The person's own three are counted: the 4th request queues nothing (the outbox is written
    // in the request's own transaction, so this needs no wait).
    expectCheckEmail(await forgot(browserAt(), email));
    expect(await outboxRows(t.rt.config.databaseUrl as string, email)).toHaveLength(3);
  });

  it('refuses more than 10 requests per 15 minutes from one address with 429 and Retry-After', async () => {
    const agent = browserAt();
    const form = await read(await agent.get('/u/forgot-password'));
    const csrf = csrfOf(form.html);
    const { email } = await person();
    for (let i = 0; i < 10; i++) {
      const res = await read(
        await agent.post('/u/forgot-password', { csrf, email: `flood${i}-${hosts}@example.com` }),
      );
      expectCheckEmail(res);
    }
    const refused = await read(await agent.post('/u/forgot-password', { csrf, email }));
    expect(refused.status, show(refused)).toBe(429);
    expect(refused.headers.get('content-type')).toMatch(/^text\/html/);
    expect(refused.headers.get('retry-after')).toMatch(/^[1-9][0-9]*$/);
    expect(Number(refused.headers.get('retry-after'))).toBeLessThanOrEqual(900);
    await t.rt.mail.deliverDue();
    await new Promise((r) => setTimeout(r, 200));
    expect(resetMailsTo(email)).toHaveLength(0);
    // another address is not affected
    expectCheckEmail(await forgot(browserAt(), email));
    await nextResetMail(email);
  });

  it('an email with a NUL byte gets a 400 page naming the field, never a 500, and no email', async () => {
    const agent = browserAt();
    const form = await read(await agent.get('/u/forgot-password'));
    const res = await read(
      await agent.post('/u/forgot-password', { csrf: csrfOf(form.html), email: 'a\u0000b@example.com' }),
    );
    expect(res.status, show(res)).toBe(400);
    expect(res.headers.get('content-type')).toMatch(/^text\/html/);
    expect(alertOf(res.html)).toBe('Parameter email contains a NUL character. Go back and try again.');
  });

  it.each([
    ['over 320 characters', `${'x'.repeat(400)}@example.com`],
    ['no @', 'no-at-sign'],
    ['empty', ''],
  ])(
    'an email with %s gets the form again with "Enter a valid email address." (400), never a 500',
    async (_, email) => {
      const agent = browserAt();
      const form = await read(await agent.get('/u/forgot-password'));
      const res = await read(await agent.post('/u/forgot-password', { csrf: csrfOf(form.html), email }));
      expect(res.status, show(res)).toBe(400);
      expect(res.headers.get('content-type')).toMatch(/^text\/html/);
      expect(alertOf(res.html), res.html.slice(0, 800)).toBe('Enter a valid email address.');
      expect(fieldNames(res.html)).toEqual(expect.arrayContaining(['csrf', 'email']));
    },
  );
});
