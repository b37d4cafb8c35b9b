import type { Context } from 'hono';
import { grantHandler } from '../../grants/registry.js';
import { clientIp } from '../../http/client-ip.js';
import type { AppEnv, Deps } from '../../http/context.js';
import { authenticateRequestClient } from '../../http/middleware/client-auth.js';
import { jsonNoStore } from '../../http/respond.js';
import { UnauthorizedClient, UnsupportedGrantType } from '../../protocol/errors.js';
import { required } from '../../protocol/params.js';

/**
 * POST /oauth/token (RFC 6749 §3.2): parse → grant type known → authenticate client →
 * client may use the grant → the grant's handler → JSON with no-store (RFC 6749 §5.1).
 */
export function tokenEndpoint(deps: Deps) {
  return async (c: Context<AppEnv>): Promise<Response> => {
    const params = c.get('params');
    const grantType = required(params, 'grant_type');
    const handler = grantHandler(grantType);
    if (!handler) throw new UnsupportedGrantType(`grant_type ${grantType} is not supported`);
    const client = await authenticateRequestClient(deps, c, { allowPublic: true });
    if (!client.app.grantTypes.includes(grantType)) {
      throw new UnauthorizedClient(`client is not allowed to use grant_type ${grantType}`);
    }
    const body = await handler.handle({ deps, params, client, now: deps.clock.now(), ip: clientIp(c) });
    return jsonNoStore(c, body);
  };
}
