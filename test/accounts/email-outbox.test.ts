// Issue #15, email: every message goes through the durable `outbox` table and is delivered
// asynchronously; without SMTP each one is written as an .eml file (mode 0600) to DATA_DIR/outbox;
// with SMTP it arrives as multipart/alternative (text + HTML) from email.from, branded with the
// tenant's name and logo, its links built on the issuer whatever Host the request named. An SMTP
// outage or a crashed sender loses nothing: the message stays pending and goes out later
// (backoff 30 s, doubling, measured on rt.clock).
import { mkdirSync, readdirSync, readFileSync, rmSync, statSync, watch } from 'node:fs';
import { join } from 'node:path';
import { simpleParser } from 'mailparser';
import pino from 'pino';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { updateSettings } from '../../src/admin/settings.js';
import { createUser } from '../../src/admin/users.js';
import { Mailer } from '../../src/email/mailer.js';
import { createServer } from '../../src/server.js';
import { csrfOf, parseSetCookie, UserAgent } from '../protocol/sign-in/agent.js';
import { startTestApp, type TestApp } from '../support/app.js';
import { describeEachBackend } from '../support/databases.js';
import {
  addressesOf,
  linkIn,
  type OutboxRow,
  outboxRows,
  type ParsedMail,
  sentTo,
  startSmtp,
  type TestSmtp,
} from '../support/smtp.js';

const PASSWORD = 'correct horse battery 7';
const FROM = 'Acme Accounts <accounts@mail.acme.example>';
const LOGO = 'https://cdn.acme.example/brand/logo.png';
const HOSTILE = 'evil.example';

let people = 0;
const newEmail = (tag: string) => `${tag}${++people}-${Math.random().toString(36).slice(2, 8)}@example.com`;

