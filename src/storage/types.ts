import type { SigningAlg } from '../config/schema.js';

/** Application types, as in Auth0: regular web, single-page, native, machine-to-machine. */
export type ApplicationType = 'web' | 'spa' | 'native' | 'm2m';

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
}

/** The fields of an API that an update may change. */
export type ApiPatch = Partial<
  Pick<Api, 'name' | 'scopes' | 'tokenLifetime' | 'signingAlg' | 'allowOfflineAccess' | 'options'>
>;

/** Which slice of a list: rows `offset` to `offset + limit`. */
export interface Slice {
  offset: number;
  limit: number;
}

/** The scopes of an API a machine-to-machine application may request (Auth0's client grant). */
export interface ClientGrant {
  /** Public id (cgr_…). */
  id: string;
  clientId: string;
  apiId: string;
  scopes: string[];
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
}

/** Which users a list returns, and in which order. */
export interface UserQuery {
  /** A substring of the email or the name (case-insensitive). */
  text?: string;
  /** The email starts with this (lower case), on the index. */
  emailPrefix?: string;
  /** Exactly this (normalised) email. */
  email?: string;
  sort?: { field: 'created_at' | 'updated_at' | 'email' | 'name'; descending: boolean };
}

/** The fields of a user that an update may change. */
export type UserPatch = Partial<
  Pick<User, 'email' | 'passwordHash' | 'blocked' | 'claims' | 'appMetadata' | 'userMetadata'>
>;

export interface UserRepository {
  create(user: User): Promise<void>;
  get(id: string): Promise<User | null>;
  getByEmail(email: string): Promise<User | null>;
  list(query?: UserQuery, slice?: Slice): Promise<User[]>;
  count(query?: UserQuery): Promise<number>;
  delete(id: string): Promise<boolean>;
  /** Changes the given fields; true when the user exists. */
  update(id: string, patch: UserPatch, now: number): Promise<boolean>;
}

export interface ApplicationRepository {
  create(app: Application): Promise<void>;
  get(clientId: string): Promise<Application | null>;
  /** Oldest first; of one type when `type` is given. */
  list(filter?: { type?: ApplicationType }, slice?: Slice): Promise<Application[]>;
  count(filter?: { type?: ApplicationType }): Promise<number>;
  /** True when a row was deleted; the application's client grants go with it. */
  delete(clientId: string): Promise<boolean>;
  setSecretHash(clientId: string, secretHash: string, now: number): Promise<boolean>;
  /** Changes the given fields; true when the application exists. */
  update(clientId: string, patch: ApplicationPatch, now: number): Promise<boolean>;
  /** Creates a system application once (by client id); later calls change nothing. */
  ensureSystem(app: Application): Promise<void>;
}

export interface ApiRepository {
  create(api: Api): Promise<void>;
  get(id: string): Promise<Api | null>;
  getByIdentifier(identifier: string): Promise<Api | null>;
  list(slice?: Slice): Promise<Api[]>;
  count(): Promise<number>;
  /** True when a row was deleted; client grants for the API go with it. */
  delete(id: string): Promise<boolean>;
  /** Changes the given fields; true when the API exists. */
  update(id: string, patch: ApiPatch, now: number): Promise<boolean>;
  /**
   * Creates the system API (by id), or brings its name and scopes up to date, and its
   * identifier too when `withIdentifier`.
   */
  ensureSystem(api: Api, withIdentifier: boolean): Promise<void>;
}

/** Which client grants a list returns. */
export interface ClientGrantFilter {
  clientId?: string;
  apiId?: string;
}

export interface ClientGrantRepository {
  /** Creates the grant or replaces its scopes (keeping its id); returns the stored grant. */
  upsert(grant: ClientGrant): Promise<ClientGrant>;
  get(clientId: string, apiId: string): Promise<ClientGrant | null>;
  getById(id: string): Promise<ClientGrant | null>;
  listForClient(clientId: string): Promise<ClientGrant[]>;
  list(filter: ClientGrantFilter, slice?: Slice): Promise<ClientGrant[]>;
  count(filter: ClientGrantFilter): Promise<number>;
  /** Replaces the scopes; true when the grant exists. */
  setScopes(id: string, scopes: string[]): Promise<boolean>;
  delete(clientId: string, apiId: string): Promise<boolean>;
  deleteById(id: string): Promise<boolean>;
}

