import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { assertBuilt, type CliResult, freePort, ROOT, runCli, runCliJson } from '../e2e/process.js';

type Env = Record<string, string | undefined>;

const dirs: string[] = [];
/** A fresh temp directory, removed after the file. */
function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'sesame-config-'));
  dirs.push(dir);
  return dir;
}
/** SESAME_DATA_DIR in a fresh directory (SQLite at DATA_DIR/sesame.db), plus `extra`. */
const envIn = (dir: string, extra: Env = {}): Env => ({
  SESAME_DATA_DIR: dir,
  SESAME_LOG_LEVEL: 'warn',
  ...extra,
});

/** A configuration failure: non-zero exit, a message on stderr, no stack trace, nothing on stdout. */
function expectConfigError(res: CliResult, ...messages: RegExp[]): void {
  expect(res.code, `stdout: ${res.stdout}\nstderr: ${res.stderr}`).not.toBe(0);
  expect(res.stdout).toBe('');
  expect(res.stderr).toMatch(/^error: /);
  for (const m of messages) expect(res.stderr).toMatch(m);
  expect(res.stderr).not.toMatch(/\n\s+at /);
}

const now = () => Math.floor(Date.now() / 1000);
type Rotated = { rotated: { kid: string; activates_at: string }[] };
const activatesIn = (r: Rotated) => Date.parse(r.rotated[0]!.activates_at) / 1000 - now();

