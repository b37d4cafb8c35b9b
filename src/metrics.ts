import cluster, { type Worker } from 'node:cluster';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { MiddlewareHandler } from 'hono';
import { routePath } from 'hono/route';
import type { Logger } from 'pino';
import client from 'prom-client';
import { ConfigError } from './config/load.js';
import { TOKEN_EVENTS } from './endpoints/token/events.js';
import type { EventType } from './events/types.js';
import { CountOf, Family } from './metric-families.js';
import type { QueryListener } from './storage/sql/index.js';

/** Failed sign-ins among the log's event types (Auth0's codes; fepft: the password grant's). */
const LOGIN_FAILURES = new Set<string>(['f', 'fp', 'fu', 'limit_wc', 'limit_mu', 'fepft']);
/** Which grant a successful token event was. */
const GRANT_OF_SUCCESS = new Map<string, string>(
  Object.entries(TOKEN_EVENTS).map(([grant, [success]]) => [success, grant]),
);

const SECONDS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5];

/** A statement's kind, by its text (statements are few and fixed); cleared when it grows past this. */
const KINDS_KEPT = 1000;

/**
 * Prometheus metrics (#16), loaded only when `metrics.port` is set: requests by route, method
 * and status with their durations, tokens issued by grant type, failed sign-ins, log events,
 * database statements and their durations, and Node's own (event-loop lag, memory, CPU, GC).
 * Kept in prom-client's global registry, which `--workers` aggregates across processes; Sesame's
 * own are families (metric-families.ts), so a request costs a few map lookups and additions.
 */
export class Metrics {
  /** Its count is also sesame_http_requests_total's value (the constructor). */
  private readonly duration = Family.histogram(
    'sesame_http_request_duration_seconds',
    'Time to answer an HTTP request, by route, method and status.',
    ['route', 'method', 'status'],
    SECONDS,
  );
  private readonly tokens = Family.counter(
    'sesame_tokens_issued_total',
    'Successful token responses, by grant type.',
    ['grant_type'],
  );
  private readonly loginFailures = Family.counter(
    'sesame_login_failures_total',
    'Failed sign-ins, by log event type (fp wrong password, fu unknown user, limit_wc blocked account, limit_mu blocked address, fepft password grant).',
    ['type'],
  );
  private readonly events = Family.counter(
    'sesame_log_events_total',
    'Security log events recorded, by type.',
    ['type'],
  );
  private readonly queries = Family.histogram(
    'sesame_db_query_duration_seconds',
    'Database statements and their durations, by kind (select, insert, update, delete, begin, commit, …) and outcome (ok, error, held: sent with the next statement, or not at all).',
    ['kind', 'outcome'],
    SECONDS,
  );
  private readonly kinds = new Map<string, string>();

  constructor() {
    new CountOf(
      'sesame_http_requests_total',
      'HTTP requests answered, by route, method and status.',
      this.duration,
    );
    client.collectDefaultMetrics();
  }

  /** Counts and times every answer; reads the route only after it, setting nothing on it. */
  middleware(): MiddlewareHandler {
    return async (c, next) => {
      const start = performance.now();
      await next();
      const route = c.get('route') ?? routePath(c);
      this.request(route === '*' || route === '/*' ? 'unmatched' : route, c.req.method, c.res.status, start);
    };
  }

  /** One answer: its route (as in the route table), method and status; `start` from performance.now(). */
  request(route: string, method: string, status: number, start: number): void {
    const slot = this.duration.slot(route, method, status);
    this.duration.observe(slot, (performance.now() - start) / 1000);
  }

  /** For the event log: each recorded event. */
  readonly event = (type: EventType): void => {
    this.events.observe(this.events.slot(type));
    const grant = GRANT_OF_SUCCESS.get(type);
    if (grant) this.tokens.observe(this.tokens.slot(grant));
    if (LOGIN_FAILURES.has(type)) this.loginFailures.observe(this.loginFailures.slot(type));
  };

  /**
   * For the storage: each statement. `held`: on PostgreSQL, held back to travel with the next
   * statement, its time in that one's, or not sent at all (the end of a transaction that ran nothing).
   */
  readonly query: QueryListener = ({ sql, ms, failed, held }) => {
    let kind = this.kinds.get(sql);
    if (kind === undefined) {
      kind = /^\s*(\w+)/.exec(sql)?.[1]?.toLowerCase() ?? 'other';
      if (this.kinds.size >= KINDS_KEPT) this.kinds.clear();
      this.kinds.set(sql, kind);
    }
    this.queries.observe(this.queries.slot(kind, failed ? 'error' : held ? 'held' : 'ok'), ms / 1000);
  };
}

