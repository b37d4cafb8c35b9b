import { type Algorithm, hash, verify } from '@node-rs/argon2';

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

/** Hashes a human password with argon2id, off the event loop. */
export function hashPassword(password: string): Promise<string> {
  return hash(password, OPTIONS);
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
  try {
    const ok = await verify(target, password);
    return ok && passwordHash !== undefined;
  } catch {
    return false;
  }
}
