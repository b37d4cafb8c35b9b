import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createUser } from '../../src/admin/users.js';
import { parseConfig } from '../../src/config/load.js';
import { openRuntime, type Runtime } from '../../src/runtime.js';
import { createServer } from '../../src/server.js';
import { systemClock } from '../../src/util/clock.js';
import { assertBuilt, type CliResult, runCli, runCliJson } from '../e2e/process.js';
import { createTestDatabase, describeEachBackend, type TestDatabase } from '../support/databases.js';

/** `sesame apps create --grant …`: per-type grant switches (GRANTS_BY_TYPE), through the real binary. */

type Env = Record<string, string | undefined>;

interface AppView {
  client_id: string;
  name: string;
  type: string;
  grant_types: string[];
  client_secret?: string;
}

const DEVICE_CODE = 'urn:ietf:params:oauth:grant-type:device_code';
const CALLBACK = 'https://rp.example/cb';
const NATIVE_CALLBACK = 'com.example.app:/cb';
const PASSWORD = 'correct horse battery staple';

/** A client_id as the last argument, after `--` (an id may start with '-'). */
const idArg = (id: string) => ['--', id];

/** A failed command: non-zero exit, nothing on stdout, one `error:` line naming the problem, no stack. */
function expectFailure(res: CliResult, message: RegExp): void {
  expect(res.code, `stdout: ${res.stdout}\nstderr: ${res.stderr}`).not.toBe(0);
  expect(res.stdout).toBe('');
  expect(res.stderr).toMatch(/^error: /);
  expect(res.stderr).toMatch(message);
  expect(res.stderr).not.toMatch(/\n\s+at /);
}

beforeAll(() => assertBuilt());

