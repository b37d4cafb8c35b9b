import type { Context } from 'hono';
import { userScopeCeiling } from '../../grants/rbac.js';
import { audienceApi, userScopes } from '../../grants/user-scopes.js';
import { clientIp } from '../../http/client-ip.js';
import type { AppEnv, Deps } from '../../http/context.js';
import { authenticateRequestClient } from '../../http/middleware/client-auth.js';
import { jsonNoStore } from '../../http/respond.js';
import { TooManyRequests, UnauthorizedClient } from '../../protocol/errors.js';
import { DEVICE_CODE } from '../../protocol/grant-types.js';
import { endpointUrl } from '../../protocol/issuer.js';
import { formatUserCode, newUserCode } from '../../protocol/user-code.js';
import { opaqueToken } from '../../tokens/opaque.js';

/**
 * POST /oauth/device/code (RFC 8628 §3.1–§3.2): the client (authenticated if confidential)
 * asks for a device_code (256 bits, stored hashed) and a user_code the person enters at
 * /activate, with the scopes and audience it wants. Each client address may ask for
 * `device.codesPerMinute` a minute (#14 §8).
 */
export function deviceAuthorizationEndpoint(deps: Deps) {
  return async (c: Context<AppEnv>): Promise<Response> => {
    const params = c.get('params');
    const client = await authenticateRequestClient(deps, c, { allowPublic: true });
    if (!client.app.grantTypes.includes(DEVICE_CODE)) {
      throw new UnauthorizedClient('client is not allowed to use the device authorization grant');
    }
    const api = await audienceApi(deps, params);
    const scopes = userScopes(params.get('scope'), api);
    if (api) await userScopeCeiling(deps.storage, client.app, api);
    const { codeLifetime, interval } = deps.config.device;
    const now = deps.clock.now();
    const wait = deps.limits.deviceCodes.take(clientIp(c), now);
    if (wait > 0) throw new TooManyRequests(wait);
    const deviceCode = opaqueToken();
    let userCode = newUserCode();
    for (let attempt = 0; ; attempt++) {
      try {
        await deps.storage.deviceCodes.create({
          hash: deviceCode.hash,
          userCode,
          clientId: client.app.clientId,
          payload: { scopes, ...(api ? { audience: api.identifier } : {}) },
          status: 'pending',
          userId: null,
          authTime: null,
          interval,
          lastPolledAt: null,
          createdAt: now,
          expiresAt: now + codeLifetime,
        });
        break;
      } catch (err) {
        if (attempt >= 2) throw err;
        userCode = newUserCode(); // a user code still in use; draw again
      }
    }
    const verification = endpointUrl(deps.config.issuer, '/activate');
    return jsonNoStore(c, {
      device_code: deviceCode.value,
      user_code: formatUserCode(userCode),
      verification_uri: verification,
      verification_uri_complete: `${verification}?user_code=${formatUserCode(userCode)}`,
      expires_in: codeLifetime,
      interval,
    });
  };
}
