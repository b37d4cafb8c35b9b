import type { LoginAttemptRepository } from '../storage/types.js';
import { throttleAddress } from '../util/ip.js';

/** What an address may do on the self-service pages per login.window (#15). */
export const ADDRESS_BUDGETS = {
  /** Password-reset requests. */
  reset: 10,
  /** Accounts created. */
  signup: 10,
  /** Verification emails asked for again. */
  verification: 10,
} as const;

/** Emails of one kind an account receives per hour, at most (more requests send nothing). */
export const EMAILS_PER_HOUR = 3;

/**
 * Spends one unit of an address's budget for `action`, counted in the database like failed
 * sign-ins (so every instance shares it): 0 when allowed, else the seconds until it is
 * allowed again.
 */
export async function spendAddressBudget(
  attempts: LoginAttemptRepository,
  action: keyof typeof ADDRESS_BUDGETS,
  ip: string,
  login: { window: number },
  now: number,
): Promise<number> {
  const key = `${action}-ip:${throttleAddress(ip)}`;
  const wait = await attempts.lockedFor(key, now);
  if (wait > 0) return wait;
  // The count is one atomic upsert: of requests at the same moment, only the first `budget` pass.
  const used = await attempts.recordFailure(key, now, login.window, ADDRESS_BUDGETS[action], login.window);
  return used > ADDRESS_BUDGETS[action] ? Math.max(1, await attempts.lockedFor(key, now)) : 0;
}
