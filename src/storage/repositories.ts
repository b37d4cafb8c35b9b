/** The storage interfaces: one repository per table, and the storage a server or the CLI runs on. */

import type {
  ClientGrantRepository,
  ConsoleSessionRepository,
  LogRepository,
  PermissionRepository,
  RoleRepository,
} from './access-repositories.js';
import type { AccountTicketRepository, OutboxRepository } from './account-repositories.js';
import type { JobRepository } from './job-repositories.js';
import type {
  InteractionRepository,
  KnownSignInRepository,
  LoginAttemptRepository,
  SessionRepository,
} from './sign-in-repositories.js';
import type {
  AuthorizationCodeRepository,
  GrantTokenRepository,
  RefreshTokenRepository,
  RevocationRepository,
} from './token-repositories.js';
import type {
  Api,
  ApiPatch,
  Application,
  ApplicationFilter,
  ApplicationPatch,
  Consent,
  DeviceCodeRecord,
  SigningKeyRecord,
  Slice,
  User,
  UserPatch,
} from './types.js';

export type * from './access-repositories.js';
export type * from './account-repositories.js';
export type * from './job-repositories.js';
export type * from './sign-in-repositories.js';
export type * from './token-repositories.js';

/** Which users a list returns, and in which order. */
export interface UserQuery {
  /** A substring of the email or the name (case-insensitive). */
  text?: string;
  /** The email starts with this (lower case), on the index. */
  emailPrefix?: string;
  /** Exactly this (normalised) email. */
  email?: string;
  /** Exactly this id. */
  id?: string;
  /** Exactly this name, in any case. */
  name?: string;
  blocked?: boolean;
  /** Sign-ins with the password, both ends included. */
  loginsCount?: { min?: number; max?: number };
  /** When the last one was (seconds), both ends included; 0 (never) is below any `min` of 1. */
  lastLogin?: { min?: number; max?: number };
  sort?: {
    field: 'created_at' | 'updated_at' | 'email' | 'name' | 'last_login' | 'logins_count';
    descending: boolean;
  };
}

export interface UserRepository {
  create(user: User): Promise<void>;
  get(id: string): Promise<User | null>;
  getByEmail(email: string): Promise<User | null>;
  list(query?: UserQuery, slice?: Slice): Promise<User[]>;
  count(query?: UserQuery): Promise<number>;
  delete(id: string): Promise<boolean>;
  /** Changes the given fields; true when the user exists. */
  update(id: string, patch: UserPatch, now: number): Promise<boolean>;
  /**
   * Stores `to` as the password hash only while the stored one is still `from` (a new password
   * set meanwhile wins); `updated_at` stays. True when it was replaced.
   */
  rehash(id: string, from: string, to: string): Promise<boolean>;
  /**
   * Counts a sign-in with the password: one more login, `at` the last, from `ip` (null: not
   * known); `updated_at` stays (the profile did not change).
   */
  recordLogin(id: string, at: number, ip: string | null): Promise<void>;
  /**
   * Holds the user's row until the transaction ends (changing nothing), so that checks of a
   * per-account budget serialise across instances; true when the user exists.
   */
  hold(id: string): Promise<boolean>;
}

export interface ApplicationRepository {
  create(app: Application): Promise<void>;
  get(clientId: string): Promise<Application | null>;
  /** Oldest first. */
  list(filter?: ApplicationFilter, slice?: Slice): Promise<Application[]>;
  count(filter?: ApplicationFilter): Promise<number>;
  /** Applications whose callbacks or settings mention `text` (any case): candidates, to check. */
  listMentioning(text: string): Promise<Application[]>;
  /** True when a row was deleted; the application's client grants go with it. */
  delete(clientId: string): Promise<boolean>;
  setSecretHash(clientId: string, secretHash: string, now: number): Promise<boolean>;
  /** Changes the given fields; true when the application exists. */
  update(clientId: string, patch: ApplicationPatch, now: number): Promise<boolean>;
  /** Holds the row until the transaction ends (changing nothing); true when it exists. */
  hold(clientId: string): Promise<boolean>;
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
  /** Holds the API's row until the transaction ends (changing nothing); true when it exists. */
  hold(id: string): Promise<boolean>;
  /**
   * Creates the system API (by id), or brings its name and scopes up to date, and its
   * identifier too when `withIdentifier`.
   */
  ensureSystem(api: Api, withIdentifier: boolean): Promise<void>;
}

export interface SigningKeyRepository {
  insert(key: SigningKeyRecord): Promise<void>;
  /** Every key still published at `now` (current, next and retiring; not revoked). */
  listPublished(now: number): Promise<SigningKeyRecord[]>;
  /** Every key ever made, revoked and expired ones too, newest first. */
  listAll(): Promise<SigningKeyRecord[]>;
  get(kid: string): Promise<SigningKeyRecord | null>;
  /** Marks a key as retiring at `retiresAt`, published until `publishedUntil`; nulls: not any more. */
  retire(kid: string, retiresAt: number | null, publishedUntil: number | null): Promise<void>;
  /** Revokes a key; true when it existed and was not revoked yet. */
  revoke(kid: string, now: number): Promise<boolean>;
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

/** Tenant-wide settings by key, as JSON; every instance reads the same rows. */
export interface SettingsRepository {
  get(key: string): Promise<Record<string, unknown> | null>;
  put(key: string, value: Record<string, unknown>, now: number): Promise<void>;
  /** Holds the document's row until the transaction ends (an empty one made when none). */
  hold(key: string, now: number): Promise<void>;
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
  knownSignIns: KnownSignInRepository;
  deviceCodes: DeviceCodeRepository;
  settings: SettingsRepository;
  roles: RoleRepository;
  permissions: PermissionRepository;
  logs: LogRepository;
  consoleSessions: ConsoleSessionRepository;
  expired: ExpiredRepository;
  outbox: OutboxRepository;
  accountTickets: AccountTicketRepository;
  jobs: JobRepository;
}

/** The tables whose rows expire (#14 §8). */
export type ExpiringTable =
  | 'authorization_codes'
  | 'interactions'
  | 'sessions'
  | 'device_codes'
  | 'revoked_tokens'
  | 'grant_tokens'
  | 'refresh_tokens'
  | 'login_attempts'
  | 'known_sign_ins'
  | 'console_sessions'
  | 'outbox'
  | 'account_tickets'
  | 'jobs';

export interface ExpiredRepository {
  /**
   * Deletes at most `limit` rows of `table` whose expiry is at or before `before` (a login
   * counter also when its lock ended by then); returns how many went.
   */
  purge(table: ExpiringTable, before: number, limit: number): Promise<number>;
}

/** The storage a server or the CLI runs on. */
export interface Storage extends Repositories {
  readonly dialect: 'sqlite' | 'postgres';
  /**
   * Runs `fn` in one transaction: all of its writes land, or none. `tx` is this storage bound to
   * the transaction; a transaction begun on it joins the one already open.
   */
  transaction<T>(fn: (tx: Storage) => Promise<T>): Promise<T>;
  /** A request begins: other processes' commits are seen from here (read-cache.ts, `begin`). */
  beginRequest(): void;
  /** Resolves when the database answers a query. */
  ping(): Promise<void>;
  /** Applies pending migrations; returns the names applied. */
  migrate(): Promise<string[]>;
  close(): Promise<void>;
}
