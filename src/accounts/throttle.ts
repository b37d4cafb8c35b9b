import type { Config } from '../config/schema.js';
import type { NewEvent } from '../events/log.js';
import type { LoginAttemptRepository, Repositories } from '../storage/types.js';
import { sha256 } from '../util/crypto.js';
import { knownIp, throttleAddress } from '../util/ip.js';

/** The two counters an attempt is charged to: who it is for, and where it comes from. */
export interface AttemptKeys {
  account: string;
  ip: string;
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
 * An attempt that then succeeds is taken back with `attemptSucceeded`. (Device activation: the
 * account here is the signed-in session.)
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

/** The first growing delay, in seconds; each failure after it doubles it, up to `lockSeconds`. */
const FIRST_DELAY = 15;

/** Which limit a lock is: the account from this place, the address, or the account from anywhere. */
export type LockScope = 'account_address' | 'account_device' | 'address' | 'account';

/**
 * Where a password sign-in comes from, and what that place is to the account (#14 §2): a
 * device cookie or an address the account has signed in from before is "known", and the
 * account-wide ceiling does not shut it out.
 */
export interface SignInPlace {
  userId: string | null;
  /** `acct:` + the hash of the login name (any length, known or not). */
  account: string;
  /** The client address as counted (IPv6 per /64). */
  address: string;
  /** The hash of this browser's device cookie, if it sent one. */
  device?: string;
  known: 'device' | 'address' | null;
}

/** The place of a sign-in; one lookup whether or not the account exists (same work either way). */
export async function signInPlace(
  storage: Pick<Repositories, 'knownSignIns'>,
  email: string,
  userId: string | null,
  ip: string,
  deviceCookie?: string,
): Promise<SignInPlace> {
  const address = throttleAddress(ip);
  const device = deviceCookie ? sha256(deviceCookie) : undefined;
  const id = userId ?? '';
  let known: SignInPlace['known'] = null;
  if (device !== undefined && (await storage.knownSignIns.isKnown(id, 'device', device))) known = 'device';
  else if (await storage.knownSignIns.isKnown(id, 'address', address)) known = 'address';
  return {
    userId,
    account: accountCounter(email),
    address,
    ...(device !== undefined ? { device } : {}),
    known: userId === null ? null : known,
  };
}

/** The counter of failed sign-ins of an account from everywhere (`login.accountCeiling`). */
export const accountCounter = (email: string): string => `acct:${sha256(email)}`;

/** The counters a sign-in from `place` is charged to. */
function counters(place: SignInPlace) {
  const pair =
    place.known === 'device'
      ? { key: `dev:${place.account}:${place.device}`, scope: 'account_device' as const }
      : { key: `pair:${place.account}:${place.address}`, scope: 'account_address' as const };
  return { pair, ip: `ip:${place.address}`, account: place.account };
}

/** The answer to a sign-in attempt: go ahead (wait 0) or wait; and the locks it set. */
export interface SignInVerdict {
  wait: number;
  /** The limit that refuses it, when it waits. */
  refusedBy?: LockScope;
  /** Locks this attempt started, each to be logged (`lockType`). */
  locked: { scope: LockScope; seconds: number }[];
}

/**
 * Charges a password sign-in to its counters before the password is checked (so guesses sent at
 * once cannot slip past), in three limits (#14 §2):
 * - the account from this address (or this known device): `accountFailures` failures, then
 *   delays that double from 15 s up to `lockSeconds`; the count runs until `window` seconds
 *   pass with no failure;
 * - the address across accounts: `ipFailures` per `window`, then `lockSeconds` (not charged to a
 *   known device, which has its own counter);
 * - the account from everywhere: `accountCeiling` per `window`, then `lockSeconds`, but only for
 *   places the account has not signed in from, so that guessing cannot lock the owner out.
 */
export async function reserveSignIn(
  repo: LoginAttemptRepository,
  cfg: Config['login'],
  place: SignInPlace,
  now: number,
): Promise<SignInVerdict> {
  const { pair, ip, account } = counters(place);
  const checks: [LockScope, string][] = [[pair.scope, pair.key]];
  if (place.known !== 'device') checks.push(['address', ip]);
  if (place.known === null) checks.push(['account', account]);
  for (const [scope, key] of checks) {
    const wait = await repo.lockedFor(key, now);
    if (wait > 0) return { wait, refusedBy: scope, locked: [] };
  }
  const locked: SignInVerdict['locked'] = [];
  const n = await repo.recordGrowing(pair.key, now, cfg.window);
  if (n >= cfg.accountFailures) {
    // The attempt that starts the delay goes ahead; attempts racing it (sent at once) wait.
    const seconds = Math.min(cfg.lockSeconds, FIRST_DELAY * 2 ** (n - cfg.accountFailures));
    if (!(await repo.lockUntil(pair.key, now + seconds, now))) {
      return { wait: Math.max(1, await repo.lockedFor(pair.key, now)), refusedBy: pair.scope, locked: [] };
    }
    locked.push({ scope: pair.scope, seconds });
  }
  const hard: [LockScope, string, number][] = [['account', account, cfg.accountCeiling]];
  if (place.known !== 'device') hard.push(['address', ip, cfg.ipFailures]);
  let refused: [LockScope, string] | undefined;
  for (const [scope, key, limit] of hard) {
    const count = await repo.recordFailure(key, now, cfg.window, limit, cfg.lockSeconds);
    if (count === limit) locked.push({ scope, seconds: cfg.lockSeconds });
    // Over a hard limit: refused, unless it is the account's ceiling and this place is known.
    if (count > limit && !(scope === 'account' && place.known !== null)) refused ??= [scope, key];
  }
  if (refused === undefined) return { wait: 0, locked };
  return { wait: Math.max(1, await repo.lockedFor(refused[1], now)), refusedBy: refused[0], locked };
}

/**
 * A sign-in that succeeded: the password was proven here (`passwordProven`), and the user's
 * sign-ins count one more, from `clientIp` (Auth0's logins_count, last_login, last_ip).
 */
export async function signInSucceeded(
  storage: Pick<Repositories, 'loginAttempts' | 'knownSignIns' | 'users'>,
  place: SignInPlace & { userId: string },
  now: number,
  clientIp: string,
): Promise<void> {
  await passwordProven(storage, place, now);
  await countSignIn(storage.users, place.userId, now, clientIp);
}

/**
 * The right password from `place`: the account-from-here count starts again, the address and
 * the account get this attempt back, and the place becomes known to the account.
 */
export async function passwordProven(
  storage: Pick<Repositories, 'loginAttempts' | 'knownSignIns'>,
  place: SignInPlace & { userId: string },
  now: number,
): Promise<void> {
  const { pair, ip, account } = counters(place);
  await storage.loginAttempts.clear(pair.key);
  if (place.known !== 'device') await storage.loginAttempts.forgive(ip);
  await storage.loginAttempts.forgive(account);
  await storage.knownSignIns.remember(place.userId, 'address', place.address, now);
  if (place.device !== undefined)
    await storage.knownSignIns.remember(place.userId, 'device', place.device, now);
}

/** One more sign-in for the user (logins_count, last_login, and last_ip when `clientIp` is known). */
export const countSignIn = (users: Repositories['users'], userId: string, now: number, clientIp: string) =>
  users.recordLogin(userId, now, knownIp(clientIp));

/**
 * Auth0's event type of a lock: an address locked across accounts is `limit_mu` ("Blocked IP
 * Address"); an account locked, from one place or everywhere, is `limit_wc` ("Blocked Account").
 */
export const lockType = (scope: LockScope | undefined) => (scope === 'address' ? 'limit_mu' : 'limit_wc');

/** The log events of the locks a verdict started (limit_wc or limit_mu, by `lockType`). */
export function lockEvents<E extends object>(verdict: SignInVerdict, event: E): (E & NewEvent)[] {
  return verdict.locked.map((l) => ({
    ...event,
    type: lockType(l.scope),
    description: `Too many failed sign-ins (${l.scope.replace('_', ' from ')}): locked for ${l.seconds} s`,
    details: { lock: l.scope, locked_for: l.seconds },
  }));
}

/** What the event of a refused attempt (`lockType` of its refusing lock) records. */
export function refusalDetails(verdict: SignInVerdict): Record<string, unknown> {
  return { lock: verdict.refusedBy, retry_after: verdict.wait };
}

/** What a refused person is told to wait: seconds under two minutes, else minutes. */
export function waitText(seconds: number): string {
  return seconds < 120 ? `${seconds} seconds` : `${Math.ceil(seconds / 60)} minutes`;
}
