import { spawn } from 'node:child_process';
import { beforeAll, describe, expect, it } from 'vitest';
import { assertBuilt, BIN, childEnv, runCliJson } from '../e2e/process.js';
import { describeEachBackend } from '../support/databases.js';
import { cliDatabases } from './cli-fixture.js';

beforeAll(() => assertBuilt());

/** The CLI on a pseudo-terminal (util-linux `script`): `answer` is typed once the question shows. */
function onTerminal(
  args: string[],
  env: Record<string, string | undefined>,
  answer: string | null,
): Promise<{ code: number; output: string }> {
  const line = [process.execPath, BIN, ...args].map((a) => `'${a.replace(/'/g, `'\\''`)}'`).join(' ');
  return new Promise((resolve, reject) => {
    const child = spawn('script', ['-qefc', line, '/dev/null'], { env: childEnv(env) });
    let output = '';
    let typed = false;
    const timer = setTimeout(() => child.kill('SIGKILL'), 30_000);
    child.stdout.on('data', (d: Buffer) => {
      output += d.toString();
      if (!typed && answer !== null && output.includes('[y/N] ')) {
        typed = true;
        child.stdin.write(answer);
      }
    });
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code: code ?? -1, output: output.replace(/\r/g, '') });
    });
  });
}

describeEachBackend('sesame CLI: deletions ask first on a terminal', (backend) => {
  const { freshEnv } = cliDatabases(backend);
  let env: Record<string, string | undefined>;
  beforeAll(async () => {
    env = await freshEnv();
  });
  const run = <T = Record<string, string>>(args: string[]) => runCliJson<T>(args, env);

  describe.concurrent('confirm', { timeout: 90_000 }, () => {
    it('anything but y is a no: nothing is deleted, exit 1; y deletes', async () => {
      const app = await run(['apps', 'create', '--name', 'Keep Me', '--type', 'm2m']);
      const no = await onTerminal(['apps', 'delete', app.client_id as string], env, 'n\n');
      expect(no.output).toContain(`Delete the application Keep Me (${app.client_id})?`);
      expect(no.output).toContain('error: not confirmed: nothing was changed');
      expect(no.code).toBe(1);
      expect((await run(['apps', 'show', app.client_id as string])).name).toBe('Keep Me');
      const eof = await onTerminal(['apps', 'delete', app.client_id as string], env, '\x04');
      expect(eof.code).toBe(1);
      const yes = await onTerminal(['apps', 'delete', app.client_id as string], env, 'y\n');
      expect(yes.code, yes.output).toBe(0);
      expect(yes.output).toContain(`deleted ${app.client_id}`);
    });

    it('--force asks nothing; without a terminal nothing is asked either', async () => {
      const role = await run(['roles', 'create', `forced-${Date.now()}`]);
      const forced = await onTerminal(['roles', 'delete', role.id as string, '--force'], env, null);
      expect(forced.code, forced.output).toBe(0);
      expect(forced.output).not.toContain('[y/N]');
      const api = await run([
        'apis',
        'create',
        '--name',
        'Piped',
        '--identifier',
        `https://piped-${Date.now()}.example/`,
      ]);
      // json() runs the CLI with its input a pipe: the script case
      expect(await run(['apis', 'delete', api.id as string])).toEqual({ deleted: api.id });
    });

    it('users delete and keys revoke name what they would end', async () => {
      const user = await run([
        'users',
        'create',
        '--email',
        `ask-${Date.now()}@example.com`,
        '--password',
        'a long enough password',
      ]);
      const askUser = await onTerminal(['users', 'delete', user.id as string], env, 'no\n');
      expect(askUser.output).toContain(`Delete the user ${user.email} (${user.id})?`);
      expect(askUser.code).toBe(1);
      await run(['keys', 'rotate', '--alg', 'ES256']);
      const { keys } = await run<{ keys: { kid: string; alg: string; status: string }[] }>(['keys', 'list']);
      const key = keys[0]!;
      const askKey = await onTerminal(['keys', 'revoke', '--', key.kid], env, '\n');
      expect(askKey.output).toContain(`Revoke the ${key.alg} key ${key.kid}?`);
      expect(askKey.code).toBe(1);
    });
  });
});
