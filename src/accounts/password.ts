import type { Algorithm } from '@node-rs/argon2';

/** `Algorithm.Argon2id` (a const enum, which isolated modules cannot read). */
const ARGON2ID = 2 as Algorithm;

/** OWASP Password Storage Cheat Sheet: argon2id, 19 MiB, 2 iterations, 1 lane. */
const OPTIONS = { algorithm: ARGON2ID, memoryCost: 19456, timeCost: 2, parallelism: 1 } as const;

/** Longest password accepted, in UTF-8 bytes; longer ones are refused before any hashing. */
export const MAX_PASSWORD_BYTES = 1024;

/** True when the password is short enough to hash (and so to be a password at all). */
export function passwordFits(password: string): boolean {
  return Buffer.byteLength(password, 'utf8') <= MAX_PASSWORD_BYTES;
}

/** At most this many argon2 computations at once (each takes a libuv thread and 19 MiB); others queue. */
const AT_ONCE = 2;
let running = 0;
const queue: (() => void)[] = [];

async function limited<T>(fn: () => Promise<T>): Promise<T> {
  // A finished computation hands its slot to the longest waiter, so none waits forever.
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

/**
 * Checks a password against a stored hash; with no hash (unknown user) it verifies against a
 * dummy hash, so that an unknown account costs the same work as a wrong password.
 */
export async function checkPassword(passwordHash: string | undefined, password: string): Promise<boolean> {
  if (!passwordFits(password)) return false;
  dummy ??= hashPassword('sesame-dummy-password-for-unknown-accounts');
  const target = passwordHash ?? (await dummy);
  const { verify } = await lib(); // a binding that cannot load is an error, not a wrong password
  try {
    const ok = await limited(() => verify(target, password));
    return ok && passwordHash !== undefined;
  } catch {
    return false;
  }
}
