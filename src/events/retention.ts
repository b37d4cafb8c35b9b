import type { Logger } from 'pino';
import type { LogRepository } from '../storage/types.js';
import { type Clock, nowMs } from '../util/clock.js';

/** Rows deleted per statement: short statements, so that the hot paths never wait long. */
const BATCH = 1000;
const HOUR = 3600_000;

/**
 * Deletes log events older than `retentionDays`, a batch per statement with a pause between
 * batches (so sign-ins and token requests are never blocked behind one long delete).
 */
export async function purgeLogs(logs: LogRepository, clock: Clock, retentionDays: number): Promise<number> {
  const before = nowMs(clock) - retentionDays * 86_400_000;
  let total = 0;
  for (;;) {
    const n = await logs.purge(before, BATCH);
    total += n;
    if (n < BATCH) return total;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/** Purges a minute after start and then every hour; returns a function that stops it. */
export function startRetention(
  logs: LogRepository,
  clock: Clock,
  retentionDays: number,
  logger: Logger,
): () => void {
  const run = () =>
    purgeLogs(logs, clock, retentionDays).then(
      (n) => n > 0 && logger.info({ purged: n, retentionDays }, 'old log events purged'),
      (err) => logger.warn({ err }, 'old log events could not be purged'),
    );
  const first = setTimeout(run, 60_000);
  const every = setInterval(run, HOUR);
  first.unref();
  every.unref();
  return () => {
    clearTimeout(first);
    clearInterval(every);
  };
}
