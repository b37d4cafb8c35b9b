import { execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { beforeAll, describe, expect, it } from 'vitest';
import { assertBuilt, BIN, childEnv, runCli } from '../e2e/process.js';

beforeAll(() => assertBuilt());

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

  it('--version and -V print the version of package.json, with no configuration', async () => {
    const { version } = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8'));
    for (const flag of ['--version', '-V']) {
      const res = await runCli([flag], {});
      expect(res.code, res.stderr).toBe(0);
      expect(res.stdout).toBe(`${version}\n`);
    }
  });

  it('an unknown command exits non-zero', async () => {
    const res = await runCli(['frobnicate'], {});
    expect(res.code).not.toBe(0);
    expect(res.stderr).toMatch(/unknown command 'frobnicate'/);
  });
});

describe('sesame output read by a reader that goes away', { timeout: 90_000 }, () => {
  it('exits 0 without a stack trace, and what it did stays done', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'sesame-epipe-'));
    const env = { SESAME_DATA_DIR: dataDir, SESAME_LOG_LEVEL: 'warn' };
    try {
      for (let i = 0; i < 2; i++) {
        // the reading end is closed before the command writes: its first write meets EPIPE
        const child = spawn(process.execPath, [BIN, 'roles', 'create', `epipe-${i}`, '--json'], {
          env: childEnv(env),
          cwd: tmpdir(),
          stdio: ['ignore', 'pipe', 'pipe'],
        });
        child.stdout.destroy();
        let stderr = '';
        child.stderr.on('data', (d) => {
          stderr += String(d);
        });
        const code = await new Promise<number | null>((done) => child.on('close', (c) => done(c)));
        expect(stderr).not.toMatch(/EPIPE|Unhandled/);
        expect(code).toBe(0);
        const shown = await runCli(['roles', 'show', `epipe-${i}`, '--json'], env);
        expect(shown.code, shown.stderr).toBe(0);
      }
    } finally {
      rmSync(dataDir, { recursive: true, force: true });
    }
  });
});

describe('sesame on a SQLite database another process holds', { timeout: 90_000 }, () => {
  it('fails with exit code 1 saying why, after the busy timeout, and works once the lock is gone', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'sesame-busy-'));
    const env = { SESAME_DATA_DIR: dataDir, SESAME_LOG_LEVEL: 'warn' };
    try {
      expect((await runCli(['roles', 'create', 'busy'], env)).code).toBe(0);
      const holder = new Database(join(dataDir, 'sesame.db'));
      try {
        holder.exec('BEGIN EXCLUSIVE');
        const res = await runCli(['roles', 'create', 'busy-2'], env);
        expect(res.code).toBe(1);
        expect(res.stderr).toMatch(
          /^error: database is locked: another connection held the SQLite database's write lock/,
        );
        expect(res.stderr).not.toMatch(/\n\s+at /); // no stack trace
      } finally {
        holder.close();
      }
      expect((await runCli(['roles', 'create', 'busy-2'], env)).code).toBe(0);
    } finally {
      rmSync(dataDir, { recursive: true, force: true });
    }
  });
});
