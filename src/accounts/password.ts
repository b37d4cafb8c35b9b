import type { Algorithm } from '@node-rs/argon2';
import type { Logger } from 'pino';
import type { User, UserRepository } from '../storage/types.js';

/** `Algorithm.Argon2id` (a const enum, which isolated modules cannot read). */
const ARGON2ID = 2 as Algorithm;

/**
 * argon2id, 7 MiB, 5 passes, 1 lane: one of the OWASP Password Storage Cheat Sheet's settings,
 * which it rates as strong as 19 MiB with 2 passes (more passes over less memory), and
 * Keycloak's default. Memory is what caps a server under a storm of sign-ins (two at once).
 */
const OPTIONS = { algorithm: ARGON2ID, memoryCost: 7168, timeCost: 5, parallelism: 1 } as const;

/** How every hash made with today's settings begins (the PHC string's parameters). */
const CURRENT = `$argon2id$v=19$m=${OPTIONS.memoryCost},t=${OPTIONS.timeCost},p=${OPTIONS.parallelism}$`;

/** Longest password accepted, in UTF-8 bytes; longer ones are refused before any hashing. */
export const MAX_PASSWORD_BYTES = 1024;

/** True when the password is short enough to hash (and so to be a password at all). */
export function passwordFits(password: string): boolean {
  return Buffer.byteLength(password, 'utf8') <= MAX_PASSWORD_BYTES;
}

/** At most this many argon2 computations at once (each takes a libuv thread and 7 MiB); others queue. */
const AT_ONCE = 2;
/** At most this many wait (a few seconds of work); past it a request is refused, not queued without end. */
export const MOST_WAITING = 256;
let running = 0;
const queue: (() => void)[] = [];

/** Every argon2 slot taken and the queue full: the request is answered 503 with Retry-After. */
export class PasswordWorkBusy extends Error {
  constructor() {
    super('too many password checks at once');
  }
}

/**
 * Throws PasswordWorkBusy when the queue is full. A sign-in asks before its attempt is counted;
 * once admitted, its check queues whatever the length (it is never refused after being charged).
 */
export function refuseWhenBusy(): void {
  if (running >= AT_ONCE && queue.length >= MOST_WAITING) throw new PasswordWorkBusy();
}

/** `fn` in an argon2 slot; `admitted`: a check whose caller asked refuseWhenBusy already. */
async function limited<T>(fn: () => Promise<T>, admitted = false): Promise<T> {
  // A finished computation hands its slot to the longest waiter, so none waits forever.
  if (!admitted) refuseWhenBusy();
  if (running >= AT_ONCE) await new Promise<void>((resolve) => queue.push(resolve));
  else running++;
  try {
    return await fn();
  } finally {
    const next = queue.shift();
    if (next) next();
    else running--;
  }
}

/** How many argon2 computations run and wait now. */
export function passwordWork(): { running: number; queued: number } {
  return { running, queued: queue.length };
}

/** The argon2 binding, loaded on first use (a server that nobody signs in to never needs it). */
let argon2: Promise<typeof import('@node-rs/argon2')> | undefined;
const lib = () => (argon2 ??= import('@node-rs/argon2'));

/** Hashes a human password with argon2id, off the event loop. */
export function hashPassword(password: string): Promise<string> {
  return limited(async () => (await lib()).hash(password, OPTIONS));
}

let dummy: Promise<string> | undefined;

/** The hash an unknown account's check verifies against, made once (again after a failure). */
function dummyHash(): Promise<string> {
  dummy ??= limited(
    async () => (await lib()).hash('sesame-dummy-password-for-unknown-accounts', OPTIONS),
    true,
  ).catch((err: unknown) => {
    dummy = undefined;
    throw err;
  });
  return dummy;
}

/**
 * Checks a password against a stored hash; with no hash (unknown user) it verifies against a
 * dummy hash, so that an unknown account costs the same work as a wrong password. It queues
 * however long the queue (its caller asks refuseWhenBusy first, before counting the attempt).
 */
export async function checkPassword(passwordHash: string | undefined, password: string): Promise<boolean> {
  if (!passwordFits(password)) return false;
  // An imported account without a password (NO_PASSWORD) costs the same work as an unknown one.
  const known = passwordHash || undefined;
  const target = known ?? (await dummyHash());
  // A binding that cannot load is an error, not a wrong password.
  const verify = BCRYPT.test(target)
    ? (await bcrypt()).verify.bind(null, password, target)
    : (await lib()).verify.bind(null, target, password);
  try {
    const ok = await limited(verify, true);
    return ok && known !== undefined;
  } catch {
    return false;
  }
}

/** The stored hash of an imported account that has no password yet: nothing verifies against it. */
export const NO_PASSWORD = '';

/** A bcrypt hash (`$2a$`, `$2b$`, `$2y$`), as Auth0 and most older systems store them. */
export const BCRYPT = /^\$2[aby]\$\d\d\$[./A-Za-z0-9]{53}$/;

/** The bcrypt binding, loaded on first use (only imported accounts have bcrypt hashes). */
let bcryptLib: Promise<typeof import('@node-rs/bcrypt')> | undefined;
const bcrypt = () => (bcryptLib ??= import('@node-rs/bcrypt'));

/**
 * After a password was proven right at a sign-in: when its stored hash was made with other
 * settings (an older Sesame), hashes it again with today's and stores that in its place. Only
 * an upgrade: when it fails, the sign-in goes on and the failure is logged.
 */
export async function rehashIfOutdated(
  users: Pick<UserRepository, 'rehash'>,
  user: Pick<User, 'id' | 'passwordHash'>,
  password: string,
  logger: Pick<Logger, 'warn'>,
): Promise<void> {
  if (user.passwordHash.startsWith(CURRENT)) return;
  try {
    await users.rehash(user.id, user.passwordHash, await hashPassword(password));
  } catch (err) {
    logger.warn({ err, userId: user.id }, 'a password hash could not be brought to the current settings');
  }
}
