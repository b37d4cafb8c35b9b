import { InvalidGrant, InvalidScope } from '../protocol/errors.js';
import { required } from '../protocol/params.js';
import { parseScope } from '../protocol/scope.js';
import { sha256 } from '../util/crypto.js';
import type { GrantHandler } from './types.js';
import { issueUserTokens, revokeGrant, type UserGrant } from './user-tokens.js';

/**
 * What every bad refresh token is told (Auth0's wording, which SDKs match on); the reason is
 * kept for the log.
 */
const UNKNOWN = 'Unknown or invalid refresh token.';

/**
 * RFC 6749 §6 with RFC 9700 §4.14.2 rotation: each use rotates the token; a rotated token used
 * again within the grace period (two tabs racing) still works; after it, the reuse revokes the
 * whole grant: every refresh token of it and the access tokens issued under it.
 * The token is bound to its client; `scope` may only narrow.
 */
export const refreshToken: GrantHandler = {
  grantType: 'refresh_token',
  parameters: ['refresh_token', 'scope'],
  async handle({ deps, params, client, now, event }) {
    const record = await deps.storage.refreshTokens.get(sha256(required(params, 'refresh_token')));
    if (!record || record.clientId !== client.app.clientId)
      throw new InvalidGrant(UNKNOWN, 'refresh_token is invalid');
    if (record.revokedAt !== null) throw new InvalidGrant(UNKNOWN, 'refresh_token was revoked');
    if (record.expiresAt <= now || record.familyExpiresAt <= now)
      throw new InvalidGrant(UNKNOWN, 'refresh_token has expired');
    if (record.rotatedAt !== null || !(await deps.storage.refreshTokens.markRotated(record.hash, now))) {
      const rotatedAt = record.rotatedAt ?? now;
      if (now - rotatedAt >= deps.config.refreshToken.reuseGrace) {
        // Reuse after the grace period: the whole grant goes, its access tokens too (#14 §4).
        await revokeGrant(deps, record.grantId);
        event.type = 'ferrt';
        event.userId = record.userId;
        event.userName = (await deps.storage.users.get(record.userId))?.email;
        throw new InvalidGrant(UNKNOWN, 'refresh_token was already used; its family is revoked');
      }
    }
    const grant = record.payload as unknown as UserGrant;
    const requested = parseScope(params.get('scope'));
    if (requested === null) throw new InvalidScope('scope is malformed');
    const beyond = requested.filter((s) => !grant.scopes.includes(s));
    if (beyond.length > 0) throw new InvalidScope(`scope ${beyond.join(' ')} was not granted`);
    const scopes = requested.length > 0 ? requested : grant.scopes;
    const response = await issueUserTokens(
      deps,
      client.app,
      { ...grant, scopes },
      {
        family: { familyId: record.familyId, familyExpiresAt: record.familyExpiresAt },
        original: grant,
        event,
      },
    );
    // A reuse racing this rotation may have revoked the family before the new member existed:
    // look again, so that the new member falls with its family (RFC 9700 §4.14.2).
    if ((await deps.storage.refreshTokens.get(record.hash))?.revokedAt !== null) {
      await revokeGrant(deps, record.grantId);
    }
    return response;
  },
};
