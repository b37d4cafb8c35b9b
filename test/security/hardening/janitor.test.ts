// Issue #14 §8 (first half): expired rows were never deleted, so codes, interactions, sessions,
// device codes, revocations, access-token records, refresh tokens, login counters, known places
// and console sessions piled up for ever. `purgeExpired` (src/storage/janitor.ts) now deletes
// them in batches of 500 (used codes a day after they expire, so that a late replay still
// revokes; known places after 90 idle days; login counters once their window has passed and
// their lock has run out), and `sesame start` runs it every SESAME_JANITOR_INTERVAL seconds.
// Rows that have not expired stay, and keep working.
import BetterSqlite3 from 'better-sqlite3';
import { type Kysely, sql } from 'kysely';
import type * as client from 'openid-client';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { endUserTokens } from '../../../src/admin/revoke.js';
import type { ConfigInput } from '../../../src/config/schema.js';
import { purgeExpired } from '../../../src/storage/janitor.js';
import { sqliteFile } from '../../../src/storage/sql/index.js';
import { openPostgres } from '../../../src/storage/sql/postgres.js';
import type { Database } from '../../../src/storage/sql/schema.js';
import { openSqlite } from '../../../src/storage/sql/sqlite.js';
import type { ExpiringTable } from '../../../src/storage/types.js';
import { randomToken, sha256 } from '../../../src/util/crypto.js';
import { signedInAdmin } from '../../console/support.js';
import { eventually, killAll } from '../../e2e/process.js';
import { startDevice } from '../../protocol/device/device.js';
import type { UserAgent } from '../../protocol/sign-in/agent.js';
import { inInteraction } from '../../protocol/sign-in/agent.js';
import {
  activeFor,
  browser,
  CALLBACK,
  codeFor,
  newUser,
  sessionAlive,
  tokenRequest,
  webAuthorizationUrl,
  webConfig,
  webSignIn,
} from '../../protocol/sign-in/fixtures.js';
import { startTestApp, type TestApp } from '../../support/app.js';
import { describeEachBackend } from '../../support/databases.js';
import { launch, newApp, type Sesame } from '../rules/server.js';

const TABLES: ExpiringTable[] = [
  'authorization_codes',
  'interactions',
  'sessions',
  'device_codes',
  'revoked_tokens',
  'grant_tokens',
  'refresh_tokens',
  'login_attempts',
  'known_sign_ins',
  'console_sessions',
];
const DAY = 86_400;
/** The longest a row lives: a known place, 90 days after its last sign-in. */
const LONGEST = 90 * DAY;
const SCOPE = 'openid offline_access read:things';

type Counts = Record<ExpiringTable, number>;

/** A second connection to the app's database, to count rows as they are. */
function rawDatabase(t: TestApp): Kysely<Database> {
  const file = sqliteFile(t.rt.config);
  return file === null ? openPostgres(t.rt.config.databaseUrl as string, 2) : openSqlite(file);
}

async function countRows(db: Kysely<Database>, table: string, where = sql`1 = 1`): Promise<number> {
  const res = await sql<{
    n: number | string;
  }>`select count(*) as n from ${sql.table(table)} where ${where}`.execute(db);
  return Number(res.rows[0]?.n);
}

async function countAll(db: Kysely<Database>): Promise<Counts> {
  const out = {} as Counts;
  for (const table of TABLES) out[table] = await countRows(db, table);
  return out;
}

afterAll(() => killAll());

