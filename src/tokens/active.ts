import type { Deps } from '../http/context.js';
import type { RefreshTokenRecord } from '../storage/types.js';
import { sha256 } from '../util/crypto.js';
import { type AccessTokenClaims, verifyAccessToken } from './access-token.js';
import { peekKid } from './jwt.js';

/** An access token that verifies, was issued here, has not expired and was not revoked. */
export async function activeAccessToken(deps: Deps, token: string): Promise<AccessTokenClaims | null> {
  await deps.keys.prepare(peekKid(token));
  const claims = verifyAccessToken(
    token,
    (kid) => deps.keys.verifier(kid),
    deps.config.issuer,
    deps.clock.now(),
  );
  if (!claims || (await deps.storage.revocations.isRevoked(claims.jti))) return null;
  // A deleted application's tokens end with it (its machine tokens are not on record).
  if (!(await deps.storage.applications.get(claims.client_id))) return null;
  return claims;
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
  return record;
}
