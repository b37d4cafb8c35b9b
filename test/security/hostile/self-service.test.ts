// Issue #15: hostile input on every self-service form: /u/signup, /u/forgot-password,
// /u/reset-password, /u/email-verification and the POSTs of /account. A missing or wrong CSRF
// token is a 403 page that changes nothing; a body over the limit is 413; NUL bytes, 10 kB
// emails and look-alike (homoglyph, fullwidth) emails get the page's clear 400 message, never a
// 500; a link's ticket that is huge, has a NUL, or is of the other kind is "Link not valid" and
// uses nothing up; each address has a budget of 10 sign-ups, reset requests and verification
// emails per login.window, the 11th answered 429 with Retry-After.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { updateSettings } from '../../../src/admin/settings.js';
import { issueTicket } from '../../../src/admin/tickets.js';
import { createUser } from '../../../src/admin/users.js';
import { createServer } from '../../../src/server.js';
import type { TicketKind, User } from '../../../src/storage/types.js';
import { sha256 } from '../../../src/util/crypto.js';
import { csrfOf, SESSION_COOKIE, UserAgent, unescapeHtml } from '../../protocol/sign-in/agent.js';
import { authorizationUrl } from '../../protocol/sign-in/fixtures.js';
import { startTestApp, type TestApp } from '../../support/app.js';
import { describeEachBackend } from '../../support/databases.js';

const CALLBACK = 'https://rp.example/cb';
const PASSWORD = 'correct horse battery 7';
const NEW_PASSWORD = 'a brand new passphrase 42';
/** config.bodyLimit's default. */
const BODY_LIMIT = 65_536;
const WINDOW = 900;

const MSG = {
  email: 'Enter a valid email address.',
  mixed: 'This email address mixes letters from different alphabets. Type it again using one alphabet.',
  name: 'Enter a name of at most 255 characters, without control characters.',
  long: 'Your password must be at most 1024 bytes long.',
  current: 'Your current password is not correct.',
  deletePassword: 'Your password is not correct.',
  checkEmail:
    'If an account exists for that email, a link to reset its password is on its way. The link works for 1 hour.',
  badLink: 'This link is not valid. Check that you copied all of it, or ask for a new one.',
  usedLink:
    'This link can no longer be used: it was used already, or a newer one replaced it. Ask for a new one if you need it.',
  expiredLink: 'This link has expired. Ask for a new one.',
};

const textOf = (s: string | undefined) =>
  unescapeHtml((s ?? '').replace(/<[^>]+>/g, ''))
    .replace(/\s+/g, ' ')
    .trim();
const titleOf = (html: string) => textOf(/<h1\b[^>]*>([\s\S]*?)<\/h1>/.exec(html)?.[1]);
const alertOf = (html: string) => textOf(/role="alert"[^>]*>([\s\S]*?)<\/p>/.exec(html)?.[1]);

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
const show = (p: Page) => `${p.status} ${p.html.slice(0, 1200)}`;

/** Expects an error page: status, h1 title and its alert. */
function expectPage(p: Page, status: number, title: string, alert?: string): void {
  expect({ status: p.status, title: titleOf(p.html) }, show(p)).toEqual({ status, title });
  if (alert !== undefined) expect(alertOf(p.html), show(p)).toBe(alert);
}

/**
 * A NUL in a form field: the form is not read at all (src/protocol/params.ts refuses NUL in
 * every parameter), a 400 page naming the field.
 */
function expectNulRefused(p: Page, field: string): void {
  expectPage(
    p,
    400,
    'The form could not be read',
    `Parameter ${field} contains a NUL character. Go back and try again.`,
  );
}

/** Expects a form re-rendered with its error (400). */
function expectRefused(p: Page, message: string): void {
  expect({ status: p.status, alert: alertOf(p.html) }, show(p)).toEqual({ status: 400, alert: message });
}

const ACCOUNT_FORMS = [
  '/account/profile',
  '/account/password',
  '/account/verification-email',
  '/account/applications/revoke',
  '/account/sessions/revoke-others',
  '/account/delete',
] as const;

let people = 0;
const newEmail = (tag = 'hostile') =>
  `${tag}${++people}-${Math.random().toString(36).slice(2, 8)}@example.com`;

