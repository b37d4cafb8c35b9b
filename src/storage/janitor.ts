import type { Logger } from 'pino';
import type { Config } from '../config/schema.js';
import type { Clock } from '../util/clock.js';
import type { ExpiringTable, Repositories } from './types.js';

/** Rows per statement: each batch is short, so sign-ins and token requests never wait long. */
const BATCH = 500;
/**
 * A used code is remembered for a day after it expires, so that a replay within that day still
 * revokes what the code gave (RFC 6749 §4.1.2); later, a replay is only an unknown code.
 */
const CODE_LINGER = 86_400;
/**
 * A device code is remembered a day after it expires, so that a device polling late (offline, or
 * slowed down) is told expired_token (RFC 8628 §3.5), not that its code is unknown.
 */
const DEVICE_CODE_LINGER = 86_400;
/** Account links are remembered a day after they expire. */
const TICKET_LINGER = 86_400;
/** An address or device that has not signed in to an account for 90 days is no longer known. */
const KNOWN_FOR = 90 * 86_400;

/** Each table and the expiry at or before which its rows go, at `now`. */
function cutoffs(config: Config, now: number): [ExpiringTable, number][] {
  return [
    ['authorization_codes', now - CODE_LINGER],
    ['interactions', now],
    ['sessions', now],
    ['device_codes', now - DEVICE_CODE_LINGER],
    ['revoked_tokens', now],
    ['grant_tokens', now],
    ['refresh_tokens', now],
    ['login_attempts', now - config.login.window],
    ['known_sign_ins', now - KNOWN_FOR],
    ['console_sessions', now],
    // A sent or failed email's purge_after is already past its keep time; pending ones have none.
    ['outbox', now],
    // A used or expired link is kept a day, so a late click still says why it fails.
    ['account_tickets', now - TICKET_LINGER],
    ['jobs', now],
  ];
}

/**
 * Deletes every expired row (#14 §8) in batches, with a pause between them; returns the count
 * per table. Any number of instances may run it at once.
 */
export async function purgeExpired(
  storage: Pick<Repositories, 'expired'>,
  config: Config,
  now: number,
): Promise<Partial<Record<ExpiringTable, number>>> {
  const purged: Partial<Record<ExpiringTable, number>> = {};
  for (const [table, before] of cutoffs(config, now)) {
    for (;;) {
      const n = await storage.expired.purge(table, before, BATCH);
      if (n > 0) purged[table] = (purged[table] ?? 0) + n;
      if (n < BATCH) break;
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  }
  return purged;
}

/** Runs `purgeExpired` every `janitor.interval` seconds (never two at once); returns a stop function. */
export function startJanitor(
  storage: Pick<Repositories, 'expired'>,
  config: Config,
  clock: Clock,
  logger: Logger,
): () => void {
  let running = false;
  const run = () => {
    if (running) return;
    running = true;
    purgeExpired(storage, config, clock.now())
      .then(
        (purged) => Object.keys(purged).length > 0 && logger.debug({ purged }, 'expired rows purged'),
        (err) => logger.warn({ err }, 'expired rows could not be purged'),
      )
      .finally(() => {
        running = false;
      });
  };
  const every = setInterval(run, config.janitor.interval * 1000);
  every.unref();
  return () => clearInterval(every);
}
