import { userClaims } from '../accounts/claims.js';
import { endGrantTokens } from '../admin/revoke.js';
import type { Deps } from '../http/context.js';
import { decrypt, encrypt } from '../keys/encryption.js';
import { InvalidGrant, InvalidScope } from '../protocol/errors.js';
import { formatScope } from '../protocol/scope.js';
import type { Api, Application, RefreshTokenRecord, User } from '../storage/types.js';
import { issueAccessToken, userinfoAudience } from '../tokens/access-token.js';
import { issueIdToken } from '../tokens/id-token.js';
import { opaqueToken } from '../tokens/opaque.js';
import { randomToken } from '../util/crypto.js';
import { merged } from '../util/merged.js';
import { entitle } from './rbac.js';
import type { TokenEvent, TokenResponse } from './types.js';

/** What a person granted an application: carried by codes and refresh tokens. */
export interface UserGrant {
  grantId: string;
  userId: string;
  scopes: string[];
  audience?: string;
  authTime: number;
  sid?: string;
  nonce?: string;
  acr?: string;
  /** When its refresh-token family began (its first token); kept through every rotation. */
  familyCreatedAt?: number;
  /** The id of the API of `audience` when the family began: one made again later is another. */
  apiId?: string;
}

/** The refresh-token family a new token joins; a new family when absent. */
export interface Family {
  familyId: string;
  familyExpiresAt: number;
}

/** The API an access token is for; with none, a token for the userinfo endpoint. */
export async function tokenAudience(deps: Deps, audience: string | undefined): Promise<Api> {
  if (audience !== undefined) {
    const api = await deps.storage.apis.getByIdentifier(audience);
    if (!api) throw new InvalidGrant(`the API ${audience} no longer exists`);
    return api;
  }
  return {
    id: 'userinfo',
    identifier: userinfoAudience(deps.config.issuer),
    name: 'userinfo',
    scopes: [],
    tokenLifetime: deps.config.accessToken.userinfoLifetime,
    signingAlg: 'ES256',
    allowOfflineAccess: false,
    options: {},
    isSystem: false,
    createdAt: 0,
    updatedAt: 0,
  };
}

/**
 * Whether a refresh token may be issued: offline_access granted, the refresh_token grant
 * allowed for the application, and offline access allowed by the API (or, for sign-ins without
 * an API, by the application).
 */
function refreshAllowed(app: Application, api: Api, g: UserGrant): boolean {
  if (!g.scopes.includes('offline_access') || !app.grantTypes.includes('refresh_token')) return false;
  return g.audience !== undefined ? api.allowOfflineAccess : app.settings.allowOfflineAccess === true;
}

/** How issuing goes for a grant: its refresh-token family, the grant a narrowed refresh came from. */
export interface IssueOptions {
  family?: Family;
  original?: UserGrant;
  /** A fresh request (password grant): a scope the person may not have is invalid_scope. */
  fresh?: boolean;
  /** The request's log event, told who the tokens are for. */
  event?: TokenEvent;
  /** The new refresh token's value, minted beforehand (a rotation sealed it into its predecessor). */
  refreshToken?: { value: string; hash: string };
  /** A live refresh token of the family to hand back instead of a new one (reuse within the grace). */
  current?: string;
  /** The grant's user, read already in this transaction (null: gone); read here when absent. */
  user?: User | null;
}

/** Seals a refresh token's successor so that only this server can read it back (AAD: the predecessor). */
export function sealSuccessor(deps: Pick<Deps, 'encryptionKey'>, predecessor: string, value: string): string {
  return encrypt(deps.encryptionKey, value, `refresh:${predecessor}`);
}

/** The successor `sealSuccessor` sealed. */
export function openSuccessor(
  deps: Pick<Deps, 'encryptionKey'>,
  predecessor: string,
  sealed: string,
): string {
  return decrypt(deps.encryptionKey, sealed, `refresh:${predecessor}`);
}

/**
 * Issues the tokens of a user grant: a JWT access token (recorded under the grant so that a
 * code replay can revoke it), an ID token when `openid` was granted (OIDC Core §3.1.3.3), and a
 * refresh token in `family` (or a new one) when offline access is allowed. A narrowed refresh
 * keeps the `original` grant on the new refresh token (RFC 6749 §6). The scopes are those the
 * person may still have now (roles and the API's access policy, grants/rbac.ts).
 */
