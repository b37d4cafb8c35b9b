// Issue #14 §7: the writes of one token response (refresh rotation, code exchange, device code
// exchange, password grant) were separate statements, so a failure half-way left a rotated
// refresh token with no successor, or a consumed code with no tokens. Now they commit together
// or not at all: an OAuth error answer commits what led to it (a consumed code, a revoked grant),
// any other failure rolls everything back. The failure here is a real one, made by the database
// itself: a trigger that refuses every INSERT into refresh_tokens.
import BetterSqlite3 from 'better-sqlite3';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sqliteFile } from '../../../src/storage/sql/index.js';
import type { Api } from '../../../src/storage/types.js';
import { sha256 } from '../../../src/util/crypto.js';
import { Activator, poll, startDevice } from '../../protocol/device/device.js';
import {
  activeFor,
  authorizationUrl,
  browser,
  CALLBACK,
  codeFor,
  expectTokenError,
  newUser,
  PASSWORD,
  s256,
  type TokenAnswer,
  tokenRequest,
} from '../../protocol/sign-in/fixtures.js';
import { startTestApp, type TestApp } from '../../support/app.js';
import { describeEachBackend } from '../../support/databases.js';

const VERIFIER = 'v'.repeat(43);
const SCOPE = 'openid offline_access read:things';

/** Runs SQL on the test app's database over a connection of its own. */
async function rawSql(t: TestApp, statements: string[]): Promise<void> {
  const file = sqliteFile(t.rt.config);
  if (file !== null) {
    const db = new BetterSqlite3(file);
    try {
      db.pragma('busy_timeout = 10000');
      for (const s of statements) db.exec(s);
    } finally {
      db.close();
    }
    return;
  }
  const c = new pg.Client({ connectionString: t.rt.config.databaseUrl as string });
  await c.connect();
  try {
    for (const s of statements) await c.query(s);
  } finally {
    await c.end();
  }
}

let triggers = 0;

/** Runs `fn` while the database refuses every INSERT into refresh_tokens; the trigger goes after. */
async function whileRefreshInsertsFail<T>(t: TestApp, fn: () => Promise<T>): Promise<T> {
  const name = `t_fail_${process.pid}_${++triggers}`;
  const sqlite = t.rt.storage.dialect === 'sqlite';
  await rawSql(
    t,
    sqlite
      ? [
          `CREATE TRIGGER ${name} BEFORE INSERT ON refresh_tokens BEGIN SELECT RAISE(ABORT, 'injected failure'); END;`,
        ]
      : [
          `CREATE FUNCTION ${name}_fn() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RAISE EXCEPTION 'injected failure'; END $$`,
          `CREATE TRIGGER ${name} BEFORE INSERT ON refresh_tokens FOR EACH ROW EXECUTE FUNCTION ${name}_fn()`,
        ],
  );
  try {
    return await fn();
  } finally {
    await rawSql(
      t,
      sqlite
        ? [`DROP TRIGGER IF EXISTS ${name}`]
        : [`DROP TRIGGER IF EXISTS ${name} ON refresh_tokens`, `DROP FUNCTION IF EXISTS ${name}_fn()`],
    );
  }
}

function expectServerError(answer: TokenAnswer): void {
  expectTokenError(answer, 500, 'server_error');
  expect(answer.body.access_token).toBeUndefined();
}

function expectOk(answer: TokenAnswer): { access: string; refresh: string } {
  expect(answer.status, JSON.stringify(answer.body)).toBe(200);
  expect(answer.body.access_token).toEqual(expect.any(String));
  expect(answer.body.refresh_token).toEqual(expect.any(String));
  return { access: answer.body.access_token as string, refresh: answer.body.refresh_token as string };
}

