// Issue #15: the password policy (NIST SP 800-63B §5.1.1.2) everywhere a password is set: the
// Management API (POST /users, PATCH /users/{id}), sign-up, password reset, and the account page.
// At least `password.minLength` characters (default 8), at most 1024 bytes (UTF-8), not on the
// list of common passwords shipped with a dependency, not the account's email (in any case). The
// message says why; a person reads exactly one of four sentences; the Management API's message
// names the field. A long passphrase passes. Then unit tests of src/accounts/password-policy.ts.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { checkPassword } from '../../src/accounts/password.js';
import { refusePassword } from '../../src/accounts/password-policy.js';
import { createUser } from '../../src/admin/users.js';
import { createServer } from '../../src/server.js';
import { caller, managementToken } from '../management/support.js';
import { csrfOf, inInteraction, UserAgent, unescapeHtml } from '../protocol/sign-in/agent.js';
import { authorizationUrl, CALLBACK, s256 } from '../protocol/sign-in/fixtures.js';
import { startTestApp, type TestApp } from '../support/app.js';
import { describeEachBackend } from '../support/databases.js';
import { linkIn, sentTo, startSmtp, type TestSmtp } from '../support/smtp.js';

const GOOD = 'correct horse battery staple';
const PASSPHRASE = 'my grandmother planted seven lemon trees in 1987, all thriving';
const VERIFIER = 'policy-suite-verifier-0123456789-abcdefghijklmnopqrs';
const CONNECTION = 'Username-Password-Authentication';

const MESSAGES = {
  short: (n: number) => `Your password must be at least ${n} characters long.`,
  long: 'Your password must be at most 1024 bytes long.',
  common: 'This password is too common: attackers try it first. Choose another.',
  email: 'Your password must not be your email address.',
};

/** 513 two-byte characters: 513 characters (under 1024), 1026 bytes (over). */
const TOO_MANY_BYTES = 'é'.repeat(513);
/** Exactly 1024 bytes, mixed, not on any list. */
const EXACTLY_1024 = (() => {
  let s = '';
  while (Buffer.byteLength(`${s}horse é battery ü `) <= 1024) s += 'horse é battery ü ';
  return s.padEnd(s.length + (1024 - Buffer.byteLength(s)), 'x');
})();

const alertOf = (html: string) =>
  unescapeHtml(
    /<p[^>]*role="alert"[^>]*>([\s\S]*?)<\/p>/
      .exec(html)?.[1]
      ?.replace(/<[^>]+>/g, '')
      .trim() ?? '',
  );

/** What one attempt to set a password answered: the status and the message shown (or sent). */
interface Outcome {
  status: number;
  message: string;
}

/** A place where a password is set: tries `password(email)` for a fresh account (or sign-up). */
interface Surface {
  name: string;
  /** Management API surfaces answer with `password: <why>`; pages show the sentence alone. */
  api: boolean;
  /** The status a successful set answers with. */
  ok: number;
  attempt(password: (email: string) => string): Promise<Outcome>;
}

let people = 0;
const freshEmail = () => `policy${++people}-${Math.random().toString(36).slice(2, 8)}@example.com`;

