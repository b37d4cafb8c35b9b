import type { Config } from '../config/schema.js';
import type { LoginAttemptRepository } from '../storage/types.js';
import { sha256 } from '../util/crypto.js';
import { throttleAddress } from '../util/ip.js';

/** The two counters an attempt is charged to: who it is for, and where it comes from. */
export interface AttemptKeys {
  account: string;
  ip: string;
}

/** Keys counted for a login attempt: the account (by the hash of its login name, any length) and the IP. */
export function attemptKeys(email: string, ip: string): AttemptKeys {
  return { account: `acct:${sha256(email)}`, ip: `ip:${throttleAddress(ip)}` };
}

/** Seconds until this account and IP may try again (0: now), kept in the database for every instance. */
export async function lockedFor(
  repo: LoginAttemptRepository,
  keys: AttemptKeys,
  now: number,
): Promise<number> {
  return Math.max(await repo.lockedFor(keys.account, now), await repo.lockedFor(keys.ip, now));
}

/**
 * Charges an attempt to both counters before it is checked, so that guesses sent at once cannot
 * all slip past the limit: returns 0 when the attempt may go ahead, else the seconds to wait.
 * An attempt that then succeeds is taken back with `attemptSucceeded`.
 */
export async function reserveAttempt(
  repo: LoginAttemptRepository,
  cfg: Config['login'],
  keys: AttemptKeys,
  now: number,
): Promise<number> {
  const wait = await lockedFor(repo, keys, now);
  if (wait > 0) return wait;
  const account = await repo.recordFailure(
    keys.account,
    now,
    cfg.window,
    cfg.accountFailures,
    cfg.lockSeconds,
  );
  const ip = await repo.recordFailure(keys.ip, now, cfg.window, cfg.ipFailures, cfg.lockSeconds);
  if (account <= cfg.accountFailures && ip <= cfg.ipFailures) return 0;
  return Math.max(1, await lockedFor(repo, keys, now));
}

/** An attempt that succeeded: the account's count starts again, the IP gets its attempt back. */
export async function attemptSucceeded(
  repo: LoginAttemptRepository,
  keys: AttemptKeys,
  opts: { clearAccount: boolean },
): Promise<void> {
  await (opts.clearAccount ? repo.clear(keys.account) : repo.forgive(keys.account));
  await repo.forgive(keys.ip);
}
