import { constants, type KeyObject, sign, verify } from 'node:crypto';
import type { SigningAlg } from '../config/schema.js';

/** A private key ready to sign: imported once, reused for every token. */
export interface SigningKey {
  kid: string;
  alg: SigningAlg;
  key: KeyObject;
}

/** A public key ready to verify. */
export interface VerificationKey {
  kid: string;
  alg: SigningAlg;
  key: KeyObject;
}

const b64 = (value: unknown) => Buffer.from(JSON.stringify(value), 'utf8').toString('base64url');

// RFC 7518 §3.1: ES256 signatures are R||S (IEEE P1363), not DER; PS256 uses a salt as long as the hash.
function options(alg: SigningAlg, key: KeyObject) {
  switch (alg) {
    case 'ES256':
      return { digest: 'sha256', key: { key, dsaEncoding: 'ieee-p1363' as const } };
    case 'RS256':
      return { digest: 'sha256', key };
    case 'PS256':
      return {
        digest: 'sha256',
        key: { key, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: constants.RSA_PSS_SALTLEN_DIGEST },
      };
    case 'EdDSA':
      return { digest: null, key };
  }
}

/** Signs a JWS compact JWT with node:crypto (RFC 7515 §7.1); `typ` goes into the header. */
export function signJwt(signer: SigningKey, payload: Record<string, unknown>, typ = 'JWT'): string {
  const input = `${b64({ alg: signer.alg, typ, kid: signer.kid })}.${b64(payload)}`;
  const o = options(signer.alg, signer.key);
  return `${input}.${sign(o.digest, Buffer.from(input, 'ascii'), o.key).toString('base64url')}`;
}

/** A JWT whose signature verified; claims still need checking by the caller. */
export interface VerifiedJwt {
  header: { alg: string; kid?: string; typ?: string };
  payload: Record<string, unknown>;
}

const COMPACT_JWS = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/;

function decodePart(part: string): Record<string, unknown> | null {
  try {
    const value: unknown = JSON.parse(Buffer.from(part, 'base64url').toString('utf8'));
    return value && typeof value === 'object' && !Array.isArray(value)
      ? (value as Record<string, unknown>)
      : null;
  } catch {
    return null;
  }
}

/** The `kid` in a compact JWS header, unverified: only to pick the key. */
export function peekKid(token: string): string | undefined {
  const dot = token.indexOf('.');
  if (dot < 1) return undefined;
  const kid = decodePart(token.slice(0, dot))?.kid;
  return typeof kid === 'string' ? kid : undefined;
}

/** What a jti peeked from a token not yet verified may be: printable ASCII, at most 255 characters. */
const PEEKABLE_JTI = /^[\x21-\x7e]{1,255}$/;

/**
 * The `jti` in a compact JWS payload, unverified: only to look its revocation up early. One that
 * could not be Sesame's (control characters, which PostgreSQL refuses in text, or overlong)
 * is not peeked.
 */
export function peekJti(token: string): string | undefined {
  const jti = peekPayload(token)?.jti;
  return typeof jti === 'string' && PEEKABLE_JTI.test(jti) ? jti : undefined;
}

/** The payload of a compact JWS, unverified (null when it is not one). */
function peekPayload(token: string): Record<string, unknown> | null | undefined {
  const first = token.indexOf('.');
  const second = first < 1 ? -1 : token.indexOf('.', first + 1);
  if (second < 0 || !COMPACT_JWS.test(token)) return undefined;
  return decodePart(token.slice(first + 1, second));
}

/**
 * The first `aud` of a compact JWS payload, unverified: only to read its API early, with the
 * other reads of a request (printable ASCII, at most 1,000 characters, or not peeked).
 */
export function peekAudience(token: string): string | undefined {
  const aud = peekPayload(token)?.aud;
  const one = Array.isArray(aud) ? aud[0] : aud;
  return typeof one === 'string' && /^[\x21-\x7e]{1,1000}$/.test(one) ? one : undefined;
}

/**
 * Verifies a compact JWS against the key its `kid` names; the header's `alg` must be the key's
 * own (RFC 8725 §3.1: never let the token choose the algorithm). Null on any failure.
 */
export function verifyJwt(
  token: string,
  keyFor: (kid: string) => VerificationKey | undefined,
): VerifiedJwt | null {
  // RFC 7515 §7.1: three unpadded base64url parts; Node's decoder would skip stray characters.
  if (!COMPACT_JWS.test(token)) return null;
  const parts = token.split('.');
  const [h, p, s] = parts as [string, string, string];
  const header = decodePart(h);
  if (!header || typeof header.kid !== 'string' || typeof header.alg !== 'string') return null;
  const key = keyFor(header.kid);
  if (!key || key.alg !== header.alg) return null;
  const o = options(key.alg, key.key);
  let ok = false;
  try {
    ok = verify(o.digest, Buffer.from(`${h}.${p}`, 'ascii'), o.key, Buffer.from(s, 'base64url'));
  } catch {
    return null;
  }
  if (!ok) return null;
  const payload = decodePart(p);
  return payload ? { header: header as VerifiedJwt['header'], payload } : null;
}
