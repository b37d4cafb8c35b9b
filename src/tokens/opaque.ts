import { randomToken, sha256 } from '../util/crypto.js';

/** A 256-bit random token and the SHA-256 that storage keeps instead (house rule 6). */
export function opaqueToken(): { value: string; hash: string } {
  const value = randomToken(32);
  return { value, hash: sha256(value) };
}