/** One worker's metrics as it sends them (prom-client's JSON form). */
type WorkerMetricsJson = Awaited<ReturnType<typeof client.register.getMetricsAsJSON>>;

/** The messages between the primary and its workers (#16). */
const ASK = 'sesame:metrics?';
const ANSWER = 'sesame:metrics';
/** How long the primary waits for one worker's metrics before it leaves them out. */
const ANSWER_TIMEOUT_MS = 2000;

/**
 * In the primary of `--workers`: the metrics of every worker that is listening, added up. A
 * worker that is still starting is not asked (it has nothing to count yet), and one that does not
 * answer within `ANSWER_TIMEOUT_MS` or exits meanwhile is left out, so a scrape never fails
 * because a worker is being replaced.
 */
function workerMetrics(): () => Promise<string> {
  const listening = new Set<Worker>();
  cluster.on('listening', (worker) => listening.add(worker));
  // A dying worker's channel closes before its exit is seen: it is not asked from then on.
  cluster.on('disconnect', (worker) => listening.delete(worker));
  cluster.on('exit', (worker) => listening.delete(worker));
  let asked = 0;
  const ask = (worker: Worker) =>
    new Promise<WorkerMetricsJson | null>((resolve) => {
      const id = ++asked;
      const done = (answer: WorkerMetricsJson | null) => {
        clearTimeout(timer);
        worker.off('message', onMessage);
        worker.off('exit', onExit);
        resolve(answer);
      };
      const onMessage = (m: { type?: string; id?: number; metrics?: WorkerMetricsJson }) => {
        if (m?.type === ANSWER && m.id === id) done(m.metrics ?? null);
      };
      const onExit = () => done(null);
      const timer = setTimeout(() => done(null), ANSWER_TIMEOUT_MS);
      worker.on('message', onMessage);
      worker.on('exit', onExit);
      // With a callback, a channel already closed is an answer left out; without one, Node emits
      // it as the worker's 'error', which would stop this process and every worker with it.
      if (!worker.isConnected()) done(null);
      else worker.send({ type: ASK, id }, undefined, (err) => err && done(null));
    });
  return async () => {
    const answers = await Promise.all([...listening].map(ask));
    const found = answers.filter((a): a is WorkerMetricsJson => a !== null);
    return client.AggregatorRegistry.aggregate(found).metrics();
  };
}

/**
 * Serves `GET /metrics` on its own port: this process's metrics, or, in the primary of
 * `--workers` (`cluster`: call it before the workers are forked), every worker's added up.
 * Resolves once it listens; a port it cannot listen on is a ConfigError, which stops the start,
 * as the main port's does.
 */
export async function serveMetrics(
  port: number,
  host: string,
  logger: Logger,
  cluster = false,
): Promise<Server> {
  const collect = cluster ? workerMetrics() : () => client.register.metrics();
  const server = createServer((req, res) => {
    // The path only: an absolute or malformed request target must not throw here.
    const path = (req.url ?? '/').split('?')[0];
    if (path !== '/metrics' || (req.method !== 'GET' && req.method !== 'HEAD')) {
      res.writeHead(path === '/metrics' ? 405 : 404, { 'content-type': 'text/plain; charset=utf-8' });
      res.end(path === '/metrics' ? 'Method Not Allowed\n' : 'Not Found\n');
      return;
    }
    collect().then(
      (text) => {
        res.writeHead(200, { 'content-type': client.register.contentType, 'cache-control': 'no-store' });
        res.end(req.method === 'HEAD' ? undefined : text);
      },
      (err: Error) => {
        logger.error({ err }, 'metrics could not be collected');
        res.writeHead(500, { 'content-type': 'text/plain; charset=utf-8' });
        res.end('metrics could not be collected\n');
      },
    );
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', (err) =>
      reject(new ConfigError(`metrics.port: cannot listen on ${host}:${port} (${err.message})`)),
    );
    server.listen(port, host, () => resolve());
  });
  // the port bound, which differs from `port` when that is 0 (any free port)
  const bound = (server.address() as AddressInfo).port;
  server.on('error', (err) => logger.error({ err, port: bound }, 'the metrics port failed'));
  logger.info({ port: bound, host }, `metrics on http://${host}:${bound}/metrics`);
  return server;
}

/** In a worker of `--workers`: answer the primary's requests for this process's metrics. */
export function answerMetricsRequests(): void {
  if (!cluster.isWorker) return;
  process.on('message', (m: { type?: string; id?: number }) => {
    if (m?.type !== ASK) return;
    client.register.getMetricsAsJSON().then(
      (metrics) => process.send?.({ type: ANSWER, id: m.id, metrics }),
      () => process.send?.({ type: ANSWER, id: m.id, metrics: [] }),
    );
  });
}
