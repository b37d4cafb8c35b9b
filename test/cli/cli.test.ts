import { execFileSync } from 'node:child_process';
import { tmpdir } from 'node:os';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApplication } from '../../src/admin/applications.js';
import { sqliteFile } from '../../src/storage/sql/index.js';
import { openPostgres } from '../../src/storage/sql/postgres.js';
import { openSqlite } from '../../src/storage/sql/sqlite.js';
import { assertBuilt, BIN, type CliResult, childEnv, runCli, runCliJson } from '../e2e/process.js';
import { createTestDatabase, describeEachBackend, type TestDatabase } from '../support/databases.js';

type Env = Record<string, string | undefined>;

interface ApiView {
  id: string;
  identifier: string;
  name: string;
  scopes: { name: string; description: string }[];
  token_lifetime: number;
  signing_alg: string;
  allow_offline_access: boolean;
  created_at: number;
}

interface AppView {
  client_id: string;
  name: string;
  type: string;
  callbacks: string[];
  logout_callbacks: string[];
  grant_types: string[];
  created_at: number;
  client_secret?: string;
  authorized_apis?: { api: string; scopes: string[] }[];
}

interface KeyView {
  kid: string;
  alg: string;
  status: 'next' | 'current' | 'retiring';
  activates_at: string;
  retires_at: string | null;
  published_until: string | null;
}

const BASE64URL_43 = /^[A-Za-z0-9_-]{43}$/;
/**
 * A client_id as the last argument, after `--`. Issued ids are random base64url and one in 64
 * starts with '-', which commander reads as an option (see the test "every client_id ...").
 */
const idArg = (id: string) => ['--', id] as const;
const now = () => Math.floor(Date.now() / 1000);
const seconds = (iso: string | null) => (iso === null ? null : Date.parse(iso) / 1000);

/** A failed command: non-zero exit, nothing on stdout, one `error:` message on stderr matching `message`. */
function expectFailure(res: CliResult, message: RegExp): void {
  expect(res.code, `stdout: ${res.stdout}\nstderr: ${res.stderr}`).not.toBe(0);
  expect(res.stdout).toBe('');
  expect(res.stderr).toMatch(message);
  expect(res.stderr).not.toMatch(/\n\s+at /); // a message, not a stack trace
}

let counter = 0;
const uniqueUri = () => `https://api.example/${Date.now().toString(36)}-${++counter}`;

beforeAll(() => assertBuilt());

