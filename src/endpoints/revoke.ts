import type { Context } from 'hono';
import { revokeGrant } from '../grants/user-tokens.js';
import type { AppEnv, Deps } from '../http/context.js';
import { authenticateRequestClient } from '../http/middleware/client-auth.js';
import { NO_STORE } from '../http/respond.js';
import { required } from '../protocol/params.js';
import { activeAccessToken, refreshTokenRecord } from '../tokens/active.js';

/**
 * POST /oauth/revoke (RFC 7009 §2.1): the client that a token was issued to revokes it. A JWT
 * is remembered by jti until it would have expired; a refresh token takes its family with it.
 * Unknown or invalid tokens, and other clients' tokens (left as they are), get 200 (§2.2);
 * `token_type_hint` is only a hint, and an unknown one is ignored.
 */
export function revocationEndpoint(deps: Deps) {
  return async (c: Context<AppEnv>): Promise<Response> => {
    const params = c.get('params');
    const client = await authenticateRequestClient(deps, c, { allowPublic: true });
    c.set('clientId', client.app.clientId);
    const token = required(params, 'token');
    const claims = await activeAccessToken(deps, token);
    if (claims) {
      // Another client's token is left alone, with the same answer as an unknown one, so that
      // revocation tells nobody whether someone else's token is valid (RFC 7009 §2.2).
      if (claims.client_id === client.app.clientId)
        await deps.storage.revocations.revoke(claims.jti, claims.exp);
      return c.body(null, 200, NO_STORE);
    }
    // A refresh token: revoking it revokes its grant: the whole family and the access tokens
    // issued with it (RFC 7009 §2.1, RFC 9700 §4.14.2),
    // also when it is an older member already rotated out, since the family may still be live.
    const refresh = await refreshTokenRecord(deps, token);
    if (refresh && refresh.revokedAt === null && refresh.clientId === client.app.clientId) {
      await revokeGrant(deps, refresh.grantId);
    }
    return c.body(null, 200, NO_STORE);
  };
}
