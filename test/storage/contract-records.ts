// The records and the shared setup of the storage contract tests (test/storage/contract*.test.ts).
import { afterAll, beforeAll } from 'vitest';
import type {
  Api,
  Application,
  AuthorizationCodeRecord,
  Consent,
  SessionRecord,
  SigningKeyRecord,
  Storage,
  User,
} from '../../src/storage/types.js';
import { randomToken, sha256 } from '../../src/util/crypto.js';
import { TestClock } from '../support/app.js';
import { type Backend, createTestDatabase, type TestDatabase } from '../support/databases.js';
import { T0, unique } from '../support/records.js';

/** A web application with a secret, two callbacks and a logout callback, unless overridden. */
export function application(overrides: Partial<Application> = {}): Application {
  return {
    clientId: unique('client'),
    name: 'Contract App',
    type: 'web',
    secretHash: sha256('s3cret'),
    callbacks: ['https://app.example/cb', 'http://127.0.0.1:8080/cb'],
    logoutCallbacks: ['https://app.example/bye'],
    grantTypes: ['authorization_code', 'refresh_token'],
    settings: { skipConsent: true, idTokenSigningAlg: 'ES256' },
    isSystem: false,
    createdAt: T0,
    updatedAt: T0,
    ...overrides,
  };
}

/** An API with two scopes, offline access and ES256 tokens, unless overridden. */
export function api(overrides: Partial<Api> = {}): Api {
  return {
    id: unique('api'),
    identifier: `https://api.example/${randomToken(9)}`,
    name: 'Contract API',
    scopes: [
      { name: 'read:things', description: 'Read things' },
      { name: 'write:things', description: 'Write things' },
    ],
    tokenLifetime: 3600,
    signingAlg: 'ES256',
    allowOfflineAccess: true,
    options: {},
    isSystem: false,
    createdAt: T0,
    updatedAt: T0,
    ...overrides,
  };
}

/** An ES256 signing key, active from T0, neither retired nor revoked, unless overridden. */
export function signingKey(overrides: Partial<SigningKeyRecord> = {}): SigningKeyRecord {
  const kid = unique('kid');
  return {
    kid,
    alg: 'ES256',
    publicJwk: { kty: 'EC', crv: 'P-256', x: 'x-coord', y: 'y-coord', kid, alg: 'ES256', use: 'sig' },
    privateKeyEncrypted: 'v1.iv.tag.ct',
    createdAt: T0,
    activatesAt: T0,
    retiresAt: null,
    publishedUntil: null,
    revokedAt: null,
    ...overrides,
  };
}

/** An unconsumed code of a new client and grant, expiring at T0 + 60, unless overridden. */
export function code(overrides: Partial<AuthorizationCodeRecord> = {}): AuthorizationCodeRecord {
  return {
    hash: sha256(randomToken()),
    clientId: unique('client'),
    grantId: unique('grant'),
    expiresAt: T0 + 60,
    payload: {
      redirectUri: 'https://app.example/cb',
      codeChallenge: 'abc',
      scopes: ['openid', 'profile'],
      authTime: T0 - 5,
    },
    consumedAt: null,
    ...overrides,
  };
}

/** Lower-case letters and digits only: safe in emails, and free of LIKE's % and _. */
export const tag = () =>
  `t${randomToken(12)
    .toLowerCase()
    .replace(/[^a-z0-9]/g, '0')}`;

/** An unblocked user with a new email and a password, unless overridden. */
export function user(overrides: Partial<User> = {}): User {
  return {
    id: unique('user'),
    email: `${tag()}@example.com`,
    passwordHash: '$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHQ$aGFzaGhhc2hoYXNo',
    blocked: false,
    claims: { name: 'Contract User', email_verified: true },
    appMetadata: {},
    userMetadata: {},
    createdAt: T0,
    updatedAt: T0,
    ...overrides,
  };
}

/** A consent of a new user to a new client, for sign-in (no audience), unless overridden. */
export function consent(overrides: Partial<Consent> = {}): Consent {
  return {
    id: unique('cgt'),
    userId: unique('user'),
    clientId: unique('client'),
    audience: '',
    scopes: ['openid', 'profile'],
    updatedAt: T0,
    ...overrides,
  };
}

/** A session of a new user, from T0 for an hour, unless overridden. */
export function session(overrides: Partial<SessionRecord> = {}): SessionRecord {
  return {
    idHash: sha256(randomToken()),
    sid: unique('sid'),
    userId: unique('user'),
    authTime: T0,
    createdAt: T0,
    expiresAt: T0 + 3600,
    lastSeenAt: T0,
    ...overrides,
  };
}

/** Tokens in jti order: for comparing lists whose order storage does not promise. */
export const byJti = (list: { jti: string; expiresAt: number }[]) =>
  [...list].sort((a, b) => (a.jti < b.jti ? -1 : a.jti > b.jti ? 1 : 0));

/** What one describeEachBackend body of the contract tests runs on. */
export interface ContractStorage {
  /** The clock the storage was opened with, at T0. */
  readonly clock: TestClock;
  readonly db: TestDatabase;
  /** Open and migrated. */
  readonly storage: Storage;
  /** What the first and the second migrate() applied. */
  readonly firstMigrate: string[];
  readonly secondMigrate: string[];
}

/**
 * For the body of a describeEachBackend: before its tests, creates a test database on `backend`,
 * opens storage on it with a TestClock at T0 and migrates it twice; after them, closes and drops
 * it. Read the fields in a beforeAll or a test: they are set only once the database is open.
 */
export function contractStorage(backend: Backend): ContractStorage {
  const clock = new TestClock(T0);
  let db: TestDatabase | undefined;
  let storage: Storage | undefined;
  let firstMigrate: string[] | undefined;
  let secondMigrate: string[] | undefined;

  beforeAll(async () => {
    db = await createTestDatabase(backend);
    storage = db.open(clock);
    firstMigrate = await storage.migrate();
    secondMigrate = await storage.migrate();
  });

  afterAll(async () => {
    await storage?.close();
    await db?.drop();
  });

  const opened = <T>(value: T | undefined): T => {
    if (value === undefined) throw new Error('the contract storage is not open yet');
    return value;
  };
  return {
    clock,
    get db() {
      return opened(db);
    },
    get storage() {
      return opened(storage);
    },
    get firstMigrate() {
      return opened(firstMigrate);
    },
    get secondMigrate() {
      return opened(secondMigrate);
    },
  };
}
