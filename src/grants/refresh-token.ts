import type { Deps } from '../http/context.js';
import { InvalidGrant, InvalidScope } from '../protocol/errors.js';
import { required } from '../protocol/params.js';
import { checkGrantedAudience } from '../protocol/resource.js';
import { parseScope } from '../protocol/scope.js';
import type { RefreshTokenRecord } from '../storage/types.js';
import { opaqueToken } from '../tokens/opaque.js';
import { sha256 } from '../util/crypto.js';
import { merged } from '../util/merged.js';
import { committing, inTokenTransaction } from './transaction.js';
import type { GrantHandler } from './types.js';
import { issueUserTokens, openSuccessor, revokeGrant, sealSuccessor, type UserGrant } from './user-tokens.js';

/**
 * What every bad refresh token is told (Auth0's wording, which SDKs match on); the reason is
 * kept for the log.
 */
const UNKNOWN = 'Unknown or invalid refresh token.';

/** How many rotations a reuse within the grace period may follow to the family's live member. */
const MAX_HOPS = 16;

/**
 * RFC 6749 §6 with RFC 9700 §4.14.2 rotation, in one transaction (#14 §7): each use rotates
 * the token. A family has one live member at most: a rotated token used again within the grace
 * period (two tabs racing) gets the family's live member back, with new access and ID tokens;
 * after the grace period, the reuse revokes the whole grant: every refresh token of it and the
 * access tokens issued under it (#14 §4). The token is bound to its client; `scope` may only narrow.
 */
export const refreshToken: GrantHandler = {
  grantType: 'refresh_token',
  parameters: ['refresh_token', 'scope', 'resource', 'audience'],
  handle: ({ deps, params, client, now, event }) =>
    inTokenTransaction(
      deps,
      async (deps) => {
        const hash = sha256(required(params, 'refresh_token'));
        // The happy path is one statement: rotate the token, keeping its successor's value sealed.
        const successor = opaqueToken();
        const rotation = {
          clientId: client.app.clientId,
          now,
          successor: sealSuccessor(deps, hash, successor.value),
        };
        const rotated = await deps.storage.refreshTokens.rotateWithUser(hash, rotation);
        const record = rotated?.token ?? (await refused(deps, hash, client.app.clientId, now));
        const grant = record.payload as unknown as UserGrant;
        const requested = parseScope(params.get('scope'));
        if (requested === null) throw new InvalidScope('scope is malformed');
        const beyond = requested.filter((s) => !grant.scopes.includes(s));
        if (beyond.length > 0) throw new InvalidScope(`scope ${beyond.join(' ')} was not granted`);
        const scopes = requested.length > 0 ? requested : grant.scopes;
        checkGrantedAudience(params, grant.audience);
        let current: string | undefined;
        if (!rotated) {
          if (record.rotatedAt === null)
            throw new InvalidGrant(UNKNOWN, 'refresh_token could not be rotated');
          if (now - record.rotatedAt >= deps.config.refreshToken.reuseGrace) {
            await revokeGrant(deps, record.grantId);
            event.type = 'ferrt';
            event.userId = record.userId;
            event.userName = (await deps.storage.users.get(record.userId))?.email;
            throw committing(
              new InvalidGrant(UNKNOWN, 'refresh_token was already used; its family is revoked'),
            );
          }
          current = await liveSuccessor(deps, record, now);
        }
        return issueUserTokens(deps, client.app, merged(grant, { scopes }), {
          family: { familyId: record.familyId, familyExpiresAt: record.familyExpiresAt },
          original: grant,
          event,
          ...(rotated ? { user: rotated.user } : {}),
          ...(current !== undefined ? { current } : { refreshToken: successor }),
        });
      },
      // A refused refresh leaves the token as it was (a bad scope does not burn it); only the
      // revocation of a reused family stands.
      'marked',
    ),
};

/**
 * Why a token could not be rotated: unknown, another client's, revoked or expired are
 * invalid_grant; a token rotated already is returned, its row held so that a revocation in
 * flight is waited for and one starting now waits for us.
 */
async function refused(deps: Deps, hash: string, clientId: string, now: number): Promise<RefreshTokenRecord> {
  await deps.storage.refreshTokens.hold(hash);
  const record = await deps.storage.refreshTokens.get(hash);
  if (!record || record.clientId !== clientId) throw new InvalidGrant(UNKNOWN, 'refresh_token is invalid');
  if (record.revokedAt !== null) throw new InvalidGrant(UNKNOWN, 'refresh_token was revoked');
  if (record.expiresAt <= now || record.familyExpiresAt <= now)
    throw new InvalidGrant(UNKNOWN, 'refresh_token has expired');
  return record;
}

/**
 * The value of the family's live member, followed from a token rotated within the grace period
 * through the successors each rotation sealed; invalid_grant when the family has none.
 */
async function liveSuccessor(deps: Deps, from: RefreshTokenRecord, now: number): Promise<string> {
  let record = from;
  for (let hop = 0; hop < MAX_HOPS && record.successor; hop++) {
    const value = openSuccessor(deps, record.hash, record.successor);
    const next = await deps.storage.refreshTokens.get(sha256(value));
    if (!next || next.revokedAt !== null || next.expiresAt <= now) break;
    if (next.rotatedAt === null) return value;
    record = next;
  }
  throw new InvalidGrant(UNKNOWN, 'refresh_token was rotated and its family has no live member');
}
