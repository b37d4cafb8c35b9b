// Both ways into the server side by side, for the lean-lane tests (#16): the Hono app alone, and
// the lean lane in front of it, each on its own port of 127.0.0.1, sharing one test app, one
// logger (its lines kept) and one Metrics.
import { createServer as createHttpServer, type RequestListener, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { getRequestListener } from '@hono/node-server';
import pino from 'pino';
import client from 'prom-client';
import type { Deps } from '../../src/http/context.js';
import { leanLane } from '../../src/http/lean-lane.js';
import { Metrics } from '../../src/metrics.js';
import { createServer } from '../../src/server.js';
import { startTestApp, type TestApp } from '../support/app.js';

/** Headers that differ between any two answers. */
export const PER_ANSWER = new Set(['date', 'x-request-id', 'connection', 'keep-alive']);

/** An answer as compared: status, headers (lower-case, minus the per-answer ones), body. */
export type Answer = { status: number; headers: Record<string, string>; body: string };

/** Listens on a free port of 127.0.0.1; its base URL and a close(). */
export async function listen(listener: RequestListener): Promise<{ url: string; close(): Promise<void> }> {
  const server: Server = createHttpServer(listener);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** Status, headers (minus the per-answer ones) and body, with the request id in it replaced. */
export function compared(status: number, all: [string, string][], body: string): Answer {
  const headers: Record<string, string> = {};
  for (const [k, v] of all) if (!PER_ANSWER.has(k)) headers[k] = v;
  // an error names its request id: the same place in both answers
  const id = all.find(([k]) => k === 'x-request-id')?.[1];
  return { status, headers, body: id ? body.replaceAll(id, '(request id)') : body };
}

/** A fetch Response as compared. */
export const answer = async (res: Response): Promise<Answer> =>
  compared(res.status, [...res.headers], await res.text());

/** The two servers and what they share. */
export interface Lanes {
  t: TestApp;
  deps: Deps;
  hono: { url: string };
  lean: { url: string };
  /** Request targets the lean lane handed to the Hono app. */
  passed: string[];
  /** The log lines, parsed. */
  lines: Record<string, unknown>[];
  close(): Promise<void>;
}

/** Starts a SQLite test app and both servers over it. */
export async function startLanes(): Promise<Lanes> {
  const t = await startTestApp('sqlite');
  const passed: string[] = [];
  const lines: Record<string, unknown>[] = [];
  const logger = pino({ level: 'info' }, { write: (l: string) => void lines.push(JSON.parse(l)) });
  const deps: Deps = { ...t.rt, logger, metrics: new Metrics() };
  const honoListener = getRequestListener(createServer(deps).fetch);
  const hono = await listen(honoListener);
  const lean = await listen(
    leanLane(deps, (req, res) => {
      passed.push(`${req.method} ${req.url}`);
      return honoListener(req, res);
    }),
  );
  return {
    t,
    deps,
    hono,
    lean,
    passed,
    lines,
    async close() {
      await lean.close();
      await hono.close();
      client.register.clear();
      await t.close();
    },
  };
}

/** How many answers `sesame_http_requests_total` counted for this route, method and status. */
export async function requestCount(route: string, method: string, status: string): Promise<number> {
  const metric = await client.register.getSingleMetric('sesame_http_requests_total')?.get();
  const value = metric?.values.find(
    (v) => v.labels.route === route && v.labels.method === method && v.labels.status === status,
  );
  return value?.value ?? 0;
}
