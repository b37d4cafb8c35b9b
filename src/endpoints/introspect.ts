import type { Context } from 'hono';
import type { AppEnv, Deps } from '../http/context.js';
import { authenticateClient } from '../http/middleware/client-auth.js';
import { jsonNoStore } from '../http/respond.js';
import { required } from '../protocol/params.js';
import { type AccessTokenClaims, verifyAccessToken } from '../tokens/access-token.js';
import { peekKid } from '../tokens/jwt.js';

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

const CLAIMS = ['scope', 'client_id', 'sub', 'aud', 'iss', 'exp', 'iat', 'nbf', 'jti'] as const;

/**
 * POST /oauth/introspect (RFC 7662 §2): a confidential client asks about a token; anything
 * unknown, expired, revoked or malformed is `{"active":false}` and nothing more (§2.2).
 */
export function introspectionEndpoint(deps: Deps) {
  return async (c: Context<AppEnv>): Promise<Response> => {
    const params = c.get('params');
    await authenticateClient(deps.storage.applications, c.req.header('authorization'), params, {
      allowPublic: false,
    });
    const claims = await activeAccessToken(deps, required(params, 'token'));
    if (!claims) return jsonNoStore(c, { active: false });
    const body: Record<string, unknown> = { active: true, token_type: 'Bearer' };
    for (const name of CLAIMS) if (claims[name] !== undefined) body[name] = claims[name];
    return jsonNoStore(c, body);
  };
}
