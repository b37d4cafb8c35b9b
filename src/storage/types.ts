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
  createdAt: number;
  updatedAt: number;
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
