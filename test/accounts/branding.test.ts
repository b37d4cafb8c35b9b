// Issue #15 (branding): the tenant settings friendly_name, picture_url (logo), primary_color and
// support_email are checked when saved (a bad logo URL or colour: 400 naming the field, nothing
// saved) and used by every page (login, consent, sign-up, forgot, reset, error, device /activate,
// /account) and by the emails: the name, the logo as <img> (the CSP's img-src then allows exactly
// the logo's origin), the colour, "Need help? <support email>".
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createUser } from '../../src/admin/users.js';
import { type Call, caller, expectError, expectStatus, managementToken } from '../management/support.js';
import { csrfOf, UserAgent, unescapeHtml } from '../protocol/sign-in/agent.js';
import { authorizationUrl, CALLBACK, PASSWORD, s256 } from '../protocol/sign-in/fixtures.js';
import { startTestApp, type TestApp } from '../support/app.js';
import { describeEachBackend } from '../support/databases.js';
import { type ParsedMail, sentTo, startSmtp, type TestSmtp } from '../support/smtp.js';

const VERIFIER = 'branding-suite-verifier-0123456789-abcdefghijklmnopq';
const LOGO = 'https://cdn.acme.example/brand/logo.png';
const LOGO_ORIGIN = 'https://cdn.acme.example';
const BRAND = {
  friendly_name: 'Acme Pets',
  picture_url: LOGO,
  primary_color: '#1A2B3C',
  support_email: 'help@acme.example',
};

/** The CSP directive `name` of a response, as its list of sources (undefined when absent). */
function cspSources(res: Response, name: string): string[] | undefined {
  const csp = res.headers.get('content-security-policy') ?? '';
  for (const d of csp.split(';')) {
    const [k, ...v] = d.trim().split(/\s+/);
    if (k === name) return v;
  }
  return undefined;
}

/** The visible text of a page: tags dropped, entities decoded, white space collapsed. */
const textOf = (html: string) =>
  unescapeHtml(
    html
      .replace(/<style[\s\S]*?<\/style>/g, ' ')
      .replace(/<script[\s\S]*?<\/script>/g, ' ')
      .replace(/<[^>]+>/g, ' '),
  )
    .replace(/\s+/g, ' ')
    .trim();

/** The src of every <img> of a page. */
const imgSources = (html: string) =>
  [...html.matchAll(/<img\b[^>]*\bsrc="([^"]*)"/g)].map((m) => unescapeHtml(m[1] as string));

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

const titleOf = (html: string) => unescapeHtml(/<h1[^>]*>([\s\S]*?)<\/h1>/.exec(html)?.[1]?.trim() ?? '');

interface Page {
  name: string;
  res: Response;
  html: string;
}

