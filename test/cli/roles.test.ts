import { spawn } from 'node:child_process';
import { tmpdir } from 'node:os';
import { afterAll, beforeAll, expect, it } from 'vitest';
import {
  assertBuilt,
  BIN,
  type CliResult,
  childEnv,
  eventually,
  runCli,
  runCliJson,
} from '../e2e/process.js';
import { createTestDatabase, describeEachBackend, type TestDatabase } from '../support/databases.js';

/** `sesame roles …`, `sesame users assign-role|add-permission|permissions`, `sesame logs`, through the binary. */

const API = 'https://things.example/api';
const EMAIL = 'ada@example.com';

function expectFailure(res: CliResult, message: RegExp): void {
  expect(res.code, `stdout: ${res.stdout}\nstderr: ${res.stderr}`).not.toBe(0);
  expect(res.stderr).toMatch(/^error: /);
  expect(res.stderr).toMatch(message);
  expect(res.stderr).not.toMatch(/\n\s+at /);
}

beforeAll(() => assertBuilt());

describeEachBackend('sesame roles, permissions and logs', (backend) => {
  let db: TestDatabase;
  let env: Record<string, string>;

  beforeAll(async () => {
    db = await createTestDatabase(backend);
    env = { SESAME_DATA_DIR: db.dataDir, SESAME_DATABASE_URL: db.url, SESAME_LOG_LEVEL: 'warn' };
    expect((await runCli(['migrate', '--json'], env)).code).toBe(0);
  });
  afterAll(async () => db?.drop());

  const ok = async <T = Record<string, unknown>>(...args: string[]) =>
    runCliJson<T>([...args, '--json'], env);

  it('switches RBAC on an API, builds a role, and gives it to a person', async () => {
    const api = await ok(
      'apis',
      'create',
      '--name',
      'Things',
      '--identifier',
      API,
      '--scope',
      'read:things',
      '--scope',
      'write:things',
      '--enforce-policies',
      '--token-dialect',
      'rfc9068_profile_authz',
      '--user-policy',
      'require_client_grant',
    );
    expect(api).toMatchObject({
      enforce_policies: true,
      token_dialect: 'rfc9068_profile_authz',
      user_policy: 'require_client_grant',
      client_policy: 'require_client_grant',
    });
    expect(await ok('apis', 'update', API, '--no-enforce-policies')).toMatchObject({
      enforce_policies: false,
    });
    expectFailure(await runCli(['apis', 'update', API, '--token-dialect', 'jwt'], env), /token_dialect/);

    const role = await ok<{ id: string }>('roles', 'create', 'Editor', '--description', 'Edits things');
    expect(role.id).toMatch(/^rol_/);
    expectFailure(await runCli(['roles', 'create', 'Editor'], env), /exists already/);
    await ok(
      'roles',
      'add-permission',
      'Editor',
      '--api',
      API,
      '--permission',
      'read:things',
      '--permission',
      'write:things',
    );
    expectFailure(
      await runCli(['roles', 'add-permission', 'Editor', '--api', API, '--permission', 'fly:things'], env),
      /fly:things is not a scope/,
    );
    await ok('users', 'create', '--email', EMAIL, '--password', 'correct horse battery staple');
    await ok('users', 'assign-role', EMAIL, 'Editor');
    await ok('users', 'add-permission', EMAIL, '--api', API, '--permission', 'write:things');
    const { permissions } = await ok<{ permissions: { permission: string; sources: string[] }[] }>(
      'users',
      'permissions',
      EMAIL,
    );
    expect(permissions).toEqual([
      { api: API, permission: 'read:things', sources: ['ROLE Editor'] },
      { api: API, permission: 'write:things', sources: ['DIRECT', 'ROLE Editor'] },
    ]);
    const shown = await ok<{ permissions: unknown[]; users: { email: string }[] }>('roles', 'show', role.id);
    expect(shown.permissions).toHaveLength(2);
    expect(shown.users.map((u) => u.email)).toEqual([EMAIL]);
    const { roles } = await ok<{ roles: { name: string }[] }>('roles', 'list');
    expect(roles.map((r) => r.name)).toEqual(['Editor', 'Sesame Admin']);
    expectFailure(await runCli(['roles', 'delete', 'Sesame Admin'], env), /system role/);
    await ok('users', 'remove-role', EMAIL, 'Editor');
    await ok('roles', 'delete', 'Editor');
    expectFailure(await runCli(['roles', 'show', 'Editor'], env), /not found/);
  });

  it('a description given to Sesame Admin stays: the next command does not put the default back', async () => {
    const changed = await ok('roles', 'update', 'Sesame Admin', '--description', 'Our administrators');
    expect(changed).toMatchObject({ description: 'Our administrators' });
    expect(await ok('roles', 'show', 'rol_sesame_admin')).toMatchObject({
      name: 'Sesame Admin',
      description: 'Our administrators',
    });
  });

  it('shows log events by type and user, and --follow prints new ones', async () => {
    const lines = (res: CliResult) =>
      res.stdout
        .trim()
        .split('\n')
        .filter(Boolean)
        .map((l) => JSON.parse(l));
    const changes = lines(await runCli(['logs', '--type', 'sapi', '--json'], env));
    // Auth0's shape, as GET /api/v2/logs answers.
    expect(changes[0]).toMatchObject({
      log_id: expect.any(String),
      date: expect.stringMatching(/^\d{4}-\d\d-\d\dT.*Z$/),
      type: 'sapi',
      client_name: 'Sesame CLI',
      hostname: expect.any(String),
    });
    const commands = changes.map((e) => e.details.request.command);
    expect(commands).toEqual(expect.arrayContaining(['roles create', 'users assign-role', 'roles delete']));
    expect(JSON.stringify(changes)).not.toContain('correct horse');
    const failed = lines(await runCli(['logs', '--type', 'fapi', '--json'], env));
    expect(failed.map((e) => e.details.error)).toEqual(
      expect.arrayContaining([expect.stringContaining('fly:things')]),
    );
    const ada = lines(await runCli(['logs', '--user', EMAIL, '--json'], env));
    expect(ada.map((e) => e.type)).toContain('ss');
    // by id too, in Auth0's form as well
    const adaId = ada[0].user_id as string;
    for (const id of [adaId, `auth0|${adaId}`])
      expect(lines(await runCli(['logs', '--user', id, '--json'], env)).map((e) => e.log_id)).toEqual(
        ada.map((e) => e.log_id),
      );
    expectFailure(await runCli(['logs', '--type', 'nope'], env), /--type/);

    const follower = spawn(process.execPath, [BIN, 'logs', '--follow', '--type', 'ss', '--limit', '1'], {
      env: childEnv(env),
      cwd: tmpdir(),
    });
    let out = '';
    follower.stdout.on('data', (d) => {
      out += d;
    });
    try {
      await eventually(async () => (out.includes(EMAIL) ? true : undefined), 20_000, 'the latest ss event');
      await ok('users', 'create', '--email', 'bo@example.com', '--password', 'correct horse battery staple');
      await eventually(async () => (out.includes('bo@') ? true : undefined), 20_000, 'a new ss event');
    } finally {
      follower.kill('SIGINT');
    }
    expectFailure(
      await runCli(['logs', '--user', 'nobody@example.com'], env),
      /user nobody@example\.com not found/,
    );
    // an id stands as given: a deleted user's events are still theirs
    expect((await runCli(['logs', '--user', 'usr_gone'], env)).code).toBe(0);
  });

  it('logs --follow ends once the reader of its output has gone (| head -1)', async () => {
    const follower = spawn(process.execPath, [BIN, 'logs', '--follow', '--limit', '1'], {
      env: childEnv(env),
      cwd: tmpdir(),
    });
    const exited = new Promise<number | null>((resolve) => follower.once('exit', (code) => resolve(code)));
    try {
      // the reader reads one line, then goes away
      await new Promise((resolve) => follower.stdout.once('data', resolve));
      follower.stdout.destroy();
      await ok('roles', 'create', 'Reader gone', '--description', 'an event to write');
      const code = await Promise.race([
        exited,
        new Promise((r) => setTimeout(() => r('still running'), 15_000)),
      ]);
      expect(code).not.toBe('still running');
    } finally {
      follower.kill('SIGKILL');
    }
  });
});
