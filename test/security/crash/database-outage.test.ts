// The database goes away mid-load: a PostgreSQL cluster of this suite's own is stopped with
// `pg_ctl -m immediate` while clients keep calling one `sesame start`. Requests that need the database must then fail
// fast with 503 and a JSON `temporarily_unavailable` (/authorize: a page saying so; never 500,
// never a hang), /readyz must say 503, and once the cluster is started again Sesame must serve again by itself (no restart).
// SQLite is not applicable: the database is a file inside the Sesame process, there is no
// server that can go away while the process runs.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { assertBuilt, freePort, killAll } from '../../e2e/process.js';
import {
  authorizationUrl,
  type Deployment,
  deployment,
  type Fixtures,
  isActive,
  type Node,
  postForm,
  REQUEST_TIMEOUT_MS,
  registerFixtures,
  show,
  sleep,
  startNode,
  timedFetch,
} from '../instances/harness.js';
import { type OwnCluster, startOwnCluster } from './pg-cluster.js';

/** How long the database stays away. */
const DOWN_MS = 4_000;
/** How soon service must be back after the cluster is up again. */
const RECOVERY_MS = 20_000;

/** One request of the load and what came back. */
interface Sample {
  what: string;
  sentAt: number;
  answeredAt: number;
  status: number | null;
  error: string | null;
  retryAfter: string | null;
  text: string;
}

beforeAll(() => assertBuilt());
afterAll(() => killAll());

describe('crash: the database goes away mid-load [sqlite]', () => {
  it.skip('not applicable: SQLite is a file opened inside the Sesame process; there is no database server to lose', () => {});
});

