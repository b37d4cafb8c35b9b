import {
  AccessDenied,
  AuthorizationPending,
  ExpiredToken,
  InvalidGrant,
  SlowDown,
} from '../protocol/errors.js';
import { DEVICE_CODE } from '../protocol/grant-types.js';
import { required } from '../protocol/params.js';
import { checkGrantedAudience } from '../protocol/resource.js';
import { randomToken, sha256 } from '../util/crypto.js';
import { inTokenTransaction } from './transaction.js';
import type { GrantHandler } from './types.js';
import { issueUserTokens } from './user-tokens.js';

/**
 * RFC 8628 §3.4–§3.5: the device polls with its device_code: authorization_pending until the
 * person decides, slow_down when it polls faster than its interval (which then grows by 5 s),
 * access_denied, expired_token; once approved, tokens are issued exactly once, in the same
 * transaction as the code is consumed (#14 §7).
 */
export const deviceCode: GrantHandler = {
  grantType: DEVICE_CODE,
  parameters: ['device_code', 'resource', 'audience'],
  handle: ({ deps, params, client, now, event }) =>
    inTokenTransaction(deps, async (deps) => {
      const hash = sha256(required(params, 'device_code'));
      const record = await deps.storage.deviceCodes.get(hash);
      if (!record || record.clientId !== client.app.clientId)
        throw new InvalidGrant('device_code is invalid');
      if (record.status === 'consumed') throw new InvalidGrant('device_code was already used');
      if (record.expiresAt <= now) throw new ExpiredToken('device_code has expired');
      if (record.status === 'denied') throw new AccessDenied('the user denied the request');
      if (record.status === 'pending') {
        if ((await deps.storage.deviceCodes.poll(hash, now)) === 'slow_down') {
          throw new SlowDown(
            `polling too fast; wait at least ${record.interval + 5} seconds between requests`,
          );
        }
        throw new AuthorizationPending('the user has not yet approved the device');
      }
      checkGrantedAudience(params, (record.payload as { audience?: string }).audience);
      if (!(await deps.storage.deviceCodes.consume(hash)) || record.userId === null) {
        throw new InvalidGrant('device_code was already used');
      }
      const payload = record.payload as { scopes: string[]; audience?: string };
      return issueUserTokens(
        deps,
        client.app,
        {
          grantId: randomToken(16),
          userId: record.userId,
          scopes: payload.scopes,
          authTime: record.authTime ?? now,
          ...(payload.audience !== undefined ? { audience: payload.audience } : {}),
        },
        { event },
      );
    }),
};
