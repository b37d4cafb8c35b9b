import { generateKeyPair, type KeyObject } from 'node:crypto';
import { promisify } from 'node:util';
import { calculateJwkThumbprint, type JWK } from 'jose';
import type { SigningAlg } from '../config/schema.js';
import type { SigningKeyRecord } from '../storage/types.js';
import { merged } from '../util/merged.js';
import { encrypt } from './encryption.js';

const generate = promisify(generateKeyPair) as (
  type: string,
  options: Record<string, unknown>,
) => Promise<{ publicKey: KeyObject; privateKey: KeyObject }>;

async function keyPair(alg: SigningAlg) {
  switch (alg) {
    case 'ES256':
      return generate('ec', { namedCurve: 'P-256' });
    case 'RS256':
    case 'PS256':
      return generate('rsa', { modulusLength: 2048, publicExponent: 0x10001 });
    case 'EdDSA':
      return generate('ed25519', {});
  }
}

/**
 * A new key pair for `alg` (ES256: P-256; RS256 and PS256: RSA 2048; EdDSA: Ed25519), its kid
 * the RFC 7638 thumbprint, its private part encrypted under `encryptionKey`. A pair whose
 * thumbprint starts with `-` (base64url allows it, one in 64) is set aside for another, so that a
 * kid typed on a command line is never read as an option.
 */
export async function generateSigningKey(
  alg: SigningAlg,
  encryptionKey: Buffer,
  times: { now: number; activatesAt: number },
): Promise<SigningKeyRecord> {
  let pair: Awaited<ReturnType<typeof keyPair>>;
  let jwk: JWK;
  let kid: string;
  do {
    pair = await keyPair(alg);
    jwk = pair.publicKey.export({ format: 'jwk' }) as JWK;
    kid = await calculateJwkThumbprint(jwk, 'sha256');
  } while (kid.startsWith('-'));
  const { privateKey } = pair;
  const pem = privateKey.export({ format: 'pem', type: 'pkcs8' }).toString();
  return {
    kid,
    alg,
    publicJwk: merged(jwk, { kid, alg, use: 'sig' }),
    privateKeyEncrypted: encrypt(encryptionKey, pem, kid),
    createdAt: times.now,
    activatesAt: times.activatesAt,
    retiresAt: null,
    revokedAt: null,
    publishedUntil: null,
  };
}