beforeAll(() => assertBuilt());
afterAll(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

describe.concurrent('bad configuration stops every command with a message naming the key', {
  timeout: 90_000,
}, () => {
  it.each([
    [{ SESAME_PORT: '99999' }, /port: Too big: expected number to be <=65535/],
    [{ SESAME_PORT: 'http' }, /port: /],
    [{ PORT: '99999' }, /port: Too big/],
    [
      { SESAME_DATABASE_URL: 'mysql://x' },
      /databaseUrl: must start with postgres:\/\/, postgresql:\/\/ or sqlite:/,
    ],
    [{ SESAME_SECRET: 'short' }, /secret: must be at least 32 characters/],
    [{ SESAME_LOG_LEVEL: 'loud' }, /logLevel: /],
    [{ SESAME_ISSUER: 'ftp://sesame.example' }, /issuer: must be an absolute http\(s\) URL/],
    [{ SESAME_ISSUER: 'https://sesame.example/?tenant=1' }, /issuer: must not have a query or fragment/],
    [{ SESAME_BODY_LIMIT: '10' }, /bodyLimit: /],
    [{ SESAME_KEY_ACTIVATION_DELAY: '-1' }, /keys\.activationDelay: /],
    [{ SESAME_KEY_CACHE_TTL: 'soon' }, /keys\.cacheTtl: /],
    [{ SESAME_JWKS_MAX_AGE: '999999' }, /keys\.jwksMaxAge: /],
    [{ SESAME_KEY_ALGORITHMS: 'ES256,HS256' }, /keys\.algorithms\.1: /],
  ])('%j', async (bad, message) => {
    const dir = tempDir();
    expectConfigError(await runCli(['migrate'], envIn(dir, bad)), /invalid configuration/, message);
    // nothing was created: validation comes before the database is opened
    expect(existsSync(join(dir, 'sesame.db'))).toBe(false);
  });

  it('names every bad key at once', async () => {
    const res = await runCli(
      ['apps', 'list'],
      envIn(tempDir(), { SESAME_PORT: '99999', SESAME_DATABASE_URL: 'mysql://x', SESAME_LOG_LEVEL: 'loud' }),
    );
    expectConfigError(res, /\n {2}port: /, /\n {2}databaseUrl: /, /\n {2}logLevel: /);
  });

  it.each(
    [['start'], ['apis', 'list'], ['apps', 'create', '--name', 'x', '--type', 'm2m'], ['keys', 'list']].map(
      (c) => [c.join(' '), c] as const,
    ),
  )('sesame %s with SESAME_PORT=99999 fails at once', async (_name, command) => {
    const res = await runCli(command, envIn(tempDir(), { SESAME_PORT: '99999' }), { timeoutMs: 10_000 });
    expectConfigError(res, /port: /);
  });

  it('SESAME_PORT wins over PORT', async () => {
    const res = await runCli(['migrate'], envIn(tempDir(), { SESAME_PORT: '3000', PORT: '99999' }));
    expect(res.code, res.stderr).toBe(0);
  });

  it('a PostgreSQL URL nobody answers at fails without hanging', async () => {
    const port = await freePort();
    const res = await runCli(
      ['migrate'],
      envIn(tempDir(), { SESAME_DATABASE_URL: `postgres://nobody@127.0.0.1:${port}/sesame` }),
      { timeoutMs: 15_000 },
    );
    expectConfigError(res, /^error: connect ECONNREFUSED 127\.0\.0\.1:\d+\n$/);
  });

  it('a data directory that is a file, or a database file that is not one: one line, no stack', async () => {
    const file = join(tempDir(), 'a-file');
    writeFileSync(file, 'not a directory', { mode: 0o644 });
    for (const args of [['migrate'], ['apps', 'create', '--name', 'X', '--type', 'spa']]) {
      const res = await runCli(args, envIn(file));
      expectConfigError(res);
      // the whole of stderr: no chmod advice for the file
      expect(res.stderr).toBe(
        `error: ${file} exists and is not a directory: the data directory (SESAME_DATA_DIR, dataDir) must be one\n`,
      );
    }
    const url = { SESAME_DATABASE_URL: `sqlite:${file}/sesame.db` };
    const res = await runCli(['migrate'], envIn(tempDir(), url));
    expectConfigError(res);
    expect(res.stderr).toBe(
      `error: ${file} exists and is not a directory: the SQLite database's directory (SESAME_DATABASE_URL, databaseUrl) must be one\n`,
    );
    const garbage = join(tempDir(), 'garbage.db');
    writeFileSync(garbage, 'not a database, not at all, not a single page of one', { mode: 0o600 });
    expectConfigError(
      await runCli(['migrate'], envIn(tempDir(), { SESAME_DATABASE_URL: `sqlite:${garbage}` })),
      /file is not a database/,
    );
  });

  it("a first admin's bad email or password stops the start naming its key", async () => {
    const start = async (email: string, password: string) =>
      runCli(
        ['start'],
        envIn(tempDir(), {
          SESAME_PORT: String(await freePort()),
          SESAME_ADMIN_EMAIL: email,
          SESAME_ADMIN_PASSWORD: password,
        }),
        { timeoutMs: 15_000 },
      );
    expectConfigError(await start('bad-email', 'a long enough passphrase 7'), /^error: admin\.email: /);
    expectConfigError(await start('boss@example.com', 'password123'), /^error: admin\.password: .*common/);
  });

  it('TLS files that are not a certificate and its key stop the start, naming them', async () => {
    const dir = tempDir();
    const pem = join(dir, 'empty.pem');
    writeFileSync(pem, '');
    expectConfigError(
      await runCli(
        ['start'],
        envIn(dir, { SESAME_PORT: String(await freePort()), SESAME_TLS_CERT: pem, SESAME_TLS_KEY: pem }),
        { timeoutMs: 15_000 },
      ),
      /tls: .*empty\.pem .*are not a PEM certificate and its key/,
    );
  });
});

describe.concurrent('configuration file', { timeout: 90_000 }, () => {
  function configFile(content: string): string {
    const file = join(tempDir(), 'sesame.json');
    writeFileSync(file, content);
    return file;
  }

  it('--config sets keys the environment does not', async () => {
    const file = configFile(JSON.stringify({ keys: { activationDelay: 120 } }));
    const r = await runCliJson<Rotated>(
      ['--config', file, 'keys', 'rotate', '--alg', 'ES256'],
      envIn(tempDir()),
    );
    expect(activatesIn(r)).toBeGreaterThan(100);
    expect(activatesIn(r)).toBeLessThanOrEqual(121);
  });

  it('SESAME_CONFIG names the file too', async () => {
    const file = configFile(JSON.stringify({ keys: { activationDelay: 0 } }));
    const before = now();
    const r = await runCliJson<Rotated>(
      ['keys', 'rotate', '--alg', 'ES256'],
      envIn(tempDir(), { SESAME_CONFIG: file }),
    );
    // at once (activationDelay 0), not after the default's ten minutes: within the CLI's run
    const activates = Date.parse(r.rotated[0]!.activates_at) / 1000;
    expect(activates).toBeGreaterThanOrEqual(before - 1);
    expect(activates).toBeLessThanOrEqual(now() + 1);
  });

  it('SESAME_* variables win over the file, key by key', async () => {
    const file = configFile(JSON.stringify({ keys: { activationDelay: 0, cacheTtl: 2 } }));
    const r = await runCliJson<Rotated>(
      ['--config', file, 'keys', 'rotate', '--alg', 'ES256'],
      envIn(tempDir(), { SESAME_KEY_ACTIVATION_DELAY: '600' }),
    );
    expect(activatesIn(r)).toBeGreaterThan(590);
  });

  it('without any configuration the activation delay is 900 s', async () => {
    const r = await runCliJson<Rotated>(['keys', 'rotate', '--alg', 'ES256'], envIn(tempDir()));
    expect(activatesIn(r)).toBeGreaterThan(890);
    expect(activatesIn(r)).toBeLessThanOrEqual(901);
  });

  it('a bad value in the file names the key', async () => {
    const file = configFile(JSON.stringify({ port: 'eighty', keys: { algorithms: [] } }));
    expectConfigError(
      await runCli(['--config', file, 'migrate'], envIn(tempDir())),
      /\n {2}port: /,
      /\n {2}keys\.algorithms: /,
    );
  });

  it('a missing file is named', async () => {
    const file = join(tempDir(), 'missing.json');
    expectConfigError(
      await runCli(['--config', file, 'migrate'], envIn(tempDir())),
      new RegExp(`config file ${file}: .*ENOENT`),
    );
  });

  it.each([['{ not json'], ['[1, 2]'], ['"a string"']])('a file holding %s is refused', async (content) => {
    const file = configFile(content);
    expectConfigError(
      await runCli(['--config', file, 'migrate'], envIn(tempDir())),
      /config file .*: invalid JSON/,
    );
  });
});

describe.concurrent('data directory', { timeout: 90_000 }, () => {
  it('is created with a secret (mode 0600) and the SQLite file; the secret is kept', async () => {
    const dir = join(tempDir(), 'nested', 'data');
    const env = envIn(dir);
    const res = await runCli(['migrate'], env);
    expect(res.code, res.stderr).toBe(0);
    const secretFile = join(dir, 'secret');
    expect(statSync(secretFile).mode & 0o777).toBe(0o600);
    const secret = readFileSync(secretFile, 'utf8').trim();
    expect(secret).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(statSync(join(dir, 'sesame.db')).isFile()).toBe(true);

    expect((await runCli(['apps', 'list'], env)).code).toBe(0);
    expect(readFileSync(secretFile, 'utf8').trim()).toBe(secret);
  });

  it('a loosened secret file is set back to 0600', async () => {
    const dir = tempDir();
    const secretFile = join(dir, 'secret');
    writeFileSync(secretFile, `${'s'.repeat(40)}\n`, { mode: 0o644 });
    expect((await runCli(['migrate'], envIn(dir))).code).toBe(0);
    expect(statSync(secretFile).mode & 0o777).toBe(0o600);
    expect(readFileSync(secretFile, 'utf8')).toBe(`${'s'.repeat(40)}\n`);
  });

  it('commands log warnings to stderr by default; SESAME_LOG_LEVEL asks for more (debug) or less (error)', async () => {
    const dir = tempDir();
    chmodSync(dir, 0o755);
    const { SESAME_LOG_LEVEL: _, ...quietless } = envIn(dir);
    const first = await runCli(['apps', 'list'], envIn(dir, { SESAME_LOG_LEVEL: 'debug' }));
    expect(first.code, first.stderr).toBe(0);
    expect(first.stderr).toMatch(/migrations applied/);
    const byDefault = await runCli(['apps', 'list'], quietless);
    expect(byDefault.stderr).toMatch(/is readable by other users/);
    expect(byDefault.stderr).not.toMatch(/migrations applied|"level":30/);
    const quiet = await runCli(['apps', 'list'], envIn(dir, { SESAME_LOG_LEVEL: 'error' }));
    expect([quiet.code, quiet.stderr]).toEqual([0, '']);
  });

  it('a secret file that is too short is refused', async () => {
    const dir = tempDir();
    writeFileSync(join(dir, 'secret'), 'short\n', { mode: 0o600 });
    const res = await runCli(['migrate'], envIn(dir));
    expect(res.code).not.toBe(0);
    expect(res.stderr).toMatch(/secret: the secret must be at least 32 characters/);
  });

  it('with SESAME_SECRET no secret file is written', async () => {
    const dir = tempDir();
    const res = await runCli(['migrate'], envIn(dir, { SESAME_SECRET: 'x'.repeat(32) }));
    expect(res.code, res.stderr).toBe(0);
    expect(existsSync(join(dir, 'secret'))).toBe(false);
    expect(existsSync(join(dir, 'sesame.db'))).toBe(true);
  });

  it('SESAME_DATABASE_URL=sqlite:PATH puts the database there', async () => {
    const dir = tempDir();
    const file = join(tempDir(), 'elsewhere.db');
    const res = await runCli(['migrate'], envIn(dir, { SESAME_DATABASE_URL: `sqlite:${file}` }));
    expect(res.code, res.stderr).toBe(0);
    expect(existsSync(file)).toBe(true);
    expect(existsSync(join(dir, 'sesame.db'))).toBe(false);
  });
});

describe('data directory shared by processes starting together', { timeout: 60_000 }, () => {
  // Two processes on a fresh data dir (say `sesame start` and a provisioning `sesame apps create`,
  // or two replicas on one volume) both call loadSecret. Separate `sesame migrate` processes hit the
  // race only now and then; threads released together by a barrier hit it reliably.
  it('all of them get the same secret, none fails', async () => {
    const code = `
      const { parentPort, workerData } = require('node:worker_threads');
      const gate = new Int32Array(workerData.gate);
      import(workerData.module).then(({ loadSecret }) => {
        parentPort.on('message', ({ dir }) => {
          parentPort.postMessage('ready');
          Atomics.wait(gate, 0, 0);
          try { parentPort.postMessage({ secret: loadSecret(undefined, dir) }); }
          catch (e) { parentPort.postMessage({ error: e.message }); }
        });
        parentPort.postMessage('loaded');
      });`;
    const gate = new Int32Array(new SharedArrayBuffer(4));
    const module = new URL(`file://${join(ROOT, 'dist', 'keys', 'encryption.js')}`).href;
    const workers = Array.from(
      { length: 8 },
      () => new Worker(code, { eval: true, workerData: { gate: gate.buffer, module } }),
    );
    const next = (w: Worker) =>
      new Promise<{ secret?: string; error?: string } | string>((r) => w.once('message', r));
    const base = tempDir();
    try {
      await Promise.all(workers.map(next));
      const deadline = Date.now() + 8_000;
      for (let round = 0; round < 3000 && Date.now() < deadline; round++) {
        const dir = join(base, String(round));
        Atomics.store(gate, 0, 0);
        const ready = workers.map(next);
        for (const w of workers) w.postMessage({ dir });
        await Promise.all(ready);
        const done = workers.map(next);
        Atomics.store(gate, 0, 1);
        Atomics.notify(gate, 0);
        const results = (await Promise.all(done)) as { secret?: string; error?: string }[];
        const errors = results.flatMap((r) => (r.error ? [r.error] : []));
        expect(errors, `round ${round}`).toEqual([]);
        expect(new Set(results.map((r) => r.secret)).size, `round ${round}`).toBe(1);
        rmSync(dir, { recursive: true, force: true });
      }
    } finally {
      await Promise.all(workers.map((w) => w.terminate()));
    }
  });
});
