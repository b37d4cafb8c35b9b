import { InvalidGrant, InvalidRequest } from '../protocol/errors.js';
import { required } from '../protocol/params.js';
import { verifierMatches } from '../protocol/pkce.js';
import { checkGrantedAudience } from '../protocol/resource.js';
import { sha256 } from '../util/crypto.js';
import { inTokenTransaction } from './transaction.js';
import type { GrantHandler } from './types.js';
import { issueUserTokens, revokeGrant, type UserGrant } from './user-tokens.js';

interface CodePayload {
  userId: string;
  redirectUri: string;
  redirectUriSent: boolean;
  scopes: string[];
  authTime: number;
  sid?: string;
  audience?: string;
  codeChallenge?: string;
  nonce?: string;
  acr?: string;
}

/**
 * RFC 6749 §4.1.3 with RFC 7636 §4.6: the code is consumed first, atomically (so it is used
 * once even when this exchange fails); then client, expiry, redirect_uri and PKCE are checked.
 * A verifier for a code issued without a challenge is refused (downgrade, RFC 9700 §4.8.2).
 * All in one transaction (#14 §7); a replay waits for it, then revokes what it issued.
 */
export const authorizationCode: GrantHandler = {
  grantType: 'authorization_code',
  parameters: ['code', 'redirect_uri', 'code_verifier', 'resource', 'audience'],
  handle: ({ deps, params, client, now, event }) =>
    inTokenTransaction(deps, async (deps) => {
      const code = required(params, 'code');
      const result = await deps.storage.authorizationCodes.consumeWithUser(sha256(code), now);
      if (!result) throw new InvalidGrant('code is invalid');
      if (result.replayed) {
        if (result.code.clientId === client.app.clientId) await revokeGrant(deps, result.code.grantId);
        throw new InvalidGrant('code was already used');
      }
      const record = result.code;
      const p = record.payload as unknown as CodePayload;
      if (record.clientId !== client.app.clientId)
        throw new InvalidGrant('code was issued to another client');
      if (record.expiresAt <= now) throw new InvalidGrant('code has expired');
      // A password reset, a sign-out everywhere or a logout ended the sign-in it came from: a code
      // kept from before must not give tokens after it.
      if (result.signedIn === false) throw new InvalidGrant('code was issued in a sign-in that has ended');
      const redirectUri = params.get('redirect_uri');
      if (p.redirectUriSent && redirectUri === undefined)
        throw new InvalidRequest('redirect_uri is required');
      if (redirectUri !== undefined && redirectUri !== p.redirectUri) {
        throw new InvalidGrant('redirect_uri does not match the authorization request');
      }
      const verifier = params.get('code_verifier');
      if (p.codeChallenge !== undefined) {
        if (verifier === undefined) throw new InvalidGrant('code_verifier is required');
        if (!verifierMatches(verifier, p.codeChallenge))
          throw new InvalidGrant('code_verifier does not match');
      } else if (verifier !== undefined) {
        throw new InvalidGrant('code_verifier sent for a code issued without code_challenge');
      }
      checkGrantedAudience(params, p.audience);
      const grant: UserGrant = {
        grantId: record.grantId,
        userId: p.userId,
        scopes: p.scopes,
        authTime: p.authTime,
        ...(p.audience !== undefined ? { audience: p.audience } : {}),
        ...(p.sid !== undefined ? { sid: p.sid } : {}),
        ...(p.nonce !== undefined ? { nonce: p.nonce } : {}),
        ...(p.acr !== undefined ? { acr: p.acr } : {}),
      };
      return issueUserTokens(
        deps,
        client.app,
        grant,
        result.user !== undefined ? { event, user: result.user } : { event },
      );
    }),
};