export interface SigningKeyRepository {
  insert(key: SigningKeyRecord): Promise<void>;
  /** Every key still published at `now` (current, next and retiring; not revoked). */
  listPublished(now: number): Promise<SigningKeyRecord[]>;
  /** Every key ever made, revoked and expired ones too, newest first. */
  listAll(): Promise<SigningKeyRecord[]>;
  get(kid: string): Promise<SigningKeyRecord | null>;
  /** Marks a key as retiring. */
  retire(kid: string, retiresAt: number, publishedUntil: number): Promise<void>;
  /** Revokes a key; true when it existed and was not revoked yet. */
  revoke(kid: string, now: number): Promise<boolean>;
}

export interface RevocationRepository {
  /** Remembers a revoked JWT by jti until it would have expired; idempotent. */
  revoke(jti: string, expiresAt: number): Promise<void>;
  isRevoked(jti: string): Promise<boolean>;
  /** Forgets revocations of tokens that have expired anyway; returns how many. */
  purgeExpired(now: number): Promise<number>;
}

export interface AuthorizationCodeRepository {
  create(code: AuthorizationCodeRecord): Promise<void>;
  /**
   * Marks the code used and returns it, exactly once across every caller, process and
   * instance; every later call gets `{ replayed }` with the record (house rule 7).
   */
  consume(hash: string, now: number): Promise<{ code: AuthorizationCodeRecord; replayed: boolean } | null>;
  /** True once a replay of the code has been seen (`consume` records it). */
  wasReplayed(hash: string): Promise<boolean>;
}

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

export interface SessionRepository {
  create(session: SessionRecord): Promise<void>;
  get(idHash: string): Promise<SessionRecord | null>;
  getBySid(sid: string): Promise<SessionRecord | null>;
  /** The user's sessions that have not expired at `now`, newest first. */
  listForUser(userId: string, now: number, slice?: Slice): Promise<SessionRecord[]>;
  /** Records use of the session at `now`. */
  touch(idHash: string, now: number): Promise<void>;
  delete(idHash: string): Promise<void>;
  /** True when a session was deleted. */
  deleteBySid(sid: string): Promise<boolean>;
  /** Ends every session of the user; returns how many. */
  deleteForUser(userId: string): Promise<number>;
}

/** An /authorize request waiting for the person to log in or consent; bound to a browser cookie. */
export interface InteractionRecord {
  idHash: string;
  csrf: string;
  payload: Record<string, unknown>;
  expiresAt: number;
}

