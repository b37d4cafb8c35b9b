import type { SigningAlg } from '../config/schema.js';

/** Application types, as in Auth0: regular web, single-page, native, machine-to-machine. */
export type ApplicationType = 'web' | 'spa' | 'native' | 'm2m';

/** Which applications a list holds: every condition given must hold. */
export interface ApplicationFilter {
  /** Of any of these types. */
  types?: ApplicationType[];
  /** First-party (consent never asked: `settings.skipConsent`) or not. */
  firstParty?: boolean;
  /** One of these client ids. */
  clientIds?: string[];
}

/** A registered OAuth client. */
export interface Application {
  clientId: string;
  name: string;
  type: ApplicationType;
  /** SHA-256 of the client secret (base64url); null for public clients. */
  secretHash: string | null;
  callbacks: string[];
  logoutCallbacks: string[];
  grantTypes: string[];
  settings: ApplicationSettings;
  /** Made by Sesame itself (the console): cannot be deleted. */
  isSystem: boolean;
  createdAt: number;
  updatedAt: number;
}

/** The fields of an application that an update may change. */
export type ApplicationPatch = Partial<
  Pick<Application, 'name' | 'callbacks' | 'logoutCallbacks' | 'grantTypes' | 'settings'>
>;

/** Per-application sign-in settings. */
export interface ApplicationSettings {
  /** First-party: consent is never asked. */
  skipConsent?: boolean;
  /** Algorithm of the ID tokens it receives (default RS256). */
  idTokenSigningAlg?: SigningAlg;
  /** Refresh tokens for sign-ins that name no API (openid-only requests). */
  allowOfflineAccess?: boolean;
  description?: string;
  logoUri?: string;
  /** Free-form string pairs (Auth0's client_metadata). */
  clientMetadata?: Record<string, string>;
  /** Origins a browser application calls from (CORS, web_message). */
  webOrigins?: string[];
  /**
   * A confidential client may use the code flow without PKCE (old libraries); PKCE is required
   * of every client otherwise (OAuth 2.1 §4.1.1).
   */
  pkceOptional?: boolean;
  /** The login page offers no sign-up for this application, even when the tenant allows it (#15). */
  hideSignup?: boolean;
  /** The one way a confidential client authenticates, when set (RFC 7591 §2); else either. */
  tokenEndpointAuthMethod?: 'client_secret_basic' | 'client_secret_post';
}

/** One scope an API defines. */
export interface ApiScope {
  name: string;
  description: string;
}

/** A registered API (resource server); its identifier is the token audience. */
export interface Api {
  id: string;
  identifier: string;
  name: string;
  scopes: ApiScope[];
  tokenLifetime: number;
  signingAlg: SigningAlg;
  allowOfflineAccess: boolean;
  options: ApiOptions;
  /** The Management API: cannot be deleted or have its identifier or scopes changed. */
  isSystem: boolean;
  createdAt: number;
  updatedAt: number;
}

/** Per-API settings beyond the columns. */
export interface ApiOptions {
  /** First-party applications are never asked consent for this API. */
  skipConsentForVerifiableFirstPartyClients?: boolean;
  /** RBAC: people get only the requested scopes they hold as permissions. */
  enforcePolicies?: boolean;
  /** Auth0's dialect; the `_authz` ones add the `permissions` claim. Default rfc9068_profile. */
  tokenDialect?: TokenDialect;
  /**
   * Auth0's `token_lifetime_for_web`: the lifetime of access tokens issued at `/authorize`
   * (implicit and hybrid flows), at most `tokenLifetime`; unset, config `accessToken.implicitLifetime`.
   */
  tokenLifetimeForWeb?: number;
  /** Which applications may get tokens for this API, for people and for themselves. */
  subjectTypeAuthorization?: {
    user?: { policy: UserAccessPolicy };
    client?: { policy: ClientAccessPolicy };
  };
}

export const TOKEN_DIALECTS = [
  'access_token',
  'access_token_authz',
  'rfc9068_profile',
  'rfc9068_profile_authz',
] as const;
export type TokenDialect = (typeof TOKEN_DIALECTS)[number];
export const USER_ACCESS_POLICIES = ['allow_all', 'deny_all', 'require_client_grant'] as const;
export type UserAccessPolicy = (typeof USER_ACCESS_POLICIES)[number];
export const CLIENT_ACCESS_POLICIES = ['deny_all', 'require_client_grant'] as const;
export type ClientAccessPolicy = (typeof CLIENT_ACCESS_POLICIES)[number];

/** The fields of an API that an update may change. */
export type ApiPatch = Partial<
  Pick<Api, 'name' | 'scopes' | 'tokenLifetime' | 'signingAlg' | 'allowOfflineAccess' | 'options'>
>;

/** Which slice of a list: rows `offset` to `offset + limit`. */
export interface Slice {
  offset: number;
  limit: number;
  /**
   * Checkpoint paging: the sort key of the last item of the page before (lists that take one);
   * the page then starts after it, and `offset` is not used.
   */
  after?: readonly (string | number)[];
}