/** The surfaces of one running app. */
function surfacesOf(
  t: TestApp,
  smtp: TestSmtp,
  mgmtToken: () => string,
  web: () => { clientId: string },
): Surface[] {
  const server = createServer(t.rt);
  let hosts = 0;
  /** Sesame as reached from a client address no other attempt used (so no throttle counts). */
  const fresh = (): TestApp => {
    hosts++;
    const env = {
      incoming: { socket: { remoteAddress: `10.15.${Math.floor(hosts / 250)}.${(hosts % 250) + 1}` } },
    };
    const fetch = async (input: string | URL | Request, init?: RequestInit) =>
      server.fetch(input instanceof Request && !init ? input : new Request(input, init), env);
    return { ...t, fetch };
  };
  const call = () => caller(t, mgmtToken());

  async function person(): Promise<{ id: string; email: string }> {
    const email = freshEmail();
    const user = await createUser(t.rt.storage, t.clock, { email, password: GOOD });
    return { id: user.id, email: user.email };
  }

  async function unchanged(id: string) {
    const user = await t.rt.storage.users.get(id);
    expect(await checkPassword(user?.passwordHash, GOOD)).toBe(true);
  }

  async function loginForm(agent: UserAgent, extra: Record<string, string> = {}) {
    const start = await agent.get(
      authorizationUrl(t, {
        client_id: web().clientId,
        redirect_uri: CALLBACK,
        state: 'st',
        nonce: 'n',
        code_challenge: s256(VERIFIER),
        code_challenge_method: 'S256',
        ...extra,
      }),
    );
    expect(start.status).toBe(303);
    return new URL(start.headers.get('location') as string, t.issuer);
  }

  return [
    {
      name: 'Management API POST /users',
      api: true,
      ok: 201,
      async attempt(password) {
        const email = freshEmail();
        const a = await call()('POST', '/users', {
          body: { connection: CONNECTION, email, password: password(email) },
        });
        if (a.status !== 201) expect(await t.rt.storage.users.getByEmail(email)).toBeNull();
        return { status: a.status, message: a.body?.message ?? '' };
      },
    },
    {
      name: 'Management API PATCH /users/{id}',
      api: true,
      ok: 200,
      async attempt(password) {
        const p = await person();
        const a = await call()('PATCH', `/users/${encodeURIComponent(p.id)}`, {
          body: { password: password(p.email) },
        });
        if (a.status !== 200) await unchanged(p.id);
        return { status: a.status, message: a.body?.message ?? '' };
      },
    },
    {
      name: 'sign-up',
      api: false,
      ok: 303,
      async attempt(password) {
        const agent = new UserAgent(fresh());
        const signup = await loginForm(agent, { screen_hint: 'signup' });
        expect(signup.pathname).toBe('/u/signup');
        const form = await agent.get(signup);
        const html = await form.text();
        expect(form.status, html).toBe(200);
        const email = freshEmail();
        const res = await agent.post('/u/signup', {
          csrf: csrfOf(html),
          name: 'Policy Person',
          email,
          password: password(email),
        });
        const text = await res.text();
        if (res.status === 303)
          expect(res.headers.get('location')).toEqual(inInteraction('/authorize/resume'));
        else expect(await t.rt.storage.users.getByEmail(email)).toBeNull();
        return { status: res.status, message: alertOf(text) };
      },
    },
    {
      name: 'password reset',
      api: false,
      ok: 200,
      async attempt(password) {
        const p = await person();
        const agent = new UserAgent(fresh());
        const forgot = await agent.get('/u/forgot-password');
        const forgotHtml = await forgot.text();
        expect(forgot.status, forgotHtml).toBe(200);
        const sent = await agent.post('/u/forgot-password', { csrf: csrfOf(forgotHtml), email: p.email });
        expect(sent.status, await sent.text()).toBe(200);
        t.clock.advance(1); // the request is due a second later
        await t.rt.mail.deliverDue();
        const mail = await smtp.waitFor(
          (m) => sentTo(m, p.email) && (m.subject ?? '').startsWith('Reset your password'),
        );
        const link = linkIn(mail, '/u/reset-password?ticket=') as string;
        expect(link).toBeDefined();
        const page = await agent.get(link);
        const pageHtml = await page.text();
        expect(page.status, pageHtml).toBe(200);
        const ticket = new URL(link).searchParams.get('ticket') as string;
        const res = await agent.post('/u/reset-password', {
          csrf: csrfOf(pageHtml),
          ticket,
          password: password(p.email),
        });
        const text = await res.text();
        if (res.status !== 200) {
          await unchanged(p.id);
          // A refused password does not use up the link.
          const again = await agent.get(link);
          expect(again.status, await again.text()).toBe(200);
        }
        return { status: res.status, message: alertOf(text) };
      },
    },
    {
      name: 'account page',
      api: false,
      ok: 303,
      async attempt(password) {
        const p = await person();
        const agent = new UserAgent(fresh());
        const first = await agent.get('/account');
        expect(first.status).toBe(303);
        const login = await agent.get(new URL(first.headers.get('location') as string, t.issuer));
        const posted = await agent.post('/u/login', {
          csrf: csrfOf(await login.text()),
          email: p.email,
          password: GOOD,
        });
        expect(posted.status, await posted.text()).toBe(303);
        const page = await agent.get('/account');
        const html = await page.text();
        expect(page.status, html).toBe(200);
        const at = html.indexOf('action="/account/password"');
        expect(at).toBeGreaterThan(-1);
        const res = await agent.post('/account/password', {
          csrf: csrfOf(html.slice(at)),
          current_password: GOOD,
          password: password(p.email),
        });
        const text = await res.text();
        if (res.status === 303) expect(res.headers.get('location')).toBe('/account?done=password');
        else await unchanged(p.id);
        return { status: res.status, message: alertOf(text) };
      },
    },
  ];
}