describeEachBackend('sesame CLI', (backend) => {
  const databases: TestDatabase[] = [];
  let env: Env;

  /** A fresh, empty database and the env that points the CLI at it. */
  async function freshEnv(extra: Env = {}, migrate = true): Promise<Env> {
    return (await freshDb(extra, migrate)).env;
  }
  async function freshDb(extra: Env = {}, migrate = true): Promise<{ db: TestDatabase; env: Env }> {
    const db = await createTestDatabase(backend);
    databases.push(db);
    const e = {
      SESAME_DATA_DIR: db.dataDir,
      SESAME_DATABASE_URL: db.url,
      SESAME_LOG_LEVEL: 'warn',
      ...extra,
    };
    // Tests below run commands concurrently: create the data dir's secret first, alone
    // (concurrent first runs race on it; config.test.ts has the test for that).
    if (migrate) await runCliJson(['migrate'], e);
    return { db, env: e };
  }
  const sesame = (...args: string[]) => runCli(args, env);
  const json = <T>(...args: string[]) => runCliJson<T>(args, env);

  beforeAll(async () => {
    env = await freshEnv();
  });
  afterAll(async () => {
    await Promise.all(databases.map((db) => db.drop()));
  });

  describe.concurrent('migrate', { timeout: 90_000 }, () => {
    it('applies the migrations once, then reports the database up to date', async () => {
      const fresh = await freshEnv({}, false);
      const first = await runCliJson<{ database: string; applied: string[] }>(['migrate'], fresh);
      expect(first.database).toBe(backend);
      expect(first.applied.length).toBeGreaterThan(0);
      const second = await runCliJson<{ database: string; applied: string[] }>(['migrate'], fresh);
      expect(second).toEqual({ database: backend, applied: [] });
      const human = await runCli(['migrate'], fresh);
      expect(human.code).toBe(0);
      expect(human.stdout).toContain(`database (${backend}) is up to date`);
    });

    it('refuses a database a newer Sesame migrated: migrate and start exit 1 naming what it does not know', async () => {
      const { db, env: fresh } = await freshDb();
      const file = sqliteFile({ databaseUrl: db.url, dataDir: db.dataDir });
      const raw = file === null ? openPostgres(db.url, 1) : openSqlite(file);
      try {
        await sql`insert into sesame_migrations (name, applied_at) values ('999-from-a-newer-sesame', 0)`.execute(
          raw,
        );
      } finally {
        await raw.destroy();
      }
      for (const args of [['migrate'], ['start']]) {
        const res = await runCli(args, fresh);
        expect(res.code, `sesame ${args.join(' ')}: ${res.stdout}`).toBe(1);
        expect(res.stderr).toBe(
          'error: the database was migrated by a newer version of Sesame (999-from-a-newer-sesame); this version must not use it: run that version or a later one\n',
        );
      }
    });
  });

  describe.concurrent('apis', { timeout: 90_000 }, () => {
    it('create prints one JSON object with every field given', async () => {
      const identifier = uniqueUri();
      const before = now();
      const res = await sesame(
        'apis',
        'create',
        '--name',
        'Orders API',
        '--identifier',
        identifier,
        '--scope',
        'read=Read',
        '--scope',
        'write',
        '--token-lifetime',
        '600',
        '--signing-alg',
        'RS256',
        '--allow-offline-access',
        '--json',
      );
      expect(res.code, res.stderr).toBe(0);
      expect(res.stderr).toBe('');
      const api = JSON.parse(res.stdout) as ApiView;
      expect(api).toMatchObject({
        id: expect.stringMatching(/^api_[A-Za-z0-9_-]+$/),
        identifier,
        name: 'Orders API',
        scopes: [
          { name: 'read', description: 'Read' },
          { name: 'write', description: 'write' },
        ],
        token_lifetime: 600,
        signing_alg: 'RS256',
        allow_offline_access: true,
        created_at: expect.any(Number),
      });
      expect(api.created_at).toBeGreaterThanOrEqual(before - 1);
      expect(api.created_at).toBeLessThanOrEqual(now() + 1);
    });

    it('create without options uses the defaults (ES256, 86400 s, no scopes, no offline access)', async () => {
      const identifier = uniqueUri();
      const api = await json<ApiView>('apis', 'create', '--name', 'Plain', '--identifier', identifier);
      expect(api).toMatchObject({
        identifier,
        scopes: [],
        token_lifetime: 86400,
        signing_alg: 'ES256',
        allow_offline_access: false,
      });
    });

    it('create without --json prints the id and identifier', async () => {
      const identifier = uniqueUri();
      const res = await sesame('apis', 'create', '--name', 'Human', '--identifier', identifier);
      expect(res.code, res.stderr).toBe(0);
      expect(res.stdout).toMatch(/^id: api_\S+\nidentifier: /);
      expect(res.stdout).toContain(`identifier: ${identifier}`);
    });

    it('list, show (by id and by identifier) and delete', async () => {
      const identifier = uniqueUri();
      const created = await json<ApiView>(
        'apis',
        'create',
        '--name',
        'Listed',
        '--identifier',
        identifier,
        '--scope',
        'read=Read',
      );

      const { apis } = await json<{ apis: ApiView[] }>('apis', 'list');
      expect(apis).toContainEqual(created);
      const human = await sesame('apis', 'list');
      expect(human.stdout).toContain(`${created.id}  ${identifier}  Listed`);

      expect(await json<ApiView>('apis', 'show', created.id)).toEqual(created);
      expect(await json<ApiView>('apis', 'show', identifier)).toEqual(created);
      const shown = await sesame('apis', 'show', created.id);
      expect(shown.stdout).toContain(`identifier: ${identifier}`);
      expect(shown.stdout).toContain('scopes: [{"name":"read","description":"Read"}]');

      expect(await json('apis', 'delete', created.id)).toEqual({ deleted: created.id });
      expectFailure(await sesame('apis', 'show', created.id), new RegExp(`API ${created.id} not found`));
      expectFailure(await sesame('apis', 'show', identifier), /not found/);
      const after = await json<{ apis: ApiView[] }>('apis', 'list');
      expect(after.apis.map((a) => a.id)).not.toContain(created.id);
    });

    it('delete by identifier', async () => {
      const identifier = uniqueUri();
      const created = await json<ApiView>('apis', 'create', '--name', 'Gone', '--identifier', identifier);
      const res = await sesame('apis', 'delete', identifier);
      expect(res.code, res.stderr).toBe(0);
      expect(res.stdout).toBe(`deleted ${identifier}\n`);
      expectFailure(await sesame('apis', 'show', created.id), /not found/);
    });

    it('show and delete of an unknown API fail', async () => {
      expectFailure(await sesame('apis', 'show', 'api_nope'), /^error: API api_nope not found\n$/);
      expectFailure(
        await sesame('apis', 'delete', 'https://nope.example'),
        /API https:\/\/nope\.example not found/,
      );
    });

    it('refuses a second API with the same identifier', async () => {
      const identifier = uniqueUri();
      await json('apis', 'create', '--name', 'One', '--identifier', identifier);
      expectFailure(
        await sesame('apis', 'create', '--name', 'Two', '--identifier', identifier),
        /identifier: an API with identifier .* exists already/,
      );
      const { apis } = await json<{ apis: ApiView[] }>('apis', 'list');
      expect(apis.filter((a) => a.identifier === identifier)).toHaveLength(1);
    });

    it.each([
      [['--identifier', 'not a uri'], /identifier: must be an absolute URI/],
      [['--identifier', 'orders'], /identifier: must be an absolute URI/],
      [['--identifier', 'https://api.example/x#frag'], /identifier: .*without a fragment/],
      [['--signing-alg', 'HS256'], /signing_alg "HS256": must be one of ES256, RS256, PS256, EdDSA/],
      [['--token-lifetime', '10'], /token_lifetime: must be a whole number from 60 to 2592000/],
      [['--token-lifetime', 'abc'], /--token-lifetime: a whole number of seconds/],
      [['--token-lifetime', '99999999'], /token_lifetime: must be a whole number from 60 to 2592000/],
      [['--scope', 'openid'], /scopes openid: reserved by OpenID Connect/],
      [['--scope', 'read', '--scope', 'read=Again'], /scopes read: defined twice/],
      [['--scope', 'bad"scope'], /scopes "bad\\"scope": not a valid scope token/],
      [['--name', ' '], /name: must be 1 to 255 characters/],
    ])('create %j fails naming the problem', async (extra, message) => {
      const args = ['apis', 'create', '--name', 'Bad', '--identifier', uniqueUri(), ...extra];
      // later options win in commander, so --name/--identifier given again replace the defaults
      expectFailure(await sesame(...args), message);
    });

    it('create without --name fails with a usage error', async () => {
      const res = await sesame('apis', 'create', '--identifier', uniqueUri());
      expect(res.code).not.toBe(0);
      expect(res.stderr).toMatch(/required option '--name <name>' not specified/);
    });
  });

  describe.concurrent('apps', { timeout: 90_000 }, () => {
    let api: ApiView;
    beforeAll(async () => {
      api = await json<ApiView>(
        'apis',
        'create',
        '--name',
        'Apps test API',
        '--identifier',
        uniqueUri(),
        '--scope',
        'read=Read',
        '--scope',
        'write=Write',
      );
    });

    const m2m = (name = 'Robot') => json<AppView>('apps', 'create', '--name', name, '--type', 'm2m');

    it('create --type m2m gives a client_id and a 43-character base64url client_secret', async () => {
      const res = await sesame('apps', 'create', '--name', 'Robot', '--type', 'm2m', '--json');
      expect(res.code, res.stderr).toBe(0);
      const app = JSON.parse(res.stdout) as AppView;
      expect(app).toMatchObject({
        client_id: expect.stringMatching(/^[A-Za-z0-9_-]{32}$/),
        name: 'Robot',
        type: 'm2m',
        callbacks: [],
        logout_callbacks: [],
        grant_types: ['client_credentials'],
        created_at: expect.any(Number),
        client_secret: expect.stringMatching(BASE64URL_43),
      });
    });

    it('create without --json shows the secret once with a warning', async () => {
      const res = await sesame('apps', 'create', '--name', 'Robot', '--type', 'm2m');
      expect(res.code, res.stderr).toBe(0);
      expect(res.stdout).toMatch(/^client_id: +[A-Za-z0-9_-]{32}\nclient_secret: [A-Za-z0-9_-]{43}\n/);
      expect(res.stdout).toContain('shown only now');
    });

    it('every application gets its own client_id and secret', async () => {
      const [a, b] = await Promise.all([m2m('A'), m2m('B')]);
      expect(a.client_id).not.toBe(b.client_id);
      expect(a.client_secret).not.toBe(b.client_secret);
    });

    it('create --type spa with a callback gives no secret', async () => {
      const app = await json<AppView>(
        'apps',
        'create',
        '--name',
        'Browser',
        '--type',
        'spa',
        '--callback',
        'https://app.example/cb',
      );
      expect(app).not.toHaveProperty('client_secret');
      expect(app).toMatchObject({
        type: 'spa',
        callbacks: ['https://app.example/cb'],
        grant_types: ['authorization_code', 'refresh_token'],
      });
      const human = await sesame(
        'apps',
        'create',
        '--name',
        'Browser',
        '--type',
        'spa',
        '--callback',
        'https://app.example/cb',
      );
      expect(human.code).toBe(0);
      expect(human.stdout).not.toContain('client_secret');
    });

    it('web apps get a secret; native apps accept loopback http and reverse-domain schemes', async () => {
      const web = await json<AppView>(
        'apps',
        'create',
        '--name',
        'Web',
        '--type',
        'web',
        '--callback',
        'https://web.example/cb',
        '--logout-callback',
        'https://web.example/bye',
      );
      expect(web.client_secret).toMatch(BASE64URL_43);
      expect(web.logout_callbacks).toEqual(['https://web.example/bye']);
      const native = await json<AppView>(
        'apps',
        'create',
        '--name',
        'Phone',
        '--type',
        'native',
        '--callback',
        'com.example.app:/cb',
        '--callback',
        'http://127.0.0.1:8080/cb',
      );
      expect(native).not.toHaveProperty('client_secret');
      expect(native.callbacks).toEqual(['com.example.app:/cb', 'http://127.0.0.1:8080/cb']);
    });

    it.each([
      ['http://app.example/cb', /callbacks "http:\/\/app\.example\/cb": must use https/],
      ['javascript:alert(1)', /callbacks "javascript:alert\(1\)": must not use the javascript: scheme/],
      [
        'https://app.example/cb#frag',
        /callbacks "https:\/\/app\.example\/cb#frag": must not contain a fragment/,
      ],
      ['https://*.example/cb', /callbacks "https:\/\/\*\.example\/cb": must not contain a wildcard/],
      ['/cb', /callbacks "\/cb": must be an absolute URI/],
      [
        'https://user:pw@app.example/cb',
        /callbacks "https:\/\/user:pw@app\.example\/cb": must not contain user information/,
      ],
      ['myapp:/cb', /callbacks "myapp:\/cb": must use https/],
    ])('create refuses the callback %s and creates nothing', async (callback, message) => {
      const name = `Bad callback ${++counter}`;
      expectFailure(
        await sesame('apps', 'create', '--name', name, '--type', 'spa', '--callback', callback),
        message,
      );
      const { applications } = await json<{ applications: AppView[] }>('apps', 'list');
      expect(applications.map((a) => a.name)).not.toContain(name);
    });

    it('a bad logout callback is refused too', async () => {
      expectFailure(
        await sesame(
          'apps',
          'create',
          '--name',
          'Bad',
          '--type',
          'web',
          '--callback',
          'https://ok.example/cb',
          '--logout-callback',
          'javascript:alert(1)',
        ),
        /allowed_logout_urls "javascript:alert\(1\)": must not use the javascript: scheme/,
      );
    });

    it.each([
      [['--type', 'robot'], /app_type "robot": must be one of web, spa, native, m2m/],
      [
        ['--type', 'm2m', '--callback', 'https://app.example/cb'],
        /callbacks: m2m applications have no callbacks/,
      ],
      [
        ['--type', 'spa', '--grant', 'client_credentials'],
        /grant_types "client_credentials": spa applications may use/,
      ],
      [
        ['--type', 'm2m', '--grant', 'password'],
        /grant_types "password": m2m applications may use client_credentials/,
      ],
    ])('create %j fails naming the problem', async (extra, message) => {
      expectFailure(await sesame('apps', 'create', '--name', 'Bad', ...extra), message);
    });

    it('list and show', async () => {
      const app = await m2m('Listed robot');
      const { applications } = await json<{ applications: AppView[] }>('apps', 'list');
      const { client_secret: _secret, ...withoutSecret } = app;
      expect(applications).toContainEqual(withoutSecret);
      expect(JSON.stringify(applications)).not.toContain('secret');
      const human = await sesame('apps', 'list');
      expect(human.stdout).toContain(`${app.client_id}  m2m     Listed robot`);

      const shown = await json<AppView>('apps', 'show', ...idArg(app.client_id));
      expect(shown).toEqual({ ...withoutSecret, authorized_apis: [] });
      const humanShow = await sesame('apps', 'show', ...idArg(app.client_id));
      expect(humanShow.stdout).toContain(`client_id: ${app.client_id}`);
      expect(humanShow.stdout).toContain('grant_types: ["client_credentials"]');
    });

    it('show, delete, rotate-secret and authorize of an unknown application fail', async () => {
      const unknown = /^error: application nobody not found\n$/;
      expectFailure(await sesame('apps', 'show', ...idArg('nobody')), unknown);
      expectFailure(await sesame('apps', 'delete', ...idArg('nobody')), unknown);
      expectFailure(await sesame('apps', 'rotate-secret', ...idArg('nobody')), unknown);
      expectFailure(
        await sesame('apps', 'authorize', '--api', api.identifier, '--scope', 'read', ...idArg('nobody')),
        unknown,
      );
    });

    it('delete removes the application', async () => {
      const app = await m2m('Doomed');
      expect(await json('apps', 'delete', ...idArg(app.client_id))).toEqual({ deleted: app.client_id });
      expectFailure(await sesame('apps', 'show', ...idArg(app.client_id)), /not found/);
      expectFailure(await sesame('apps', 'delete', ...idArg(app.client_id)), /not found/);
      const { applications } = await json<{ applications: AppView[] }>('apps', 'list');
      expect(applications.map((a) => a.client_id)).not.toContain(app.client_id);
    });

    it('rotate-secret gives a new 43-character secret', async () => {
      const app = await m2m();
      const rotated = await json<{ client_id: string; client_secret: string }>(
        'apps',
        'rotate-secret',
        ...idArg(app.client_id),
      );
      expect(rotated.client_id).toBe(app.client_id);
      expect(rotated.client_secret).toMatch(BASE64URL_43);
      expect(rotated.client_secret).not.toBe(app.client_secret);
    });

    it('rotate-secret of a public application fails', async () => {
      const spa = await json<AppView>(
        'apps',
        'create',
        '--name',
        'Public',
        '--type',
        'spa',
        '--callback',
        'https://app.example/cb',
      );
      expectFailure(
        await sesame('apps', 'rotate-secret', ...idArg(spa.client_id)),
        new RegExp(`application ${spa.client_id} is public and has no secret`),
      );
    });

    it('authorize lets an m2m application use an API with some scopes; again replaces them', async () => {
      const app = await m2m();
      const res = await sesame(
        'apps',
        'authorize',
        '--api',
        api.identifier,
        '--scope',
        'read',
        '--json',
        ...idArg(app.client_id),
      );
      expect(res.code, res.stderr).toBe(0);
      expect(JSON.parse(res.stdout)).toEqual({
        client_id: app.client_id,
        api: api.identifier,
        scopes: ['read'],
        subject_type: 'client',
      });
      expect((await json<AppView>('apps', 'show', ...idArg(app.client_id))).authorized_apis).toEqual([
        { api: api.identifier, scopes: ['read'] },
      ]);

      const again = await sesame(
        'apps',
        'authorize',
        '--api',
        api.identifier,
        '--scope',
        'read',
        '--scope',
        'write',
        ...idArg(app.client_id),
      );
      expect(again.code, again.stderr).toBe(0);
      expect(again.stdout).toBe(`authorized ${app.client_id} for ${api.identifier} (read write)\n`);
      expect((await json<AppView>('apps', 'show', ...idArg(app.client_id))).authorized_apis).toEqual([
        { api: api.identifier, scopes: ['read', 'write'] },
      ]);
    });

    it('authorize with an unknown scope, an unknown API or a non-m2m application fails', async () => {
      const app = await m2m();
      expectFailure(
        await sesame(
          'apps',
          'authorize',
          '--api',
          api.identifier,
          '--scope',
          'admin',
          ...idArg(app.client_id),
        ),
        new RegExp(`scope admin: not defined by ${api.identifier}`),
      );
      expectFailure(
        await sesame(
          'apps',
          'authorize',
          '--api',
          'https://nope.example/api',
          '--scope',
          'read',
          ...idArg(app.client_id),
        ),
        /API https:\/\/nope\.example\/api not found/,
      );
      const spa = await json<AppView>(
        'apps',
        'create',
        '--name',
        'Browser',
        '--type',
        'spa',
        '--callback',
        'https://app.example/cb',
      );
      expectFailure(
        await sesame(
          'apps',
          'authorize',
          '--api',
          api.identifier,
          '--scope',
          'read',
          ...idArg(spa.client_id),
        ),
        /does not use the client_credentials grant/,
      );
      // nothing was authorized by the failed attempts
      expect((await json<AppView>('apps', 'show', ...idArg(app.client_id))).authorized_apis).toEqual([]);
    });

    it('every client_id Sesame issues can be given to the commands that take one', async () => {
      // client ids are letters and digits only, so none can be mistaken for an option ("-…")
      const { db, env: e } = await freshDb();
      const storage = db.open({ now });
      const ids: string[] = [];
      try {
        for (let i = 0; i < 300; i++) {
          const { app } = await createApplication(storage, { now }, { name: `App ${i}`, type: 'm2m' });
          ids.push(app.clientId);
        }
      } finally {
        await storage.close();
      }
      for (const id of ids) expect(id).toMatch(/^[A-Za-z0-9]{32}$/);
      expect(new Set(ids).size).toBe(ids.length);
      const id = ids[ids.length - 1]!;
      const shown = await runCli(['apps', 'show', id, '--json'], e);
      expect(shown.stderr).toBe('');
      expect(shown.code).toBe(0);
      expect((JSON.parse(shown.stdout) as AppView).client_id).toBe(id);
      const rotated = await runCli(['apps', 'rotate-secret', id, '--json'], e);
      expect(rotated.stderr).toBe('');
      expect(rotated.code).toBe(0);
    });

    it('deleting an API removes the authorizations for it', async () => {
      const other = await json<ApiView>(
        'apis',
        'create',
        '--name',
        'Short-lived',
        '--identifier',
        uniqueUri(),
        '--scope',
        'read',
      );
      const app = await m2m();
      await json('apps', 'authorize', '--api', other.identifier, '--scope', 'read', ...idArg(app.client_id));
      await json('apps', 'authorize', '--api', api.identifier, '--scope', 'read', ...idArg(app.client_id));
      expect((await json<AppView>('apps', 'show', ...idArg(app.client_id))).authorized_apis).toHaveLength(2);
      await json('apis', 'delete', other.id);
      expect((await json<AppView>('apps', 'show', ...idArg(app.client_id))).authorized_apis).toEqual([
        { api: api.identifier, scopes: ['read'] },
      ]);
    });
  });

  describe.concurrent('keys', { timeout: 90_000 }, () => {
    /** A fresh database with one ES256 key (created with an ES256 API). */
    async function withEs256Key(extra: Env = {}): Promise<{ env: Env; key: KeyView }> {
      const e = await freshEnv(extra);
      await runCliJson(['apis', 'create', '--name', 'K', '--identifier', uniqueUri()], e);
      const { keys } = await runCliJson<{ keys: KeyView[] }>(['keys', 'list'], e);
      expect(keys).toHaveLength(1);
      return { env: e, key: keys[0]! };
    }

    it('list shows the current key', async () => {
      const { key } = await withEs256Key();
      expect(key).toMatchObject({
        kid: expect.stringMatching(/^[A-Za-z0-9_-]{20,}$/),
        alg: 'ES256',
        status: 'current',
        activates_at: expect.any(String),
        retires_at: null,
        published_until: null,
      });
      expect(Math.abs(seconds(key.activates_at)! - now())).toBeLessThan(30);
    });

    it('rotate --alg ES256 adds a next key; the old key stays current until the new one activates', async () => {
      const { env: e, key: old } = await withEs256Key({ SESAME_KEY_ACTIVATION_DELAY: '600' });
      const before = now();
      const { rotated } = await runCliJson<{ rotated: { kid: string; alg: string; activates_at: string }[] }>(
        ['keys', 'rotate', '--alg', 'ES256'],
        e,
      );
      expect(rotated).toHaveLength(1);
      const fresh = rotated[0]!;
      expect(fresh.alg).toBe('ES256');
      expect(fresh.kid).not.toBe(old.kid);
      const activates = seconds(fresh.activates_at)!;
      expect(activates).toBeGreaterThanOrEqual(before + 600 - 1);
      expect(activates).toBeLessThanOrEqual(now() + 600 + 1);

      const { keys } = await runCliJson<{ keys: KeyView[] }>(['keys', 'list'], e);
      expect(keys).toHaveLength(2);
      const next = keys.find((k) => k.kid === fresh.kid);
      const current = keys.find((k) => k.kid === old.kid);
      expect(next).toMatchObject({ alg: 'ES256', status: 'next', retires_at: null, published_until: null });
      expect(current).toMatchObject({ alg: 'ES256', status: 'current', retires_at: fresh.activates_at });
      // the old key stays published as long as a token it signed can live (the default 86400 s)
      expect(seconds(current!.published_until)).toBe(activates + 86400);
    });

    it('with an activation delay of 0 the new key signs at once and the old one is retiring', async () => {
      const { env: e, key: old } = await withEs256Key({ SESAME_KEY_ACTIVATION_DELAY: '0' });
      const { rotated } = await runCliJson<{ rotated: { kid: string }[] }>(
        ['keys', 'rotate', '--alg', 'ES256'],
        e,
      );
      const { keys } = await runCliJson<{ keys: KeyView[] }>(['keys', 'list'], e);
      expect(keys.find((k) => k.kid === rotated[0]!.kid)?.status).toBe('current');
      expect(keys.find((k) => k.kid === old.kid)?.status).toBe('retiring');
    });

    it('rotate without --alg rotates every configured algorithm', async () => {
      const e = await freshEnv({ SESAME_KEY_ALGORITHMS: 'ES256,EdDSA' });
      const res = await runCli(['keys', 'rotate'], e);
      expect(res.code, res.stderr).toBe(0);
      expect(res.stdout).toMatch(/^new ES256 key \S+, published now, signing from \S+\nnew EdDSA key /);
      const { keys } = await runCliJson<{ keys: KeyView[] }>(['keys', 'list'], e);
      expect(keys.map((k) => k.alg).sort()).toEqual(['ES256', 'EdDSA']);
    });

    it('rotate --alg XX fails and adds no key', async () => {
      const { env: e } = await withEs256Key();
      expectFailure(
        await runCli(['keys', 'rotate', '--alg', 'XX'], e),
        /--alg XX: must be one of ES256, RS256, PS256, EdDSA/,
      );
      const { keys } = await runCliJson<{ keys: KeyView[] }>(['keys', 'list'], e);
      expect(keys).toHaveLength(1);
    });
  });
});

/** Subcommands a help text lists under "Commands:" (without `help`). */
function listedCommands(help: string): string[] {
  const section = help.split(/^Commands:$/m)[1] ?? '';
  return [...section.matchAll(/^ {2}([a-z][\w-]*)/gm)].map((m) => m[1]!).filter((c) => c !== 'help');
}

/** Every command path the binary's help shows, walked at collection time (empty if not built). */
function discoveredCommands(): string[][] {
  const help = (path: string[]) =>
    execFileSync(process.execPath, [BIN, ...path, '--help'], { env: childEnv({}), cwd: tmpdir() }).toString();
  try {
    const out: string[][] = [];
    const walk = (path: string[]) => {
      for (const name of listedCommands(help(path))) {
        out.push([...path, name]);
        if (path.length === 0) walk([name]);
      }
    };
    walk([]);
    return out;
  } catch {
    return [];
  }
}

describe.concurrent('sesame --help', { timeout: 90_000 }, () => {
  const known = [
    [],
    ['start'],
    ['migrate'],
    ['apis'],
    ['apis', 'create'],
    ['apis', 'list'],
    ['apis', 'show'],
    ['apis', 'delete'],
    ['apps'],
    ['apps', 'create'],
    ['apps', 'list'],
    ['apps', 'show'],
    ['apps', 'delete'],
    ['apps', 'rotate-secret'],
    ['apps', 'authorize'],
    ['keys'],
    ['keys', 'list'],
    ['keys', 'rotate'],
  ];
  const commands = [...known];
  for (const c of discoveredCommands()) {
    if (!commands.some((k) => k.join(' ') === c.join(' '))) commands.push(c);
  }
  it.each(commands.map((c) => [c.join(' ') || '(root)', c] as const))(
    'sesame %s --help exits 0 and prints usage',
    async (_name, command) => {
      // no SESAME_* at all: help must not need configuration or a database
      const res = await runCli([...command, '--help'], {});
      expect(res.code, res.stderr).toBe(0);
      expect(res.stdout).toMatch(new RegExp(`^Usage: ${['sesame', ...command].join(' ')} `));
      expect(res.stdout).toContain('Options:');
      expect(res.stdout).toContain('-h, --help');
    },
  );

  it('the help lists every command', async () => {
    const root = listedCommands((await runCli(['--help'], {})).stdout);
    expect(root).toEqual(expect.arrayContaining(['start', 'migrate', 'apps', 'apis', 'keys']));
    const apps = listedCommands((await runCli(['apps', '--help'], {})).stdout);
    expect(apps).toEqual(
      expect.arrayContaining(['create', 'list', 'show', 'delete', 'rotate-secret', 'authorize']),
    );
    expect(listedCommands((await runCli(['apis', '--help'], {})).stdout)).toEqual(
      expect.arrayContaining(['create', 'list', 'show', 'delete']),
    );
    expect(listedCommands((await runCli(['keys', '--help'], {})).stdout)).toEqual(
      expect.arrayContaining(['list', 'rotate']),
    );
  });

  it('an unknown command exits non-zero', async () => {
    const res = await runCli(['frobnicate'], {});
    expect(res.code).not.toBe(0);
    expect(res.stderr).toMatch(/unknown command 'frobnicate'/);
  });
});
