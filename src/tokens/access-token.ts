import type { Keystore } from '../keys/keystore.js';
import { endpointUrl } from '../protocol/issuer.js';
import { formatScope } from '../protocol/scope.js';
import type { Api } from '../storage/types.js';
import { randomToken } from '../util/crypto.js';
import { signJwt, type VerificationKey, verifyJwt } from './jwt.js';

/** What an access token is issued for. */
export interface AccessTokenRequest {
  issuer: string;
  api: Api;
  /** The user, or the client id for machine-to-machine tokens. */
  subject: string;
  clientId: string;
  scopes: readonly string[];
  /** Auth0's `permissions` claim (RBAC, `_authz` dialects). */
  permissions?: readonly string[];
  now: number;
}

/** An issued access token and what a response or a revocation needs of it. */
export interface IssuedAccessToken {
  token: string;
  jti: string;
  expiresIn: number;
  expiresAt: number;
}

/** The audience of the userinfo endpoint (Auth0's `https://TENANT/userinfo`). */
export const userinfoAudience = (issuer: string): string => endpointUrl(issuer, '/userinfo');

/** An API's audience with userinfo's beside it (userinfo's own alone). */
function withUserinfo(identifier: string, issuer: string): string | string[] {
  const userinfo = userinfoAudience(issuer);
  return identifier === userinfo ? identifier : [identifier, userinfo];
}

/**
 * How long an access token issued at `/authorize` (implicit and hybrid flows) lives: the API's
 * `token_lifetime_for_web`, else `fallback` (config `accessToken.implicitLifetime`), never longer
 * than its token lifetime.
 */
export function browserFlowLifetime(api: Pick<Api, 'tokenLifetime' | 'options'>, fallback: number): number {
  return Math.min(api.tokenLifetime, api.options.tokenLifetimeForWeb ?? fallback);
}

/** JWT access token typ (RFC 9068 §2.1). */
export const ACCESS_TOKEN_TYP = 'at+jwt';

/**
 * Issues an RFC 9068 JWT access token for `api`, signed with the API's algorithm:
 * header typ at+jwt and kid; claims iss, sub, aud, client_id, scope, iat, exp, jti.
 */
export async function issueAccessToken(keys: Keystore, req: AccessTokenRequest): Promise<IssuedAccessToken> {
  const signer = await keys.signer(req.api.signingAlg);
  const jti = randomToken(16);
  const exp = req.now + req.api.tokenLifetime;
  // A token for an API that carries openid is for the userinfo endpoint too (Auth0's shape):
  // userinfo takes only tokens whose audience names it (RFC 9068 §4). Client credentials never
  // carry openid, so their path builds no second audience.
  const aud = req.scopes.includes('openid')
    ? withUserinfo(req.api.identifier, req.issuer)
    : req.api.identifier;
  const claims: Record<string, unknown> = {
    iss: req.issuer,
    sub: req.subject,
    aud,
    client_id: req.clientId,
    iat: req.now,
    exp,
    jti,
  };
  if (req.scopes.length > 0) claims.scope = formatScope(req.scopes);
  if (req.permissions) claims.permissions = req.permissions;
  return {
    token: signJwt(signer, claims, ACCESS_TOKEN_TYP),
    jti,
    expiresIn: req.api.tokenLifetime,
    expiresAt: exp,
  };
}

/** The claims of an access token that verified, was issued here and has not expired. */
export type AccessTokenClaims = Record<string, unknown> & {
  jti: string;
  exp: number;
  client_id: string;
  sub: string;
};

/**
 * Verifies an access token issued by this server (RFC 9068 §4): signature by a published key,
 * typ at+jwt, our issuer, not expired. Revocation is the caller's to check. Null when invalid.
 */
export function verifyAccessToken(
  token: string,
  keyFor: (kid: string) => VerificationKey | undefined,
  issuer: string,
  now: number,
): AccessTokenClaims | null {
  const jwt = verifyJwt(token, keyFor);
  if (!jwt || jwt.header.typ !== ACCESS_TOKEN_TYP) return null;
  const c = jwt.payload;
  if (c.iss !== issuer || typeof c.exp !== 'number' || c.exp <= now) return null;
  if (typeof c.jti !== 'string' || typeof c.client_id !== 'string' || typeof c.sub !== 'string') return null;
  return c as AccessTokenClaims;
}