describeEachBackend('hostile input on the self-service forms (#15)', (backend) => {
  let t: TestApp;
  let server: ReturnType<typeof createServer>;
  let web: { clientId: string; clientSecret?: string };
  let hosts = 0;

  beforeAll(async () => {
    t = await startTestApp(backend, { login: { accountFailures: 1_000_000, ipFailures: 1_000_000 } });
    server = createServer(t.rt);
    await updateSettings(t.rt.storage, t.clock, { signup_enabled: true });
    web = await t.createApp({
      name: 'Hostile Web',
      type: 'web',
      callbacks: [CALLBACK],
      requirePkce: false,
      allowOfflineAccess: true,
    });
  });
  afterAll(async () => {
    await t?.close();
  });

  /** Each browser its own client address, so that the address budgets stay out of the way. */
  const address = () => {
    hosts++;
    return `10.15.${Math.floor(hosts / 250)}.${(hosts % 250) + 1}`;
  };
  function at(ip: string): TestApp {
    const env = { incoming: { socket: { remoteAddress: ip } } };
    const fetch = async (input: string | URL | Request, init?: RequestInit) =>
      server.fetch(input instanceof Request && !init ? input : new Request(input, init), env);
    return { ...t, fetch };
  }
  const browser = (ip = address()) => new UserAgent(at(ip));

  const authorize = (state = 's') =>
    authorizationUrl(t, { client_id: web.clientId, redirect_uri: CALLBACK, state, nonce: 'n' });

  /** A browser on the sign-up form of a new authorization request; the form's CSRF token. */
  async function signupForm(agent = browser()): Promise<{ agent: UserAgent; csrf: string }> {
    const res = await agent.get(authorize());
    expect(res.status).toBe(303);
    expect(new URL(res.headers.get('location') ?? '', t.issuer).pathname).toBe('/u/login');
    const page = await read(await agent.get('/u/signup'));
    expect(page.status, show(page)).toBe(200);
    return { agent, csrf: csrfOf(page.html) };
  }

  /** A browser that opened the forgot-password page (it holds the form's CSRF cookie). */
  async function forgotForm(agent = browser()): Promise<{ agent: UserAgent; csrf: string }> {
    const page = await read(await agent.get('/u/forgot-password'));
    expect(page.status, show(page)).toBe(200);
    return { agent, csrf: csrfOf(page.html) };
  }

  /** A user and a browser signed in as them (consent given to the web app); its /account CSRF token. */
  async function signedIn(claims: Record<string, unknown> = {}) {
    const email = newEmail('acct');
    const user = await createUser(t.rt.storage, t.clock, { email, password: PASSWORD, claims });
    const agent = new UserAgent(at(address()), { email, password: PASSWORD });
    const flow = await agent.signIn(authorize());
    expect(flow.location?.searchParams.get('code'), 'sign-in reached the client').toBeTruthy();
    expect(agent.cookies.get(SESSION_COOKIE)).toBeTruthy();
    const page = await read(await agent.get('/account'));
    expect(page.status, show(page)).toBe(200);
    return { user, agent, csrf: csrfOf(page.html), email };
  }

  /** A single-use link's secret, issued as the app does. */
  async function ticketOf(user: User, kind: TicketKind): Promise<string> {
    const link = await issueTicket(t.rt.storage, { clock: t.clock, config: t.rt.config }, kind, user);
    const token = new URL(link).searchParams.get('ticket');
    expect(token).toMatch(/^[A-Za-z0-9_-]{43}$/);
    return token as string;
  }

  /** The state of a ticket: undefined while unused. */
  const usedAt = async (token: string) => (await t.rt.storage.accountTickets.get(sha256(token)))?.usedAt;

  /** The reset links `user` was sent, once the requests answered so far have done their work. */
  const resetTickets = async (user: User) => {
    t.clock.advance(1); // the requests are due a second after they were queued
    await t.rt.mail.deliverDue();
    return t.rt.storage.accountTickets.requestedSince(user.id, 'password_reset', 0);
  };

  describe('CSRF', () => {
    it('/u/signup without, with a wrong, or with another browser’s token: 403, no account', async () => {
      const a = await signupForm();
      const b = await signupForm();
      expect(a.csrf).not.toBe(b.csrf);
      const email = newEmail('csrf-signup');
      const fields = { name: 'Mallory', email, password: PASSWORD };
      for (const csrf of [undefined, '', 'x'.repeat(43), b.csrf, `${a.csrf}x`, a.csrf.slice(0, -1)]) {
        const page = await read(
          await a.agent.post('/u/signup', csrf === undefined ? fields : { ...fields, csrf }),
        );
        expectPage(page, 403, 'Forbidden');
      }
      expect(await t.rt.storage.users.getByEmail(email)).toBeNull();
      // The right token still works afterwards.
      const ok = await a.agent.post('/u/signup', { ...fields, csrf: a.csrf });
      expect(ok.status, await ok.clone().text()).toBe(303);
      expect((await t.rt.storage.users.getByEmail(email))?.claims.email_verified).toBe(false);
    });

    it('/u/forgot-password: token missing, wrong, another browser’s, or without its cookie: 403, no link', async () => {
      const { user, email } = await signedIn();
      const a = await forgotForm();
      const b = await forgotForm();
      expect(a.csrf).not.toBe(b.csrf);
      const noCookie = browser();
      const cases: [UserAgent, Record<string, string>][] = [
        [noCookie, { email }],
        [noCookie, { email, csrf: a.csrf }],
        [noCookie, { email, csrf: '' }],
        [a.agent, { email }],
        [a.agent, { email, csrf: '' }],
        [a.agent, { email, csrf: b.csrf }],
        [a.agent, { email, csrf: 'A'.repeat(43) }],
        [a.agent, { email, csrf: `${a.csrf} ` }],
      ];
      for (const [agent, fields] of cases) {
        expectPage(await read(await agent.post('/u/forgot-password', fields)), 403, 'Forbidden');
      }
      // Another form's token (the sign-up interaction's) is no forgot-password token either.
      const s = await signupForm(a.agent);
      expectPage(
        await read(await a.agent.post('/u/forgot-password', { email, csrf: s.csrf })),
        403,
        'Forbidden',
      );
      expect(await resetTickets(user)).toBe(0);
      const ok = await read(await a.agent.post('/u/forgot-password', { email, csrf: a.csrf }));
      expect({ status: ok.status, title: titleOf(ok.html) }, show(ok)).toEqual({
        status: 200,
        title: 'Check your email',
      });
      expect(await resetTickets(user)).toBe(1);
    });

    it('/u/reset-password and /u/email-verification: 403 without the token; the link stays unused', async () => {
      const { user } = await signedIn();
      const reset = await ticketOf(user, 'password_reset');
      const verify = await ticketOf(user, 'email_verification');
      const before = (await t.rt.storage.users.get(user.id))?.passwordHash;
      const a = browser();
      const page = await read(await a.get(`/u/reset-password?ticket=${reset}`));
      expect(page.status, show(page)).toBe(200);
      const csrf = csrfOf(page.html);
      const other = await forgotForm();
      for (const [agent, token] of [
        [a, undefined],
        [a, ''],
        [a, other.csrf],
        [browser(), csrf],
      ] as const) {
        const fields = {
          ticket: reset,
          password: NEW_PASSWORD,
          ...(token === undefined ? {} : { csrf: token }),
        };
        expectPage(await read(await agent.post('/u/reset-password', fields)), 403, 'Forbidden');
        const v = { ticket: verify, ...(token === undefined ? {} : { csrf: token }) };
        expectPage(await read(await agent.post('/u/email-verification', v)), 403, 'Forbidden');
      }
      expect(await usedAt(reset)).toBeUndefined();
      expect(await usedAt(verify)).toBeUndefined();
      const after = await t.rt.storage.users.get(user.id);
      expect(after?.passwordHash).toBe(before);
      expect(after?.claims.email_verified).toBe(false);
      // Both links still work with the right token.
      const done = await read(await a.post('/u/email-verification', { csrf, ticket: verify }));
      expect({ status: done.status, title: titleOf(done.html) }, show(done)).toEqual({
        status: 200,
        title: 'Email verified',
      });
    });

    it('every /account form: 403 without, with a wrong or another session’s token, or without a session; nothing changes', async () => {
      const me = await signedIn({ name: 'Victim' });
      const other = await signedIn();
      const forgot = await forgotForm(me.agent);
      // A second session of the same person, which revoke-others would end.
      const second = new UserAgent(at(address()), { email: me.email, password: PASSWORD });
      await second.signIn(authorize());
      const fields: Record<(typeof ACCOUNT_FORMS)[number], Record<string, string>> = {
        '/account/profile': { name: 'Mallory' },
        '/account/password': { current_password: PASSWORD, password: NEW_PASSWORD },
        '/account/verification-email': {},
        '/account/applications/revoke': { client_id: web.clientId },
        '/account/sessions/revoke-others': {},
        '/account/delete': { password: PASSWORD },
      };
      const sessionsBefore = (await t.rt.storage.sessions.listForUser(me.user.id, t.clock.now())).length;
      expect(sessionsBefore).toBe(2);
      for (const path of ACCOUNT_FORMS) {
        for (const csrf of [undefined, '', 'x'.repeat(64), other.csrf, forgot.csrf, `${me.csrf}0`]) {
          const body = csrf === undefined ? fields[path] : { ...fields[path], csrf };
          expectPage(await read(await me.agent.post(path, body)), 403, 'Forbidden');
        }
        // No session at all, with the victim's token (as a forged cross-site form would send).
        expectPage(
          await read(await browser().post(path, { ...fields[path], csrf: me.csrf })),
          403,
          'Forbidden',
        );
      }
      const user = await t.rt.storage.users.get(me.user.id);
      expect(user?.claims.name).toBe('Victim');
      expect(user?.passwordHash).toBe(me.user.passwordHash);
      expect(await t.rt.storage.accountTickets.requestedSince(me.user.id, 'email_verification', 0)).toBe(0);
      expect((await t.rt.storage.sessions.listForUser(me.user.id, t.clock.now())).length).toBe(2);
      const page = await read(await me.agent.get('/account'));
      expect(page.html).toContain('Remove access of Hostile Web');
      // The right token works.
      const ok = await me.agent.post('/account/profile', { csrf: me.csrf, name: 'Still Me' });
      expect({ status: ok.status, location: ok.headers.get('location') }).toEqual({
        status: 303,
        location: '/account?done=profile',
      });
    });
  });

  describe('bodies', () => {
    const big = (n = BODY_LIMIT + 1) => 'a'.repeat(n);

    /** POSTs a raw form body (string or stream) through `agent`. */
    const postRaw = (agent: UserAgent, path: string, body: string | ReadableStream<Uint8Array>) =>
      agent.request(path, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body,
        ...(typeof body === 'string' ? {} : { duplex: 'half' }),
      } as RequestInit);

    it('over the body limit: 413 on every form, nothing done', async () => {
      const me = await signedIn({ name: 'Big' });
      const s = await signupForm();
      const f = await forgotForm();
      const reset = await ticketOf(me.user, 'password_reset');
      const verify = await ticketOf(me.user, 'email_verification');
      const email = newEmail('big');
      const q = (o: Record<string, string>) => new URLSearchParams(o).toString();
      const cases: [UserAgent, string, string][] = [
        [s.agent, '/u/signup', q({ csrf: s.csrf, email, password: PASSWORD, name: big() })],
        [f.agent, '/u/forgot-password', q({ csrf: f.csrf, email: me.email, pad: big() })],
        [
          f.agent,
          '/u/reset-password',
          q({ csrf: f.csrf, ticket: reset, password: NEW_PASSWORD, pad: big() }),
        ],
        [f.agent, '/u/email-verification', q({ csrf: f.csrf, ticket: verify, pad: big() })],
        [me.agent, '/account/profile', q({ csrf: me.csrf, name: big() })],
        [me.agent, '/account/password', q({ csrf: me.csrf, current_password: PASSWORD, password: big() })],
        [me.agent, '/account/verification-email', q({ csrf: me.csrf, pad: big() })],
        [me.agent, '/account/applications/revoke', q({ csrf: me.csrf, client_id: web.clientId, pad: big() })],
        [me.agent, '/account/sessions/revoke-others', q({ csrf: me.csrf, pad: big() })],
        [me.agent, '/account/delete', q({ csrf: me.csrf, password: PASSWORD, pad: big() })],
      ];
      for (const [agent, path, body] of cases) {
        expect(body.length).toBeGreaterThan(BODY_LIMIT);
        const res = await postRaw(agent, path, body);
        expect(res.status, `${path}: ${await res.clone().text()}`).toBe(413);
        await res.arrayBuffer();
      }
      // A streamed body with no length is cut off at the limit too.
      const chunk = new TextEncoder().encode(`csrf=${f.csrf}&email=${me.email}&pad=${big(16_384)}`);
      let sent = 0;
      const stream = new ReadableStream<Uint8Array>({
        pull(controller) {
          if (sent > 8) return controller.close();
          sent++;
          controller.enqueue(chunk);
        },
      });
      const streamed = await postRaw(f.agent, '/u/forgot-password', stream);
      expect(streamed.status).toBe(413);

      expect(await t.rt.storage.users.getByEmail(email)).toBeNull();
      expect(await usedAt(reset)).toBeUndefined();
      expect(await usedAt(verify)).toBeUndefined();
      const user = await t.rt.storage.users.get(me.user.id);
      expect(user?.claims).toEqual(me.user.claims);
      expect(user?.passwordHash).toBe(me.user.passwordHash);
      // The forgot-password request made no link (the one issued above was not asked for).
      expect(await resetTickets(me.user)).toBe(0);
      expect((await read(await me.agent.get('/account'))).html).toContain('Remove access of Hostile Web');
    });

    it('a repeated field or a body that is not a form: a 400, never 500', async () => {
      const s = await signupForm();
      const f = await forgotForm();
      const me = await signedIn();
      const cases: [UserAgent, string, string][] = [
        [s.agent, '/u/signup', `csrf=${s.csrf}&email=a@example.com&email=b@example.com&password=x`],
        [f.agent, '/u/forgot-password', `csrf=${f.csrf}&csrf=${f.csrf}&email=a@example.com`],
        [f.agent, '/u/reset-password', `csrf=${f.csrf}&ticket=a&ticket=b&password=x`],
        [f.agent, '/u/email-verification', `csrf=${f.csrf}&ticket=a&ticket=b`],
        ...ACCOUNT_FORMS.map((p): [UserAgent, string, string] => [
          me.agent,
          p,
          `csrf=${me.csrf}&csrf=${me.csrf}`,
        ]),
      ];
      for (const [agent, path, body] of cases) {
        const repeated = await postRaw(agent, path, body);
        expect(repeated.status, `${path} repeated: ${await repeated.clone().text()}`).toBe(400);
        const json = await agent.request(path, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ csrf: 'x', email: 'a@example.com' }),
        });
        expect(json.status, `${path} json: ${await json.clone().text()}`).toBe(400);
      }
      expect(await t.rt.storage.users.get(me.user.id)).not.toBeNull();
    });
  });

  describe('hostile values', () => {
    it('/u/signup: 10 kB values, out-of-range emails and control characters get their 400 message', async () => {
      const cases: [Record<string, string>, string][] = [
        [{ email: `${'a'.repeat(10_000)}@example.com` }, MSG.email],
        [{ email: `${'a'.repeat(64)}@${'b'.repeat(252)}.com` }, MSG.email], // 321 characters
        [{ email: 'no-at-sign.example.com' }, MSG.email],
        [{ email: 'two@@example.com' }, MSG.email],
        [{ email: 'spa ce@example.com' }, MSG.email],
        [{ email: 'ada@example.com\r\nBcc: victim@example.com' }, MSG.email],
        [{ name: 'Ada\u0007Lovelace' }, MSG.name],
        [{ name: 'Ada\u001bLovelace' }, MSG.name],
        [{ name: 'Ada\r\nBcc: x' }, MSG.name],
        [{ name: 'x'.repeat(10_000) }, MSG.name],
        [{ password: 'p'.repeat(10_000) }, MSG.long],
      ];
      for (const [override, message] of cases) {
        const s = await signupForm();
        const email = newEmail('nul');
        const fields = { csrf: s.csrf, name: 'Ada', email, password: PASSWORD, ...override };
        const page = await read(await s.agent.post('/u/signup', fields));
        expectRefused(page, message);
        expect(page.html.length, 'the page does not echo 10 kB back').toBeLessThan(12_000);
        expect(page.html).not.toContain('\u0000');
        expect(await t.rt.storage.users.getByEmail(email)).toBeNull();
      }
    });

    it('/u/signup: a NUL byte in any field is a 400 page naming the field, never 500, no account', async () => {
      const cases: [Record<string, string>, string][] = [
        [{ email: 'ada\u0000@example.com' }, 'email'],
        [{ email: '\u0000' }, 'email'],
        [{ name: 'Ada\u0000Lovelace' }, 'name'],
        [{ password: `${PASSWORD}\u0000` }, 'password'],
      ];
      for (const [override, field] of cases) {
        const s = await signupForm();
        const email = newEmail('nul');
        const page = await read(
          await s.agent.post('/u/signup', {
            csrf: s.csrf,
            name: 'Ada',
            email,
            password: PASSWORD,
            ...override,
          }),
        );
        expectNulRefused(page, field);
        expect(page.html).not.toContain('\u0000');
        expect(await t.rt.storage.users.getByEmail(email)).toBeNull();
      }
    });

    it('/u/signup: look-alike emails (Cyrillic, Greek, fullwidth) are refused with the alphabet message', async () => {
      const real = await createUser(t.rt.storage, t.clock, {
        email: 'billing@paypal.com',
        password: PASSWORD,
      });
      const lookalikes = [
        'billing@p\u0430ypal.com', // Cyrillic а in the domain
        'b\u0456lling@paypal.com', // Cyrillic і in the local part
        'billing@g\u03BFogle.com', // Greek omicron
        'billing@\uFF50aypal.com', // fullwidth p
        '\uFF42\uFF49\uFF4C\uFF4C\uFF49\uFF4E\uFF47@paypal.com', // fullwidth local part
        'BILLING@P\u0410YPAL.COM', // upper case Cyrillic А
        'billing@paypal.c\u043Em', // Cyrillic о in the top-level domain
      ];
      for (const email of lookalikes) {
        const s = await signupForm();
        const page = await read(
          await s.agent.post('/u/signup', { csrf: s.csrf, name: 'M', email, password: PASSWORD }),
        );
        expectRefused(page, MSG.mixed);
        expect(await t.rt.storage.users.getByEmail(email.normalize('NFC').toLowerCase())).toBeNull();
      }
      expect((await t.rt.storage.users.get(real.id))?.email).toBe('billing@paypal.com');

      // One alphabet per label is not a look-alike: a Cyrillic address, and é typed decomposed.
      for (const [typed, stored] of [
        ['\u0430\u0434\u0430@\u043F\u0440\u0438\u043C\u0435\u0440.\u0440\u0444', 'ада@пример.рф'],
        ['jose\u0301@example.com', 'jos\u00e9@example.com'],
      ] as const) {
        const s = await signupForm();
        const res = await s.agent.post('/u/signup', {
          csrf: s.csrf,
          name: 'Ok',
          email: typed,
          password: PASSWORD,
        });
        expect(res.status, await res.clone().text()).toBe(303);
        expect((await t.rt.storage.users.getByEmail(stored))?.email).toBe(stored);
      }

      // The forgot-password page gives its usual answer and sends the look-alike's owner nothing.
      const f = await forgotForm();
      const page = await read(
        await f.agent.post('/u/forgot-password', { csrf: f.csrf, email: 'billing@p\u0430ypal.com' }),
      );
      expect({ status: page.status, title: titleOf(page.html) }, show(page)).toEqual({
        status: 200,
        title: 'Check your email',
      });
      expect(await resetTickets(real)).toBe(0);
    });

    it('/u/forgot-password: NUL bytes are a 400 page, 10 kB emails get the email message, never 500', async () => {
      const { user, email } = await signedIn();
      for (const typed of [`${email}\u0000`, `\u0000${email}`]) {
        const f = await forgotForm();
        expectNulRefused(
          await read(await f.agent.post('/u/forgot-password', { csrf: f.csrf, email: typed })),
          'email',
        );
      }
      for (const typed of [
        `${'a'.repeat(10_000)}@example.com`,
        `${'a'.repeat(64)}@${'b'.repeat(252)}.com`,
        `${email}\r\nBcc: attacker@example.com`,
        '',
      ]) {
        const f = await forgotForm();
        const page = await read(await f.agent.post('/u/forgot-password', { csrf: f.csrf, email: typed }));
        expectRefused(page, MSG.email);
        expect(page.html.length).toBeLessThan(12_000);
      }
      expect(await resetTickets(user)).toBe(0);
    });

    it('/u/reset-password: a NUL or 10 kB password is refused, never 500; the link survives a refusal', async () => {
      const { user, email } = await signedIn();
      const ticket = await ticketOf(user, 'password_reset');
      const f = await forgotForm();
      const long = await read(
        await f.agent.post('/u/reset-password', { csrf: f.csrf, ticket, password: 'p'.repeat(10_000) }),
      );
      expectRefused(long, MSG.long);
      const withNul = 'nul\u0000inside the password';
      expectNulRefused(
        await read(await f.agent.post('/u/reset-password', { csrf: f.csrf, ticket, password: withNul })),
        'password',
      );
      expect(await usedAt(ticket)).toBeUndefined();
      expect((await t.rt.storage.users.get(user.id))?.passwordHash).toBe(user.passwordHash);
      const done = await read(
        await f.agent.post('/u/reset-password', { csrf: f.csrf, ticket, password: NEW_PASSWORD }),
      );
      expect({ status: done.status, title: titleOf(done.html) }, show(done)).toEqual({
        status: 200,
        title: 'Password changed',
      });
      const agent = new UserAgent(at(address()));
      const flow = await agent.signIn(authorize(), { credentials: { email, password: NEW_PASSWORD } });
      expect(flow.location?.searchParams.get('code')).toBeTruthy();
    });

    it('/account forms: NUL bytes and 10 kB values get their 400 message, never 500', async () => {
      const me = await signedIn({ name: 'Nul Test' });
      const nul: [string, Record<string, string>, string][] = [
        ['/account/profile', { name: 'x\u0000y' }, 'name'],
        [
          '/account/password',
          { current_password: `${PASSWORD}\u0000`, password: NEW_PASSWORD },
          'current_password',
        ],
        ['/account/password', { current_password: PASSWORD, password: `${NEW_PASSWORD}\u0000` }, 'password'],
        ['/account/delete', { password: `\u0000${PASSWORD}` }, 'password'],
        ['/account/applications/revoke', { client_id: `${web.clientId}\u0000` }, 'client_id'],
        ['/account/applications/revoke', { grant_id: '\u0000' }, 'grant_id'],
        ['/account/verification-email', { x: '\u0000' }, 'x'],
        ['/account/sessions/revoke-others', { x: '\u0000' }, 'x'],
      ];
      for (const [path, fields, field] of nul) {
        expectNulRefused(await read(await me.agent.post(path, { csrf: me.csrf, ...fields })), field);
      }
      const cases: [string, Record<string, string>, number, string][] = [
        ['/account/profile', { name: 'x\u0007y' }, 400, MSG.name],
        ['/account/profile', { name: 'x'.repeat(10_000) }, 400, MSG.name],
        [
          '/account/password',
          { current_password: 'x'.repeat(10_000), password: NEW_PASSWORD },
          400,
          MSG.current,
        ],
        ['/account/password', { current_password: PASSWORD, password: 'p'.repeat(10_000) }, 400, MSG.long],
        ['/account/delete', { password: 'x'.repeat(10_000) }, 400, MSG.deletePassword],
      ];
      for (const [path, fields, status, message] of cases) {
        const page = await read(await me.agent.post(path, { csrf: me.csrf, ...fields }));
        expect({ path, status: page.status, alert: alertOf(page.html) }, show(page)).toEqual({
          path,
          status,
          alert: message,
        });
        expect(page.html).not.toContain('\u0000');
      }
      const user = await t.rt.storage.users.get(me.user.id);
      expect(user?.claims.name).toBe('Nul Test');
      expect(
        (await t.rt.storage.consents.list({ userId: me.user.id }, { offset: 0, limit: 10 })).length,
      ).toBe(1);
      expect(user?.passwordHash).toBe(me.user.passwordHash);
    });

    it('/account/applications/revoke: a huge, unknown or foreign client_id or grant_id is a 404 page, never 500', async () => {
      const me = await signedIn();
      const other = await signedIn();
      const theirConsent = (
        await t.rt.storage.consents.list({ userId: other.user.id }, { offset: 0, limit: 10 })
      )[0];
      expect(theirConsent?.clientId).toBe(web.clientId);
      const cases: Record<string, string>[] = [
        { client_id: 'x'.repeat(10_000) },
        { client_id: 'not-an-app' },
        { client_id: `${web.clientId} ` },
        { grant_id: 'x'.repeat(10_000) },
        { grant_id: "cgt_' or '1'='1" },
        { grant_id: theirConsent?.id as string },
        {},
      ];
      for (const fields of cases) {
        const page = await read(
          await me.agent.post('/account/applications/revoke', { csrf: me.csrf, ...fields }),
        );
        expectPage(page, 404, 'Not found', 'That application has no access to your account.');
      }
      // Someone else's consent id did not disconnect them, nor me.
      expect(await t.rt.storage.consents.getById(theirConsent?.id as string)).not.toBeNull();
      const mine = await t.rt.storage.consents.list({ userId: me.user.id }, { offset: 0, limit: 10 });
      expect(mine.length).toBe(1);
      // My own consent id does.
      const ok = await me.agent.post('/account/applications/revoke', {
        csrf: me.csrf,
        grant_id: mine[0]?.id as string,
      });
      expect({ status: ok.status, location: ok.headers.get('location') }).toEqual({
        status: 303,
        location: '/account?done=revoked',
      });
      expect(await t.rt.storage.consents.getById(mine[0]?.id as string)).toBeNull();
      expect(await t.rt.storage.consents.getById(theirConsent?.id as string)).not.toBeNull();
    });
  });

  describe('link tickets', () => {
    it('huge, NUL, tampered, unknown or other-kind tickets: "Link not valid" on GET and POST, nothing used up', async () => {
      const { user } = await signedIn();
      const reset = await ticketOf(user, 'password_reset');
      const verify = await ticketOf(user, 'email_verification');
      const flip = (s: string) => `${s.slice(0, -1)}${s.endsWith('A') ? 'B' : 'A'}`;
      const f = await forgotForm();
      const bad = (own: string, otherKind: string) => [
        '',
        'x'.repeat(10_000),
        `${own}${'x'.repeat(10_000)}`,
        `${own}\u0000`,
        `${own.slice(0, 20)}\u0000${own.slice(21)}`,
        '\u0000'.repeat(43),
        flip(own),
        own.slice(0, -1),
        `${own}=`,
        'A'.repeat(43),
        otherKind,
        sha256(own),
      ];
      const pages: [string, string, string][] = [
        ['/u/reset-password', reset, verify],
        ['/u/email-verification', verify, reset],
      ];
      for (const [path, own, otherKind] of pages) {
        for (const ticket of bad(own, otherKind)) {
          const get = await read(await f.agent.get(`${path}?${new URLSearchParams({ ticket })}`));
          expectPage(get, 400, 'Link not valid', MSG.badLink);
          const post = await read(await f.agent.post(path, { csrf: f.csrf, ticket, password: NEW_PASSWORD }));
          if (ticket.includes('\u0000')) expectNulRefused(post, 'ticket');
          else expectPage(post, 400, 'Link not valid', MSG.badLink);
          expect(post.html).not.toContain('\u0000');
          expect(post.html.length).toBeLessThan(12_000);
        }
        // No ticket parameter at all.
        expectPage(await read(await f.agent.get(path)), 400, 'Link not valid', MSG.badLink);
        expectPage(
          await read(await f.agent.post(path, { csrf: f.csrf })),
          400,
          'Link not valid',
          MSG.badLink,
        );
      }
      expect(await usedAt(reset)).toBeUndefined();
      expect(await usedAt(verify)).toBeUndefined();
      const stored = await t.rt.storage.users.get(user.id);
      expect(stored?.passwordHash).toBe(user.passwordHash);
      expect(stored?.claims.email_verified).toBe(false);
      // Each works on its own page, once; then it is used; a reset link expires after an hour.
      for (const [path, own] of pages) {
        expect((await read(await f.agent.get(`${path}?ticket=${own}`))).status).toBe(200);
        const done = await read(
          await f.agent.post(path, { csrf: f.csrf, ticket: own, password: NEW_PASSWORD }),
        );
        expect(done.status, show(done)).toBe(200);
        expectPage(
          await read(await f.agent.get(`${path}?ticket=${own}`)),
          400,
          'Link not valid',
          MSG.usedLink,
        );
        const again = await read(
          await f.agent.post(path, { csrf: f.csrf, ticket: own, password: NEW_PASSWORD }),
        );
        expectPage(again, 400, 'Link not valid', MSG.usedLink);
      }
      const late = await ticketOf(user, 'password_reset');
      t.clock.advance(3600);
      expectPage(
        await read(await f.agent.get(`/u/reset-password?ticket=${late}`)),
        400,
        'Link not valid',
        MSG.expiredLink,
      );
    });
  });

  describe('address budgets', () => {
    it('sign-up: 10 per address per window, the 11th is 429 with Retry-After; other addresses are unaffected', async () => {
      const ip = address();
      const emails: string[] = [];
      for (let i = 0; i < 10; i++) {
        const s = await signupForm(browser(ip));
        const email = newEmail('budget-signup');
        emails.push(email);
        const res = await s.agent.post('/u/signup', {
          csrf: s.csrf,
          name: `N${i}`,
          email,
          password: PASSWORD,
        });
        expect(res.status, `sign-up ${i + 1}: ${await res.clone().text()}`).toBe(303);
      }
      const s = await signupForm(browser(ip));
      const email = newEmail('budget-signup');
      const page = await read(
        await s.agent.post('/u/signup', { csrf: s.csrf, name: 'N', email, password: PASSWORD }),
      );
      expectPage(page, 429, 'Too many sign-ups');
      expect(page.headers.get('retry-after')).toBe(String(WINDOW));
      expect(await t.rt.storage.users.getByEmail(email)).toBeNull();
      for (const e of emails) expect(await t.rt.storage.users.getByEmail(e)).not.toBeNull();

      const elsewhere = await signupForm();
      const res = await elsewhere.agent.post('/u/signup', {
        csrf: elsewhere.csrf,
        name: 'Y',
        email: newEmail('budget-signup'),
        password: PASSWORD,
      });
      expect(res.status).toBe(303);

      // The window over, the address may sign up again.
      t.clock.advance(WINDOW);
      const later = await signupForm(browser(ip));
      const again = await later.agent.post('/u/signup', {
        csrf: later.csrf,
        name: 'N',
        email,
        password: PASSWORD,
      });
      expect(again.status, await again.clone().text()).toBe(303);
    });

    it('forgot password: 10 requests per address per window, the 11th is 429 with Retry-After', async () => {
      const { user, email } = await signedIn();
      const ip = address();
      const f = await forgotForm(browser(ip));
      for (let i = 0; i < 10; i++) {
        const typed = i % 2 ? email : newEmail('nobody');
        const page = await read(await f.agent.post('/u/forgot-password', { csrf: f.csrf, email: typed }));
        expect({ status: page.status, title: titleOf(page.html) }, `request ${i + 1}: ${show(page)}`).toEqual(
          {
            status: 200,
            title: 'Check your email',
          },
        );
      }
      const sent = await resetTickets(user);
      expect(sent).toBe(3); // the per-account limit: 3 emails an hour
      const page = await read(await f.agent.post('/u/forgot-password', { csrf: f.csrf, email }));
      expectPage(page, 429, 'Too many requests');
      // (a second went by, for the requests to be due)
      expect(page.headers.get('retry-after')).toBe(String(WINDOW - 1));
      expect(await resetTickets(user)).toBe(sent);
      // Another address still gets its answer.
      const other = await forgotForm();
      const ok = await read(
        await other.agent.post('/u/forgot-password', { csrf: other.csrf, email: newEmail('x') }),
      );
      expect(ok.status).toBe(200);
    });

    it('verification emails again: 10 per address per window (3 per account), the 11th is 429 with Retry-After', async () => {
      const ip = address();
      const people: { user: User; agent: UserAgent; csrf: string }[] = [];
      for (let i = 0; i < 4; i++) {
        const email = newEmail('budget-verify');
        const user = await createUser(t.rt.storage, t.clock, { email, password: PASSWORD });
        const agent = new UserAgent(at(ip), { email, password: PASSWORD });
        await agent.signIn(authorize());
        const page = await read(await agent.get('/account'));
        expect(page.status, show(page)).toBe(200);
        people.push({ user, agent, csrf: csrfOf(page.html) });
      }
      const ask = (p: (typeof people)[number]) =>
        p.agent.post('/account/verification-email', { csrf: p.csrf });
      const [p1, p2, p3, p4] = people as [
        (typeof people)[0],
        (typeof people)[0],
        (typeof people)[0],
        (typeof people)[0],
      ];
      let n = 0;
      for (const p of [p1, p1, p1, p2, p2, p2, p3, p3, p3, p4]) {
        const res = await ask(p);
        n++;
        expect({ n, status: res.status, location: res.headers.get('location') }).toEqual({
          n,
          status: 303,
          location: '/account?done=verification',
        });
      }
      const page = await read(await ask(p4));
      expect(page.status, show(page)).toBe(429);
      expect(alertOf(page.html)).toBe('Too many verification emails were asked for. Try again later.');
      expect(await t.rt.storage.accountTickets.requestedSince(p4.user.id, 'email_verification', 0)).toBe(1);
      // Another address may still ask for p4.
      const elsewhere = new UserAgent(at(address()), { email: p4.user.email, password: PASSWORD });
      await elsewhere.signIn(authorize());
      const csrf = csrfOf((await read(await elsewhere.get('/account'))).html);
      const ok = await elsewhere.post('/account/verification-email', { csrf });
      expect(ok.status).toBe(303);
      expect(await t.rt.storage.accountTickets.requestedSince(p4.user.id, 'email_verification', 0)).toBe(2);
      expect(page.headers.get('retry-after'), 'Retry-After on the 429').toBe(String(WINDOW));
    });
  });
});