export interface InteractionRepository {
  create(interaction: InteractionRecord): Promise<void>;
  get(idHash: string): Promise<InteractionRecord | null>;
  update(idHash: string, payload: Record<string, unknown>): Promise<void>;
  delete(idHash: string): Promise<void>;
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

/** Which consents a list returns. */
export interface ConsentFilter {
  userId?: string;
  clientId?: string;
  audience?: string;
}

export interface ConsentRepository {
  get(userId: string, clientId: string, audience: string): Promise<Consent | null>;
  getById(id: string): Promise<Consent | null>;
  /** Creates the consent or replaces its scopes (keeping its id). */
  upsert(consent: Consent): Promise<void>;
  list(filter: ConsentFilter, slice?: Slice): Promise<Consent[]>;
  count(filter: ConsentFilter): Promise<number>;
  deleteById(id: string): Promise<boolean>;
  /** Deletes every consent of a user or given to an application. */
  deleteWhere(filter: { userId: string } | { clientId: string }): Promise<void>;
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
}

export interface RefreshTokenRepository {
  create(token: RefreshTokenRecord): Promise<void>;
  get(hash: string): Promise<RefreshTokenRecord | null>;
  /** Marks the token rotated; true for exactly one caller (house rule 7). */
  markRotated(hash: string, now: number): Promise<boolean>;
  revokeFamily(familyId: string, now: number): Promise<void>;
  revokeGrant(grantId: string, now: number): Promise<void>;
  /**
   * The live member (not rotated, not revoked, not expired at `now`) of each family of a user,
   * of one client when given; newest first.
   */
  listLive(
    filter: { userId: string; clientId?: string },
    now: number,
    slice?: Slice,
  ): Promise<RefreshTokenRecord[]>;
  /** The live member of a family, or null. */
  liveOfFamily(familyId: string, now: number): Promise<RefreshTokenRecord | null>;
  /** Revokes every refresh token of a user or of an application. */
  revokeWhere(filter: { userId: string } | { clientId: string }, now: number): Promise<void>;
}

/** Who an access token was issued to, so that deleting them can revoke it. */
export interface GrantTokenOwner {
  userId: string;
  clientId: string;
  /** The API identifier, '' for a sign-in without an API. */
  audience: string;
}

/** Access tokens (by jti) issued under one grant, so that a code replay can revoke them. */
export interface GrantTokenRepository {
  add(grantId: string, jti: string, expiresAt: number, owner?: GrantTokenOwner): Promise<void>;
  list(grantId: string): Promise<{ jti: string; expiresAt: number }[]>;
  /** The unexpired access tokens of a user, an application, or one consent. */
  listWhere(
    filter: { userId: string; clientId?: string; audience?: string } | { clientId: string },
    now: number,
  ): Promise<{ jti: string; expiresAt: number }[]>;
}

/** Tenant-wide settings by key, as JSON; every instance reads the same rows. */
export interface SettingsRepository {
  get(key: string): Promise<Record<string, unknown> | null>;
  put(key: string, value: Record<string, unknown>, now: number): Promise<void>;
}

/** Failed-login counters per key (account or IP), shared by every instance. */
export interface LoginAttemptRepository {
  /** Seconds until `key` may try again, 0 when it may now. */
  lockedFor(key: string, now: number): Promise<number>;
  /**
   * Counts a failure within `window` seconds (a new count after the window or a lock has passed)
   * and returns the count, atomically; at `threshold` failures locks for `lockSeconds`.
   */
  recordFailure(
    key: string,
    now: number,
    window: number,
    threshold: number,
    lockSeconds: number,
  ): Promise<number>;
  /** Takes one failure back (an attempt counted in advance that succeeded). */
  forgive(key: string): Promise<void>;
  clear(key: string): Promise<void>;
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

export interface DeviceCodeRepository {
  create(code: DeviceCodeRecord): Promise<void>;
  get(hash: string): Promise<DeviceCodeRecord | null>;
  getByUserCode(userCode: string): Promise<DeviceCodeRecord | null>;
  /**
   * Records a poll at `now`, atomically: returns 'slow_down' (and adds 5 s to the interval)
   * when the previous poll was less than the interval ago, else 'ok'.
   */
  poll(hash: string, now: number): Promise<'ok' | 'slow_down'>;
  /** pending → approved or denied, once; false when it was no longer pending. */
  decide(
    userCode: string,
    decision: { approved: boolean; userId: string; authTime: number },
  ): Promise<boolean>;
  /** approved → consumed, exactly once across every caller (house rule 7). */
  consume(hash: string): Promise<boolean>;
}

/** All repositories; what a transaction hands its callback. */
export interface Repositories {
  applications: ApplicationRepository;
  apis: ApiRepository;
  clientGrants: ClientGrantRepository;
  signingKeys: SigningKeyRepository;
  revocations: RevocationRepository;
  authorizationCodes: AuthorizationCodeRepository;
  users: UserRepository;
  sessions: SessionRepository;
  interactions: InteractionRepository;
  consents: ConsentRepository;
  refreshTokens: RefreshTokenRepository;
  grantTokens: GrantTokenRepository;
  loginAttempts: LoginAttemptRepository;
  deviceCodes: DeviceCodeRepository;
  settings: SettingsRepository;
}

/** The storage a server or the CLI runs on. */
export interface Storage extends Repositories {
  readonly dialect: 'sqlite' | 'postgres';
  /** Runs `fn` in one transaction: all of its writes land, or none. */
  transaction<T>(fn: (tx: Repositories) => Promise<T>): Promise<T>;
  /** Resolves when the database answers a query. */
  ping(): Promise<void>;
  /** Applies pending migrations; returns the names applied. */
  migrate(): Promise<string[]>;
  close(): Promise<void>;
}
