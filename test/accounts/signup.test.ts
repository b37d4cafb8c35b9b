// Issue #15, sign-up: off by default (tenant setting signup_enabled), hidden per application
// (hide_signup). A sign-up creates an unverified account, signs the person in, continues the
// /authorize they came from and sends a verification email; its link (24 h, single use) makes
// email_verified true in ID tokens, userinfo and the Management API. Each bad input gets its own
// message; sign-ups are throttled per client address (10 an hour).
import * as client from 'openid-client';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { updateSettings } from '../../src/admin/settings.js';
import { createUser } from '../../src/admin/users.js';
import { createServer } from '../../src/server.js';
import { caller, managementToken } from '../management/support.js';
import { csrfOf, invalidFields, UserAgent, unescapeHtml } from '../protocol/sign-in/agent.js';
import {
  CALLBACK,
  type Pending,
  webAuthorizationUrl,
  webConfig,
  webSignIn,
} from '../protocol/sign-in/fixtures.js';
import { startTestApp, type TestApp } from '../support/app.js';
import { describeEachBackend } from '../support/databases.js';
import { linkIn, outboxRows, type ParsedMail, sentTo, startSmtp, type TestSmtp } from '../support/smtp.js';

const PASSWORD = 'correct horse battery 7';
const VERIFY_SUBJECT = 'Verify your email for Sesame';
const MSG = {
  email: 'Enter a valid email address.',
  mixed: 'This email address mixes letters from different alphabets. Type it again using one alphabet.',
  lookalike:
    'Part of this email address is in letters that look like Latin ones, so it could pass for another address. Type it in Latin letters.',
  exists: 'An account with this email already exists. Sign in, or reset your password.',
  name: 'Enter a name of at most 255 characters, without control characters.',
  short: 'Your password must be at least 8 characters long.',
  long: 'Your password must be at most 1024 bytes long.',
  common: 'This password is too common: attackers try it first. Choose another.',
  isEmail: 'Your password must not be your email address.',
};
const BAD_LINK = {
  invalid: 'This link is not valid. Check that you copied all of it, or ask for a new one.',
  used: 'This link can no longer be used: it was used already, or a newer one replaced it. Ask for a new one if you need it.',
  expired: 'This link has expired. Ask for a new one.',
};

const textOf = (s: string | undefined) =>
  unescapeHtml((s ?? '').replace(/<[^>]+>/g, ''))
    .replace(/\s+/g, ' ')
    .trim();
const titleOf = (html: string) => textOf(/<h1\b[^>]*>([\s\S]*?)<\/h1>/.exec(html)?.[1]);
const alertOf = (html: string) => textOf(/role="alert"[^>]*>([\s\S]*?)<\/p>/.exec(html)?.[1]);
const fieldNames = (html: string) =>
  [...html.matchAll(/<(?:input|textarea|select)\b[^>]*\bname="([^"]+)"/g)].map((m) => m[1]);
const SIGNUP_LINK = /href="\/u\/signup(?:\?i=[\w-]+)?"/;

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

let people = 0;
const newEmail = (tag = 'signup') =>
  `${tag}${++people}-${Math.random().toString(36).slice(2, 8)}@example.com`;

