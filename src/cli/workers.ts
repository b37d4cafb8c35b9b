import cluster, { type Worker } from 'node:cluster';
import { availableParallelism } from 'node:os';
import { InvalidArgumentError } from 'commander';
import type { Logger } from 'pino';

/** At most this many processes (`--workers`). */
const MAX_WORKERS = 256;
/** A worker that dies after it was listening is started again after this long. */
const RESTART_DELAY_MS = 1000;

/** `--workers` when not given: one per core with NODE_ENV=production, else one. */
export function defaultWorkers(env: NodeJS.ProcessEnv = process.env): number {
  return env.NODE_ENV === 'production' ? availableParallelism() : 1;
}

/** Commander's parser for `--workers N`. */
export function parseWorkers(value: string): number {
  const n = Number(value);
  if (!/^\d+$/.test(value) || n < 1 || n > MAX_WORKERS) {
    throw new InvalidArgumentError(`It must be a whole number from 1 to ${MAX_WORKERS}.`);
  }
  return n;
}

/**
 * The primary of `sesame start --workers N`: forks N processes that share the port (node:cluster)
 * and the database, as N instances would. A worker that dies is replaced after a second; one of
 * the first N that dies before it listens stops the whole start (a configuration or port problem
 * will not go away by retrying). SIGTERM and SIGINT are passed on, and the primary exits when every worker has.
 */
export function superviseWorkers(count: number, logger: Logger): void {
  let stopping = false;
  let failed = false;
  const live = new Set<Worker>();
  const stop = (signal: NodeJS.Signals) => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal, workers: live.size }, 'stopping the workers');
    for (const w of live) w.process.kill('SIGTERM');
    if (live.size === 0) process.exit(failed ? 1 : 0);
  };
  const fork = (index: number, first: boolean) => {
    const worker = cluster.fork();
    let listening = false;
    live.add(worker);
    worker.on('listening', () => {
      listening = true;
    });
    worker.on('exit', (code, signal) => {
      live.delete(worker);
      if (stopping) {
        if (live.size === 0) process.exit(failed ? 1 : 0);
        return;
      }
      // Only the first workers stop the start: a replacement that fails (the database away for
      // a moment) is tried again, without taking down the workers that serve.
      if (!listening && first) {
        logger.fatal({ worker: index, code, signal }, 'a worker stopped before it could serve; stopping');
        failed = true;
        stop('SIGTERM');
        return;
      }
      logger.error({ worker: index, code, signal }, 'a worker died; starting another');
      setTimeout(() => {
        if (!stopping) fork(index, false);
      }, RESTART_DELAY_MS).unref();
    });
  };
  for (let i = 0; i < count; i++) fork(i, true);
  logger.info({ workers: count, pid: process.pid }, `started ${count} workers`);
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
}
