import { hash, randomBytes, randomFillSync, randomInt, timingSafeEqual } from 'node:crypto';

/** Random bytes drawn from the CSPRNG this many at a time (one call costs as much as 4 KiB). */
const POOL_SIZE = 4096;
let pool = Buffer.alloc(0);
let drawn = 0;

/** Where the next `bytes` bytes of the pool start (refilled when they would run past its end). */
function draw(bytes: number): number {
  if (drawn + bytes > pool.length) {
    pool = randomFillSync(Buffer.allocUnsafe(POOL_SIZE));
    drawn = 0;
  }
  drawn += bytes;
  return drawn - bytes;
}

function checkCount(what: string, bytes: number): void {
  if (!Number.isSafeInteger(bytes) || bytes < 1)
    throw new RangeError(`${what}: ${bytes} is not a byte count`);
}

/**
 * A random value of `bytes` bytes, base64url without padding. Small values come from a pool
 * filled by the CSPRNG, as Node's randomUUID does; each byte is used once and zeroed then (#16).
 */
export function randomToken(bytes = 32): string {
  checkCount('randomToken', bytes);
  if (bytes > POOL_SIZE / 8) return randomBytes(bytes).toString('base64url');
  const at = draw(bytes);
  const token = pool.toString('base64url', at, at + bytes);
  pool.fill(0, at, at + bytes);
  return token;
}

/**
 * `bytes` random bytes (an IV, a nonce) in a buffer of their own, from the same pool: one
 * `randomBytes(12)` costs about 6 µs of CPU here, as much as filling the whole pool.
 */
export function randomBuffer(bytes: number): Buffer {
  checkCount('randomBuffer', bytes);
  if (bytes > POOL_SIZE / 8) return randomBytes(bytes);
  const at = draw(bytes);
  const copy = Buffer.from(pool.subarray(at, at + bytes));
  pool.fill(0, at, at + bytes);
  return copy;
}

/** SHA-256 of a high-entropy value, base64url; what storage keeps instead of the value. */
export function sha256(value: string): string {
  return hash('sha256', value, 'base64url');
}

/** Whether two strings are equal, in a time that depends on their length only (no early exit). */
export function sameText(a: string, b: string): boolean {
  if (a.length !== b.length) return false;
  let diff = 0;
  for (let i = 0; i < a.length; i++) diff |= a.charCodeAt(i) ^ b.charCodeAt(i);
  return diff === 0;
}

/** Constant-time comparison of two strings (by their SHA-256, so lengths do not leak). */
export function safeEqual(a: string, b: string): boolean {
  return timingSafeEqual(hash('sha256', a, 'buffer'), hash('sha256', b, 'buffer'));
}

const ALPHANUMERIC = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';

/**
 * A random identifier of `length` letters and digits (about 5.95 bits each): safe on a command
 * line (never starts with "-") and in URLs.
 */
export function randomId(length = 32): string {
  let id = '';
  for (let i = 0; i < length; i++) id += ALPHANUMERIC[randomInt(ALPHANUMERIC.length)];
  return id;
}
