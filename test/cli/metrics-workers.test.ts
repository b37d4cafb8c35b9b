import cluster from 'node:cluster';
import { fileURLToPath } from 'node:url';
import pino from 'pino';
import { afterAll, describe, expect, it } from 'vitest';
import { serveMetrics } from '../../src/metrics.js';
import { assertBuilt, freePort } from '../e2e/process.js';

/**
 * The primary of `start --workers` adds up its workers' metrics (#16). A worker whose channel
 * has closed but which has not exited yet (a dying worker's usual last moment) must be left out of
 * a scrape: a message sent to it was Node's unhandled 'error', which stopped the primary, and every
 * worker with it.
 */
describe('metrics across workers', () => {
  const workers: ReturnType<typeof cluster.fork>[] = [];
  afterAll(() => {
    for (const w of workers) w.process.kill('SIGKILL');
  });

  it('leaves out a worker whose channel has closed before its exit', async () => {
    assertBuilt();
    const port = await freePort();
    const server = await serveMetrics(port, '127.0.0.1', pino({ level: 'silent' }), true);
    cluster.setupPrimary({ exec: fileURLToPath(new URL('./fixtures/metrics-worker.mjs', import.meta.url)) });
    const listening = (w: (typeof workers)[number]) => new Promise((r) => w.once('listening', r));
    const [stays, leaves] = [cluster.fork(), cluster.fork()];
    workers.push(stays, leaves);
    await Promise.all([listening(stays), listening(leaves)]);
    const scrape = async () => {
      const res = await fetch(`http://127.0.0.1:${port}/metrics`);
      return { status: res.status, text: await res.text() };
    };
    const both = await scrape();
    expect(both.status).toBe(200);
    expect(both.text).toContain('process_cpu_user_seconds_total');

    // a graceful disconnect: the channel closes, the process lives on (its interval)
    const disconnected = new Promise((r) => leaves.once('disconnect', r));
    leaves.disconnect();
    await disconnected;
    expect(leaves.isDead()).toBe(false);
    const after = await scrape();
    expect(after.status).toBe(200);
    expect(after.text).toContain('process_cpu_user_seconds_total');
    expect(leaves.isDead()).toBe(false);

    stays.send('exit');
    await new Promise((r) => stays.once('exit', r));
    server.close();
  });
});