describeEachBackend('accounts: branding from the tenant settings (#15)', (backend) => {
  let t: TestApp;
  let smtp: TestSmtp;
  let call: Call;
  let web: { clientId: string; clientSecret?: string };
  let consenting: { clientId: string; clientSecret?: string };

  beforeAll(async () => {
    smtp = await startSmtp();
    t = await startTestApp(backend, { email: { smtpUrl: smtp.url } });
    call = caller(t, (await managementToken(t)).token);
    web = await t.createApp({ name: 'Brand web', type: 'web', callbacks: [CALLBACK], skipConsent: true });
    consenting = await t.createApp({ name: 'Brand consent', type: 'web', callbacks: [CALLBACK] });
    expectStatus(await call('PATCH', '/tenants/settings', { body: { signup_enabled: true } }), 200);
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

  const settings = async () => {
    const a = await call('GET', '/tenants/settings');
    expectStatus(a, 200);
    return a.body;
  };

  const authorize = (clientId: string, extra: Record<string, string> = {}) =>
    authorizationUrl(t, {
      client_id: clientId,
      redirect_uri: CALLBACK,
      state: 'st',
      nonce: 'n',
      code_challenge: s256(VERIFIER),
      code_challenge_method: 'S256',
      ...extra,
    });

  async function get(agent: UserAgent, name: string, url: string | URL, status = 200): Promise<Page> {
    const res = await agent.get(url);
    const html = await res.text();
    expect(res.status, `${name}: ${html.slice(0, 800)}`).toBe(status);
    expect(res.headers.get('content-type'), name).toMatch(/^text\/html/);
    return { name, res, html };
  }

  /** Follows Sesame's redirects from `url` to the page that answers. */
  async function open(agent: UserAgent, name: string, url: string | URL, status = 200): Promise<Page> {
    let target = new URL(url, t.issuer);
    for (let i = 0; i < 6; i++) {
      const res = await agent.get(target);
      if (res.status !== 303 && res.status !== 302) {
        const html = await res.text();
        expect(res.status, `${name} (${target}): ${html.slice(0, 800)}`).toBe(status);
        return { name, res, html };
      }
      target = new URL(res.headers.get('location') as string, target);
      expect(target.origin, name).toBe(t.issuer);
    }
    throw new Error('too many redirects');
  }

  /** Every page people see, as a new visitor and as a signed-in person. */
  async function allPages(): Promise<Page[]> {
    const pages: Page[] = [];
    const visitor = new UserAgent(t);
    pages.push(await open(visitor, 'login', authorize(web.clientId)));
    pages.push(await open(new UserAgent(t), 'sign-up', authorize(web.clientId, { screen_hint: 'signup' })));
    pages.push(await get(new UserAgent(t), 'forgot password', '/u/forgot-password'));
    pages.push(
      await get(new UserAgent(t), 'bad reset link', '/u/reset-password?ticket=not-a-real-ticket', 400),
    );
    pages.push(await get(new UserAgent(t), 'authorize error', authorize('no-such-client'), 400));

    // A signed-in person: consent, /activate, /account, a reset page with a real link.
    const email = `brand-${Math.random().toString(36).slice(2, 8)}@example.com`;
    const user = await createUser(t.rt.storage, t.clock, { email, password: PASSWORD });
    const person = new UserAgent(t, { email, password: PASSWORD });
    const flow = await person.signIn(authorize(consenting.clientId), { stopAt: 'consent' });
    pages.push({ name: 'consent', res: flow.response, html: flow.html.consent as string });
    pages.push(await get(person, 'device activation', '/activate'));
    pages.push(await get(person, 'account', '/account'));

    const ticket = await call('POST', '/tickets/password-change', { body: { user_id: user.id } });
    expectStatus(ticket, 201);
    pages.push(await get(new UserAgent(t), 'reset', ticket.body.ticket as string));
    return pages;
  }

  describe('saving: bad values are refused, nothing saved', () => {
    it('picture_url: javascript:, data:, ftp:, credentials, plain http to another host → 400 naming the field', async () => {
      const before = await settings();
      for (const bad of [
        'javascript:alert(1)',
        'data:image/png;base64,iVBORw0KGgo=',
        'ftp://files.example/logo.png',
        'https://user:secret@cdn.acme.example/logo.png',
        'https://user@cdn.acme.example/logo.png',
        'http://cdn.acme.example/logo.png',
        'not a url',
        '//cdn.acme.example/logo.png',
        `https://cdn.acme.example/${'a'.repeat(2100)}.png`,
      ]) {
        const a = await call('PATCH', '/tenants/settings', { body: { picture_url: bad } });
        expectError(a, 400);
        expect(a.body.message, bad).toMatch(/(^|: )picture_url: /);
      }
      expect(await settings()).toEqual(before);
    });

    it('primary_color: red, #12345, #1234567, url(x), CSS injection → 400 naming the field', async () => {
      const before = await settings();
      for (const bad of [
        'red',
        '#12345',
        '#1234567',
        'url(x)',
        '#12g',
        '#123;background:url(x)',
        '123456',
        '',
      ]) {
        const a = await call('PATCH', '/tenants/settings', { body: { primary_color: bad } });
        if (bad === '') {
          // An empty value restores the default (as for every setting), it is not an error.
          expectStatus(a, 200);
          continue;
        }
        expectError(a, 400);
        expect(a.body.message, bad).toMatch(/(^|: )primary_color: /);
      }
      expect(await settings()).toEqual(before);
    });

    it('one bad field refuses the whole change: the good fields with it are not saved either', async () => {
      const before = await settings();
      const a = await call('PATCH', '/tenants/settings', {
        body: { friendly_name: 'Half Saved', primary_color: 'red' },
      });
      expectError(a, 400);
      const b = await call('PATCH', '/tenants/settings', {
        body: { friendly_name: 'Half Saved', picture_url: 'javascript:alert(1)' },
      });
      expectError(b, 400);
      expect(await settings()).toEqual(before);
      const page = await open(new UserAgent(t), 'login', authorize(web.clientId));
      expect(page.html).not.toContain('Half Saved');
    });

    it('good values are saved: #rgb and #rrggbb, https and local http logos', async () => {
      for (const color of ['#abc', '#A1b2C3']) {
        const a = await call('PATCH', '/tenants/settings', { body: { primary_color: color } });
        expectStatus(a, 200);
        expect(a.body.primary_color.toLowerCase()).toBe(color.toLowerCase());
      }
      for (const logo of ['http://localhost:8080/logo.png', 'http://127.0.0.1:3000/logo.svg', LOGO]) {
        const a = await call('PATCH', '/tenants/settings', { body: { picture_url: logo } });
        expectStatus(a, 200);
        expect(a.body.picture_url).toBe(logo);
      }
      expectStatus(
        await call('PATCH', '/tenants/settings', { body: { primary_color: null, picture_url: null } }),
        200,
      );
    });
  });

  describe('the pages', () => {
    it('without branding: "Sesame", no <img>, no image source allowed', async () => {
      for (const p of await allPages()) {
        expect(imgSources(p.html), p.name).toEqual([]);
        const img = cspSources(p.res, 'img-src');
        expect(img === undefined || (img.length === 1 && img[0] === "'none'"), `${p.name}: ${img}`).toBe(
          true,
        );
        expect(textOf(p.html), p.name).not.toContain('Need help?');
      }
    });

    it('with branding: every page shows the name, the logo, the colour and the support email; img-src is exactly the logo origin', async () => {
      const saved = await call('PATCH', '/tenants/settings', { body: BRAND });
      expectStatus(saved, 200);
      try {
        const pages = await allPages();
        expect(pages.map((p) => p.name)).toEqual([
          'login',
          'sign-up',
          'forgot password',
          'bad reset link',
          'authorize error',
          'consent',
          'device activation',
          'account',
          'reset',
        ]);
        for (const p of pages) {
          const text = textOf(p.html);
          expect(text, p.name).toContain('Acme Pets');
          expect(imgSources(p.html), p.name).toEqual([LOGO]);
          expect(cspSources(p.res, 'img-src'), p.name).toEqual([LOGO_ORIGIN]);
          expect(p.html.toLowerCase(), p.name).toContain('#1a2b3c');
          expect(text, p.name).toMatch(/Need help\?[^.]{0,40}help@acme\.example/);
        }
        // The error page titles stay what they are.
        expect(titleOf(pages[3]?.html as string)).toBe('Link not valid');
        // A sign-in for no application (the account page's) names the tenant, not "Sesame".
        const own = await open(new UserAgent(t), 'account sign-in', '/account');
        expect(own.html).toContain('<h1>Sign in to continue to Acme Pets</h1>');
        expect(pages[0]?.html).toMatch(/<h1>Sign in to continue to [^<]+<\/h1>/);
        expect(pages[0]?.html).not.toContain('continue to Acme Pets');
      } finally {
        expectStatus(
          await call('PATCH', '/tenants/settings', {
            body: { friendly_name: null, picture_url: null, primary_color: null, support_email: null },
          }),
          200,
        );
      }
    });

    it('a friendly_name with markup is shown as text, never as HTML', async () => {
      expectStatus(
        await call('PATCH', '/tenants/settings', { body: { friendly_name: 'Acme <b>Pets</b> & "Co"' } }),
        200,
      );
      try {
        const p = await open(new UserAgent(t), 'login', authorize(web.clientId));
        expect(p.html).not.toContain('<b>Pets</b>');
        expect(textOf(p.html)).toContain('Acme <b>Pets</b> & "Co"');
      } finally {
        expectStatus(await call('PATCH', '/tenants/settings', { body: { friendly_name: null } }), 200);
      }
    });
  });

  describe('the emails', { timeout: 12_000 }, () => {
    const check = (mail: ParsedMail, subject: string) => {
      expect(mail.subject).toBe(subject);
      expect(mail.text).toContain('Acme Pets');
      expect(typeof mail.html).toBe('string');
      expect(imgSources(mail.html as string)).toContain(LOGO);
      expect(textOf(mail.html as string)).toContain('Acme Pets');
    };

    it('the verification and reset emails carry the name and the logo', async () => {
      expectStatus(await call('PATCH', '/tenants/settings', { body: BRAND }), 200);
      try {
        const email = `brand-mail-${Math.random().toString(36).slice(2, 8)}@example.com`;
        const user = await createUser(t.rt.storage, t.clock, { email, password: PASSWORD });

        const job = await within(
          call('POST', '/jobs/verification-email', { body: { user_id: user.id } }),
          'job',
        );
        expectStatus(job, 201);
        check(
          await smtp.waitFor((m) => sentTo(m, email) && (m.subject ?? '').startsWith('Verify')),
          'Verify your email for Acme Pets',
        );

        const agent = new UserAgent(t);
        const forgot = await agent.get('/u/forgot-password');
        const html = await forgot.text();
        expect(forgot.status, html).toBe(200);
        const sent = await within(agent.post('/u/forgot-password', { csrf: csrfOf(html), email }), 'forgot');
        expect(sent.status).toBe(200);
        t.clock.advance(1); // the request is due a second later
        await t.rt.mail.deliverDue();
        check(
          await smtp.waitFor((m) => sentTo(m, email) && (m.subject ?? '').startsWith('Reset')),
          'Reset your password for Acme Pets',
        );
      } finally {
        expectStatus(
          await call('PATCH', '/tenants/settings', {
            body: { friendly_name: null, picture_url: null, primary_color: null, support_email: null },
          }),
          200,
        );
      }
    });

    it('without branding the emails say "Sesame" and carry no <img>', async () => {
      const email = `plain-mail-${Math.random().toString(36).slice(2, 8)}@example.com`;
      const user = await createUser(t.rt.storage, t.clock, { email, password: PASSWORD });
      expectStatus(
        await within(call('POST', '/jobs/verification-email', { body: { user_id: user.id } }), 'job'),
        201,
      );
      const mail = await smtp.waitFor((m) => sentTo(m, email));
      expect(mail.subject).toBe('Verify your email for Sesame');
      expect(imgSources(mail.html as string)).toEqual([]);
    });

    it('a friendly_name with markup is escaped in the HTML part', async () => {
      expectStatus(
        await call('PATCH', '/tenants/settings', { body: { friendly_name: 'Evil <img src=x>' } }),
        200,
      );
      try {
        const email = `evil-mail-${Math.random().toString(36).slice(2, 8)}@example.com`;
        const user = await createUser(t.rt.storage, t.clock, { email, password: PASSWORD });
        expectStatus(
          await within(call('POST', '/jobs/verification-email', { body: { user_id: user.id } }), 'job'),
          201,
        );
        const mail = await smtp.waitFor((m) => sentTo(m, email));
        expect(mail.subject).toBe('Verify your email for Evil <img src=x>');
        expect(mail.html as string).not.toContain('<img src=x>');
        expect(imgSources(mail.html as string)).toEqual([]);
      } finally {
        expectStatus(await call('PATCH', '/tenants/settings', { body: { friendly_name: null } }), 200);
      }
    });
  });
});