/** The scopes of an API a machine-to-machine application may request (Auth0's client grant). */
export interface ClientGrant {
  /** Public id (cgr_…). */
  id: string;
  clientId: string;
  apiId: string;
  scopes: string[];
  /**
   * Who the tokens are for: absent for machine-to-machine (client credentials, Auth0's
   * `client`); `user` lets the application ask for people's tokens where an API requires a
   * client grant for that.
   */
  subjectType?: 'user';
  createdAt: number;
}

/** A signing key as stored; the private part is encrypted (keys/encryption.ts). */
export interface SigningKeyRecord {
  kid: string;
  alg: SigningAlg;
  publicJwk: Record<string, unknown>;
  privateKeyEncrypted: string;
  createdAt: number;
  /** Signs from this time on (until `retiresAt`). */
  activatesAt: number;
  /** Stops signing at this time; null while current. */
  retiresAt: number | null;
  /** Stays in the JWKS until this time; null while current. */
  publishedUntil: number | null;
  /** Revoked: out of the JWKS at once, whatever it signed stops verifying. */
  revokedAt: number | null;
}

/** A one-time artifact (authorization code) stored by hash and consumed once. */
export interface AuthorizationCodeRecord {
  hash: string;
  clientId: string;
  /** Ties every token issued from the code together, so a replay can revoke them. */
  grantId: string;
  expiresAt: number;
  /** Whatever the code binds (redirect_uri, challenge, nonce, scopes, …). */
  payload: Record<string, unknown>;
  consumedAt: number | null;
}

/** OpenID Connect standard claims kept for a user (OIDC Core §5.1), besides sub and email. */
export interface UserClaims {
  name?: string;
  given_name?: string;
  family_name?: string;
  nickname?: string;
  picture?: string;
  email_verified?: boolean;
  phone_number?: string;
  address?: {
    formatted?: string;
    street_address?: string;
    locality?: string;
    region?: string;
    postal_code?: string;
    country?: string;
  };
  locale?: string;
}

/** A person who signs in; `email` is the normalised login name. */
export interface User {
  id: string;
  email: string;
  /** argon2id PHC string. */
  passwordHash: string;
  blocked: boolean;
  claims: UserClaims;
  /** What the user may not change (Auth0's app_metadata). */
  appMetadata: Record<string, unknown>;
  /** What the user may change (Auth0's user_metadata). */
  userMetadata: Record<string, unknown>;
  createdAt: number;
  updatedAt: number;
  /** Password sign-ins so far (Auth0's logins_count); absent before the first. */
  loginsCount?: number;
  /** When the last one was (Auth0's last_login) and its client address (last_ip). */
  lastLogin?: number;
  lastIp?: string;
}

/** The fields of a user that an update may change. */
export type UserPatch = Partial<
  Pick<User, 'email' | 'passwordHash' | 'blocked' | 'claims' | 'appMetadata' | 'userMetadata'>
>;

/** A signed-in browser (SSO session); the cookie's value is stored only as its hash. */
export interface SessionRecord {
  idHash: string;
  /** Public session id for ID tokens (`sid`) and logout. */
  sid: string;
  userId: string;
  authTime: number;
  createdAt: number;
  expiresAt: number;
  /** When the browser last used the session (for the idle lifetime). */
  lastSeenAt: number;
  initialIp?: string;
  initialUserAgent?: string;
}

/** An /authorize request waiting for the person to log in or consent; bound to a browser cookie. */
export interface InteractionRecord {
  idHash: string;
  csrf: string;
  payload: Record<string, unknown>;
  expiresAt: number;
}

/** Scopes a user granted an application for one audience ('' for sign-in without an API). */
export interface Consent {
  /** Public id (cgt_…), Auth0's grant id. */
  id: string;
  userId: string;
  clientId: string;
  audience: string;
  scopes: string[];
  updatedAt: number;
}

/** A refresh token by hash; rotation makes a new member of the same family. */
export interface RefreshTokenRecord {
  hash: string;
  familyId: string;
  grantId: string;
  clientId: string;
  userId: string;
  /** scopes, audience, auth_time, sid, … */
  payload: Record<string, unknown>;
  createdAt: number;
  /** Idle expiry of this member. */
  expiresAt: number;
  /** Absolute expiry of the whole family. */
  familyExpiresAt: number;
  rotatedAt: number | null;
  revokedAt: number | null;
  /** Once rotated: its successor's value, sealed (see RefreshTokenRepository.rotate). */
  successor?: string | null;
}

/** Where a device authorization stands (RFC 8628 §3.5). */
export type DeviceCodeStatus = 'pending' | 'approved' | 'denied' | 'consumed';

/** A device authorization: the device code by hash, the user code the person types. */
export interface DeviceCodeRecord {
  hash: string;
  /** Normalised: 8 letters, no dash, upper case. */
  userCode: string;
  clientId: string;
  /** scopes, audience. */
  payload: Record<string, unknown>;
  status: DeviceCodeStatus;
  userId: string | null;
  authTime: number | null;
  /** Seconds the device must wait between polls; grows with slow_down. */
  interval: number;
  lastPolledAt: number | null;
  createdAt: number;
  expiresAt: number;
}

export type * from './access-types.js';
export type * from './repositories.js';
