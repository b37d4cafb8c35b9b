import cluster, { type Worker } from 'node:cluster';
import { readFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { InvalidArgumentError } from 'commander';
import type { Logger } from 'pino';

/** At most this many processes (`--workers`). */
const MAX_WORKERS = 256;
/** A worker that dies after it was listening is started again after this long. */
const RESTART_DELAY_MS = 1000;

/**
 * `--workers` when not given: one per core with NODE_ENV=production, else one. The cores are the
 * ones this process may use: a container's CPU quota (cgroup `cpu.max`, or v1's
 * `cpu.cfs_quota_us`) counts, not the host's CPUs, since every worker opens its own pool of
 * database connections.
 */
export function defaultWorkers(
  env: NodeJS.ProcessEnv = process.env,
  quota: () => number | null = cpuQuota,
): number {
  if (env.NODE_ENV !== 'production') return 1;
  const cores = availableParallelism();
  const cpus = quota();
  return cpus === null ? cores : Math.max(1, Math.min(cores, Math.ceil(cpus)));
}

/** Reads a file of /sys or /proc; null when it is not there. */
type ReadSysFile = (path: string) => string | null;

const readSysFile: ReadSysFile = (path) => {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return null;
  }
};

/**
 * The CPUs this process's cgroup may use (quota ÷ period), or null without a limit. cgroup v2:
 * the smallest `cpu.max` from the process's own group (from /proc/self/cgroup) up to the root as
 * the process sees it, "max" being none; v1: `cpu.cfs_quota_us` ÷ `cpu.cfs_period_us` (a quota
 * of -1 is none).
 */
export function cpuQuota(read: ReadSysFile = readSysFile): number | null {
  const own = /^0::(\/.*)$/m.exec(read('/proc/self/cgroup') ?? '')?.[1] ?? '/';
  const parts = own.split('/').filter(Boolean);
  let smallest: number | null = null;
  let v2 = false;
  for (let depth = parts.length; depth >= 0; depth--) {
    const max = read(`/sys/fs/cgroup/${parts.slice(0, depth).join('/')}/cpu.max`.replace('//', '/'));
    if (max === null) continue;
    v2 = true;
    const [quota, period = '100000'] = max.trim().split(/\s+/);
    const cpus = Number(quota) / Number(period);
    if (quota !== 'max' && cpus > 0 && Number.isFinite(cpus)) smallest = Math.min(smallest ?? cpus, cpus);
  }
  if (v2) return smallest;
  const quota = Number(read('/sys/fs/cgroup/cpu/cpu.cfs_quota_us')?.trim());
  const period = Number(read('/sys/fs/cgroup/cpu/cpu.cfs_period_us')?.trim());
  return quota > 0 && period > 0 ? quota / period : null;
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
    // an IPC failure (a message to a worker whose channel has just closed) is the worker's
    // 'error': logged, never the primary's end (its exit is handled below)
    worker.on('error', (err) => logger.warn({ err, worker: index }, 'a worker could not be reached'));
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
