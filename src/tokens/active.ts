import type { Deps } from '../http/context.js';
import type { RefreshTokenRecord } from '../storage/types.js';
import { sha256 } from '../util/crypto.js';
import { type AccessTokenClaims, userinfoAudience, verifyAccessToken } from './access-token.js';
import { peekAudience, peekJti, peekKid } from './jwt.js';

/** How many verified access tokens a keystore's cache keeps (the oldest go first). */
const VERIFIED_MAX = 5000;
/** Access tokens whose signature and claims were verified, by their whole value, per keystore. */
const verifiedTokens = new WeakMap<object, Map<string, { kid: string; claims: AccessTokenClaims }>>();

/** Whether a jti is revoked, as looked up earlier in the same request. */
export interface KnownRevocation {
  jti: string;
  revoked: boolean;
}

/**
 * An access token that verifies, was issued here, has not expired and was not revoked. A token
 * verified once is not verified again until it expires (#16), as long as its key is still
 * published; revocation is looked up every time, unless `known` (looked up by this request
 * already) says it for the token's jti.
 */
export async function activeAccessToken(
  deps: Deps,
  token: string,
  known?: KnownRevocation,
): Promise<AccessTokenClaims | null> {
  let verified = verifiedTokens.get(deps.keys);
  if (!verified) {
    verified = new Map();
    verifiedTokens.set(deps.keys, verified);
  }
  const hit = verified.get(token);
  const kid = hit ? hit.kid : peekKid(token);
  await deps.keys.prepare(kid);
  const now = deps.clock.now();
  let claims: AccessTokenClaims | null;
  if (hit && hit.claims.exp > now && deps.keys.verifier(hit.kid)) claims = hit.claims;
  else {
    claims = verifyAccessToken(token, (k) => deps.keys.verifier(k), deps.config.issuer, now);
    if (claims && kid !== undefined) {
      if (verified.size >= VERIFIED_MAX) verified.delete(verified.keys().next().value!);
      verified.set(token, { kid, claims });
    }
  }
  if (!claims) return null;
  if (known?.jti === claims.jti ? known.revoked : await deps.storage.revocations.isRevoked(claims.jti))
    return null;
  // A deleted application's tokens end with it (its machine tokens are not on record).
  if (!(await deps.storage.applications.get(claims.client_id))) return null;
  // So do a deleted API's: the first audience is the API (or userinfo, which is not one).
  const api = Array.isArray(claims.aud) ? claims.aud[0] : claims.aud;
  if (typeof api !== 'string' || !(await apiStands(deps, api))) return null;
  return claims;
}

/**
 * Whether the API an access or refresh token was issued for still exists; for a refresh token
 * that recorded it, the very API (one made again under the identifier is another: `apiId`).
 */
async function apiStands(deps: Deps, identifier: string, apiId?: unknown): Promise<boolean> {
  if (identifier === userinfoAudience(deps.config.issuer)) return true;
  const api = await deps.storage.apis.getByIdentifier(identifier);
  return api !== null && (typeof apiId !== 'string' || api.id === apiId);
}

/**
 * The API identifier an access token names (its first audience), to read the API early with the
 * request's other reads; '' for a token of the userinfo endpoint alone, or none to be read.
 */
export function tokenApi(deps: Deps, token: string): string {
  const aud = verifiedTokens.get(deps.keys)?.get(token)?.claims.aud ?? peekAudience(token);
  const api = Array.isArray(aud) ? aud[0] : aud;
  return typeof api === 'string' && api !== userinfoAudience(deps.config.issuer) ? api : '';
}

/**
 * The `jti` of an access token, to look its revocation up early: from the tokens verified here
 * (a map lookup, where most introspections find it) or else read unverified (`peekJti`).
 */
export function accessTokenJti(deps: Deps, token: string): string | undefined {
  return verifiedTokens.get(deps.keys)?.get(token)?.claims.jti ?? peekJti(token);
}

/** The stored refresh token a value names, in whatever state, or null. */
export async function refreshTokenRecord(deps: Deps, token: string): Promise<RefreshTokenRecord | null> {
  if (!/^[A-Za-z0-9_-]{43}$/.test(token)) return null;
  return deps.storage.refreshTokens.get(sha256(token));
}

/** A refresh token that exists here, is not revoked, not rotated past its grace, and not expired. */
export async function activeRefreshToken(deps: Deps, token: string): Promise<RefreshTokenRecord | null> {
  const record = await refreshTokenRecord(deps, token);
  const now = deps.clock.now();
  if (!record || record.revokedAt !== null || record.expiresAt <= now || record.familyExpiresAt <= now)
    return null;
  if (record.rotatedAt !== null && now - record.rotatedAt >= deps.config.refreshToken.reuseGrace) return null;
  const { audience, apiId } = record.payload;
  if (typeof audience === 'string' && !(await apiStands(deps, audience, apiId))) return null;
  return record;
}
