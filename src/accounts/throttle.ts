import type { Config } from '../config/schema.js';
import type { LoginAttemptRepository } from '../storage/types.js';
import { sha256 } from '../util/crypto.js';

/** Keys counted for a login attempt: the account (by the hash of its login name, any length) and the IP. */
export function attemptKeys(email: string, ip: string): { account: string; ip: string } {
  return { account: `acct:${sha256(email)}`, ip: `ip:${ip}` };
}

/** Seconds until this account and IP may try again (0: now), kept in the database for every instance. */
export async function lockedFor(
  repo: LoginAttemptRepository,
  keys: { account: string; ip: string },
  now: number,
) {
  return Math.max(await repo.lockedFor(keys.account, now), await repo.lockedFor(keys.ip, now));
}

/** Counts one failed login against the account and the IP. */
export async function recordFailure(
  repo: LoginAttemptRepository,
  cfg: Config['login'],
  keys: { account: string; ip: string },
  now: number,
): Promise<void> {
  await repo.recordFailure(keys.account, now, cfg.window, cfg.accountFailures, cfg.lockSeconds);
  await repo.recordFailure(keys.ip, now, cfg.window, cfg.ipFailures, cfg.lockSeconds);
}
