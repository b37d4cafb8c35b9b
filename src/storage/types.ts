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
  createdAt: number;
  updatedAt: number;
}

/** Per-application sign-in settings. */
export interface ApplicationSettings {
  /** First-party: consent is never asked. */
  skipConsent?: boolean;
  /** Algorithm of the ID tokens it receives (default RS256). */
  idTokenSigningAlg?: SigningAlg;
  /** Refresh tokens for sign-ins that name no API (openid-only requests). */
  allowOfflineAccess?: boolean;
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
  createdAt: number;
}

/** The scopes of an API a machine-to-machine application may request (Auth0's client grant). */
export interface ClientGrant {
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
  createdAt: number;
  updatedAt: number;
}

export interface UserRepository {
  create(user: User): Promise<void>;
  get(id: string): Promise<User | null>;
  getByEmail(email: string): Promise<User | null>;
  list(): Promise<User[]>;
  delete(id: string): Promise<boolean>;
  /** Changes the given fields; true when the user exists. */
  update(
    id: string,
    patch: Partial<Pick<User, 'passwordHash' | 'blocked' | 'claims'>>,
    now: number,
  ): Promise<boolean>;
}

export interface ApplicationRepository {
  create(app: Application): Promise<void>;
  get(clientId: string): Promise<Application | null>;
  list(): Promise<Application[]>;
  /** True when a row was deleted; the application's client grants go with it. */
  delete(clientId: string): Promise<boolean>;
  setSecretHash(clientId: string, secretHash: string, now: number): Promise<boolean>;
}

export interface ApiRepository {
  create(api: Api): Promise<void>;
  get(id: string): Promise<Api | null>;
  getByIdentifier(identifier: string): Promise<Api | null>;
  list(): Promise<Api[]>;
  /** True when a row was deleted; client grants for the API go with it. */
  delete(id: string): Promise<boolean>;
}

export interface ClientGrantRepository {
  /** Creates the grant or replaces its scopes. */
  upsert(grant: ClientGrant): Promise<void>;
  get(clientId: string, apiId: string): Promise<ClientGrant | null>;
  listForClient(clientId: string): Promise<ClientGrant[]>;
  delete(clientId: string, apiId: string): Promise<boolean>;
}

export interface SigningKeyRepository {
  insert(key: SigningKeyRecord): Promise<void>;
  /** Every key still published at `now` (current, next and retiring). */
  listPublished(now: number): Promise<SigningKeyRecord[]>;
  /** Marks a key as retiring. */
  retire(kid: string, retiresAt: number, publishedUntil: number): Promise<void>;
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
}

export interface SessionRepository {
  create(session: SessionRecord): Promise<void>;
  get(idHash: string): Promise<SessionRecord | null>;
  delete(idHash: string): Promise<void>;
  deleteBySid(sid: string): Promise<void>;
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
  userId: string;
  clientId: string;
  audience: string;
  scopes: string[];
  updatedAt: number;
}

export interface ConsentRepository {
  get(userId: string, clientId: string, audience: string): Promise<Consent | null>;
  upsert(consent: Consent): Promise<void>;
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
}

/** Access tokens (by jti) issued under one grant, so that a code replay can revoke them. */
export interface GrantTokenRepository {
  add(grantId: string, jti: string, expiresAt: number): Promise<void>;
  list(grantId: string): Promise<{ jti: string; expiresAt: number }[]>;
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