/** What the Management API's message must say for the sentence a person reads. */
function apiReason(message: string): RegExp {
  const short = /at least (\d+) characters/.exec(message);
  if (short) return new RegExp(`at least ${short[1]} characters`);
  if (message === MESSAGES.long) return /at most 1024 bytes/;
  if (message === MESSAGES.common) return /too common/;
  if (message === MESSAGES.email) return /email/;
  throw new Error(`no API reason for ${message}`);
}

/** Asserts a refusal: 400 and the message (the sentence on a page; `password…why` in the API). */
function expectRefused(s: Surface, o: Outcome, message: string) {
  expect(o.status, `${s.name}: ${o.message}`).toBe(400);
  if (s.api) {
    // The API's message names the field and says why, in its own words.
    expect(o.message, s.name).toMatch(/^password\b/);
    expect(o.message, s.name).toMatch(apiReason(message));
  } else {
    expect(o.message, s.name).toBe(message);
  }
}

function expectAccepted(s: Surface, o: Outcome) {
  expect(o.status, `${s.name}: ${o.message}`).toBe(s.ok);
}

/** Starts an app with SMTP, sign-up on, a web app, and a Management API token. */
async function setUp(backend: Parameters<typeof startTestApp>[0], password?: { minLength: number }) {
  const smtp = await startSmtp();
  const t = await startTestApp(backend, { email: { smtpUrl: smtp.url }, ...(password ? { password } : {}) });
  const { token } = await managementToken(t);
  const on = await caller(t, token)('PATCH', '/tenants/settings', { body: { signup_enabled: true } });
  expect(on.status, on.text).toBe(200);
  const web = await t.createApp({
    name: 'Policy web',
    type: 'web',
    callbacks: [CALLBACK],
    skipConsent: true,
  });
  return { t, smtp, token, web };
}

describeEachBackend('accounts: the password policy everywhere a password is set (#15)', (backend) => {
  let t: TestApp;
  let smtp: TestSmtp;
  let token: string;
  let web: { clientId: string };
  let surfaces: Surface[] = [];

  beforeAll(async () => {
    ({ t, smtp, token, web } = await setUp(backend));
    surfaces = surfacesOf(
      t,
      smtp,
      () => token,
      () => web,
    );
  });
  afterAll(async () => {
    await t?.rt.mail?.stop();
    await t?.close();
    await smtp?.stop();
  });

  const each = async (fn: (s: Surface) => Promise<void>) => {
    expect(surfaces).toHaveLength(5);
    for (const s of surfaces) await fn(s);
  };

  it('too short (7 characters): refused with the minimum (8 by default)', () =>
    each(async (s) => expectRefused(s, await s.attempt(() => 'Xq7#mz2'), MESSAGES.short(8))));

  it('characters are code points: 7 emoji and letters is 7 characters', () =>
    each(async (s) => expectRefused(s, await s.attempt(() => '🦊🦊🦊🦊abc'), MESSAGES.short(8))));

  it('exactly 8 characters, not common: accepted', () =>
    each(async (s) => expectAccepted(s, await s.attempt(() => 'x7#kQ2!m'))));

  it('over 1024 bytes (513 two-byte characters): refused', () =>
    each(async (s) => expectRefused(s, await s.attempt(() => TOO_MANY_BYTES), MESSAGES.long)));

  it('exactly 1024 bytes: accepted', () => {
    expect(Buffer.byteLength(EXACTLY_1024)).toBe(1024);
    return each(async (s) => expectAccepted(s, await s.attempt(() => EXACTLY_1024)));
  });

  for (const common of ['password1', 'qwerty123', 'iloveyou1', 'PASSWORD1']) {
    it(`a common password (${common}): refused`, () =>
      each(async (s) => expectRefused(s, await s.attempt(() => common), MESSAGES.common)));
  }

  it('the email itself, in any case: refused', () =>
    each(async (s) => {
      expectRefused(s, await s.attempt((email) => email), MESSAGES.email);
      expectRefused(s, await s.attempt((email) => email.toUpperCase()), MESSAGES.email);
      expectRefused(
        s,
        await s.attempt((email) => email.replace(/^./, (c) => c.toUpperCase())),
        MESSAGES.email,
      );
    }));

  it('a long passphrase: accepted', () =>
    each(async (s) => expectAccepted(s, await s.attempt(() => PASSPHRASE))));
});

