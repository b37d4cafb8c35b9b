import type { SigningKeyRecord } from '../storage/types.js';
import { merged } from '../util/merged.js';

/** The public JWK Set (RFC 7517 §5): every published key with kid, kty, alg and use. */
export function jwks(keys: readonly SigningKeyRecord[]): { keys: Record<string, unknown>[] } {
  return { keys: keys.map((k) => merged(k.publicJwk, { kid: k.kid, alg: k.alg, use: 'sig' })) };
}
