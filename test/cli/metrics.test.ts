import { mkdtempSync, rmSync } from 'node:fs';
import { connect, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import {
  assertBuilt,
  children,
  eventually,
  freePort,
  killAll,
  runCliJson,
  startSesame,
} from '../e2e/process.js';

/** The value of one sample line `name{labels} value` of a Prometheus text page; 0 when absent. */
function sample(page: string, name: string, labels = ''): number {
  for (const line of page.split('\n')) {
    if (line.startsWith(`${name}${labels} `)) return Number(line.slice(name.length + labels.length + 1));
  }
  return 0;
}

const form = (body: Record<string, string>) => ({
  method: 'POST',
  headers: { 'content-type': 'application/x-www-form-urlencoded' },
  body: new URLSearchParams(body),
});

/** GET /metrics on SESAME_METRICS_PORT (#16), in one process and added up across --workers. */
describe('Prometheus metrics', () => {
  let dir: string;
  beforeAll(() => {
    assertBuilt();
    dir = mkdtempSync(join(tmpdir(), 'sesame-metrics-'));
  });
  afterAll(async () => {
    await killAll();
    rmSync(dir, { recursive: true, force: true });
  });

  for (const workers of [1, 2]) {
    it(`counts requests, tokens, failed sign-ins and statements (${workers} worker${workers > 1 ? 's' : ''})`, async () => {
      const [port, metricsPort] = [await freePort(), await freePort()];
      const env = {
        SESAME_DATA_DIR: join(dir, `w${workers}`),
        SESAME_PORT: String(port),
        SESAME_HOST: '127.0.0.1',
        SESAME_METRICS_PORT: String(metricsPort),
      };
      const base = `http://127.0.0.1:${port}`;
      const metrics = `http://127.0.0.1:${metricsPort}/metrics`;
      const sesame = startSesame(env, ['start', '--workers', String(workers)]);
      await sesame.waitReady(`${base}/readyz`);
      await sesame.waitReady(metrics);

      await runCliJson(
        ['apis', 'create', '--name', 'M', '--identifier', 'https://m.test', '--scope', 'read'],
        env,
      );
      const app = await runCliJson<{ client_id: string; client_secret: string }>(
        ['apps', 'create', '--name', 'M', '--type', 'm2m'],
        env,
      );
      await runCliJson(
        ['apps', 'authorize', app.client_id, '--api', 'https://m.test', '--scope', 'read'],
        env,
      );
      const cc = { grant_type: 'client_credentials', client_id: app.client_id, audience: 'https://m.test' };
      for (let i = 0; i < 3; i++) {
        const ok = await fetch(`${base}/oauth/token`, form({ ...cc, client_secret: app.client_secret }));
        expect(ok.status).toBe(200);
      }
      const bad = await fetch(`${base}/oauth/token`, form({ ...cc, client_secret: 'wrong' }));
      expect(bad.status).toBe(401);
      const web = await runCliJson<{ client_id: string; client_secret: string }>(
        ['apps', 'create', '--name', 'W', '--type', 'web', '--grant', 'password'],
        env,
      );
      const pw = await fetch(
        `${base}/oauth/token`,
        form({
          grant_type: 'password',
          client_id: web.client_id,
          client_secret: web.client_secret,
          username: 'nobody@example.com',
          password: 'not the password',
        }),
      );
      expect(pw.status).toBe(400);
      expect((await fetch(`${base}/metrics`)).status).toBe(404);
      // The Management API, built on its first request, is counted by the route it matched.
      expect((await fetch(`${base}/api/v2/openapi.json`)).status).toBe(200);

      const res = await fetch(metrics);
      expect(res.status).toBe(200);
      expect(res.headers.get('content-type')).toContain('text/plain');
      const page = await res.text();
      expect(
        sample(page, 'sesame_http_requests_total', '{route="/oauth/token",method="POST",status="200"}'),
      ).toBe(3);
      expect(
        sample(page, 'sesame_http_requests_total', '{route="/oauth/token",method="POST",status="401"}'),
      ).toBe(1);
      expect(
        sample(page, 'sesame_http_requests_total', '{route="unmatched",method="GET",status="404"}'),
      ).toBe(1);
      expect(
        sample(
          page,
          'sesame_http_requests_total',
          '{route="/api/v2/openapi.json",method="GET",status="200"}',
        ),
      ).toBe(1);
      expect(
        sample(
          page,
          'sesame_http_request_duration_seconds_count',
          '{route="/oauth/token",method="POST",status="200"}',
        ),
      ).toBe(3);
      expect(sample(page, 'sesame_tokens_issued_total', '{grant_type="client_credentials"}')).toBe(3);
      expect(sample(page, 'sesame_log_events_total', '{type="feccft"}')).toBe(1);
      expect(sample(page, 'sesame_login_failures_total', '{type="fepft"}')).toBe(1);
      expect(
        sample(page, 'sesame_db_query_duration_seconds_count', '{kind="select",outcome="ok"}'),
      ).toBeGreaterThan(0);
      expect(page).toMatch(/^nodejs_eventloop_lag_seconds /m);
      expect(page).toMatch(/^process_cpu_seconds_total /m);

      expect((await fetch(`http://127.0.0.1:${metricsPort}/other`)).status).toBe(404);
      // A request target that is no URL (an absolute form with a port out of range) is answered, not fatal.
      const raw = await new Promise<string>((resolve, reject) => {
        const socket = connect(metricsPort, '127.0.0.1', () =>
          socket.end('GET http://a:99999/metrics HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n'),
        );
        let text = '';
        socket.on('data', (d) => {
          text += d.toString();
        });
        socket.on('end', () => resolve(text));
        socket.on('error', reject);
      });
      expect(raw).toMatch(/^HTTP\/1\.1 404/);
      expect((await fetch(metrics)).status).toBe(200);
      expect((await fetch(metrics, { method: 'POST' })).status).toBe(405);
      expect(await sesame.stop('SIGTERM')).toEqual({ code: 0, signal: null });
    });
  }

  it('answers every scrape while a worker is replaced (a starting worker is not waited for)', async () => {
    const [port, metricsPort] = [await freePort(), await freePort()];
    const env = {
      SESAME_DATA_DIR: join(dir, 'replaced'),
      SESAME_PORT: String(port),
      SESAME_HOST: '127.0.0.1',
      SESAME_METRICS_PORT: String(metricsPort),
    };
    const metrics = `http://127.0.0.1:${metricsPort}/metrics`;
    const sesame = startSesame(env, ['start', '--workers', '2']);
    await sesame.waitReady(`http://127.0.0.1:${port}/readyz`);
    await sesame.waitReady(metrics);
    // both workers listen: a first worker that dies before it serves stops the start instead
    await vi.waitFor(() => expect(sesame.stdout().match(/Sesame listening on/g)).toHaveLength(2), {
      timeout: 10_000,
      interval: 50,
    });
    const [victim] = children(sesame.child.pid!);
    process.kill(victim!, 'SIGKILL');
    // the replacement is forked after a second and starts for about another: scrape all along
    const scrapes: { status: number; ms: number }[] = [];
    const end = Date.now() + 4000;
    while (Date.now() < end) {
      const t0 = Date.now();
      const res = await fetch(metrics, { signal: AbortSignal.timeout(10_000) });
      await res.text();
      scrapes.push({ status: res.status, ms: Date.now() - t0 });
      await new Promise((r) => setTimeout(r, 100));
    }
    expect(scrapes.filter((x) => x.status !== 200)).toEqual([]);
    // never the 5 s a worker that cannot answer yet used to cost (2 s at most for one that hangs,
    // and room for a loaded machine)
    expect(Math.max(...scrapes.map((x) => x.ms))).toBeLessThan(4000);
    await vi.waitFor(() => expect(children(sesame.child.pid!)).toHaveLength(2), {
      timeout: 10_000,
      interval: 100,
    });
    expect(children(sesame.child.pid!)).not.toContain(victim);
    expect(await sesame.stop('SIGTERM')).toEqual({ code: 0, signal: null });
  });

  it('is off unless SESAME_METRICS_PORT is set, and a bad port stops the start naming it', async () => {
    const port = await freePort();
    const env = { SESAME_DATA_DIR: join(dir, 'off'), SESAME_PORT: String(port), SESAME_HOST: '127.0.0.1' };
    const sesame = startSesame(env, ['start', '--workers', '1']);
    await sesame.waitReady(`http://127.0.0.1:${port}/readyz`);
    expect((await fetch(`http://127.0.0.1:${port}/metrics`)).status).toBe(404);
    expect(await sesame.stop('SIGTERM')).toEqual({ code: 0, signal: null });
    for (const port of ['ninety', String(env.SESAME_PORT)]) {
      const bad = startSesame({ ...env, SESAME_METRICS_PORT: port }, ['start', '--workers', '1']);
      expect((await bad.exited).code).toBe(1);
      expect(bad.stderr()).toContain('metrics.port');
    }
  });

  it('SESAME_METRICS_PORT=0 takes any free port, and the log names the one taken', async () => {
    const port = await freePort();
    const env = {
      SESAME_DATA_DIR: join(dir, 'any-port'),
      SESAME_PORT: String(port),
      SESAME_HOST: '127.0.0.1',
      SESAME_METRICS_PORT: '0',
    };
    const sesame = startSesame(env, ['start', '--workers', '1']);
    try {
      await sesame.waitReady(`http://127.0.0.1:${port}/healthz`);
      const logged = await eventually(
        async () => /metrics on http:\/\/127\.0\.0\.1:(\d+)\/metrics/.exec(sesame.stdout())?.[1],
        10_000,
        'the metrics line',
      );
      expect(Number(logged)).toBeGreaterThan(0);
      expect((await fetch(`http://127.0.0.1:${logged}/metrics`)).status).toBe(200);
    } finally {
      await sesame.kill();
    }
  });

  it('a metrics port another process holds stops the start, as the main port does', async () => {
    const taken = createServer();
    const metricsPort = await freePort();
    await new Promise<void>((resolve) => taken.listen(metricsPort, '127.0.0.1', resolve));
    try {
      for (const workers of ['1', '2']) {
        const env = {
          SESAME_DATA_DIR: join(dir, `taken-${workers}`),
          SESAME_PORT: String(await freePort()),
          SESAME_HOST: '127.0.0.1',
          SESAME_METRICS_PORT: String(metricsPort),
        };
        const bad = startSesame(env, ['start', '--workers', workers]);
        expect((await bad.exited).code).toBe(1);
        expect(bad.stderr()).toMatch(/metrics\.port: cannot listen on 127\.0\.0\.1:\d+ \(.*EADDRINUSE/);
        // It stops before the first admin's setup link is logged: that link would be a dead end.
        expect(bad.stdout() + bad.stderr()).not.toContain('/console/setup');
      }
    } finally {
      taken.close();
    }
  });
});
