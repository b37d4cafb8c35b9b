import type { Context } from 'hono';
import type { AppEnv, Deps } from '../http/context.js';
import { authenticateRequestClient } from '../http/middleware/client-auth.js';
import { jsonNoStore } from '../http/respond.js';
import { required } from '../protocol/params.js';
import { activeAccessToken, activeRefreshToken } from '../tokens/active.js';

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