describeEachBackend('hardening: the janitor purges expired rows (#14 §8)', (backend) => {
  const cleanups: (() => Promise<void>)[] = [];
  afterEach(async () => {
    for (const done of cleanups.splice(0).reverse()) await done();
  });

  /** A fresh app on `backend` and a second connection to its database. */
  async function fresh(config: Partial<ConfigInput> = {}): Promise<{ t: TestApp; db: Kysely<Database> }> {
    const t = await startTestApp(backend, config);
    cleanups.push(() => t.close());
    const db = rawDatabase(t);
    cleanups.push(() => db.destroy());
    return { t, db };
  }

  const purge = (t: TestApp) => purgeExpired(t.rt.storage, t.rt.config, t.clock.now());

  /** A web application (with a consent page), an API with offline access, its openid-client config. */
  async function webApp(t: TestApp, skipConsent = false) {
    const api = await t.createApi({ allowOfflineAccess: true });
    const web = (await t.createApp({ name: 'Web', type: 'web', callbacks: [CALLBACK], skipConsent })) as {
      clientId: string;
      clientSecret: string;
    };
    return { api, web, config: await webConfig(t, web) };
  }

  const refresh = (t: TestApp, web: { clientId: string; clientSecret: string }, token: string) =>
    tokenRequest(t, {
      grant_type: 'refresh_token',
      refresh_token: token,
      client_id: web.clientId,
      client_secret: web.clientSecret,
    });

  /** Opens the login page of a new interaction in `agent` and submits a wrong password: 400. */
  async function failedLogin(agent: UserAgent, config: client.Configuration, email: string, status = 400) {
    const res = await agent.get((await webAuthorizationUrl(config)).url);
    expect(res.headers.get('location')).toEqual(inInteraction('/u/login'));
    const page = await agent.get('/u/login');
    const html = await page.text();
    expect(page.status, html).toBe(200);
    const csrf = /name="csrf" value="([^"]+)"/.exec(html)?.[1] as string;
    const answer = await agent.post('/u/login', { csrf, email, password: 'not the password' });
    expect(answer.status, await answer.text()).toBe(status);
  }

  it('after every lifetime has passed (plus a day), one purge takes each table back to where a fresh app started', async () => {
    const { t, db } = await fresh();
    const before = await countAll(db);
    const { api, web, config } = await webApp(t);

    // A sign-in with consent, a code exchange and two refresh rotations.
    const ada = await newUser(t);
    const { tokens } = await webSignIn(browser(t, ada.creds), config, {
      scope: SCOPE,
      audience: api.identifier,
    });
    const second = await refresh(t, web, tokens.refresh_token as string);
    expect(second.status, JSON.stringify(second.body)).toBe(200);
    expect((await refresh(t, web, second.body.refresh_token as string)).status).toBe(200);

    // A code replayed: what it gave is revoked (revoked_tokens).
    const bob = await newUser(t);
    const pending = await webAuthorizationUrl(config, { scope: SCOPE, audience: api.identifier });
    const code = await codeFor(browser(t, bob.creds), pending.url);
    const exchange = {
      grant_type: 'authorization_code',
      code,
      redirect_uri: CALLBACK,
      code_verifier: pending.verifier,
      client_id: web.clientId,
      client_secret: web.clientSecret,
    };
    const first = await tokenRequest(t, exchange);
    expect(first.status, JSON.stringify(first.body)).toBe(200);
    const replay = await tokenRequest(t, exchange);
    expect([replay.status, replay.body.error]).toEqual([400, 'invalid_grant']);
    expect(await activeFor(t, web, first.body.access_token as string)).toBe(false);

    // Device codes.
    const tv = await t.createApp({ name: 'TV', type: 'native' });
    await startDevice(t, tv);
    await startDevice(t, tv, { scope: 'openid' });

    // Failed logins (login_attempts), each leaving its interaction.
    await failedLogin(browser(t), config, ada.creds.email);
    await failedLogin(browser(t), config, 'nobody@example.com');

    // Anonymous authorization requests that stop at the login page.
    for (let i = 0; i < 3; i++) {
      const res = await browser(t).get((await webAuthorizationUrl(config)).url);
      expect(res.headers.get('location')).toEqual(inInteraction('/u/login'));
    }

    // An admin signed in to the console.
    await signedInAdmin(t);

    const grown = await countAll(db);
    for (const table of TABLES) expect(grown[table], table).toBeGreaterThan(before[table]);

    // Past every lifetime (the longest: a known place, 90 days), and a day more.
    t.clock.advance(LONGEST + DAY + 1);
    const purged = await purge(t);
    expect(await countAll(db)).toEqual(before);
    expect(purged).toEqual(Object.fromEntries(TABLES.map((table) => [table, grown[table] - before[table]])));
    // Nothing is left to purge.
    expect(await purge(t)).toEqual({});
  });

  it('rows that have not expired stay: a live session and a live refresh token still work after purges', async () => {
    const { t, db } = await fresh();
    const { api, web, config } = await webApp(t, true);
    const before = await countAll(db);
    const { creds } = await newUser(t);
    const agent = browser(t, creds);
    const { tokens } = await webSignIn(agent, config, { scope: SCOPE, audience: api.identifier });
    // an interaction left at the login page by another browser
    expect((await browser(t).get((await webAuthorizationUrl(config)).url)).status).toBe(303);
    const signedIn = await countAll(db);
    expect(signedIn.authorization_codes).toBe(before.authorization_codes + 1);
    expect(signedIn.sessions).toBe(before.sessions + 1);
    expect(signedIn.refresh_tokens).toBe(before.refresh_tokens + 1);
    expect(signedIn.interactions).toBeGreaterThan(before.interactions);

    // Two hours on: the interaction has expired and goes; the used code (expired after a minute)
    // is kept for a day; the session, the refresh token and the known place stay.
    t.clock.advance(2 * 3600);
    await purge(t);
    const later = await countAll(db);
    expect(later.interactions).toBe(before.interactions);
    expect(later.authorization_codes).toBe(signedIn.authorization_codes);
    expect(later.sessions).toBe(signedIn.sessions);
    expect(later.refresh_tokens).toBe(signedIn.refresh_tokens);
    expect(later.known_sign_ins).toBe(signedIn.known_sign_ins);

    // A day and a minute after the code expired, it goes; the live rows still stay, and work.
    t.clock.advance(DAY - 2 * 3600 + 61);
    await purge(t);
    const dayLater = await countAll(db);
    expect(dayLater.authorization_codes).toBe(before.authorization_codes);
    expect(dayLater.sessions).toBe(signedIn.sessions);
    expect(dayLater.refresh_tokens).toBe(signedIn.refresh_tokens);
    expect(dayLater.known_sign_ins).toBe(signedIn.known_sign_ins);
    expect(await sessionAlive(agent, config)).toBe(true);
    const rotated = await refresh(t, web, tokens.refresh_token as string);
    expect(rotated.status, JSON.stringify(rotated.body)).toBe(200);
    expect(await activeFor(t, web, rotated.body.access_token as string)).toBe(true);

    // And again after the purge that follows: the rotated-to token is live and works.
    await purge(t);
    expect(await activeFor(t, web, rotated.body.refresh_token as string)).toBe(true);
    expect((await refresh(t, web, rotated.body.refresh_token as string)).status).toBe(200);
  });

  it('a login counter whose window has passed stays while its lock runs; then it goes', async () => {
    const { t, db } = await fresh({
      login: { ipFailures: 2, window: 60, lockSeconds: 3600, accountFailures: 50, accountCeiling: 100 },
    });
    const { config } = await webApp(t, true);
    const { creds } = await newUser(t);
    const keys = async () =>
      (await sql<{ key: string }>`select key from login_attempts`.execute(db)).rows
        .map((r) => r.key.split(':')[0])
        .sort();
    await failedLogin(browser(t), config, creds.email);
    await failedLogin(browser(t), config, creds.email);
    // the address (every in-process request is one address) is now locked for an hour
    await failedLogin(browser(t), config, creds.email, 429);
    expect(await keys()).toEqual(['acct', 'ip', 'pair']);

    t.clock.advance(120);
    await purge(t);
    // the counters of the account went with their window; the address's lock still holds
    expect(await keys()).toEqual(['ip']);
    await failedLogin(browser(t), config, creds.email, 429);

    t.clock.advance(3600);
    await purge(t);
    expect(await keys()).toEqual([]);
    const flow = await browser(t, creds).signIn((await webAuthorizationUrl(config)).url);
    expect(flow.location?.searchParams.get('code')).toEqual(expect.any(String));
  });

  it("a refresh token that expired stays while the access token issued with it lives: ending the person's tokens still reaches it (#16)", async () => {
    // the refresh token's row records the access token issued beside it
    const { t, db } = await fresh({ refreshToken: { idleLifetime: 600 } });
    const api = await t.createApi({ allowOfflineAccess: true, tokenLifetime: 7200 });
    const web = (await t.createApp({
      name: 'Web',
      type: 'web',
      callbacks: [CALLBACK],
      skipConsent: true,
    })) as {
      clientId: string;
      clientSecret: string;
    };
    const before = await countRows(db, 'refresh_tokens');
    const { user, creds } = await newUser(t);
    const { tokens } = await webSignIn(browser(t, creds), await webConfig(t, web), {
      scope: SCOPE,
      audience: api.identifier,
    });
    expect(tokens.refresh_token).toEqual(expect.any(String));
    expect(await countRows(db, 'refresh_tokens')).toBe(before + 1);

    // past the refresh token's idle lifetime, not the access token's: the row stays
    t.clock.advance(601);
    await purge(t);
    expect(await countRows(db, 'refresh_tokens')).toBe(before + 1);
    expect(await activeFor(t, web, tokens.access_token)).toBe(true);
    await t.rt.storage.transaction((tx) => endUserTokens(tx, user.id, t.clock.now()));
    expect(await activeFor(t, web, tokens.access_token)).toBe(false);

    // once the access token has expired too, it goes
    t.clock.advance(7200);
    await purge(t);
    expect(await countRows(db, 'refresh_tokens')).toBe(before);
  });

  it('more than one batch: 1,200 expired interactions all go in one purge; live ones stay', async () => {
    const { t, db } = await fresh();
    const before = await countRows(db, 'interactions');
    const now = t.clock.now();
    const create = (expiresAt: number) =>
      t.rt.storage.interactions.create({
        idHash: sha256(randomToken(32)),
        csrf: randomToken(24),
        payload: { returnTo: '/activate' },
        expiresAt,
      });
    for (let i = 0; i < 1200; i += 100) {
      await Promise.all(Array.from({ length: 100 }, () => create(now + 60)));
    }
    for (let i = 0; i < 3; i++) await create(now + 3600);
    expect(await countRows(db, 'interactions')).toBe(before + 1203);

    t.clock.advance(61);
    const purged = await purge(t);
    expect(purged.interactions).toBe(1200);
    expect(await countRows(db, 'interactions')).toBe(before + 3);
  });
});