describe('crash: the database goes away mid-load [postgres]', { timeout: 120_000 }, () => {
  let cluster: OwnCluster | null = null;
  let dataDir: string | undefined;
  let d: Deployment;
  let node: Node;
  let f: Fixtures;
  let missing: string | null = null;

  beforeAll(async () => {
    try {
      cluster = await startOwnCluster();
      if (!cluster) missing = 'initdb/pg_ctl not found';
    } catch (err) {
      missing = `PostgreSQL did not start: ${(err as Error).message}`;
    }
    if (!cluster) return;
    const admin = new pg.Client({ connectionString: cluster.url });
    await admin.connect();
    await admin.query('create database sesame_outage');
    await admin.end();
    const url = new URL(cluster.url);
    url.pathname = '/sesame_outage';
    dataDir = mkdtempSync(join(tmpdir(), 'sesame-outage-'));
    const port = await freePort();
    d = deployment(url.toString(), dataDir, port);
    node = await startNode(d, 'S', port);
    f = await registerFixtures(d.env);
  }, 120_000);

  afterAll(async () => {
    await node?.proc.kill();
    cluster?.destroy();
    if (dataDir) rmSync(dataDir, { recursive: true, force: true });
  });

  it('answers 503 temporarily_unavailable while the database is down, /readyz 503, and recovers by itself', async (ctx) => {
    if (!cluster) {
      if (process.env.SESAME_REQUIRE_POSTGRES === '1') throw new Error(`PostgreSQL is required: ${missing}`);
      console.warn(`SKIPPED database outage [postgres]: ${missing}`);
      ctx.skip();
      return;
    }
    const own = cluster;
    const pid = node.proc.child.pid;
    const before = await postForm(node.base, '/oauth/token', { grant_type: 'client_credentials' }, f.m2m);
    expect(before.status, show(before)).toBe(200);
    const token = before.body?.access_token as string;
    expect((await timedFetch(`${node.base}/readyz`)).status).toBe(200);

    // the load: four clients, each on its own endpoint, until told to stop
    const samples: Sample[] = [];
    let stop = false;
    const requests: Record<string, () => Promise<Response>> = {
      token: () => form('/oauth/token', { grant_type: 'client_credentials' }, true),
      introspect: () => form('/oauth/introspect', { token }, true),
      revoke: () => form('/oauth/revoke', { token: 'not-a-token-of-ours' }, true),
      authorize: () => timedFetch(authorizationUrl(node.base, f.web.clientId).url),
    };
    function form(path: string, fields: Record<string, string>, auth: boolean): Promise<Response> {
      const pair = `${encodeURIComponent(f.m2m.clientId)}:${encodeURIComponent(f.m2m.clientSecret)}`;
      return timedFetch(`${node.base}${path}`, {
        method: 'POST',
        headers: {
          'content-type': 'application/x-www-form-urlencoded',
          ...(auth ? { authorization: `Basic ${Buffer.from(pair).toString('base64')}` } : {}),
        },
        body: new URLSearchParams(fields).toString(),
      });
    }
    const loops = Object.entries(requests).map(async ([what, send]) => {
      while (!stop) {
        const sentAt = performance.now();
        try {
          const res = await send();
          const text = await res.text();
          let error: string | null = null;
          try {
            error = (JSON.parse(text) as { error?: string }).error ?? null;
          } catch {
            error = null;
          }
          samples.push({
            what,
            sentAt,
            answeredAt: performance.now(),
            status: res.status,
            error,
            retryAfter: res.headers.get('retry-after'),
            text: text.slice(0, 2000),
          });
        } catch (err) {
          samples.push({
            what,
            sentAt,
            answeredAt: performance.now(),
            status: null,
            error: null,
            retryAfter: null,
            text: `no answer: ${(err as Error).message}`,
          });
        }
        await sleep(50);
      }
    });

    try {
      await sleep(1_500);
      own.kill();
      const downAt = performance.now();

      // /readyz says 503 (and fast)
      let ready: { status: number; text: string } = { status: 0, text: '' };
      while (performance.now() - downAt < REQUEST_TIMEOUT_MS) {
        const res = await timedFetch(`${node.base}/readyz`);
        ready = { status: res.status, text: await res.text() };
        if (res.status === 503) break;
        await sleep(100);
      }
      const readyDownAfter = performance.now() - downAt;
      expect(ready.status, `/readyz while the database is down: ${ready.text}`).toBe(503);
      expect(JSON.parse(ready.text)).toMatchObject({ status: 'unavailable' });

      await sleep(DOWN_MS);
      const upAt = performance.now();
      own.start();
      const startedAt = performance.now();

      // service comes back by itself: /readyz 200, then a token 200
      const readyAgain = await until(
        RECOVERY_MS,
        async () => (await timedFetch(`${node.base}/readyz`)).status === 200,
      );
      expect(readyAgain, `/readyz 200 within ${RECOVERY_MS} ms of the cluster's start`).toBe(true);
      const tokenAgain = await until(RECOVERY_MS - (performance.now() - startedAt), async () => {
        const a = await postForm(node.base, '/oauth/token', { grant_type: 'client_credentials' }, f.m2m);
        return a.status === 200;
      });
      expect(tokenAgain, `a token request 200 within ${RECOVERY_MS} ms of the cluster's start`).toBe(true);
      const recoveredAt = performance.now();
      console.info(
        `[postgres] /readyz 503 ${Math.round(readyDownAfter)} ms after the stop; ` +
          `service back ${Math.round(recoveredAt - startedAt)} ms after the start; ${samples.length} requests`,
      );
      await sleep(1_000);
      stop = true;
      await Promise.all(loops);

      // the same process served throughout
      expect(node.proc.exit(), node.proc.stderr()).toBeNull();
      expect(node.proc.child.pid).toBe(pid);

      const fmt = (s: Sample) =>
        `${s.what} ${s.status} ${Math.round(s.answeredAt - s.sentAt)} ms ${s.text.slice(0, 200)}`;
      // never a 500, never a hang, never a dropped connection
      expect(
        samples
          .filter((s) => s.status === null || (s.status >= 500 && s.status !== 503))
          .map(fmt)
          .slice(0, 20),
      ).toEqual([]);
      expect(
        samples
          .filter((s) => s.answeredAt - s.sentAt > REQUEST_TIMEOUT_MS)
          .map(fmt)
          .slice(0, 20),
      ).toEqual([]);
      // while it was down: 503, temporarily_unavailable (a page for /authorize), Retry-After, on every endpoint
      const down = samples.filter((s) => s.sentAt >= downAt && s.answeredAt <= upAt);
      expect(
        new Set(down.map((s) => s.what)),
        'every endpoint was called while the database was down',
      ).toEqual(new Set(Object.keys(requests)));
      // An answer that needs nothing but what the read cache still holds (#16: applications,
      // APIs and client grants, up to a second on PostgreSQL) may be the usual one; anything
      // that reaches the database is a 503.
      const usual = (s: Sample) => s.status === (s.what === 'authorize' ? 303 : 200);
      // /authorize is a browser's page: a page that says so; the JSON endpoints, the JSON error
      const unavailable = (s: Sample) =>
        s.status === 503 &&
        s.retryAfter !== null &&
        (s.what === 'authorize'
          ? s.text.includes('Try again shortly')
          : s.error === 'temporarily_unavailable');
      expect(
        down
          .filter((s) => !unavailable(s) && !usual(s))
          .map(fmt)
          .slice(0, 20),
      ).toEqual([]);
      for (const what of ['introspect', 'authorize']) {
        expect(down.filter((s) => s.what === what && unavailable(s)).length, what).toBeGreaterThan(0);
      }
      // once recovered: everything answered as usual
      const after = samples.filter((s) => s.sentAt >= recoveredAt);
      expect(after.length).toBeGreaterThan(0);
      expect(
        after
          .filter((s) => s.status !== (s.what === 'authorize' ? 303 : 200))
          .map(fmt)
          .slice(0, 20),
      ).toEqual([]);
      // what was written before the outage is still there
      expect(await isActive(node.base, f.m2m, token)).toBe(true);
    } finally {
      stop = true;
      await Promise.all(loops);
      if (!own.running()) own.start();
    }
  });
});

/** Polls `check` every 200 ms until it is true or `ms` have passed; network errors count as false. */
async function until(ms: number, check: () => Promise<boolean>): Promise<boolean> {
  const deadline = performance.now() + ms;
  while (performance.now() < deadline) {
    try {
      if (await check()) return true;
    } catch {
      // not yet
    }
    await sleep(200);
  }
  return false;
}
