import { hash } from 'node:crypto';
import { safeEqual } from '../util/crypto.js';
import { InvalidRequest } from './errors.js';

// RFC 7636 §4.1 / §4.2: 43–128 characters of ALPHA / DIGIT / "-" / "." / "_" / "~".
const PKCE_VALUE = /^[A-Za-z0-9\-._~]{43,128}$/;

/**
 * Checks code_challenge and code_challenge_method at /authorize (RFC 7636 §4.3, RFC 9700 §2.1.1):
 * S256 only (plain is refused), a challenge of the right length and alphabet. Returns the
 * challenge, or undefined when none was sent.
 */
export function checkChallenge(
  challenge: string | undefined,
  method: string | undefined,
): string | undefined {
  if (challenge === undefined) {
    if (method !== undefined) throw new InvalidRequest('code_challenge_method without code_challenge');
    return undefined;
  }
  if ((method ?? 'plain') !== 'S256') throw new InvalidRequest('code_challenge_method must be S256');
  if (!/^[A-Za-z0-9_-]{43}$/.test(challenge)) {
    throw new InvalidRequest('code_challenge must be a base64url SHA-256 (43 characters)');
  }
  return challenge;
}

/** True when BASE64URL(SHA256(verifier)) equals the challenge (RFC 7636 §4.6). */
export function verifierMatches(verifier: string, challenge: string): boolean {
  if (!PKCE_VALUE.test(verifier)) return false;
  // ASCII (checked above): its UTF-8 is its ASCII octets
  return safeEqual(hash('sha256', verifier, 'base64url'), challenge);
}
