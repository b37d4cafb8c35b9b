import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { cpuQuota } from '../../src/cli/workers.js';
import { assertBuilt, children, freePort, killAll, runCli, runCliJson, startSesame } from '../e2e/process.js';

const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

/** `sesame start --workers N` (#16): N processes sharing the port and the database. */
describe('sesame start --workers', () => {
  let dir: string;
  beforeAll(() => {
    assertBuilt();
    dir = mkdtempSync(join(tmpdir(), 'sesame-workers-'));
  });
  afterAll(async () => {
    await killAll();
    rmSync(dir, { recursive: true, force: true });
  });

  it('serves from two workers on one port and one database, replaces a worker that dies, stops on SIGTERM', async () => {
    const port = await freePort();
    const env = { SESAME_DATA_DIR: join(dir, 'two'), SESAME_PORT: String(port), SESAME_HOST: '127.0.0.1' };
    const base = `http://127.0.0.1:${port}`;
    const sesame = startSesame(env, ['start', '--workers', '2']);
    await sesame.waitReady(`${base}/readyz`);
    const primary = sesame.child.pid!;
    const workers = await vi.waitFor(
      () => {
        const c = children(primary);
        expect(c).toHaveLength(2);
        return c;
      },
      { timeout: 10_000, interval: 100 },
    );

    // An application made with the CLI meanwhile gets tokens from whichever worker answers.
    const api = await runCliJson(
      ['apis', 'create', '--name', 'W', '--identifier', 'https://w.test', '--scope', 'read'],
      env,
    );
    const app = await runCliJson<{ client_id: string; client_secret: string }>(
      ['apps', 'create', '--name', 'M', '--type', 'm2m'],
      env,
    );
    await runCliJson(
      ['apps', 'authorize', app.client_id, '--api', String(api.identifier), '--scope', 'read'],
      env,
    );
    for (let i = 0; i < 6; i++) {
      const res = await fetch(`${base}/oauth/token`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded', connection: 'close' },
        body: new URLSearchParams({
          grant_type: 'client_credentials',
          client_id: app.client_id,
          client_secret: app.client_secret,
          audience: 'https://w.test',
        }),
      });
      expect(res.status, await res.clone().text()).toBe(200);
      expect(((await res.json()) as { access_token: string }).access_token).toMatch(/^ey/);
    }

    process.kill(workers[0]!, 'SIGKILL');
    const replaced = await vi.waitFor(
      () => {
        const c = children(primary);
        expect(c).toHaveLength(2);
        expect(c).not.toContain(workers[0]);
        return c;
      },
      { timeout: 15_000, interval: 100 },
    );
    await sesame.waitReady(`${base}/readyz`);
    expect(sesame.stdout()).toContain('a worker died; starting another');

    expect(await sesame.stop('SIGTERM')).toEqual({ code: 0, signal: null });
    for (const pid of replaced) expect(alive(pid)).toBe(false);
  });

  it('defaults to one worker per usable core with NODE_ENV=production, and one otherwise', async () => {
    const port = await freePort();
    const env = {
      SESAME_DATA_DIR: join(dir, 'prod'),
      SESAME_PORT: String(port),
      SESAME_HOST: '127.0.0.1',
      NODE_ENV: 'production',
    };
    const sesame = startSesame(env);
    await sesame.waitReady(`http://127.0.0.1:${port}/readyz`);
    // the cores this process may use: a container's CPU quota counts (cpu-quota.test.ts)
    const quota = cpuQuota();
    const cores =
      quota === null
        ? availableParallelism()
        : Math.max(1, Math.min(availableParallelism(), Math.ceil(quota)));
    await vi.waitFor(() => expect(children(sesame.child.pid!)).toHaveLength(cores > 1 ? cores : 0), {
      timeout: 10_000,
      interval: 100,
    });
    expect(await sesame.stop('SIGTERM')).toEqual({ code: 0, signal: null });

    const single = startSesame({ ...env, NODE_ENV: 'development' });
    await single.waitReady(`http://127.0.0.1:${port}/readyz`);
    expect(children(single.child.pid!)).toEqual([]);
    expect(await single.stop('SIGTERM')).toEqual({ code: 0, signal: null });
  });

  it('refuses a bad --workers, and a taken port before forking any worker', async () => {
    for (const bad of ['0', '-1', '1.5', 'two', '257']) {
      const res = await runCli(['start', '--workers', bad], { SESAME_DATA_DIR: join(dir, 'bad') });
      expect(res.code, bad).toBe(1);
      expect(res.stderr).toContain('It must be a whole number from 1 to 256');
    }
    const taken = createServer();
    const port = await new Promise<number>((resolve) =>
      taken.listen(0, '127.0.0.1', () => resolve((taken.address() as { port: number }).port)),
    );
    try {
      const sesame = startSesame(
        { SESAME_DATA_DIR: join(dir, 'taken'), SESAME_PORT: String(port), SESAME_HOST: '127.0.0.1' },
        ['start', '--workers', '2'],
      );
      const exit = await sesame.exited;
      expect(exit.code).toBe(1);
      // refused before anything is written or any worker forked (the port is tried first)
      expect(sesame.stderr()).toMatch(
        /^error: port: cannot listen on 127\.0\.0\.1:\d+ \(.*EADDRINUSE.*\)\n$/,
      );
      expect(sesame.stdout()).not.toContain('started 2 workers');
    } finally {
      taken.close();
    }
  });
});