describe('hardening: `sesame start` runs the janitor every SESAME_JANITOR_INTERVAL seconds (#14 §8) [sqlite, process]', () => {
  let s: Sesame;
  let raw: BetterSqlite3.Database;

  beforeAll(async () => {
    s = await launch('sqlite', { env: { SESAME_JANITOR_INTERVAL: '1' } });
    // the server has migrated; a second connection (WAL) writes rows behind its back
    raw = new BetterSqlite3(s.db.url.slice('sqlite:'.length));
    raw.pragma('busy_timeout = 10000');
  });
  afterAll(async () => {
    raw?.close();
    await s?.stop();
  });

  it('expired interactions, device codes (a day after), revocations and login counters go within seconds; unexpired ones stay', async () => {
    const tv = await newApp(s, 'native');
    const now = Math.floor(Date.now() / 1000);
    const interaction = raw.prepare(
      'insert into interactions (id_hash, csrf, payload, expires_at) values (?, ?, ?, ?)',
    );
    const deviceCode = raw.prepare(
      `insert into device_codes (hash, user_code, client_id, payload, status, poll_interval, created_at, expires_at)
       values (?, ?, ?, '{}', 'pending', 5, ?, ?)`,
    );
    const revoked = raw.prepare('insert into revoked_tokens (jti, expires_at) values (?, ?)');
    const counter = raw.prepare(
      'insert into login_attempts (key, failures, window_start, locked_until) values (?, 1, ?, 0)',
    );
    const expired = {
      interaction: randomToken(16),
      device: randomToken(16),
      jti: randomToken(16),
      key: 'ip:192.0.2.1',
    };
    const live = {
      interaction: randomToken(16),
      device: randomToken(16),
      jti: randomToken(16),
      key: 'ip:192.0.2.2',
    };
    interaction.run(expired.interaction, 'c', '{}', now - 5);
    interaction.run(live.interaction, 'c', '{}', now + 3600);
    // A device code goes a day after it expires; until then a late poll hears expired_token.
    deviceCode.run(expired.device, 'BCDFGHJK', tv.clientId, now - 87_100, now - 86_405);
    deviceCode.run(live.device, 'LMNPQRST', tv.clientId, now - 700, now - 5);
    revoked.run(expired.jti, now - 5);
    revoked.run(live.jti, now + 3600);
    // the default window is 900 s
    counter.run(expired.key, now - 1000);
    counter.run(live.key, now);

    const left = () => ({
      interactions: raw
        .prepare('select id_hash from interactions where id_hash in (?, ?)')
        .all(expired.interaction, live.interaction),
      device_codes: raw
        .prepare('select hash from device_codes where hash in (?, ?)')
        .all(expired.device, live.device),
      revoked_tokens: raw
        .prepare('select jti from revoked_tokens where jti in (?, ?)')
        .all(expired.jti, live.jti),
      login_attempts: raw
        .prepare('select key from login_attempts where key in (?, ?)')
        .all(expired.key, live.key),
    });
    const remaining = await eventually(
      async () => {
        const rows = left();
        return Object.values(rows).every((r) => r.length === 1) ? rows : undefined;
      },
      10_000,
      'the janitor purges the expired rows',
    );
    expect(remaining).toEqual({
      interactions: [{ id_hash: live.interaction }],
      device_codes: [{ hash: live.device }],
      revoked_tokens: [{ jti: live.jti }],
      login_attempts: [{ key: live.key }],
    });
    // and the server is fine
    expect((await s.fetch(`${s.issuer}/readyz`)).status).toBe(200);
  }, 30_000);
});
