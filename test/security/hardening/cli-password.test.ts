// Issue #14 §10: `sesame users create --password P` leaves P in shell history and in ps. The CLI
// now reads it from standard input (--password-stdin) or asks on a terminal without echo;
// --password stays, with --help saying why not to use it. Through the built binary.
import { spawn } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { checkPassword } from '../../../src/accounts/password.js';
import { systemClock } from '../../../src/util/clock.js';
import { assertBuilt, BIN, childEnv, runCli } from '../../e2e/process.js';
import { createTestDatabase, describeEachBackend, type TestDatabase } from '../../support/databases.js';

const PASSWORD = 'correct horse battery staple';

describeEachBackend('hardening: passwords stay off the command line (#14 §10)', (backend) => {
  let db: TestDatabase;
  let env: Record<string, string>;
  let n = 0;
  const email = () => `cli${++n}-${backend}@example.com`;

  beforeAll(async () => {
    assertBuilt();
    db = await createTestDatabase(backend);
    env = { SESAME_DATA_DIR: db.dataDir, SESAME_DATABASE_URL: db.url, SESAME_LOG_LEVEL: 'warn' };
  });
  afterAll(async () => db?.drop());

  /** Whether `address` signs in with `password`, read from the database. */
  async function passwordOf(address: string, password: string): Promise<boolean> {
    const storage = db.open(systemClock);
    try {
      const user = await storage.users.getByEmail(address);
      return checkPassword(user?.passwordHash, password);
    } finally {
      await storage.close();
    }
  }

  it('users create --password-stdin reads the first line of stdin; the password is nowhere in the output', async () => {
    const address = email();
    const res = await runCli(['users', 'create', '--email', address, '--password-stdin'], env, {
      input: `${PASSWORD}\n`,
    });
    expect(res.code, res.stderr).toBe(0);
    expect(res.stdout + res.stderr).not.toContain(PASSWORD);
    expect(await passwordOf(address, PASSWORD)).toBe(true);
    expect(await passwordOf(address, `${PASSWORD}\n`)).toBe(false);
  });

  it('users set-password and admin create take --password-stdin too', async () => {
    const address = email();
    const made = await runCli(['users', 'create', '--email', address, '--password-stdin', '--json'], env, {
      input: 'a first password\n',
    });
    expect(made.code, made.stderr).toBe(0);
    const id = JSON.parse(made.stdout).id as string;
    const changed = await runCli(['users', 'set-password', id, '--password-stdin'], env, {
      input: `${PASSWORD}\r\n`,
    });
    expect(changed.code, changed.stderr).toBe(0);
    expect(await passwordOf(address, PASSWORD)).toBe(true);
    const admin = email();
    const res = await runCli(['admin', 'create', '--email', admin, '--password-stdin'], env, {
      input: PASSWORD,
    });
    expect(res.code, res.stderr).toBe(0);
    expect(await passwordOf(admin, PASSWORD)).toBe(true);
  });

  it('without a password and without a terminal: a clear error, no user', async () => {
    const address = email();
    const res = await runCli(['users', 'create', '--email', address], env);
    expect(res.code).not.toBe(0);
    expect(res.stderr).toMatch(/--password-stdin/);
    expect(await passwordOf(address, PASSWORD)).toBe(false);
  });

  it('both --password and --password-stdin: refused', async () => {
    const res = await runCli(
      ['users', 'create', '--email', email(), '--password', PASSWORD, '--password-stdin'],
      env,
      {
        input: PASSWORD,
      },
    );
    expect(res.code).not.toBe(0);
    expect(res.stderr).toMatch(/one way/);
  });

  it('--help says why not to use --password', async () => {
    for (const args of [
      ['users', 'create'],
      ['users', 'set-password'],
      ['admin', 'create'],
    ]) {
      const help = await runCli([...args, '--help'], env);
      expect(help.stdout).toMatch(/--password-stdin/);
      expect(help.stdout.replace(/\s+/g, ' ')).toMatch(/shell history and shows in ps/);
    }
  });

  describe('on a terminal', () => {
    /** `users create --email address` on a pseudo-terminal through script(1). */
    const createOnTerminal = (address: string) => {
      const command = [process.execPath, BIN, 'users', 'create', '--email', address]
        .map((a) => `'${a.replace(/'/g, `'\\''`)}'`)
        .join(' ');
      return spawn('script', ['-qec', command, '/dev/null'], { env: childEnv(env) });
    };

    it('asks twice without echo (a pseudo-terminal through script(1))', async () => {
      const address = email();
      const child = createOnTerminal(address);
      let seen = '';
      const waitFor = (text: string) =>
        new Promise<void>((resolve, reject) => {
          const timer = setTimeout(() => reject(new Error(`no "${text}" in: ${seen}`)), 30_000);
          const check = () => {
            if (seen.includes(text)) {
              clearTimeout(timer);
              child.stdout.off('data', onData);
              resolve();
            }
          };
          const onData = (d: Buffer) => {
            seen += d.toString();
            check();
          };
          child.stdout.on('data', onData);
          check();
        });
      const exited = new Promise<number>((resolve) => child.on('exit', (code) => resolve(code ?? -1)));
      await waitFor('Password: ');
      child.stdin.write(`${PASSWORD}\r`);
      await waitFor('Repeat the password: ');
      child.stdin.write(`${PASSWORD}\r`);
      child.stdout.on('data', (d: Buffer) => {
        seen += d.toString();
      });
      expect(await exited).toBe(0);
      expect(seen).not.toContain(PASSWORD);
      expect(await passwordOf(address, PASSWORD)).toBe(true);
    });

    it('Ctrl-D at the prompt cancels, as Ctrl-C does: exit 1, no user', async () => {
      const address = email();
      const child = createOnTerminal(address);
      let seen = '';
      child.stdout.on('data', (d: Buffer) => {
        seen += d.toString();
        if (seen.includes('Password: ') && !seen.includes('sent')) {
          seen += 'sent';
          child.stdin.write('\u0004');
        }
      });
      const code = await new Promise<number>((resolve) => child.on('exit', (c) => resolve(c ?? -1)));
      expect(code, seen).toBe(1);
      expect(seen).toContain('cancelled');
      const storage = db.open(systemClock);
      try {
        expect(await storage.users.getByEmail(address)).toBeFalsy();
      } finally {
        await storage.close();
      }
    });
  });
});
