// Issue #15: "My account" at /account, signed in through the SSO session: profile (name), change
// password (asks the current one; ends the other sessions and every refresh token), connected
// applications (each consent with a revoke that ends that application's tokens for this person),
// sessions (sign out the others), resend verification, delete the account (asks the password;
// cascades; tenant setting account_deletion_enabled). Every form carries a CSRF token; a missing or
// wrong one gets a 403 "Forbidden" page and changes nothing. In-process, real SMTP server in-process.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAdmin } from '../../src/admin/console.js';
import { ADMIN_ROLE_ID } from '../../src/admin/system.js';
import type { Api } from '../../src/storage/types.js';
import { caller, managementToken } from '../management/support.js';
import { csrfOf, invalidFields, SESSION_COOKIE, UserAgent, unescapeHtml } from '../protocol/sign-in/agent.js';
import {
  browser,
  CALLBACK,
  expectTokenError,
  newUser,
  PASSWORD,
  tokenRequest,
  webConfig,
  webSignIn,
} from '../protocol/sign-in/fixtures.js';
import { startTestApp, type TestApp } from '../support/app.js';
import { describeEachBackend } from '../support/databases.js';
import { linkIn, type ParsedMail, sentTo, startSmtp, type TestSmtp } from '../support/smtp.js';

const SCOPE = 'openid profile email offline_access read:things';
const NEW_PASSWORD = 'a brand new passphrase 42';

type App = { clientId: string; clientSecret?: string };

/** The form posting to `action`, from its opening tag to its </form>. */
function formFor(html: string, action: string): string {
  const at = html.indexOf(`action="${action}"`);
  if (at < 0) throw new Error(`no form posting to ${action} in page:\n${html}`);
  const end = html.indexOf('</form>', at);
  return html.slice(at, end < 0 ? undefined : end);
}

/** The csrf field of the form posting to `action`. */
const csrfFor = (html: string, action: string) => csrfOf(formFor(html, action));

/** The h1 of a page, unescaped. */
const titleOf = (html: string) => unescapeHtml(/<h1[^>]*>([\s\S]*?)<\/h1>/.exec(html)?.[1]?.trim() ?? '');

/** The message of the page's error paragraph (`<p class="error" role="alert">`) or alert. */
const alertOf = (html: string) =>
  unescapeHtml(
    /<p[^>]*role="alert"[^>]*>([\s\S]*?)<\/p>/
      .exec(html)?.[1]
      ?.replace(/<[^>]+>/g, '')
      .trim() ?? '',
  );

/** The h2 headings of a page, in order. */
const headingsOf = (html: string) =>
  [...html.matchAll(/<h2[^>]*>([\s\S]*?)<\/h2>/g)].map((m) =>
    unescapeHtml((m[1] ?? '').replace(/<[^>]+>/g, '').trim()),
  );

const show = async (res: Response) =>
  `${res.status} ${res.headers.get('location') ?? ''} ${(await res.clone().text()).slice(0, 1500)}`;

/** Follows Sesame's own redirects from `res`; the last response and the URL it answered. */
async function follow(agent: UserAgent, res: Response, from: URL): Promise<{ res: Response; url: URL }> {
  let url = from;
  for (let hops = 0; hops < 10; hops++) {
    const loc = res.headers.get('location');
    if (res.status < 300 || res.status > 399 || !loc) return { res, url };
    url = new URL(loc, url);
    if (url.origin !== new URL(agent.t.issuer).origin) return { res, url };
    res = await agent.get(url);
  }
  throw new Error('too many redirects');
}