describeEachBackend('hardening: one transaction per token response (#14 §7)', (backend) => {
  let t: TestApp;
  let api: Api;
  let web: { clientId: string; clientSecret: string };
  let legacy: { clientId: string; clientSecret: string };
  let tv: { clientId: string };
  /** A resource server of the API: it may introspect any access token for it. */
  let rs: { clientId: string; clientSecret: string };

  beforeAll(async () => {
    t = await startTestApp(backend, { login: { accountFailures: 1000, ipFailures: 1000 } });
    api = await t.createApi({ allowOfflineAccess: true });
    web = (await t.createApp({
      name: 'Web',
      type: 'web',
      callbacks: [CALLBACK],
      skipConsent: true,
    })) as typeof web;
    legacy = (await t.createApp({
      name: 'Legacy',
      type: 'web',
      callbacks: ['https://legacy.example/cb'],
      grants: ['password', 'refresh_token'],
    })) as typeof legacy;
    tv = await t.createApp({ name: 'TV', type: 'native', callbacks: ['com.example.tv:/cb'] });
    rs = await t.createM2m(api);
  });
  afterAll(async () => t?.close());

  const secret = (app = web) => ({ client_id: app.clientId, client_secret: app.clientSecret });
  const refresh = (token: string) =>
    tokenRequest(t, { grant_type: 'refresh_token', refresh_token: token, ...secret() });
  const exchange = (code: string, extra: Record<string, string> = {}) =>
    tokenRequest(t, {
      grant_type: 'authorization_code',
      code,
      redirect_uri: CALLBACK,
      code_verifier: VERIFIER,
      ...secret(),
      ...extra,
    });
  const active = (token: string) => activeFor(t, web, token);
  /** The access tokens recorded for a grant (rows of grant_tokens). */
  const grantTokenRows = async (grantId: string) => (await t.rt.storage.grantTokens.list(grantId)).length;
  /** The access tokens recorded for a person, whatever the grant. */
  const userTokenRows = async (userId: string) =>
    (await t.rt.storage.grantTokens.listWhere({ userId }, t.clock.now())).length;

  /** A person and a fresh code for `web` (S256 challenge of VERIFIER). */
  async function newCode() {
    const { user, creds } = await newUser(t);
    const code = await codeFor(
      browser(t, creds),
      authorizationUrl(t, {
        client_id: web.clientId,
        redirect_uri: CALLBACK,
        scope: SCOPE,
        audience: api.identifier,
        code_challenge: s256(VERIFIER),
        code_challenge_method: 'S256',
      }),
    );
    return { userId: user.id, code };
  }

  describe('a database failure rolls the whole response back', () => {
    it('the trigger really fails the INSERT (the premise of the tests below)', async () => {
      const { user } = await newUser(t);
      const record = {
        hash: sha256(`probe-${user.id}`),
        familyId: `fam-${user.id}`,
        grantId: `grant-${user.id}`,
        clientId: web.clientId,
        userId: user.id,
        payload: {},
        createdAt: t.clock.now(),
        expiresAt: t.clock.now() + 60,
        familyExpiresAt: t.clock.now() + 60,
        rotatedAt: null,
        revokedAt: null,
      };
      await whileRefreshInsertsFail(t, async () => {
        await expect(t.rt.storage.refreshTokens.create(record)).rejects.toThrow(/injected failure/);
      });
      await t.rt.storage.refreshTokens.create(record);
      expect(await t.rt.storage.refreshTokens.get(record.hash)).not.toBeNull();
    });

    it('refresh: 500, RT1 is not marked rotated and no access token is recorded; then RT1 works', async () => {
      const { userId, code } = await newCode();
      const first = expectOk(await exchange(code));
      const rt1 = first.refresh;
      const grantId = (await t.rt.storage.refreshTokens.get(sha256(rt1)))!.grantId;
      const before = await grantTokenRows(grantId);
      expect(before).toBe(1);

      const failed = await whileRefreshInsertsFail(t, () => refresh(rt1));
      expectServerError(failed);

      const record = await t.rt.storage.refreshTokens.get(sha256(rt1));
      expect(record?.rotatedAt).toBeNull();
      expect(record?.revokedAt).toBeNull();
      expect(record?.successor ?? null).toBeNull();
      expect(await grantTokenRows(grantId)).toBe(before);
      expect(
        (await t.rt.storage.refreshTokens.listLive({ userId }, t.clock.now())).map((r) => r.hash),
      ).toEqual([sha256(rt1)]);

      const retried = expectOk(await refresh(rt1));
      expect(retried.refresh).not.toBe(rt1);
      expect(await grantTokenRows(grantId)).toBe(before + 1);
      expect(await active(first.access)).toBe(true);
      expect(await active(retried.access)).toBe(true);
      expect(
        (await t.rt.storage.refreshTokens.listLive({ userId }, t.clock.now())).map((r) => r.hash),
      ).toEqual([sha256(retried.refresh)]);
    });

    it('code exchange: 500 and the code is not consumed; the same exchange then answers 200', async () => {
      const { userId, code } = await newCode();
      const failed = await whileRefreshInsertsFail(t, () => exchange(code));
      expectServerError(failed);
      expect(await userTokenRows(userId)).toBe(0);
      expect(await t.rt.storage.refreshTokens.listLive({ userId }, t.clock.now())).toEqual([]);

      const retried = expectOk(await exchange(code));
      expect(await userTokenRows(userId)).toBe(1);
      expect(await active(retried.access)).toBe(true);
      expect(await active(retried.refresh)).toBe(true);
    });

    it('device code: 500 and the device code is not consumed; the next poll gets the tokens', async () => {
      const { user, creds } = await newUser(t);
      const person = await Activator.signIn(t, creds);
      const d = await startDevice(t, tv, { scope: SCOPE, audience: api.identifier });
      await person.approve(d.user_code);
      t.clock.advance(d.interval);

      const failed = await whileRefreshInsertsFail(t, () => poll(t, tv, d.device_code));
      expectServerError(failed);
      expect(await userTokenRows(user.id)).toBe(0);
      expect((await t.rt.storage.deviceCodes.get(sha256(d.device_code)))?.status).toBe('approved');

      t.clock.advance(d.interval);
      const retried = expectOk(await poll(t, tv, d.device_code));
      expect(await userTokenRows(user.id)).toBe(1);
      expect(await activeFor(t, rs, retried.access)).toBe(true);
      expectTokenError(await poll(t, tv, d.device_code), 400, 'invalid_grant');
    });

    it('password grant: 500 and no access token is recorded; then the same request answers 200', async () => {
      const { user, creds } = await newUser(t);
      const request = () =>
        tokenRequest(t, {
          grant_type: 'password',
          username: creds.email,
          password: PASSWORD,
          scope: SCOPE,
          audience: api.identifier,
          ...secret(legacy),
        });
      const failed = await whileRefreshInsertsFail(t, request);
      expectServerError(failed);
      expect(await userTokenRows(user.id)).toBe(0);
      expect(await t.rt.storage.refreshTokens.listLive({ userId: user.id }, t.clock.now())).toEqual([]);

      const retried = expectOk(await request());
      expect(await userTokenRows(user.id)).toBe(1);
      expect(await activeFor(t, rs, retried.access)).toBe(true);
      expect(await activeFor(t, legacy, retried.refresh)).toBe(true);
    });
  });

  describe('an OAuth error commits what led to it', () => {
    it('a code exchanged with a wrong verifier stays consumed: the right verifier is refused after', async () => {
      const { userId, code } = await newCode();
      expectTokenError(await exchange(code, { code_verifier: 'w'.repeat(43) }), 400, 'invalid_grant');
      expectTokenError(await exchange(code), 400, 'invalid_grant');
      expect(await userTokenRows(userId)).toBe(0);
    });

    it('a code replay revokes the tokens of the first exchange', async () => {
      const { code } = await newCode();
      const first = expectOk(await exchange(code));
      const rotated = expectOk(await refresh(first.refresh));
      for (const token of [first.access, rotated.access, rotated.refresh])
        expect(await active(token)).toBe(true);

      expectTokenError(await exchange(code), 400, 'invalid_grant');

      for (const token of [first.access, rotated.access, rotated.refresh])
        expect(await active(token)).toBe(false);
      expectTokenError(await refresh(first.refresh), 400, 'invalid_grant');
      expectTokenError(await refresh(rotated.refresh), 400, 'invalid_grant');
    });
  });
});
