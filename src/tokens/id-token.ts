import { hash } from 'node:crypto';
import type { SigningAlg } from '../config/schema.js';
import type { Keystore } from '../keys/keystore.js';
import { randomToken } from '../util/crypto.js';
import { merged } from '../util/merged.js';
import { peekKid, signJwt, verifyJwt } from './jwt.js';

/**
 * OIDC Core §3.1.3.6 / §3.3.2.11: the left half of the hash of a token, with the hash of the
 * ID token's alg (SHA-256 for *256; SHA-512 for Ed25519).
 */
export function halfHash(value: string, alg: SigningAlg): string {
  // the value is a JWT or a code: ASCII, so hashing its UTF-8 is hashing its ASCII octets
  const digest = hash(alg === 'EdDSA' ? 'sha512' : 'sha256', value, 'buffer');
  return digest.subarray(0, digest.length / 2).toString('base64url');
}

export interface IdTokenRequest {
  issuer: string;
  clientId: string;
  alg: SigningAlg;
  lifetime: number;
  now: number;
  subject: string;
  authTime: number;
  sid?: string;
  nonce?: string;
  acr?: string;
  accessToken?: string;
  code?: string;
  /** Claims released by the scopes (OIDC Core §5.4). */
  claims?: Record<string, unknown>;
}

/** Signs an ID token (OIDC Core §2) with iss, sub, aud, exp, iat, auth_time, nonce, sid, at_hash, c_hash. */
export async function issueIdToken(keys: Keystore, req: IdTokenRequest): Promise<string> {
  const signer = await keys.signer(req.alg);
  const payload: Record<string, unknown> = merged(req.claims ?? {}, {
    iss: req.issuer,
    sub: req.subject,
    aud: req.clientId,
    exp: req.now + req.lifetime,
    iat: req.now,
    auth_time: req.authTime,
    jti: randomToken(16),
  });
  if (req.nonce !== undefined) payload.nonce = req.nonce;
  if (req.sid !== undefined) payload.sid = req.sid;
  if (req.acr !== undefined) payload.acr = req.acr;
  if (req.accessToken !== undefined) payload.at_hash = halfHash(req.accessToken, req.alg);
  if (req.code !== undefined) payload.c_hash = halfHash(req.code, req.alg);
  return signJwt(signer, payload, 'JWT');
}

/**
 * Whose ID token an `id_token_hint` is (OIDC Core §3.1.2.1, RP-Initiated Logout §2): an ID token
 * (typ JWT, not an access token's at+jwt) signed by a published key of this issuer, for one
 * audience; expired ones count, as the specs allow. Null otherwise. The caller checks that the
 * audience is one of its applications.
 */
export async function verifyIdTokenHint(
  keys: Keystore,
  issuer: string,
  hint: string | undefined,
): Promise<{ clientId: string; sub: string; sid?: string } | null> {
  if (!hint) return null;
  await keys.prepare(peekKid(hint));
  const jwt = verifyJwt(hint, (kid) => keys.verifier(kid));
  if (jwt?.header.typ !== 'JWT') return null;
  const c = jwt.payload;
  if (c.iss !== issuer || typeof c.aud !== 'string' || typeof c.sub !== 'string') return null;
  return typeof c.sid === 'string'
    ? { clientId: c.aud, sub: c.sub, sid: c.sid }
    : { clientId: c.aud, sub: c.sub };
}
