import type { Context } from 'hono';
import type { AppEnv, Deps } from '../http/context.js';
import { authenticateRequestClient } from '../http/middleware/client-auth.js';
import { jsonNoStore } from '../http/respond.js';
import { required } from '../protocol/params.js';
import type { RefreshTokenRecord } from '../storage/types.js';
import { type AccessTokenClaims, verifyAccessToken } from '../tokens/access-token.js';
import { peekKid } from '../tokens/jwt.js';
import { sha256 } from '../util/crypto.js';

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

const CLAIMS = ['scope', 'client_id', 'sub', 'aud', 'iss', 'exp', 'iat', 'nbf', 'jti'] as const;

/**
 * POST /oauth/introspect (RFC 7662 §2): a confidential client asks about a token; anything
 * unknown, expired, revoked or malformed is `{"active":false}` and nothing more (§2.2).
 */
export function introspectionEndpoint(deps: Deps) {
  return async (c: Context<AppEnv>): Promise<Response> => {
    const params = c.get('params');
    await authenticateRequestClient(deps, c, { allowPublic: false });
    const token = required(params, 'token');
    const claims = await activeAccessToken(deps, token);
    if (!claims) {
      const refresh = await activeRefreshToken(deps, token);
      if (!refresh) return jsonNoStore(c, { active: false });
      const scopes = (refresh.payload.scopes as string[] | undefined) ?? [];
      return jsonNoStore(c, {
        active: true,
        token_type: 'refresh_token',
        client_id: refresh.clientId,
        sub: refresh.userId,
        scope: scopes.join(' '),
        iss: deps.config.issuer,
        iat: refresh.createdAt,
        exp: refresh.expiresAt,
      });
    }
    const body: Record<string, unknown> = { active: true, token_type: 'Bearer' };
    for (const name of CLAIMS) if (claims[name] !== undefined) body[name] = claims[name];
    return jsonNoStore(c, body);
  };
}
