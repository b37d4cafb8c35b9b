import cluster from 'node:cluster';
import { readFileSync } from 'node:fs';
import { createServer as createHttpServer } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import { type AddressInfo, createServer as createNetServer } from 'node:net';
import { createSecureContext } from 'node:tls';
import { getRequestListener } from '@hono/node-server';
import type { Command } from 'commander';
import { createAdmin, hasAdmin, issueSetupToken } from '../admin/console.js';
import { ConflictError, ValidationError } from '../admin/errors.js';
import { ConfigError } from '../config/load.js';
import { startRetention } from '../events/retention.js';
import { leanLane } from '../http/lean-lane.js';
import type { Metrics } from '../metrics.js';
import { endpointUrl } from '../protocol/issuer.js';
import { openRuntime, type Runtime } from '../runtime.js';
import { createServer } from '../server.js';
import { startJanitor } from '../storage/janitor.js';
import { commandConfig, fail } from './context.js';
import { defaultWorkers, parseWorkers, superviseWorkers } from './workers.js';

/** How long in-flight requests get to finish after SIGTERM/SIGINT. */
const SHUTDOWN_GRACE_MS = 10_000;

/** `sesame start`: migrate, make sure signing keys exist, serve HTTP until SIGTERM or SIGINT. */
export function startCommand(program: Command): void {
  program
    .command('start')
    .description('run the server (migrations run first; signing keys are created on first start)')
    .option(
      '--workers <n>',
      'processes sharing the port and the database (default: one per usable core when NODE_ENV=production, else 1)',
      parseWorkers,
    )
    .action(async (opts: { workers?: number }, cmd: Command) => {
      const workers = opts.workers ?? defaultWorkers();
      if (cluster.isPrimary && workers > 1) return startWorkers(cmd, workers);
      let rt: Awaited<ReturnType<typeof openRuntime>>;
      let tls: { cert: Buffer; key: Buffer } | undefined;
      try {
        const cfg = commandConfig(cmd);
        // SESAME_TLS_CERT + SESAME_TLS_KEY: HTTPS on the same port.
        if (cfg.tls.cert && cfg.tls.key) tls = readTls(cfg.tls.cert, cfg.tls.key);
        // a worker's port is the primary's, which tried it already
        if (cluster.isPrimary) await portFree(cfg.port, cfg.host);
        rt = await openRuntime(cfg, { server: true });
        await rt.keys.ensure(rt.config.keys.algorithms);
      } catch (err) {
        fail(err);
      }
      const { config, logger } = rt;
      let metrics: Metrics | undefined;
      let setupLink = false;
      try {
        // before the setup link is logged: a metrics port it cannot take stops the start
        metrics = await startMetrics(rt);
        // with --workers, the primary did this once
        if (cluster.isPrimary) setupLink = await firstAdmin(rt);
      } catch (err) {
        await rt.storage.close();
        fail(err);
      }
      const stopRetention = startRetention(rt.storage.logs, rt.clock, config.logs.retentionDays, logger);
      const stopJanitor = startJanitor(rt.storage, config, rt.clock, logger);
      rt.mail.start();
      const deps = metrics ? { ...rt, metrics } : rt;
      const app = createServer(deps);
      // the hottest public documents skip Hono; everything else is the Hono app (#16)
      const listener = leanLane(deps, getRequestListener(app.fetch, { hostname: config.host }));
      const server = tls ? createHttpsServer(tls, listener) : createHttpServer(listener);
      server.listen(config.port, config.host, () => {
        const { port } = server.address() as AddressInfo;
        logger.info(
          { issuer: config.issuer, port, host: config.host },
          `Sesame listening on ${config.issuer}`,
        );
        if (setupLink) void logSetupLink(rt);
      });
      server.on('error', (err) => {
        // one line, as every other refusal to start (the metrics port's too)
        const refusal = portRefusal(config.host, config.port, err);
        void rt.storage.close().finally(() => fail(refusal));
      });
      let stopping = false;
      const stop = (signal: string) => {
        if (stopping) return;
        stopping = true;
        logger.info({ signal }, 'shutting down: finishing in-flight requests');
        const force = setTimeout(() => {
          logger.warn('in-flight requests did not finish in time; closing');
          if ('closeAllConnections' in server) server.closeAllConnections();
        }, SHUTDOWN_GRACE_MS);
        force.unref();
        server.close(() => {
          stopRetention();
          stopJanitor();
          // Token-endpoint successes still queued are written before the database closes.
          void rt.mail
            .stop()
            .then(() => rt.events.flush())
            .then(() => rt.storage.close())
            .finally(() => {
              logger.info('stopped');
              process.exit(0);
            });
        });
        if ('closeIdleConnections' in server) server.closeIdleConnections();
      };
      process.on('SIGTERM', () => stop('SIGTERM'));
      process.on('SIGINT', () => stop('SIGINT'));
    });
}

/**
 * `start --workers N` (N > 1): migrations, signing keys and the first admin once, here; then N
 * worker processes serve (workers.ts).
 */
