import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { assertBuilt, runCli, runCliJson } from '../e2e/process.js';

/** What commands print about what they did, and how they name a bad value. */
describe('sesame: output names what was done, and the value that was wrong', { timeout: 90_000 }, () => {
  let dataDir: string;
  let env: Record<string, string>;
  beforeAll(() => {
    assertBuilt();
    dataDir = mkdtempSync(join(tmpdir(), 'sesame-cli-output-'));
    env = { SESAME_DATA_DIR: dataDir, SESAME_LOG_LEVEL: 'warn' };
  });
  afterAll(() => rmSync(dataDir, { recursive: true, force: true }));

  it('keys list before any key says so (it printed an empty line)', async () => {
    const res = await runCli(['keys', 'list'], env);
    expect(res.code, res.stderr).toBe(0);
    expect(res.stdout).toBe('no signing keys (the server makes them at its first start)\n');
  });

  it('a command that only reads, where there is no data (the wrong directory), is refused and makes none', async () => {
    const nowhere = join(dataDir, 'not-here');
    for (const args of [
      ['users', 'list'],
      ['apps', 'show', 'x'],
      ['logs'],
      ['keys', 'list'],
      ['settings', 'show'],
    ]) {
      const res = await runCli(args, { ...env, SESAME_DATA_DIR: nowhere });
      expect(res.code, `sesame ${args.join(' ')}: ${res.stdout}`).toBe(1);
      expect(res.stdout).toBe('');
      expect(res.stderr).toBe(
        `error: no Sesame data at ${nowhere}: a command that only reads makes none. Run it where the server runs, or set SESAME_DATA_DIR (or SESAME_DATABASE_URL) to the server's\n`,
      );
    }
    expect(existsSync(nowhere)).toBe(false);
    // a change there makes the tenant, as the README's first steps do before the first start
    const made = await runCli(['roles', 'create', 'Readers', '--json'], { ...env, SESAME_DATA_DIR: nowhere });
    expect(made.code, made.stderr).toBe(0);
    expect(existsSync(join(nowhere, 'sesame.db'))).toBe(true);
  });

  it('users delete and set-password by email, and apis delete by identifier, answer with the id', async () => {
    const made = await runCli(
      ['users', 'create', '--email', 'Cli.Output@Example.com', '--password-stdin', '--json'],
      env,
      { input: 'a long enough passphrase\n' },
    );
    expect(made.code, made.stderr).toBe(0);
    const { id } = JSON.parse(made.stdout) as { id: string };
    expect(id).toMatch(/^usr_/);
    const changed = await runCli(
      ['users', 'set-password', 'CLI.OUTPUT@example.com', '--password-stdin', '--json'],
      env,
      { input: 'another long passphrase\n' },
    );
    expect(JSON.parse(changed.stdout)).toEqual({ id, password_changed: true });
    expect(await runCliJson(['users', 'delete', 'cli.output@EXAMPLE.com', '--json'], env)).toEqual({
      deleted: id,
    });

    const api = await runCliJson<{ id: string }>(
      ['apis', 'create', '--name', 'Out', '--identifier', 'https://out.example/api', '--json'],
      env,
    );
    expect(await runCliJson(['apis', 'delete', 'https://out.example/api', '--json'], env)).toEqual({
      deleted: api.id,
    });
  });

  it('a type or grant named like an object property is refused by its own name', async () => {
    for (const [flag, value] of [
      ['--type', 'constructor'],
      ['--type', '__proto__'],
      ['--grant', 'constructor'],
      ['--grant', 'toString'],
    ] as const) {
      const args = [
        'apps',
        'create',
        '--name',
        'x',
        ...(flag === '--type' ? [] : ['--type', 'web']),
        flag,
        value,
      ];
      const res = await runCli(args, env);
      expect(res.code, res.stdout).toBe(1);
      expect(res.stderr).toMatch(new RegExp(`^error: \\w+ "?${value}"?: `));
    }
  });

  it("an application takes the Management API's bounds here too: 100 callbacks, 2,048 characters an origin", async () => {
    const many = Array.from({ length: 101 }, (_, i) => ['--callback', `https://app.example/cb/${i}`]).flat();
    const tooMany = await runCli(['apps', 'create', '--name', 'many', '--type', 'spa', ...many], env);
    expect(tooMany.code).toBe(1);
    expect(tooMany.stderr).toBe('error: callbacks: at most 100 entries, not 101\n');
    const long = `https://${'a'.repeat(2100)}.example`;
    const tooLong = await runCli(
      ['apps', 'create', '--name', 'long', '--type', 'spa', '--web-origin', long],
      env,
    );
    expect(tooLong.code).toBe(1);
    expect(tooLong.stderr).toBe('error: web_origins: each entry at most 2048 characters\n');
    const fine = await runCli(
      ['apps', 'create', '--name', 'fine', '--type', 'spa', ...many.slice(0, 200)],
      env,
    );
    expect(fine.code, fine.stderr).toBe(0);
  });

  it("human output shows a stored name's control characters as \\u…, so none reaches the terminal", async () => {
    const name = 'evil\u001b]2;pwned\u0007\u001b[2J';
    // refused as a new name; one stored by an older version is still shown safely
    const refused = await runCli(['roles', 'create', name], env);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain('name: must not contain control characters');
    expect((await runCli(['roles', 'create', 'soon evil'], env)).code).toBe(0);
    const db = new Database(join(dataDir, 'sesame.db'));
    db.prepare('UPDATE roles SET name = ? WHERE name = ?').run(name, 'soon evil');
    db.close();
    const list = await runCli(['roles', 'list'], env);
    expect(list.stdout).toContain('evil\\u001b]2;pwned\\u0007\\u001b[2J');
    expect(list.stdout).not.toMatch(/\p{Cc}(?<![\n])/u);
    // --json keeps the value as stored
    const json = await runCliJson<{ name: string }[] | { roles: { name: string }[] }>(
      ['roles', 'list', '--json'],
      env,
    );
    expect(JSON.stringify(json)).toContain(JSON.stringify(name).slice(1, -1));
  });

  it("a role named like another role's id is not mistaken for it: the CLI asks for the unambiguous name", async () => {
    expect((await runCli(['roles', 'create', 'rol_sesame_admin'], env)).code).toBe(0);
    const res = await runCli(['roles', 'delete', 'rol_sesame_admin'], env);
    expect(res.code).toBe(1);
    expect(res.stderr).toMatch(
      /^error: role rol_sesame_admin is the id of "Sesame Admin" and the name of rol_\S+: /,
    );
    expect(await runCliJson(['roles', 'show', 'Sesame Admin', '--json'], env)).toMatchObject({
      id: 'rol_sesame_admin',
    });
  });
});