describeEachBackend('sesame apps create --grant', (backend) => {
  let db: TestDatabase;
  let env: Env;

  beforeAll(async () => {
    db = await createTestDatabase(backend);
    env = { SESAME_DATA_DIR: db.dataDir, SESAME_DATABASE_URL: db.url, SESAME_LOG_LEVEL: 'warn' };
    // the data dir's secret and the schema first, alone (concurrent first runs would race)
    const migrated = await runCli(['migrate', '--json'], env);
    expect(migrated.code, migrated.stderr).toBe(0);
  });
  afterAll(async () => db?.drop());

  const create = (type: string, ...extra: string[]) =>
    runCliJson<AppView>(['apps', 'create', '--name', `A ${type}`, '--type', type, ...extra], env);
  const createFails = (type: string, ...extra: string[]) =>
    runCli(['apps', 'create', '--name', `Bad ${type}`, '--type', type, ...extra], env);
  const show = (id: string) => runCliJson<AppView>(['apps', 'show', ...idArg(id)], env);

  describe.concurrent('defaults and switches', { timeout: 90_000 }, () => {
    it('native apps get the device code grant by default (its URN)', async () => {
      const app = await create('native', '--callback', NATIVE_CALLBACK);
      expect(app.type).toBe('native');
      expect(app.client_secret).toBeUndefined();
      expect(app.grant_types).toEqual(['authorization_code', 'refresh_token', DEVICE_CODE]);
      expect((await show(app.client_id)).grant_types).toEqual(app.grant_types);
    });

    it('web, spa and m2m defaults have no password, implicit or device code grant', async () => {
      const [web, spa, m2m] = await Promise.all([
        create('web', '--callback', CALLBACK),
        create('spa', '--callback', CALLBACK),
        create('m2m'),
      ]);
      expect(web.grant_types).toEqual(['authorization_code', 'refresh_token']);
      expect(spa.grant_types).toEqual(['authorization_code', 'refresh_token']);
      expect(m2m.grant_types).toEqual(['client_credentials']);
    });

    it('web with --grant authorization_code, password, implicit, device_code stores exactly those, device_code as its URN', async () => {
      const app = await create(
        'web',
        '--callback',
        CALLBACK,
        '--grant',
        'authorization_code',
        '--grant',
        'password',
        '--grant',
        'implicit',
        '--grant',
        'device_code',
      );
      const expected = ['authorization_code', 'password', 'implicit', DEVICE_CODE];
      expect(app.grant_types).toEqual(expected);
      expect(app.client_secret).toEqual(expect.any(String));
      // --grant replaces the defaults: no refresh_token
      expect(app.grant_types).not.toContain('refresh_token');
      expect(app.grant_types).not.toContain('device_code');
      const shown = await show(app.client_id);
      expect(shown.grant_types).toEqual(expected);
      const { applications } = await runCliJson<{ applications: AppView[] }>(['apps', 'list'], env);
      expect(applications.find((a) => a.client_id === app.client_id)?.grant_types).toEqual(expected);
    });

    it('the full device code URN is accepted too, and repeats are stored once', async () => {
      const app = await create(
        'native',
        '--callback',
        NATIVE_CALLBACK,
        '--grant',
        DEVICE_CODE,
        '--grant',
        'device_code',
        '--grant',
        'password',
        '--grant',
        'password',
      );
      expect(app.grant_types).toEqual([DEVICE_CODE, 'password']);
      expect((await show(app.client_id)).grant_types).toEqual([DEVICE_CODE, 'password']);
    });

    it('native --grant password replaces the defaults', async () => {
      const app = await create('native', '--callback', NATIVE_CALLBACK, '--grant', 'password');
      expect(app.grant_types).toEqual(['password']);
    });

    it('spa --grant implicit is allowed', async () => {
      const app = await create('spa', '--callback', CALLBACK, '--grant', 'implicit');
      expect(app.grant_types).toEqual(['implicit']);
      expect(app.client_secret).toBeUndefined();
      expect((await show(app.client_id)).grant_types).toEqual(['implicit']);
    });

    it('spa --grant authorization_code --grant password is allowed', async () => {
      const app = await create(
        'spa',
        '--callback',
        CALLBACK,
        '--grant',
        'authorization_code',
        '--grant',
        'password',
      );
      expect(app.grant_types).toEqual(['authorization_code', 'password']);
    });

    it('spa --grant device_code fails, naming the grants a spa may use', async () => {
      expectFailure(
        await createFails('spa', '--callback', CALLBACK, '--grant', 'device_code'),
        /spa applications may use authorization_code, refresh_token, password, implicit\s*$/,
      );
    });

    it('m2m --grant password fails, naming client_credentials', async () => {
      expectFailure(
        await createFails('m2m', '--grant', 'password'),
        /grant_types "password": m2m applications may use client_credentials\s*$/,
      );
    });

    it('spa --grant client_credentials fails', async () => {
      expectFailure(
        await createFails('spa', '--callback', CALLBACK, '--grant', 'client_credentials'),
        /grant_types "client_credentials": spa applications may use authorization_code, refresh_token, password, implicit/,
      );
    });

    it('native --grant implicit and --grant client_credentials fail', async () => {
      expectFailure(
        await createFails('native', '--callback', NATIVE_CALLBACK, '--grant', 'implicit'),
        /grant_types "implicit": native applications may use authorization_code, refresh_token, password, urn:ietf:params:oauth:grant-type:device_code/,
      );
      expectFailure(
        await createFails('native', '--callback', NATIVE_CALLBACK, '--grant', 'client_credentials'),
        /grant_types "client_credentials": native applications may use/,
      );
    });

    it('m2m --grant device_code and an unknown grant fail', async () => {
      expectFailure(
        await createFails('m2m', '--grant', 'device_code'),
        /m2m applications may use client_credentials/,
      );
      expectFailure(
        await createFails('web', '--callback', CALLBACK, '--grant', 'magic'),
        /grant_types "magic": web applications may use/,
      );
    });

    it('one disallowed grant among allowed ones fails, and nothing is created', async () => {
      const res = await runCli(
        [
          'apps',
          'create',
          '--name',
          'Half bad',
          '--type',
          'spa',
          '--callback',
          CALLBACK,
          '--grant',
          'password',
          '--grant',
          'device_code',
        ],
        env,
      );
      expectFailure(res, /spa applications may use/);
      const after = await runCliJson<{ applications: AppView[] }>(['apps', 'list'], env);
      expect(after.applications.filter((a) => a.name === 'Half bad')).toEqual([]);
    });
  });

  describe('the token endpoint honours the grants the CLI stored', () => {
    let rt: Runtime;
    let fetch: (input: string, init?: RequestInit) => Promise<Response>;
    const issuer = 'https://sesame.test';
    const email = `cli-${Date.now()}@example.com`;

    beforeAll(async () => {
      const cfg = parseConfig({ issuer, dataDir: db.dataDir, databaseUrl: db.url, logLevel: 'silent' });
      rt = await openRuntime(cfg, { logger: pino({ level: 'silent' }) });
      await rt.keys.ensure(cfg.keys.algorithms);
      const server = createServer(rt);
      fetch = async (input, init) => server.fetch(new Request(input, init));
      await createUser(rt.storage, systemClock, { email, password: PASSWORD });
    });
    afterAll(async () => rt?.storage.close());

    async function passwordGrant(clientId: string) {
      const res = await fetch(`${issuer}/oauth/token`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({
          grant_type: 'password',
          client_id: clientId,
          username: email,
          password: PASSWORD,
        }),
      });
      return { status: res.status, body: (await res.json()) as { access_token?: string; error?: string } };
    }

    it('a native app created with --grant password gets tokens; one with the defaults is unauthorized_client', async () => {
      const withPassword = await create('native', '--callback', NATIVE_CALLBACK, '--grant', 'password');
      const ok = await passwordGrant(withPassword.client_id);
      expect(ok.status, JSON.stringify(ok.body)).toBe(200);
      expect(ok.body.access_token).toEqual(expect.any(String));
      const defaults = await create('native', '--callback', NATIVE_CALLBACK);
      const refused = await passwordGrant(defaults.client_id);
      expect(refused.status).toBe(400);
      expect(refused.body.error).toBe('unauthorized_client');
    });
  });
});