export async function issueUserTokens(
  deps: Deps,
  app: Application,
  granted: UserGrant,
  opts: IssueOptions = {},
): Promise<TokenResponse> {
  const { family, original = granted } = opts;
  const user = opts.user !== undefined ? opts.user : await deps.storage.users.get(granted.userId);
  if (!user || user.blocked) throw new InvalidGrant('the user no longer exists or is blocked');
  if (opts.event) {
    opts.event.userId = user.id;
    opts.event.userName = user.email;
    if (granted.audience !== undefined) opts.event.audience = granted.audience;
  }
  const api = await tokenAudience(deps, granted.audience);
  // a refresh token of an API deleted and made again under its identifier: the old API's
  if (granted.apiId !== undefined && api.id !== granted.apiId)
    throw new InvalidGrant(`the API ${api.identifier} no longer exists`);
  const entitled = await entitle(deps.storage, app, granted.audience ? api : null, user.id, granted.scopes);
  if (entitled.refused) {
    const message = `the user holds none of the requested permissions for ${api.identifier}`;
    throw opts.fresh ? new InvalidScope(message) : new InvalidGrant(message);
  }
  const g = merged(granted, { scopes: entitled.scopes });
  const now = deps.clock.now();
  const refreshing = opts.current !== undefined || refreshAllowed(app, api, original);
  // offline_access is reported only with a refresh token (RFC 6749 §5.1: the scope granted):
  // without one, the scope would promise what the client did not get.
  const scopes = refreshing ? g.scopes : g.scopes.filter((s) => s !== 'offline_access');
  const at = await issueAccessToken(deps.keys, {
    issuer: deps.config.issuer,
    api,
    subject: user.id,
    clientId: app.clientId,
    scopes,
    ...(entitled.permissions ? { permissions: entitled.permissions } : {}),
    now,
  });
  const response: TokenResponse = { access_token: at.token, token_type: 'Bearer', expires_in: at.expiresIn };
  if (g.scopes.includes('openid')) {
    response.id_token = await issueIdToken(deps.keys, {
      issuer: deps.config.issuer,
      clientId: app.clientId,
      alg: app.settings.idTokenSigningAlg ?? 'RS256',
      lifetime: deps.config.idToken.lifetime,
      now,
      subject: user.id,
      authTime: g.authTime,
      accessToken: at.token,
      claims: userClaims(user, g.scopes),
      ...(g.sid !== undefined ? { sid: g.sid } : {}),
      ...(g.nonce !== undefined ? { nonce: g.nonce } : {}),
      ...(g.acr !== undefined ? { acr: g.acr } : {}),
    });
  }
  let refreshToken: RefreshTokenRecord | undefined;
  if (opts.current !== undefined) {
    response.refresh_token = opts.current;
  } else if (refreshing) {
    const cfg = deps.config.refreshToken;
    const fam = family ?? { familyId: randomToken(16), familyExpiresAt: now + cfg.absoluteLifetime };
    const rt = opts.refreshToken ?? opaqueToken();
    refreshToken = {
      hash: rt.hash,
      familyId: fam.familyId,
      grantId: g.grantId,
      clientId: app.clientId,
      userId: user.id,
      payload: (family
        ? original
        : merged(
            original,
            granted.audience ? { familyCreatedAt: now, apiId: api.id } : { familyCreatedAt: now },
          )) as unknown as Record<string, unknown>,
      createdAt: now,
      expiresAt: Math.min(now + cfg.idleLifetime, fam.familyExpiresAt),
      familyExpiresAt: fam.familyExpiresAt,
      rotatedAt: null,
      revokedAt: null,
    };
    response.refresh_token = rt.value;
  }
  // The access token is recorded under its grant (a code replay revokes it): on the refresh
  // token's row when one is issued beside it.
  if (refreshToken) await deps.storage.grantTokens.addWithRefreshToken(at.jti, at.expiresAt, refreshToken);
  else
    await deps.storage.grantTokens.add(g.grantId, at.jti, at.expiresAt, {
      userId: user.id,
      clientId: app.clientId,
      audience: g.audience ?? '',
    });
  if (scopes.length > 0) response.scope = formatScope(scopes);
  return response;
}

/**
 * Revokes everything issued under a grant, in one transaction (admin/revoke.ts): its refresh
 * tokens and its access tokens (remembered by jti). For a code used twice (RFC 6749 §4.1.2,
 * §10.5) and a refresh token reused after its grace period (RFC 9700 §4.14.2).
 */
export async function revokeGrant(deps: Pick<Deps, 'storage' | 'clock'>, grantId: string): Promise<void> {
  const now = deps.clock.now();
  await deps.storage.transaction((tx) => endGrantTokens(tx, grantId, now));
}
