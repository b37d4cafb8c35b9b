import { hash, randomBytes, randomFillSync, randomInt, timingSafeEqual } from 'node:crypto';

/** Random bytes drawn from the CSPRNG this many at a time (one call costs as much as 4 KiB). */
const POOL_SIZE = 4096;
let pool = Buffer.alloc(0);
let drawn = 0;

/**
 * A random value of `bytes` bytes, base64url without padding. Small values come from a pool
 * filled by the CSPRNG, as Node's randomUUID does; each byte is used once and zeroed then (#16).
 */
export function randomToken(bytes = 32): string {
  if (!Number.isSafeInteger(bytes) || bytes < 1)
    throw new RangeError(`randomToken: ${bytes} is not a byte count`);
  if (bytes > POOL_SIZE / 8) return randomBytes(bytes).toString('base64url');
  if (drawn + bytes > pool.length) {
    pool = randomFillSync(Buffer.allocUnsafe(POOL_SIZE));
    drawn = 0;
  }
  const token = pool.toString('base64url', drawn, drawn + bytes);
  pool.fill(0, drawn, drawn + bytes);
  drawn += bytes;
  return token;
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