/** Every URL in a text. */
const urlsIn = (text: string) => [...text.matchAll(/https?:\/\/[^\s<>"')\]]+/g)].map((m) => m[0]);
/** Every href and src of an HTML part. */
const refsIn = (html: string) => [...html.matchAll(/\b(?:href|src)="([^"]*)"/g)].map((m) => m[1] as string);

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Waits until `check` returns a value that is not undefined (polling every 20 ms, for at most `ms`). */
async function until<T>(what: string, check: () => Promise<T | undefined>, ms = 5000): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = await check();
    if (v !== undefined) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await sleep(20);
  }
}

/** Sesame reached from `ip`, with a new server over the app's runtime. */
function at(t: TestApp, server: ReturnType<typeof createServer>, ip: string): TestApp {
  const env = { incoming: { socket: { remoteAddress: ip } } };
  const fetch = async (input: string | URL | Request, init?: RequestInit) =>
    server.fetch(input instanceof Request && !init ? input : new Request(input, init), env);
  return { ...t, fetch };
}

let hosts = 0;
const address = () => {
  hosts++;
  return `10.25.${Math.floor(hosts / 250)}.${(hosts % 250) + 1}`;
};

/** Asks for a password reset for `email` through the forgot-password form; the page's status. */
async function forgot(t: TestApp, server: ReturnType<typeof createServer>, email: string): Promise<number> {
  const agent = new UserAgent(at(t, server, address()));
  const form = await agent.get('/u/forgot-password');
  const html = await form.text();
  expect(form.status, html.slice(0, 1000)).toBe(200);
  const res = await agent.post('/u/forgot-password', { csrf: csrfOf(html), email });
  const body = await res.text();
  expect(res.status, body.slice(0, 1000)).toBe(200);
  // the account is looked up off the request: the request is due a second later
  t.clock.advance(1);
  await t.rt.mail.deliverDue();
  return res.status;
}

const stopMail = async (t: TestApp | undefined) =>
  (t?.rt as { mail?: { stop(): Promise<void> } } | undefined)?.mail?.stop();

describeEachBackend('accounts: email outbox without SMTP (.eml files) (#15)', (backend) => {
  let t: TestApp;
  let server: ReturnType<typeof createServer>;

  beforeAll(async () => {
    t = await startTestApp(backend);
    server = createServer(t.rt);
  });
  afterAll(async () => {
    await stopMail(t);
    await t?.close();
  });

  const outboxDir = () => join(t.rt.config.dataDir, 'outbox');
  /** A second sender over the same outbox, with its own logger. */
  const sideMailer = (logger = pino({ level: 'silent' })) =>
    new Mailer({
      storage: t.rt.storage,
      config: t.rt.config,
      clock: t.clock,
      logger,
      encryptionKey: t.rt.encryptionKey,
    });
  const emlFiles = () => {
    try {
      return readdirSync(outboxDir()).filter((f) => f.endsWith('.eml'));
    } catch {
      return [];
    }
  };

  it('writes each message as a private .eml file in DATA_DIR/outbox, parseable, with text and HTML', async () => {
    const email = newEmail('eml');
    await createUser(t.rt.storage, t.clock, { email, password: PASSWORD });
    const before = new Set(emlFiles());
    await forgot(t, server, email);
    const mail = await until('an .eml file for the reset email', async () => {
      for (const f of emlFiles()) {
        if (before.has(f)) continue;
        const parsed = await simpleParser(readFileSync(join(outboxDir(), f)));
        if (sentTo(parsed, email)) return { file: f, parsed };
      }
      return undefined;
    });
    const mode = statSync(join(outboxDir(), mail.file)).mode & 0o777;
    expect(mode.toString(8)).toBe('600');
    const m = mail.parsed;
    expect(m.subject).toBe('Reset your password for Sesame');
    expect(m.headers.get('content-type')).toEqual(
      expect.objectContaining({ value: 'multipart/alternative' }),
    );
    expect(m.text).toEqual(expect.any(String));
    expect(m.html).toEqual(expect.any(String));
    // the default From: Sesame <no-reply@HOST-of-issuer>
    expect(addressesOf(m.from)).toEqual(['no-reply@sesame.test']);
    expect((m.from?.value[0]?.name ?? '').trim()).toBe('Sesame');
    const link = linkIn(m, '/u/reset-password');
    expect(link).toMatch(/^https:\/\/sesame\.test\/u\/reset-password\?ticket=[^&\s]+$/);
    // the link is on its own line of the text part, and in an <a href> of the HTML part
    expect((m.text as string).split(/\r?\n/).map((l) => l.trim())).toContain(link);
    expect(m.html as string).toContain(`href="${(link as string).replace(/&/g, '&amp;')}"`);
    // the link works
    const page = await new UserAgent(at(t, server, address())).get(link as string);
    expect(page.status).toBe(200);
    // and the outbox row is marked sent
    const rows = await outboxRows(t.rt.config.databaseUrl as string, email);
    expect(rows.map((r) => [r.kind, r.status])).toEqual([['password_reset', 'sent']]);
  });

  it('logs the links of each message written to a file, at info level', async () => {
    const lines: Record<string, unknown>[] = [];
    const logger = pino(
      { level: 'info' },
      { write: (line: string) => void lines.push(JSON.parse(line) as Record<string, unknown>) },
    );
    // a second sender over the same outbox, with a logger this test reads
    const mailer = sideMailer(logger);
    const to = newEmail('logged');
    const link = 'https://sesame.test/u/reset-password?ticket=logged-link-0123456789';
    await t.rt.storage.transaction((tx) =>
      mailer.enqueue(tx, 'password_reset', to, {
        subject: 'Reset your password for Sesame',
        text: `Sesame\n\nOpen this:\n\n${link}\n`,
        html: `<p><a href="${link}">Reset</a></p>`,
      }),
    );
    expect(await mailer.deliverDue()).toBe(1);
    await mailer.stop();
    const entry = lines.find((l) => JSON.stringify(l).includes(link));
    expect(entry, JSON.stringify(lines)).toBeDefined();
    expect(entry?.level).toBe(30);
    const file = emlFiles().find((f) => readFileSync(join(outboxDir(), f), 'utf8').includes(to));
    expect(file).toBeDefined();
  });

  it('runs a queued request by its handler a second later at the earliest: retried when it fails, sealed at rest, never sent as mail', async () => {
    const lines: Record<string, unknown>[] = [];
    const logger = pino(
      { level: 'info' },
      { write: (line: string) => void lines.push(JSON.parse(line) as Record<string, unknown>) },
    );
    const mailer = sideMailer(logger);
    const email = newEmail('asked');
    const before = new Set(emlFiles());
    const seen: unknown[] = [];
    let fail = true;
    mailer.handle('password_reset_request', async (payload) => {
      seen.push(payload);
      if (fail) throw new Error('the database went away');
    });
    const queue = () =>
      t.rt.storage.transaction((tx) =>
        mailer.enqueueRequest(tx, 'password_reset_request', { email, origin: { ip: '10.9.9.9' } }),
      );
    // the runtime's own outbox may still look once after earlier tests' requests (1 to 2 s
    // later); it would run this test's requests with the real handler
    await new Promise((done) => setTimeout(done, 2100));
    await t.rt.mail.deliverDue();
    const id = await queue();
    // durable before anything ran: a row with no address, the payload sealed
    const row = (await outboxRows(t.rt.config.databaseUrl as string)).find((r) => r.id === id);
    expect(row).toMatchObject({ kind: 'password_reset_request', to_address: '', status: 'pending_request' });
    expect(JSON.stringify(await t.rt.storage.outbox.get(id))).not.toContain(email);
    // not due before a second has passed
    expect(await mailer.deliverDue()).toBe(0);
    expect(seen).toEqual([]);
    t.clock.advance(1);
    // a failed run is retried later, like a delivery, and logged
    expect(await mailer.deliverDue()).toBe(0);
    expect((await t.rt.storage.outbox.get(id))?.status).toBe('pending_request');
    expect(
      lines.some((l) => l.id === id && l.level === 40),
      JSON.stringify(lines),
    ).toBe(true);
    fail = false;
    t.clock.advance(60);
    expect(await mailer.deliverDue()).toBe(0); // a request is no email sent
    expect((await t.rt.storage.outbox.get(id))?.status).toBe('sent');
    expect(seen).toEqual([
      { email, origin: { ip: '10.9.9.9' } },
      { email, origin: { ip: '10.9.9.9' } },
    ]);
    // no handler in this process: the request fails there, and is retried (by one that has it)
    const bare = sideMailer();
    const other = await queue();
    t.clock.advance(1);
    await bare.deliverDue();
    expect((await t.rt.storage.outbox.get(other))?.status).toBe('pending_request');
    t.clock.advance(60);
    await mailer.deliverDue();
    expect((await t.rt.storage.outbox.get(other))?.status).toBe('sent');
    // settled in the handler's own transaction, it runs once, even if the handler fails after
    // (a crash between its work and the outbox's own mark): never again
    let runs = 0;
    const once = sideMailer();
    once.handle('password_reset_request', async (_payload, settle) => {
      runs++;
      await t.rt.storage.transaction((tx) => settle(tx));
      throw new Error('gone after the commit');
    });
    const third = await queue();
    t.clock.advance(1);
    await once.deliverDue();
    t.clock.advance(3600);
    await once.deliverDue();
    expect(runs).toBe(1);
    expect((await t.rt.storage.outbox.get(third))?.status).toBe('sent');
    expect(emlFiles().filter((f) => !before.has(f))).toEqual([]);
    await Promise.all([mailer.stop(), bare.stop(), once.stop()]);
  });

  it('never shows a reader a half-written .eml file (written aside, then renamed)', async () => {
    mkdirSync(outboxDir(), { recursive: true });
    const seen: { file: string; whole: boolean }[] = [];
    // read each .eml file the moment its name appears, as a tool watching the directory would
    const watcher = watch(outboxDir(), (_event, name) => {
      if (!name?.endsWith('.eml')) return;
      try {
        const text = readFileSync(join(outboxDir(), name), 'utf8');
        seen.push({ file: name, whole: /^To: /m.test(text) && text.includes('watched-link-end') });
      } catch {
        // gone again: not a reader's problem
      }
    });
    const mailer = sideMailer();
    try {
      const body = `${'Sesame '.repeat(20_000)}https://sesame.test/u/reset-password?ticket=watched-link-end\n`;
      for (let i = 0; i < 8; i++) {
        await t.rt.storage.transaction((tx) =>
          mailer.enqueue(tx, 'password_reset', newEmail('watched'), {
            subject: 'Reset',
            text: body,
            html: '<p>x</p>',
          }),
        );
      }
      expect(await mailer.deliverDue()).toBe(8);
      await sleep(100);
    } finally {
      watcher.close();
      await mailer.stop();
    }
    expect(seen.length).toBeGreaterThan(0);
    expect(seen.filter((s) => !s.whole)).toEqual([]);
    expect(readdirSync(outboxDir()).filter((f) => f.endsWith('.partial'))).toEqual([]);
  });

  it('leaves no half-written file behind when a message cannot be written, and writes it on a later try', async () => {
    const mailer = sideMailer();
    const to = newEmail('blocked');
    try {
      await t.rt.storage.transaction((tx) =>
        mailer.enqueue(tx, 'password_reset', to, {
          subject: 'Reset',
          text: 'blocked-body',
          html: '<p>x</p>',
        }),
      );
      const [row] = await outboxRows(t.rt.config.databaseUrl as string, to);
      // a directory where the file must go: the rename fails after the message was written aside
      const target = join(outboxDir(), `${row!.created_at}-${row!.id}.eml`);
      mkdirSync(target, { recursive: true });
      expect(await mailer.deliverDue()).toBe(0);
      expect(readdirSync(outboxDir()).filter((f) => f.endsWith('.partial'))).toEqual([]);
      expect((await outboxRows(t.rt.config.databaseUrl as string, to)).map((r) => r.status)).toEqual([
        'pending',
      ]);
      rmSync(target, { recursive: true });
      t.clock.advance(3600);
      expect(await mailer.deliverDue()).toBe(1);
      expect(readFileSync(target, 'utf8')).toContain('blocked-body');
    } finally {
      await mailer.stop();
    }
  });

  it('writes one file per message', async () => {
    const emails = [newEmail('eml'), newEmail('eml')];
    for (const email of emails) await createUser(t.rt.storage, t.clock, { email, password: PASSWORD });
    const before = new Set(emlFiles());
    for (const email of emails) await forgot(t, server, email);
    const fresh = await until('two new .eml files', async () => {
      const f = emlFiles().filter((x) => !before.has(x));
      return f.length >= 2 ? f : undefined;
    });
    expect(fresh).toHaveLength(2);
    const to = await Promise.all(
      fresh.map(async (f) => addressesOf((await simpleParser(readFileSync(join(outboxDir(), f)))).to)),
    );
    expect(to.flat().sort()).toEqual([...emails].sort());
  });
});

describeEachBackend('accounts: email through SMTP (#15)', (backend) => {
  let t: TestApp;
  let smtp: TestSmtp;
  let server: ReturnType<typeof createServer>;

  beforeAll(async () => {
    smtp = await startSmtp();
    t = await startTestApp(backend, { email: { smtpUrl: smtp.url, from: FROM } } as never);
    server = createServer(t.rt);
  });
  afterAll(async () => {
    await stopMail(t);
    await t?.close();
    await smtp?.stop();
  });

  const resetMail = (email: string) =>
    smtp.waitFor((m) => sentTo(m, email) && /^Reset your password for /.test(m.subject ?? ''));

  it('delivers a multipart/alternative message from email.from, with a text and an HTML part', async () => {
    const email = newEmail('smtp');
    await createUser(t.rt.storage, t.clock, { email, password: PASSWORD });
    await forgot(t, server, email);
    const m = await resetMail(email);
    expect(m.subject).toBe('Reset your password for Sesame');
    expect(m.headers.get('content-type')).toEqual(
      expect.objectContaining({ value: 'multipart/alternative' }),
    );
    expect(addressesOf(m.from)).toEqual(['accounts@mail.acme.example']);
    expect(m.from?.value[0]?.name).toBe('Acme Accounts');
    expect(addressesOf(m.to)).toEqual([email]);
    expect(m.text).toContain('Sesame');
    expect(m.html).toContain('Sesame');
    expect(m.html as string).not.toMatch(/<img\b/);
    const link = linkIn(m, '/u/reset-password');
    expect(link).toMatch(/^https:\/\/sesame\.test\/u\/reset-password\?ticket=[^&\s]+$/);
    const rows = await until('the outbox row marked sent', async () => {
      const r = await outboxRows(t.rt.config.databaseUrl as string, email);
      return r.length === 1 && r[0]?.status === 'sent' ? r : undefined;
    });
    expect(rows[0]).toEqual(expect.objectContaining({ kind: 'password_reset', attempts: 1 }));
  });

  it("carries the tenant's friendly_name and logo", async () => {
    await updateSettings(t.rt.storage, t.clock, { friendly_name: 'Acme Corp', picture_url: LOGO });
    try {
      const email = newEmail('brand');
      await createUser(t.rt.storage, t.clock, { email, password: PASSWORD });
      await forgot(t, server, email);
      const m = await resetMail(email);
      expect(m.subject).toBe('Reset your password for Acme Corp');
      expect(m.text).toContain('Acme Corp');
      expect(m.html).toContain('Acme Corp');
      const imgs = [...(m.html as string).matchAll(/<img\b[^>]*\bsrc="([^"]*)"/g)].map((x) => x[1]);
      expect(imgs).toContain(LOGO);
    } finally {
      await updateSettings(t.rt.storage, t.clock, { friendly_name: null, picture_url: null });
    }
  });

  it('builds every link on the issuer, even when the request named a hostile Host', async () => {
    const email = newEmail('host');
    await createUser(t.rt.storage, t.clock, { email, password: PASSWORD });
    const hostile = {
      host: HOSTILE,
      'x-forwarded-host': HOSTILE,
      'x-forwarded-proto': 'http',
      forwarded: `host=${HOSTILE};proto=http`,
    };
    const app = at(t, server, address());
    const form = await app.fetch(`https://${HOSTILE}/u/forgot-password`, { headers: hostile });
    const html = await form.text();
    expect(form.status, html.slice(0, 500)).toBe(200);
    const cookie = form.headers
      .getSetCookie()
      .map((h) => parseSetCookie(h))
      .map((c) => `${c.name}=${c.value}`)
      .join('; ');
    const res = await app.fetch(`https://${HOSTILE}/u/forgot-password`, {
      method: 'POST',
      headers: {
        ...hostile,
        ...(cookie ? { cookie } : {}),
        'content-type': 'application/x-www-form-urlencoded',
      },
      body: new URLSearchParams({ csrf: csrfOf(html), email }).toString(),
    });
    expect(res.status, (await res.text()).slice(0, 500)).toBe(200);
    t.clock.advance(1); // the request is due a second later
    await t.rt.mail.deliverDue();
    const m = await resetMail(email);
    const links = [
      ...urlsIn(m.text as string),
      ...refsIn(m.html as string).filter((r) => /^https?:/.test(r)),
    ];
    expect(links.length).toBeGreaterThan(0);
    for (const l of links) expect(l.startsWith('https://sesame.test/'), l).toBe(true);
    expect(`${m.text}\n${m.html}`).not.toContain(HOSTILE);
    expect(linkIn(m, '/u/reset-password')).toMatch(/^https:\/\/sesame\.test\/u\/reset-password\?ticket=/);
  });

  it('sends a verification email (Management API job) with its own subject and link', async () => {
    const { managementToken, caller } = await import('../management/support.js');
    const email = newEmail('verify');
    const user = await createUser(t.rt.storage, t.clock, { email, password: PASSWORD });
    const call = caller(t, (await managementToken(t, ['update:users', 'read:users'])).token);
    const job = await call('POST', '/jobs/verification-email', { body: { user_id: user.id } });
    expect(job.status, job.text).toBe(201);
    const m = await smtp.waitFor((x) => sentTo(x, email));
    expect(m.subject).toBe('Verify your email for Sesame');
    expect(m.headers.get('content-type')).toEqual(
      expect.objectContaining({ value: 'multipart/alternative' }),
    );
    expect(linkIn(m, '/u/email-verification')).toMatch(
      /^https:\/\/sesame\.test\/u\/email-verification\?ticket=[^&\s]+$/,
    );
    expect(m.html).toContain('https://sesame.test/u/email-verification?ticket=');
  });
});

describeEachBackend('accounts: email survives an SMTP outage and a crashed sender (#15)', (backend) => {
  let t: TestApp;
  let smtp: TestSmtp;
  let server: ReturnType<typeof createServer>;

  beforeAll(async () => {
    smtp = await startSmtp();
    // with a login, as most mail services want
    const smtpUrl = smtp.url.replace('smtp://', 'smtp://sesame:app-password@');
    t = await startTestApp(backend, { email: { smtpUrl } } as never);
    server = createServer(t.rt);
  });
  afterAll(async () => {
    await stopMail(t);
    await t?.close();
    await smtp?.stop();
  });

  const rowsTo = (email: string) => outboxRows(t.rt.config.databaseUrl as string, email);
  /** The one outbox row to `email` once `pred` holds for it. */
  const rowWhen = (email: string, what: string, pred: (r: OutboxRow) => boolean) =>
    until(what, async () => {
      const rows = await rowsTo(email);
      return rows.length === 1 && pred(rows[0] as OutboxRow) ? (rows[0] as OutboxRow) : undefined;
    });
  const mailTo = (email: string, timeoutMs?: number): Promise<ParsedMail> =>
    smtp.waitFor((m) => sentTo(m, email), timeoutMs);

  it('keeps a message pending while SMTP is down, retries with backoff, and delivers it when SMTP is back', async () => {
    const email = newEmail('outage');
    await createUser(t.rt.storage, t.clock, { email, password: PASSWORD });
    await smtp.stop();
    try {
      // the request is not blocked or failed by the outage
      expect(await forgot(t, server, email)).toBe(200);
      const first = await rowWhen(
        email,
        'a failed first attempt',
        (r) => r.attempts === 1 && r.last_error !== null,
      );
      expect(first.status).toBe('pending');
      expect(first.sent_at).toBeNull();
      expect(first.next_attempt_at).toBe(t.clock.now() + 30);
      // not due yet: nothing is tried
      expect(await t.rt.mail.deliverDue()).toBe(0);
      expect((await rowsTo(email))[0]?.attempts).toBe(1);
      // due, but SMTP still down: the backoff doubles
      t.clock.advance(31);
      expect(await t.rt.mail.deliverDue()).toBe(0);
      const second = await rowWhen(email, 'a failed second attempt', (r) => r.attempts === 2);
      expect(second.status).toBe('pending');
      expect(second.next_attempt_at).toBe(t.clock.now() + 60);
    } finally {
      await smtp.restart();
    }
    // SMTP is back, but the message waits for its backoff
    t.clock.advance(30);
    expect(await t.rt.mail.deliverDue()).toBe(0);
    await sleep(100);
    expect(smtp.messages.filter((m) => sentTo(m, email))).toHaveLength(0);
    t.clock.advance(31);
    expect(await t.rt.mail.deliverDue()).toBe(1);
    const m = await mailTo(email);
    expect(m.subject).toBe('Reset your password for Sesame');
    expect(linkIn(m, '/u/reset-password')).toMatch(/^https:\/\/sesame\.test\/u\/reset-password\?ticket=/);
    const sent = await rowWhen(email, 'the row marked sent', (r) => r.status === 'sent');
    expect(sent.attempts).toBe(3);
    // sent once only
    expect(await t.rt.mail.deliverDue()).toBe(0);
    await sleep(100);
    expect(smtp.messages.filter((x) => sentTo(x, email))).toHaveLength(1);
  });

  it('a login the mail server refuses (535) is the setup to mend: the message waits, and goes out once it is', async () => {
    const email = newEmail('login');
    await createUser(t.rt.storage, t.clock, { email, password: PASSWORD });
    smtp.refuse.auth = 535;
    try {
      expect(await forgot(t, server, email)).toBe(200);
      const first = await rowWhen(email, 'a refused login', (r) => r.attempts === 1 && r.last_error !== null);
      expect(first.status).toBe('pending');
      expect(first.last_error).toMatch(/535/);
      expect(first.next_attempt_at).toBe(t.clock.now() + 30);
    } finally {
      delete smtp.refuse.auth;
    }
    // the run that failed has ended (it would take the message once due), and nothing is due yet
    expect(await t.rt.mail.deliverDue()).toBe(0);
    t.clock.advance(31);
    expect(await t.rt.mail.deliverDue()).toBe(1);
    expect(linkIn(await mailTo(email), '/u/reset-password')).toMatch(/\/u\/reset-password\?ticket=/);
    expect((await rowWhen(email, 'sent', (r) => r.status === 'sent')).attempts).toBe(2);
  });

  it('a recipient the mail server refuses (550 at RCPT TO) is given up at once: trying again cannot help', async () => {
    const email = newEmail('nobox');
    await createUser(t.rt.storage, t.clock, { email, password: PASSWORD });
    smtp.refuse.rcpt = 550;
    try {
      expect(await forgot(t, server, email)).toBe(200);
      const row = await rowWhen(email, 'given up', (r) => r.status === 'failed');
      expect([row.attempts, row.sent_at]).toEqual([1, null]);
      expect(row.last_error).toMatch(/550/);
    } finally {
      delete smtp.refuse.rcpt;
    }
    t.clock.advance(3600);
    expect(await t.rt.mail.deliverDue()).toBe(0);
  });

  it('the link of a late message still works when it arrives within the hour', async () => {
    const email = newEmail('late');
    await createUser(t.rt.storage, t.clock, { email, password: PASSWORD });
    await smtp.stop();
    try {
      await forgot(t, server, email);
      await rowWhen(email, 'a failed attempt', (r) => r.attempts === 1 && r.status === 'pending');
    } finally {
      await smtp.restart();
    }
    t.clock.advance(31);
    expect(await t.rt.mail.deliverDue()).toBe(1);
    const link = linkIn(await mailTo(email), '/u/reset-password');
    const page = await new UserAgent(at(t, server, address())).get(link as string);
    expect(page.status).toBe(200);
  });

  it('a message claimed by a sender that never finished goes out again after the lease', async () => {
    const email = newEmail('crash');
    await createUser(t.rt.storage, t.clock, { email, password: PASSWORD });
    // park the message: the first attempt fails while SMTP is down
    await smtp.stop();
    try {
      await forgot(t, server, email);
      await rowWhen(email, 'a failed attempt', (r) => r.attempts === 1 && r.status === 'pending');
    } finally {
      await smtp.restart();
    }
    const row = (await rowsTo(email))[0] as OutboxRow;
    t.clock.advance(31);
    // another instance claims it, then dies before sending
    const lease = 300;
    const claimed = await t.rt.storage.outbox.claim(t.clock.now(), lease);
    expect(claimed?.id).toBe(row.id);
    // while the claim holds, this instance leaves it alone
    expect(await t.rt.mail.deliverDue()).toBe(0);
    t.clock.advance(lease - 10);
    expect(await t.rt.mail.deliverDue()).toBe(0);
    await sleep(100);
    expect(smtp.messages.filter((m) => sentTo(m, email))).toHaveLength(0);
    // the lease is over: the message goes out
    t.clock.advance(11);
    expect(await t.rt.mail.deliverDue()).toBe(1);
    await mailTo(email);
    const sent = await rowWhen(email, 'the row marked sent', (r) => r.status === 'sent');
    expect(sent.attempts).toBe(3);
  });
});