describeEachBackend('accounts: the account page /account (#15)', (backend) => {
  let t: TestApp;
  let smtp: TestSmtp;
  let api: Api;

  beforeAll(async () => {
    smtp = await startSmtp();
    t = await startTestApp(backend, { email: { smtpUrl: smtp.url } });
    api = await t.createApi({ allowOfflineAccess: true });
  });
  afterAll(async () => {
    await t?.rt.mail?.stop();
    await t?.close();
    await smtp?.stop();
  });

  const accountUrl = () => new URL('/account', t.issuer);

  /**
   * Opens /account in `agent` with no session: 303 to the login page; types `creds` there; the
   * login sends the browser back to /account. Returns the account page's HTML.
   */
  async function signInThroughAccount(agent: UserAgent, creds: { email: string; password: string }) {
    const first = await agent.get(accountUrl());
    expect(first.status, await show(first)).toBe(303);
    const login = new URL(first.headers.get('location') as string, t.issuer);
    expect(login.origin + login.pathname).toBe(`${t.issuer}/u/login`);
    const form = await agent.get(login);
    const formHtml = await form.text();
    expect(form.status, formHtml).toBe(200);
    const posted = await agent.post('/u/login', {
      csrf: csrfOf(formHtml),
      email: creds.email,
      password: creds.password,
    });
    expect(posted.status, await show(posted)).toBe(303);
    expect(agent.cookies.has(SESSION_COOKIE)).toBe(true);
    const end = await follow(agent, posted, new URL('/u/login', t.issuer));
    const html = await end.res.text();
    expect(end.res.status, html).toBe(200);
    expect(end.url.pathname).toBe('/account');
    return html;
  }

  /** A new person, signed in at /account in a new browser. */
  async function person(claims: Record<string, unknown> = {}) {
    const { user, creds } = await newUser(t, claims);
    const agent = new UserAgent(t, creds);
    const html = await signInThroughAccount(agent, creds);
    return { user, creds, agent, html };
  }

  /** The account page as `agent` sees it now (200 expected). */
  async function accountPage(agent: UserAgent): Promise<string> {
    const res = await agent.get(accountUrl());
    const html = await res.text();
    expect(res.status, html).toBe(200);
    return html;
  }

  /** Whether `agent` still has a session: /account answers 200 (signed in) or 303 to login. */
  async function hasSession(agent: UserAgent): Promise<boolean> {
    const res = await agent.get(accountUrl());
    if (res.status === 200) return true;
    expect(res.status, await show(res)).toBe(303);
    expect(new URL(res.headers.get('location') as string, t.issuer).pathname).toBe('/u/login');
    return false;
  }

  /** POSTs an account form with the csrf of the current page (or `csrf` when given). */
  async function submit(agent: UserAgent, action: string, fields: Record<string, string>, csrf?: string) {
    const html = await accountPage(agent);
    return agent.post(action, { csrf: csrf ?? csrfFor(html, action), ...fields });
  }

  /** A refresh token of `app` for `agent`'s person (signs in through /authorize; consents). */
  async function refreshTokenOf(agent: UserAgent, app: App): Promise<string> {
    const { tokens } = await webSignIn(agent, await webConfig(t, app), {
      scope: SCOPE,
      audience: api.identifier,
    });
    expect(tokens.refresh_token).toEqual(expect.any(String));
    return tokens.refresh_token as string;
  }

  const refresh = (app: App, token: string) =>
    tokenRequest(t, {
      grant_type: 'refresh_token',
      refresh_token: token,
      client_id: app.clientId,
      client_secret: app.clientSecret as string,
    });

  const webApp = (name: string) => t.createApp({ name, type: 'web', callbacks: [CALLBACK] });

  async function events(type: string, userId: string) {
    await t.rt.events.flush();
    return t.rt.storage.logs.list({ types: [type], userId }, { offset: 0, limit: 50 });
  }

  describe('signing in to it', () => {
    it('with no session: 303 to the login page, and after the login back to /account', async () => {
      const { user, html } = await person();
      expect(html).toContain(user.email);
      expect(headingsOf(html)).toEqual(
        expect.arrayContaining([
          'Profile',
          'Email',
          'Password',
          'Connected applications',
          'Sessions',
          'Delete account',
        ]),
      );
    });

    it('an existing SSO session (from an application sign-in) opens /account with no login', async () => {
      const { creds } = await newUser(t);
      const agent = new UserAgent(t, creds);
      await refreshTokenOf(agent, await webApp('SSO first'));
      const html = await accountPage(agent);
      expect(html).toContain(creds.email);
    });
  });

  describe('profile', () => {
    it('changes the name: 303 /account?done=profile, stored, shown', async () => {
      const { user, agent } = await person({ name: 'Old Name' });
      const res = await submit(agent, '/account/profile', { name: 'Ada Lovelace' });
      expect(res.status, await show(res)).toBe(303);
      expect(res.headers.get('location')).toBe('/account?done=profile');
      expect((await t.rt.storage.users.get(user.id))?.claims.name).toBe('Ada Lovelace');
      expect(await accountPage(agent)).toContain('Ada Lovelace');
    });

    it('a name with control characters or over 255 characters is refused (400), nothing stored', async () => {
      const { user, agent } = await person({ name: 'Kept Name' });
      for (const name of [
        'bad\u0007bell',
        'tab\u001bescape',
        'x'.repeat(256),
        'evil\u202Etxt.exe',
        'line\u2028break',
      ]) {
        const res = await submit(agent, '/account/profile', { name });
        const html = await res.text();
        expect(res.status, html).toBe(400);
        expect(alertOf(html)).toBe('Enter a name of at most 255 characters, without control characters.');
        expect(invalidFields(html)).toEqual(['name']);
        // what was typed stays in the field, to be mended
        if (/^x+$/.test(name)) expect(html).toMatch(new RegExp(`name="name"[^>]*value="${name}"`));
      }
      expect((await t.rt.storage.users.get(user.id))?.claims.name).toBe('Kept Name');
    });

    it('a NUL byte in the name: an HTML error page naming the field (400), never a JSON error; nothing saved', async () => {
      const { user, agent } = await person({ name: 'Kept Name' });
      const res = await submit(agent, '/account/profile', { name: 'bad\u0000name' });
      const html = await res.text();
      expect(res.status, html).toBe(400);
      expect(res.headers.get('content-type')).toMatch(/^text\/html/);
      expect(alertOf(html)).toMatch(/^Parameter name contains a NUL character\. Go back and try again\.$/);
      expect((await t.rt.storage.users.get(user.id))?.claims.name).toBe('Kept Name');
    });
  });

  describe('change password', () => {
    it('a wrong current password: 400 with the message, the password unchanged', async () => {
      const { creds, agent } = await person();
      const res = await submit(agent, '/account/password', {
        current_password: 'not my password',
        password: NEW_PASSWORD,
      });
      const html = await res.text();
      expect(res.status, html).toBe(400);
      expect(alertOf(html)).toBe('Your current password is not correct.');
      expect(invalidFields(html)).toEqual(['current_password']);
      // The old password still signs in; the new one does not.
      expect(await hasSession(agent)).toBe(true);
      await signInThroughAccount(new UserAgent(t), creds);
    });

    it('wrong current passwords past login.accountFailures: the 429 page, with the way back to the account', async () => {
      const { agent } = await person();
      let res: Response | undefined;
      for (let i = 0; i < 10 && res?.status !== 429; i++) {
        res = await submit(agent, '/account/password', {
          current_password: `wrong ${i} guess`,
          password: NEW_PASSWORD,
        });
      }
      const html = await (res as Response).text();
      expect((res as Response).status, html).toBe(429);
      expect(Number((res as Response).headers.get('retry-after'))).toBeGreaterThan(0);
      expect(html).toContain('<a href="/account">Back to your account</a>');
    });

    it('a new password against the policy: 400 with the policy message', async () => {
      const { agent } = await person();
      const cases: [string, string][] = [
        ['short7!', 'Your password must be at least 8 characters long.'],
        ['password1', 'This password is too common: attackers try it first. Choose another.'],
      ];
      for (const [password, message] of cases) {
        const res = await submit(agent, '/account/password', { current_password: PASSWORD, password });
        const html = await res.text();
        expect(res.status, html).toBe(400);
        expect(alertOf(html)).toBe(message);
        expect(invalidFields(html)).toEqual(['password']);
      }
    });

    it('success: 303 done=password; the new password works, the old does not; other sessions and every refresh token end; this session stays', async () => {
      const { user, creds, agent } = await person();
      const other = new UserAgent(t, creds);
      await signInThroughAccount(other, creds);
      const app = await webApp('Password change app');
      const token = await refreshTokenOf(agent, app);
      const otherToken = await refreshTokenOf(other, app);

      const res = await submit(agent, '/account/password', {
        current_password: PASSWORD,
        password: NEW_PASSWORD,
      });
      expect(res.status, await show(res)).toBe(303);
      expect(res.headers.get('location')).toBe('/account?done=password');

      expect(await hasSession(agent)).toBe(true);
      expect(await hasSession(other)).toBe(false);
      expect(await t.rt.storage.sessions.listForUser(user.id, t.clock.now())).toHaveLength(1);
      expectTokenError(await refresh(app, token), 400, 'invalid_grant');
      expectTokenError(await refresh(app, otherToken), 400, 'invalid_grant');

      // A new browser: the new password signs in, the old one is refused.
      const fresh = new UserAgent(t);
      const first = await fresh.get(accountUrl());
      const form = await fresh.get(new URL(first.headers.get('location') as string, t.issuer));
      const wrong = await fresh.post('/u/login', {
        csrf: csrfOf(await form.text()),
        email: creds.email,
        password: PASSWORD,
      });
      expect(wrong.status, await show(wrong)).toBe(400);
      await signInThroughAccount(new UserAgent(t), { email: creds.email, password: NEW_PASSWORD });
      // and the owner is told by email
      const notice = await smtp.waitFor(
        (m) => sentTo(m, creds.email) && m.subject === 'Your password for Sesame was changed',
      );
      expect(linkIn(notice, '/u/forgot-password')).toBe('https://sesame.test/u/forgot-password');
    });

    it('a refused change sends no notice', async () => {
      const { creds, agent } = await person();
      const res = await submit(agent, '/account/password', {
        current_password: 'not it',
        password: NEW_PASSWORD,
      });
      expect(res.status).toBe(400);
      await t.rt.mail.deliverDue();
      expect(smtp.messages.filter((m) => sentTo(m, creds.email))).toHaveLength(0);
    });
  });

  describe('connected applications', () => {
    it('lists a consented application; revoke ends its refresh token for this person only, other apps keep working', async () => {
      const { user, creds, agent } = await person();
      const printer = await webApp('Photo Printer');
      const calendar = await webApp('Calendar Sync');
      const printerToken = await refreshTokenOf(agent, printer);
      const calendarToken = await refreshTokenOf(agent, calendar);
      // Someone else's consent to the same application stays untouched.
      const { user: otherUser, creds: otherCreds } = await newUser(t);
      const otherAgent = new UserAgent(t, otherCreds);
      const otherToken = await refreshTokenOf(otherAgent, printer);

      const consent = await t.rt.storage.consents.get(user.id, printer.clientId, api.identifier);
      expect(consent).not.toBeNull();
      const html = await accountPage(agent);
      expect(html).toContain('Photo Printer');
      expect(html).toContain('Calendar Sync');
      expect(formFor(html, '/account/applications/revoke')).toBeTruthy();

      const res = await submit(agent, '/account/applications/revoke', { grant_id: consent?.id as string });
      expect(res.status, await show(res)).toBe(303);
      expect(res.headers.get('location')).toBe('/account?done=revoked');

      expect(await t.rt.storage.consents.getById(consent?.id as string)).toBeNull();
      expectTokenError(await refresh(printer, printerToken), 400, 'invalid_grant');
      expect((await refresh(calendar, calendarToken)).status).toBe(200);
      expect((await refresh(printer, otherToken)).status).toBe(200);
      expect(await t.rt.storage.consents.get(otherUser.id, printer.clientId, api.identifier)).not.toBeNull();

      const after = await accountPage(agent);
      expect(after).not.toContain('Photo Printer');
      expect(after).toContain('Calendar Sync');
      // The session itself stays.
      expect(await hasSession(agent)).toBe(true);
      expect(creds.email).toBe(user.email);
    });

    it("the revoke form as the page sends it (each application's own form) works too", async () => {
      const { user, agent } = await person();
      const printer = await webApp('Form Printer');
      const calendar = await webApp('Form Calendar');
      const printerToken = await refreshTokenOf(agent, printer);
      const calendarToken = await refreshTokenOf(agent, calendar);
      const html = await accountPage(agent);
      // The form whose button names Form Printer, with every field it carries.
      const forms = [
        ...html.matchAll(/<form[^>]*action="\/account\/applications\/revoke"[^>]*>([\s\S]*?)<\/form>/g),
      ];
      const mine = forms.find((f) => (f[1] as string).includes('Form Printer'));
      expect(mine, 'a revoke form for Form Printer').toBeDefined();
      const fields = Object.fromEntries(
        [...((mine?.[1] ?? '') as string).matchAll(/<input[^>]*name="([^"]+)"[^>]*value="([^"]*)"/g)].map(
          (m) => [m[1] as string, unescapeHtml(m[2] as string)],
        ),
      );
      const res = await agent.post('/account/applications/revoke', fields);
      expect(res.status, await show(res)).toBe(303);
      expect(res.headers.get('location')).toBe('/account?done=revoked');
      expect(await t.rt.storage.consents.get(user.id, printer.clientId, api.identifier)).toBeNull();
      expectTokenError(await refresh(printer, printerToken), 400, 'invalid_grant');
      expect((await refresh(calendar, calendarToken)).status).toBe(200);
    });

    it("another person's grant id revokes nothing", async () => {
      const { agent, html } = await person();
      const app = await webApp('Not yours');
      const { user: victim, creds } = await newUser(t);
      const victimAgent = new UserAgent(t, creds);
      const victimToken = await refreshTokenOf(victimAgent, app);
      const consent = await t.rt.storage.consents.get(victim.id, app.clientId, api.identifier);
      const csrf = csrfFor(html, '/account/profile');
      for (const fields of [{ grant_id: consent?.id as string }, { client_id: app.clientId }] as Record<
        string,
        string
      >[]) {
        const res = await agent.post('/account/applications/revoke', { csrf, ...fields });
        expect(res.status, await show(res)).toBeLessThan(500);
        expect(res.headers.get('location')).not.toBe('/account?done=revoked');
      }
      expect(await t.rt.storage.consents.getById(consent?.id as string)).not.toBeNull();
      expect((await refresh(app, victimToken)).status).toBe(200);
    });
  });

  describe('sessions', () => {
    it('"sign out the others": 303 done=sessions; the other browsers are signed out, this one stays', async () => {
      const { user, creds, agent } = await person();
      const second = new UserAgent(t, creds);
      const third = new UserAgent(t, creds);
      await signInThroughAccount(second, creds);
      await signInThroughAccount(third, creds);
      expect(await t.rt.storage.sessions.listForUser(user.id, t.clock.now())).toHaveLength(3);

      const res = await submit(agent, '/account/sessions/revoke-others', {});
      expect(res.status, await show(res)).toBe(303);
      expect(res.headers.get('location')).toBe('/account?done=sessions');
      expect(await hasSession(agent)).toBe(true);
      expect(await hasSession(second)).toBe(false);
      expect(await hasSession(third)).toBe(false);
      expect(await t.rt.storage.sessions.listForUser(user.id, t.clock.now())).toHaveLength(1);
    });

    it('"sign out the others" ends the refresh tokens signed in through the other browsers, with their access tokens; this browser\'s stay', async () => {
      const { creds, agent } = await person();
      const lost = new UserAgent(t, creds);
      await signInThroughAccount(lost, creds);
      const app = await webApp('Lost laptop app');
      const { tokens: there } = await webSignIn(lost, await webConfig(t, app), {
        scope: SCOPE,
        audience: api.identifier,
      });
      const hereToken = await refreshTokenOf(agent, app);
      const introspect = async (token: string) =>
        (
          await t.fetch(`${t.issuer}/oauth/introspect`, {
            method: 'POST',
            headers: {
              'content-type': 'application/x-www-form-urlencoded',
              authorization: `Basic ${Buffer.from(`${app.clientId}:${app.clientSecret}`).toString('base64')}`,
            },
            body: new URLSearchParams({ token }),
          })
        ).json();
      expect(await introspect(there.access_token as string)).toMatchObject({ active: true });

      const res = await submit(agent, '/account/sessions/revoke-others', {});
      expect(res.status, await show(res)).toBe(303);
      expectTokenError(await refresh(app, there.refresh_token as string), 400, 'invalid_grant');
      expect(await introspect(there.access_token as string)).toEqual({ active: false });
      expect((await refresh(app, hereToken)).status, 'this browser keeps its applications').toBe(200);
      const notice = await (await agent.get(res.headers.get('location') as string)).text();
      expect(notice).toContain('the applications you signed in to there can no longer renew their access');
    });

    it('a browser signed out left an application renewing: /account says so and offers "sign out the others", which ends it', async () => {
      const { creds, agent } = await person();
      expect(await accountPage(agent)).not.toContain('action="/account/sessions/revoke-others"');
      const lost = new UserAgent(t, creds);
      await signInThroughAccount(lost, creds);
      const app = await webApp('Signed out, still renewing');
      const lostToken = await refreshTokenOf(lost, app);
      const hereToken = await refreshTokenOf(agent, app);
      const out = await lost.get('/v2/logout');
      expect(out.status, await show(out)).toBeLessThan(400);
      expect(await hasSession(lost)).toBe(false);
      // the browser is signed out; its application's refresh token still works
      const renewed = await refresh(app, lostToken);
      expect(renewed.status).toBe(200);
      const rotated = renewed.body.refresh_token as string;

      const html = await accountPage(agent);
      expect(formFor(html, '/account/sessions/revoke-others')).toBeTruthy();
      expect(html).toContain(
        'One sign-in of an application in a session that has ended can still renew its access.',
      );
      const res = await submit(agent, '/account/sessions/revoke-others', {});
      expect(res.status, await show(res)).toBe(303);
      expectTokenError(await refresh(app, rotated), 400, 'invalid_grant');
      expect((await refresh(app, hereToken)).status, 'this browser keeps its applications').toBe(200);
      const after = await accountPage(agent);
      expect(after).not.toContain('action="/account/sessions/revoke-others"');
      expect(after).not.toContain('id="other-sign-ins"');
    });

    it('"sign out the others" ends the console in the other browsers too; this browser\'s console stays', async () => {
      const email = `console-${Math.random().toString(36).slice(2, 8)}@example.com`;
      await createAdmin(t.rt.storage, t.clock, { email, password: PASSWORD });
      const creds = { email, password: PASSWORD };
      const here = browser(t, creds);
      const there = browser(t, creds);
      for (const agent of [here, there]) {
        const flow = await agent.signIn(`${t.issuer}/console`);
        expect(flow.response.status, await show(flow.response)).toBe(200);
      }
      const consoleOpen = async (agent: UserAgent) => (await agent.get(`${t.issuer}/console`)).status;
      expect([await consoleOpen(here), await consoleOpen(there)]).toEqual([200, 200]);

      const res = await submit(here, '/account/sessions/revoke-others', {});
      expect(res.status, await show(res)).toBe(303);
      expect(await consoleOpen(here)).toBe(200);
      expect(await consoleOpen(there)).toBe(303);
    });
  });

  describe('resend verification', () => {
    const isVerification = (email: string) => (m: ParsedMail) =>
      sentTo(m, email) && m.subject === 'Verify your email for Sesame';

    it('an unverified person gets a verification email (303 done=verification); its link verifies the email', async () => {
      const { user, agent, html } = await person({ email_verified: false });
      expect(formFor(html, '/account/verification-email')).toBeTruthy();
      const res = await submit(agent, '/account/verification-email', {});
      expect(res.status, await show(res)).toBe(303);
      expect(res.headers.get('location')).toBe('/account?done=verification');
      const mail = await smtp.waitFor(isVerification(user.email));
      const link = linkIn(mail, '/u/email-verification?ticket=');
      expect(link).toBeDefined();

      const page = await agent.get(link as string);
      const pageHtml = await page.text();
      expect(page.status, pageHtml).toBe(200);
      expect(titleOf(pageHtml)).toBe('Verify your email');
      const ticket = new URL(link as string).searchParams.get('ticket') as string;
      const done = await agent.post('/u/email-verification', { csrf: csrfOf(pageHtml), ticket });
      const doneHtml = await done.text();
      expect(done.status, doneHtml).toBe(200);
      expect(titleOf(doneHtml)).toBe('Email verified');
      expect((await t.rt.storage.users.get(user.id))?.claims.email_verified).toBe(true);
      expect(await accountPage(agent)).not.toContain('action="/account/verification-email"');
    });

    it('at most 3 verification emails an hour per account', async () => {
      const { user, agent } = await person({ email_verified: false });
      for (let i = 0; i < 4; i++) {
        const res = await submit(agent, '/account/verification-email', {});
        expect([303, 429], await show(res)).toContain(res.status);
        if (i < 3) expect(res.status).toBe(303);
      }
      await t.rt.mail.deliverDue();
      await new Promise((r) => setTimeout(r, 300));
      await t.rt.mail.deliverDue();
      expect(smtp.messages.filter(isVerification(user.email))).toHaveLength(3);
    });

    it('a verified person has no resend form and gets no email', async () => {
      const { user, agent, html } = await person({ email_verified: true });
      expect(html).not.toContain('action="/account/verification-email"');
      const csrf = csrfFor(html, '/account/profile');
      const res = await agent.post('/account/verification-email', { csrf });
      // (the link used in another tab while this page was open): said so, not "on its way"
      expect(res.status).toBe(303);
      expect(res.headers.get('location')).toBe('/account?done=verified');
      const page = await agent.get('/account?done=verified');
      expect(await page.text()).toContain('Your email is already verified: no email was sent.');
      await t.rt.mail.deliverDue();
      expect(smtp.messages.filter((m) => sentTo(m, user.email))).toHaveLength(0);
    });
  });

  describe('delete account', () => {
    it('a wrong password: 400 "Your password is not correct.", nothing deleted', async () => {
      const { user, agent } = await person();
      const res = await submit(agent, '/account/delete', { password: 'not my password' });
      const html = await res.text();
      expect(res.status, html).toBe(400);
      expect(alertOf(html)).toBe('Your password is not correct.');
      expect(invalidFields(html)).toEqual(['password']);
      expect(html).toMatch(/id="delete_password"[^>]*aria-invalid="true"/);
      expect(await t.rt.storage.users.get(user.id)).not.toBeNull();
      expect(await hasSession(agent)).toBe(true);
    });

    it('success: 303 /account/deleted; the user, sessions, consents and tokens are gone; event sdu', async () => {
      const { user, creds, agent } = await person();
      const other = new UserAgent(t, creds);
      await signInThroughAccount(other, creds);
      const app = await webApp('Deleted person app');
      const token = await refreshTokenOf(agent, app);
      expect(await t.rt.storage.consents.count({ userId: user.id })).toBe(1);

      const res = await submit(agent, '/account/delete', { password: PASSWORD });
      expect(res.status, await show(res)).toBe(303);
      expect(res.headers.get('location')).toBe('/account/deleted');
      const deleted = await agent.get('/account/deleted');
      const html = await deleted.text();
      expect(deleted.status, html).toBe(200);
      expect(titleOf(html)).toBe('Account deleted');

      expect(await t.rt.storage.users.get(user.id)).toBeNull();
      expect(await t.rt.storage.users.getByEmail(user.email)).toBeNull();
      expect(await t.rt.storage.sessions.listForUser(user.id, t.clock.now())).toHaveLength(0);
      expect(await t.rt.storage.consents.count({ userId: user.id })).toBe(0);
      expectTokenError(await refresh(app, token), 400, 'invalid_grant');
      expect(await hasSession(agent)).toBe(false);
      expect(await hasSession(other)).toBe(false);
      const sdu = await events('sdu', user.id);
      expect(sdu).toHaveLength(1);
    });

    it('the last administrator cannot delete their account (409, said on the page); nothing is deleted', async () => {
      const email = `last-admin-${Math.random().toString(36).slice(2, 8)}@example.com`;
      const admin = await createAdmin(t.rt.storage, t.clock, { email, password: PASSWORD });
      // the only one: other tests' admins lose the role (directly in storage)
      for (const id of await t.rt.storage.roles.listUsers(ADMIN_ROLE_ID))
        if (id !== admin.id) await t.rt.storage.roles.unassign(id, [ADMIN_ROLE_ID]);
      const agent = browser(t, { email, password: PASSWORD });
      await agent.signIn(`${t.issuer}/account`);
      const res = await submit(agent, '/account/delete', { password: PASSWORD });
      const html = await res.text();
      expect(res.status, html).toBe(409);
      expect(alertOf(html)).toBe(
        'You are the last administrator of this tenant: make someone else one before you go.',
      );
      expect(await t.rt.storage.users.get(admin.id)).not.toBeNull();
      expect(await hasSession(agent)).toBe(true);
    });

    it('account_deletion_enabled false: no delete form, and the POST answers 403', async () => {
      const { token } = await managementToken(t);
      const call = caller(t, token);
      const off = await call('PATCH', '/tenants/settings', { body: { account_deletion_enabled: false } });
      expect(off.status, off.text).toBe(200);
      expect(off.body.account_deletion_enabled).toBe(false);
      try {
        const { user, agent, html } = await person();
        expect(html).not.toContain('action="/account/delete"');
        const csrf = csrfFor(html, '/account/profile');
        const res = await agent.post('/account/delete', { csrf, password: PASSWORD });
        const text = await res.text();
        expect(res.status, text).toBe(403);
        expect(res.headers.get('content-type')).toMatch(/^text\/html/);
        expect(await t.rt.storage.users.get(user.id)).not.toBeNull();
      } finally {
        const on = await call('PATCH', '/tenants/settings', { body: { account_deletion_enabled: null } });
        expect(on.status, on.text).toBe(200);
        expect(on.body.account_deletion_enabled).toBe(true);
      }
    });
  });

  describe('CSRF', () => {
    const FORMS: [string, Record<string, string>][] = [
      ['/account/profile', { name: 'Forged Name' }],
      ['/account/password', { current_password: PASSWORD, password: NEW_PASSWORD }],
      ['/account/verification-email', {}],
      ['/account/applications/revoke', { grant_id: 'cgt_whatever' }],
      ['/account/sessions/revoke-others', {}],
      ['/account/delete', { password: PASSWORD }],
    ];

    it('every POST without a csrf field, or with a wrong one, or with another session\'s: 403 "Forbidden", nothing changes', async () => {
      const { user, creds, agent } = await person({ name: 'Unchanged', email_verified: false });
      const app = await webApp('CSRF app');
      const token = await refreshTokenOf(agent, app);
      const second = new UserAgent(t, creds);
      await signInThroughAccount(second, creds);
      const stranger = await person();
      const strangerCsrf = csrfFor(stranger.html, '/account/profile');
      const grantId = (await t.rt.storage.consents.get(user.id, app.clientId, api.identifier))?.id as string;

      for (const [action, fields] of FORMS) {
        const body = action === '/account/applications/revoke' ? { grant_id: grantId } : fields;
        for (const csrf of [undefined, 'wrong-csrf-value', strangerCsrf]) {
          const res = await agent.post(action, csrf === undefined ? body : { ...body, csrf });
          const html = await res.text();
          expect(res.status, `${action} csrf=${csrf}: ${html.slice(0, 500)}`).toBe(403);
          expect(res.headers.get('content-type')).toMatch(/^text\/html/);
          expect(titleOf(html)).toBe('Forbidden');
        }
      }
      const now = await t.rt.storage.users.get(user.id);
      expect(now).not.toBeNull();
      expect(now?.claims.name).toBe('Unchanged');
      expect(await t.rt.storage.sessions.listForUser(user.id, t.clock.now())).toHaveLength(2);
      expect(await t.rt.storage.consents.getById(grantId)).not.toBeNull();
      expect((await refresh(app, token)).status).toBe(200);
      await t.rt.mail.deliverDue();
      expect(smtp.messages.filter((m) => sentTo(m, user.email))).toHaveLength(0);
      // The old password still works (not changed by the forged POST).
      await signInThroughAccount(new UserAgent(t), creds);
    });
  });
});