describeEachBackend('accounts: sign-up and email verification (#15)', (backend) => {
  let t: TestApp;
  let smtp: TestSmtp;
  let server: ReturnType<typeof createServer>;
  let web: { clientId: string; clientSecret?: string };
  let hidden: { clientId: string; clientSecret?: string };
  let config: client.Configuration;
  let hiddenConfig: client.Configuration;
  let call: ReturnType<typeof caller>;
  let hosts = 0;

  beforeAll(async () => {
    smtp = await startSmtp();
    t = await startTestApp(backend, { email: { smtpUrl: smtp.url } } as never);
    server = createServer(t.rt);
    web = await t.createApp({ name: 'Web', type: 'web', callbacks: [CALLBACK], skipConsent: true });
    hidden = await t.createApp({ name: 'Hidden', type: 'web', callbacks: [CALLBACK], skipConsent: true });
    config = await webConfig(t, web);
    hiddenConfig = await webConfig(t, hidden);
    call = caller(t, (await managementToken(t)).token);
  });
  afterAll(async () => {
    await (t?.rt as { mail?: { stop(): Promise<void> } } | undefined)?.mail?.stop();
    await t?.close();
    await smtp?.stop();
  });

  const address = () => {
    hosts++;
    return `10.35.${Math.floor(hosts / 250)}.${(hosts % 250) + 1}`;
  };
  function at(ip: string): TestApp {
    const env = { incoming: { socket: { remoteAddress: ip } } };
    const fetch = async (input: string | URL | Request, init?: RequestInit) =>
      server.fetch(input instanceof Request && !init ? input : new Request(input, init), env);
    return { ...t, fetch };
  }
  const browserAt = (ip = address()) => new UserAgent(at(ip));

  /** Starts an authorization request in `agent`: where Sesame sent the browser, and what the RP keeps. */
  async function authorize(
    agent: UserAgent,
    cfg = config,
    params: Record<string, string> = {},
  ): Promise<{ pending: Pending; location: URL }> {
    const pending = await webAuthorizationUrl(cfg, { scope: 'openid email profile', ...params });
    const res = await agent.get(pending.url);
    const loc = res.headers.get('location');
    expect(loc, `authorize answered ${res.status}: ${loc === null ? await res.text() : ''}`).not.toBeNull();
    return { pending, location: new URL(loc as string, t.issuer) };
  }

  /** Opens the login page of a new authorization request. */
  async function loginPage(agent: UserAgent, cfg = config): Promise<Page> {
    const { location } = await authorize(agent, cfg);
    expect(location.pathname).toBe('/u/login');
    const page = await read(await agent.get(location));
    expect(page.status, show(page)).toBe(200);
    return page;
  }

  /** Opens the sign-up form of a new authorization request (via the login page). */
  async function signupForm(agent: UserAgent, cfg = config): Promise<{ page: Page; pending: Pending }> {
    const { pending } = await authorize(agent, cfg);
    const page = await read(await agent.get('/u/signup'));
    return { page, pending };
  }

  async function submit(
    agent: UserAgent,
    form: Page,
    fields: { name?: string; email: string; password: string },
  ): Promise<Page> {
    return read(
      await agent.post('/u/signup', {
        csrf: csrfOf(form.html),
        name: fields.name ?? 'Ada Lovelace',
        email: fields.email,
        password: fields.password,
      }),
    );
  }

  const verifyMail = (email: string): Promise<ParsedMail> =>
    smtp.waitFor((m) => sentTo(m, email) && m.subject === VERIFY_SUBJECT);

  async function eventsOf(userId: string, type: string) {
    await t.rt.events.flush();
    return t.rt.storage.logs.list({ userId, types: [type] }, { offset: 0, limit: 100 });
  }

  function expectNotAvailable(p: Page): void {
    expect(p.status, show(p)).toBe(404);
    expect(p.headers.get('content-type')).toMatch(/^text\/html/);
    expect(titleOf(p.html)).toBe('Sign-up is not available');
    expect(fieldNames(p.html)).not.toContain('password');
  }

  /** A full sign-up from a fresh browser: the person ends at the client with a code. */
  async function signUp(email: string, name = 'Ada Lovelace', agent = browserAt()) {
    const { page, pending } = await signupForm(agent);
    expect(page.status, show(page)).toBe(200);
    const done = await submit(agent, page, { name, email, password: PASSWORD });
    expect(done.status, show(done)).toBe(303);
    const resume = new URL(done.headers.get('location') as string, t.issuer);
    expect(resume.pathname).toBe('/authorize/resume');
    const back = await agent.get(resume);
    const loc = back.headers.get('location');
    expect(loc, `resume answered ${back.status}`).not.toBeNull();
    const callback = new URL(loc as string);
    expect(callback.origin + callback.pathname).toBe(CALLBACK);
    const tokens = await client.authorizationCodeGrant(config, callback, {
      pkceCodeVerifier: pending.verifier,
      expectedNonce: pending.nonce,
      expectedState: pending.state,
      idTokenExpected: true,
    });
    return { agent, tokens, claims: tokens.claims() as client.IDToken };
  }

  /** Turns sign-up on (idempotent; the PATCH through the API has its own test), so each test runs alone too. */
  async function enableSignup(): Promise<void> {
    await updateSettings(t.rt.storage, t.clock, { signup_enabled: true });
  }

  // --- sign-up off (the default) ---

  it('is off by default: no link on the login page, and /u/signup answers the 404 page', async () => {
    const agent = browserAt();
    const login = await loginPage(agent);
    expect(login.html).not.toMatch(SIGNUP_LINK);
    expect(login.html).toMatch(/href="\/u\/forgot-password\?i=[\w-]+"/);
    expectNotAvailable(await read(await agent.get('/u/signup')));
    const email = newEmail();
    const posted = await read(
      await agent.post('/u/signup', {
        csrf: csrfOf(login.html),
        name: 'Ada Lovelace',
        email,
        password: PASSWORD,
      }),
    );
    expectNotAvailable(posted);
    expect(await t.rt.storage.users.getByEmail(email)).toBeNull();
    // screen_hint=signup falls back to the login page
    const { location } = await authorize(browserAt(), config, { screen_hint: 'signup' });
    expect(location.pathname).toBe('/u/login');
  });

  // --- sign-up on ---

  it('is turned on through PATCH /api/v2/tenants/settings', async () => {
    const patched = await call('PATCH', '/tenants/settings', { body: { signup_enabled: true } });
    expect(patched.status, patched.text).toBe(200);
    expect(patched.body.signup_enabled).toBe(true);
    const login = await loginPage(browserAt());
    expect(login.html).toMatch(SIGNUP_LINK);
    expect(textOf(login.html)).toContain('Sign up');
    const form = await signupForm(browserAt());
    expect(form.page.status, show(form.page)).toBe(200);
    expect(fieldNames(form.page.html)).toEqual(expect.arrayContaining(['csrf', 'name', 'email', 'password']));
  });

  it('screen_hint=signup goes straight to the sign-up form', async () => {
    await enableSignup();
    const agent = browserAt();
    const { location } = await authorize(agent, config, { screen_hint: 'signup' });
    expect(location.pathname).toBe('/u/signup');
    const page = await read(await agent.get(location));
    expect(page.status, show(page)).toBe(200);
    expect(fieldNames(page.html)).toEqual(expect.arrayContaining(['csrf', 'name', 'email', 'password']));
  });

  it('an application with hide_signup has no link, and /u/signup refuses for it', async () => {
    await enableSignup();
    const patched = await call('PATCH', `/clients/${hidden.clientId}`, { body: { hide_signup: true } });
    expect(patched.status, patched.text).toBe(200);
    expect(patched.body.hide_signup).toBe(true);
    const read1 = await call('GET', `/clients/${web.clientId}`);
    expect(read1.body.hide_signup).toBe(false);
    const agent = browserAt();
    const login = await loginPage(agent, hiddenConfig);
    expect(login.html).not.toMatch(SIGNUP_LINK);
    expectNotAvailable(await read(await agent.get('/u/signup')));
    const email = newEmail();
    expectNotAvailable(
      await read(
        await agent.post('/u/signup', { csrf: csrfOf(login.html), name: 'X', email, password: PASSWORD }),
      ),
    );
    expect(await t.rt.storage.users.getByEmail(email)).toBeNull();
    const { location } = await authorize(browserAt(), hiddenConfig, { screen_hint: 'signup' });
    expect(location.pathname).toBe('/u/login');
    // the other application still offers it
    expect((await loginPage(browserAt())).html).toMatch(SIGNUP_LINK);
  });

  it('signs up, continues the /authorize, then the verification link makes email_verified true', async () => {
    await enableSignup();
    const email = newEmail();
    const { agent, tokens, claims } = await signUp(email, 'Ada Lovelace');
    expect(claims.email).toBe(email);
    expect(claims.email_verified).toBe(false);
    expect(claims.name).toBe('Ada Lovelace');
    const user = await t.rt.storage.users.getByEmail(email);
    expect(user).not.toBeNull();
    expect(user?.claims.email_verified).toBe(false);
    expect(user?.claims.name).toBe('Ada Lovelace');
    expect(claims.sub).toBe(user?.id);
    expect(await eventsOf(user?.id as string, 'ss')).toHaveLength(1);
    // signed in as well: logins_count 1, and the sign-in in the log, as /stats/daily counts them
    expect(user?.loginsCount).toBe(1);
    expect(await eventsOf(user?.id as string, 's')).toHaveLength(1);
    const before = await client.fetchUserInfo(config, tokens.access_token, user?.id as string);
    expect(before.email_verified).toBe(false);

    const mail = await verifyMail(email);
    const link = linkIn(mail, '/u/email-verification');
    expect(link).toMatch(/^https:\/\/sesame\.test\/u\/email-verification\?ticket=[^&\s]+$/);
    const ticket = new URL(link as string).searchParams.get('ticket') as string;

    // GET only shows a button: a link scanner opening it verifies nothing
    const page = await read(await agent.get(link as string));
    expect(page.status, show(page)).toBe(200);
    expect(titleOf(page.html)).toBe('Verify your email');
    expect(fieldNames(page.html)).toEqual(expect.arrayContaining(['csrf', 'ticket']));
    expect(page.html).toMatch(/<button\b/);
    expect((await t.rt.storage.users.getByEmail(email))?.claims.email_verified).toBe(false);

    const done = await read(await agent.post('/u/email-verification', { csrf: csrfOf(page.html), ticket }));
    expect(done.status, show(done)).toBe(200);
    expect(titleOf(done.html)).toBe('Email verified');
    expect(done.html).toContain('<a href="/account">Go to your account</a>');
    expect((await t.rt.storage.users.getByEmail(email))?.claims.email_verified).toBe(true);
    expect(await eventsOf(user?.id as string, 'sv')).toHaveLength(1);

    // a new ID token (same SSO session, prompt=none), userinfo and the Management API say so
    const again = await webSignIn(agent, config, { scope: 'openid email', prompt: 'none' });
    expect(again.flow.pages).toEqual([]);
    expect(again.claims.email_verified).toBe(true);
    const info = await client.fetchUserInfo(config, again.tokens.access_token, user?.id as string);
    expect(info.email_verified).toBe(true);
    const viaApi = await call('GET', `/users/${encodeURIComponent(user?.id as string)}`);
    expect(viaApi.status, viaApi.text).toBe(200);
    expect(viaApi.body.email_verified).toBe(true);

    // the link is single use, at GET and at POST
    const replay = await read(await browserAt().get(link as string));
    expect(replay.status, show(replay)).toBe(400);
    expect(titleOf(replay.html)).toBe('Link not valid');
    expect(alertOf(replay.html)).toBe(BAD_LINK.used);
    const replayPost = await read(
      await agent.post('/u/email-verification', { csrf: csrfOf(page.html), ticket }),
    );
    expect(replayPost.status, show(replayPost)).toBe(400);
    expect(alertOf(replayPost.html)).toBe(BAD_LINK.used);
  });

  it('a verification link is refused after 24 hours, and a tampered one is not valid', async () => {
    await enableSignup();
    const email = newEmail();
    await signUp(email);
    const link = linkIn(await verifyMail(email), '/u/email-verification') as string;
    const ticket = new URL(link).searchParams.get('ticket') as string;
    const tampered = `${t.issuer}/u/email-verification?ticket=${ticket.slice(0, -1)}${ticket.endsWith('A') ? 'B' : 'A'}`;
    const bad = await read(await browserAt().get(tampered));
    expect(bad.status, show(bad)).toBe(400);
    expect(titleOf(bad.html)).toBe('Link not valid');
    expect(alertOf(bad.html)).toBe(BAD_LINK.invalid);
    t.clock.advance(24 * 3600 + 1);
    const agent = browserAt();
    const expired = await read(await agent.get(link));
    expect(expired.status, show(expired)).toBe(400);
    expect(titleOf(expired.html)).toBe('Link not valid');
    expect(alertOf(expired.html)).toBe(BAD_LINK.expired);
    expect((await t.rt.storage.users.getByEmail(email))?.claims.email_verified).toBe(false);
  });

  it('sends the verification email once, through the outbox', async () => {
    await enableSignup();
    const email = newEmail();
    await signUp(email);
    await verifyMail(email);
    await t.rt.mail.deliverDue();
    const rows = await outboxRows(t.rt.config.databaseUrl as string, email);
    expect(rows.map((r) => [r.kind, r.status])).toEqual([['email_verification', 'sent']]);
    expect(smtp.messages.filter((m) => sentTo(m, email))).toHaveLength(1);
  });

  it('the sign-up email is not one of the 3 verification emails an hour /account may send again', async () => {
    await enableSignup();
    const { agent } = await signUp(newEmail());
    const statuses: number[] = [];
    for (let i = 0; i < 4; i++) {
      const page = await agent.get('/account');
      const html = await page.text();
      expect(page.status, html.slice(0, 300)).toBe(200);
      statuses.push((await agent.post('/account/verification-email', { csrf: csrfOf(html) })).status);
    }
    expect(statuses).toEqual([303, 303, 303, 429]);
  });

  // --- bad input ---

  const existing = newEmail('existing');
  const cases: [
    what: string,
    fields: () => { name?: string; email: string; password: string },
    message: string,
  ][] = [
    ['not an email', () => ({ email: 'not-an-email', password: PASSWORD }), MSG.email],
    ['an empty email', () => ({ email: '', password: PASSWORD }), MSG.email],
    [
      'an email over 320 characters',
      () => ({ email: `${'a'.repeat(320)}@example.com`, password: PASSWORD }),
      MSG.email,
    ],
    [
      'a Cyrillic а among Latin letters',
      () => ({ email: `p\u0430ypal${++people}@example.com`, password: PASSWORD }),
      MSG.mixed,
    ],
    [
      'a Cyrillic letter in the domain',
      () => ({ email: `ada${++people}@ex\u0430mple.com`, password: PASSWORD }),
      MSG.mixed,
    ],
    [
      'a local part wholly in Cyrillic letters that look Latin, at a Latin domain (сосо for coco)',
      () => ({
        email: `\u0441\u043e\u0441\u043e${'\u043e'.repeat(++people % 5)}@example.com`,
        password: PASSWORD,
      }),
      MSG.lookalike,
    ],
    [
      'a domain label wholly in Greek letters that look Latin',
      () => ({ email: `ada${++people}@\u03bf\u03c1\u03b1.example.com`, password: PASSWORD }),
      MSG.lookalike,
    ],
    [
      'fullwidth letters (not NFKC-stable)',
      () => ({ email: `\uff41\uff44\uff41${++people}@example.com`, password: PASSWORD }),
      MSG.mixed,
    ],
    ['an existing account', () => ({ email: existing, password: PASSWORD }), MSG.exists],
    [
      'an existing account, in capitals',
      () => ({ email: existing.toUpperCase(), password: PASSWORD }),
      MSG.exists,
    ],
    [
      'a name of 256 characters',
      () => ({ name: 'n'.repeat(256), email: newEmail(), password: PASSWORD }),
      MSG.name,
    ],
    [
      'a name with a control character',
      () => ({ name: 'Ada\u0007', email: newEmail(), password: PASSWORD }),
      MSG.name,
    ],
    ['a 7-character password', () => ({ email: newEmail(), password: 'abc4567' }), MSG.short],
    ['a password of 1026 bytes', () => ({ email: newEmail(), password: 'é'.repeat(513) }), MSG.long],
    ['a common password', () => ({ email: newEmail(), password: 'password1' }), MSG.common],
    ['another common password', () => ({ email: newEmail(), password: 'iloveyou' }), MSG.common],
    [
      'the email as the password',
      () => {
        const email = newEmail();
        return { email, password: email };
      },
      MSG.isEmail,
    ],
  ];

  it.each(cases)('%s: 400, the form again with its message, no account', async (_, make, message) => {
    await enableSignup();
    if (!(await t.rt.storage.users.getByEmail(existing))) {
      await createUser(t.rt.storage, t.clock, { email: existing, password: PASSWORD });
    }
    const fields = make();
    const agent = browserAt();
    const { page } = await signupForm(agent);
    expect(page.status, show(page)).toBe(200);
    const res = await submit(agent, page, fields);
    expect(res.status, show(res)).toBe(400);
    expect(res.headers.get('content-type')).toMatch(/^text\/html/);
    expect(alertOf(res.html)).toBe(message);
    expect(res.html).toMatch(/class="error"/);
    // the field the message is about is marked invalid and described by it (WCAG 3.3.1)
    const about =
      message === MSG.name
        ? 'name'
        : [MSG.short, MSG.long, MSG.common, MSG.isEmail].includes(message)
          ? 'password'
          : 'email';
    expect(invalidFields(res.html)).toEqual([about]);
    expect(fieldNames(res.html)).toEqual(expect.arrayContaining(['csrf', 'name', 'email', 'password']));
    if (fields.password !== fields.email) expect(res.html).not.toContain(`value="${fields.password}"`);
    if (message !== MSG.exists && fields.email.length <= 320) {
      const normalized = fields.email.trim().normalize('NFC').toLowerCase();
      if (normalized.includes('@') && !normalized.includes('\u0000'))
        expect(await t.rt.storage.users.getByEmail(normalized)).toBeNull();
    }
    // the form still works after the error
    const retry = await submit(agent, res, { email: newEmail(), password: PASSWORD });
    expect(retry.status, show(retry)).toBe(303);
  });

  it.each([
    ['email', () => ({ email: 'ada\u0000x@example.com', password: PASSWORD })],
    ['name', () => ({ name: 'Ada\u0000Lovelace', email: newEmail(), password: PASSWORD })],
  ])(
    'a NUL byte in the %s: a 400 page naming the field (no form can carry one), no account',
    async (field, make) => {
      await enableSignup();
      const agent = browserAt();
      const { page } = await signupForm(agent);
      const before = await t.rt.storage.users.count();
      const res = await submit(agent, page, make());
      expect(res.status, show(res)).toBe(400);
      expect(res.headers.get('content-type')).toMatch(/^text\/html/);
      expect(alertOf(res.html)).toBe(`Parameter ${field} contains a NUL character. Go back and try again.`);
      expect(await t.rt.storage.users.count()).toBe(before);
    },
  );

  it('an existing account keeps its password and gets no email', async () => {
    await enableSignup();
    const email = newEmail('keep');
    await createUser(t.rt.storage, t.clock, { email, password: PASSWORD });
    const agent = browserAt();
    const { page } = await signupForm(agent);
    const res = await submit(agent, page, { email, password: 'another good passphrase 9' });
    expect(res.status, show(res)).toBe(400);
    expect(alertOf(res.html)).toBe(MSG.exists);
    await t.rt.mail.deliverDue();
    expect(await outboxRows(t.rt.config.databaseUrl as string, email)).toHaveLength(0);
    // the old password still works
    const other = browserAt();
    const signedIn = await webSignIn(other, config, {}, { credentials: { email, password: PASSWORD } });
    expect(signedIn.claims.sub).toBe((await t.rt.storage.users.getByEmail(email))?.id);
  });

  it('a POST without the right CSRF token creates nothing', async () => {
    await enableSignup();
    const agent = browserAt();
    const { page } = await signupForm(agent);
    expect(page.status).toBe(200);
    const email = newEmail();
    for (const csrf of [undefined, 'wrong']) {
      const fields: Record<string, string> = { name: 'X', email, password: PASSWORD };
      if (csrf) fields.csrf = csrf;
      const res = await read(await agent.post('/u/signup', fields));
      expect(res.status, show(res)).toBe(403);
    }
    expect(await t.rt.storage.users.getByEmail(email)).toBeNull();
  });

  it('allows 10 sign-ups per address an hour; the 11th gets the 429 page with Retry-After', async () => {
    await enableSignup();
    const ip = address();
    for (let i = 0; i < 10; i++) await signUp(newEmail('burst'), 'Burst', browserAt(ip));
    const agent = browserAt(ip);
    const { page } = await signupForm(agent);
    const email = newEmail('burst');
    const refused = page.status === 429 ? page : await submit(agent, page, { email, password: PASSWORD });
    expect(refused.status, show(refused)).toBe(429);
    expect(refused.headers.get('content-type')).toMatch(/^text\/html/);
    expect(refused.headers.get('retry-after')).toMatch(/^[1-9][0-9]*$/);
    expect(Number(refused.headers.get('retry-after'))).toBeLessThanOrEqual(3600);
    expect(await t.rt.storage.users.getByEmail(email)).toBeNull();
    // another address may still sign up
    await signUp(newEmail('other'));
    // and this one again an hour later
    t.clock.advance(3601);
    await signUp(newEmail('burst'), 'Burst', browserAt(ip));
  });
});