async function startWorkers(cmd: Command, workers: number): Promise<void> {
  let rt: Runtime | undefined;
  let setupLink = false;
  try {
    const cfg = commandConfig(cmd);
    if (cfg.tls.cert && cfg.tls.key) readTls(cfg.tls.cert, cfg.tls.key);
    await portFree(cfg.port, cfg.host);
    rt = await openRuntime(cfg, { server: true });
    await rt.keys.ensure(rt.config.keys.algorithms);
    const { port, host } = rt.config.metrics;
    if (port !== undefined) {
      // before the setup link is logged (a port it cannot take stops the start), and before
      // the workers: it counts them as they start listening
      const { serveMetrics } = await import('../metrics.js');
      await serveMetrics(port, host ?? rt.config.host, rt.logger, true);
    }
    setupLink = await firstAdmin(rt);
  } catch (err) {
    await rt?.storage.close().catch(() => {});
    fail(err);
  }
  superviseWorkers(workers, rt.logger);
  if (!setupLink) {
    await rt.storage.close();
    return;
  }
  const open = rt;
  cluster.once('listening', () => void logSetupLink(open).finally(() => open.storage.close()));
}

/** The refusal of a port the server cannot listen on: one line, as every other refusal to start. */
const portRefusal = (host: string, port: number, err: Error) =>
  new ConfigError(`port: cannot listen on ${host}:${port} (${err.message})`);

/**
 * Refuses a port taken (another Sesame still running on it) before anything is written: opening
 * the runtime brings the console's callbacks and the Management API's identifier up to this
 * configuration's issuer, which would break the running server's console and tokens.
 */
async function portFree(port: number, host: string): Promise<void> {
  const probe = createNetServer();
  await new Promise<void>((resolve, reject) => {
    probe.once('error', (err) => reject(portRefusal(host, port, err)));
    probe.listen({ port, host, exclusive: true }, () => probe.close(() => resolve()));
  });
}

/**
 * With `metrics.port`: collects metrics in this process (prom-client is loaded only then) and
 * serves them, or, in a worker of `--workers`, hands them to the primary, which serves them all.
 */
async function startMetrics(rt: Runtime): Promise<Metrics | undefined> {
  const { port, host } = rt.config.metrics;
  if (port === undefined) return undefined;
  const { Metrics, serveMetrics, answerMetricsRequests } = await import('../metrics.js');
  const metrics = new Metrics();
  rt.queries.add(metrics.query);
  rt.events.observer = metrics.event;
  if (cluster.isWorker) answerMetricsRequests();
  else await serveMetrics(port, host ?? rt.config.host, rt.logger);
  return metrics;
}

/**
 * Until somebody holds Sesame Admin: SESAME_ADMIN_EMAIL + SESAME_ADMIN_PASSWORD make the first
 * admin (a bad one stops the start); without them, true: a setup link is to be logged once the
 * port is Sesame's (`logSetupLink`).
 */
async function firstAdmin(rt: Runtime): Promise<boolean> {
  if (await hasAdmin(rt.storage)) return false;
  const { email, password } = rt.config.admin;
  if (!email || !password) return true;
  const admin = await createAdmin(rt.storage, rt.clock, { email, password }, rt.config.password).catch(
    (err: unknown) => {
      // refused as the configuration it came from, naming its key (as every other refusal to start)
      if (!(err instanceof ValidationError || err instanceof ConflictError)) throw err;
      const key = err.message.startsWith('password') ? 'admin.password' : 'admin.email';
      throw new ConfigError(`${key}: ${err.message}`);
    },
  );
  rt.logger.info({ admin: admin.email }, 'first admin created from SESAME_ADMIN_EMAIL');
  return false;
}

/**
 * Logs a one-time setup link (valid one hour). Only after listening: it replaces the link of any
 * server already running on this data, so a start that cannot take the port must not make one.
 */
async function logSetupLink(rt: Runtime): Promise<void> {
  try {
    const token = await issueSetupToken(rt.storage, rt.clock);
    const link = endpointUrl(rt.config.issuer, `/console/setup?token=${token}`);
    rt.logger.warn({ setup: link }, `No admin yet: open ${link} within an hour to create the first one`);
  } catch (err) {
    rt.logger.error({ err }, 'the setup link could not be made; restart to try again');
  }
}

/** The PEM files of SESAME_TLS_CERT and SESAME_TLS_KEY; a missing or unusable file stops start-up naming it. */
function readTls(certFile: string, keyFile: string): { cert: Buffer; key: Buffer } {
  const read = (name: string, file: string) => {
    try {
      return readFileSync(file);
    } catch (err) {
      throw new ConfigError(`tls.${name}: cannot read ${file} (${(err as Error).message})`);
    }
  };
  const pair = { cert: read('cert', certFile), key: read('key', keyFile) };
  try {
    createSecureContext(pair);
  } catch (err) {
    throw new ConfigError(
      `tls: ${certFile} and ${keyFile} are not a PEM certificate and its key (${(err as Error).message})`,
    );
  }
  return pair;
}