describeEachBackend('accounts: a configured minimum length (password.minLength 12)', (backend) => {
  let t: TestApp;
  let smtp: TestSmtp;
  let token: string;
  let web: { clientId: string };
  let surfaces: Surface[] = [];

  beforeAll(async () => {
    ({ t, smtp, token, web } = await setUp(backend, { minLength: 12 }));
    surfaces = surfacesOf(
      t,
      smtp,
      () => token,
      () => web,
    );
  });
  afterAll(async () => {
    await t?.rt.mail?.stop();
    await t?.close();
    await smtp?.stop();
  });

  it('11 characters: refused everywhere, naming 12', async () => {
    for (const s of surfaces) expectRefused(s, await s.attempt(() => 'a1b2c3d4e5f'), MESSAGES.short(12));
  });

  it('12 characters: accepted everywhere', async () => {
    for (const s of surfaces) expectAccepted(s, await s.attempt(() => 'a1b2c3d4e5f6'));
  });

  it('the CLI-facing admin path (createUser with the configured rules) refuses too', async () => {
    await expect(
      createUser(
        t.rt.storage,
        t.clock,
        { email: freshEmail(), password: 'a1b2c3d4e5f' },
        t.rt.config.password,
      ),
    ).rejects.toThrow(/password.*12/);
  });
});

describe('unit: refusePassword (src/accounts/password-policy.ts)', () => {
  const opts = { minLength: 8, email: 'Person@Example.com' };

  it('accepts a passphrase, and 8 characters that are not common', async () => {
    expect(await refusePassword(PASSPHRASE, opts)).toBeNull();
    expect(await refusePassword('x7#kQ2!m', opts)).toBeNull();
    expect(await refusePassword(EXACTLY_1024, opts)).toBeNull();
  });

  it('too short, counted in code points', async () => {
    expect(await refusePassword('Xq7#mz2', opts)).toEqual({
      reason: 'too_short',
      message: MESSAGES.short(8),
    });
    expect(await refusePassword('🦊🦊🦊🦊abc', opts)).toEqual({
      reason: 'too_short',
      message: MESSAGES.short(8),
    });
    expect(await refusePassword('🦊🦊🦊🦊abcd', opts)).toBeNull();
    expect(await refusePassword('a1b2c3d4e5f', { minLength: 12 })).toEqual({
      reason: 'too_short',
      message: MESSAGES.short(12),
    });
    expect(await refusePassword('', opts)).toEqual({ reason: 'too_short', message: MESSAGES.short(8) });
  });

  it('over 1024 bytes', async () => {
    expect(await refusePassword(TOO_MANY_BYTES, opts)).toEqual({
      reason: 'too_long',
      message: MESSAGES.long,
    });
    expect(await refusePassword('x'.repeat(1025), opts)).toEqual({
      reason: 'too_long',
      message: MESSAGES.long,
    });
    expect(await refusePassword('x'.repeat(1024), opts)).not.toEqual(
      expect.objectContaining({ reason: 'too_long' }),
    );
  });

  it('common passwords, in any case', async () => {
    for (const p of ['password1', 'qwerty123', 'iloveyou1', '12345678', 'Password1', 'QWERTY123']) {
      expect(await refusePassword(p, opts), p).toEqual({ reason: 'common', message: MESSAGES.common });
    }
  });

  it('the email, in any case', async () => {
    for (const p of ['Person@Example.com', 'person@example.com', 'PERSON@EXAMPLE.COM']) {
      expect(await refusePassword(p, opts), p).toEqual({ reason: 'email', message: MESSAGES.email });
    }
    expect(await refusePassword('person@example.com', { minLength: 8 })).toBeNull();
    expect(await refusePassword('person@example.com.', opts)).toBeNull();
  });
});
