import { z } from 'zod';
import { normalizeEmail } from '../accounts/email.js';
import { NO_PASSWORD } from '../accounts/password.js';
import type { JobRecord, JobUserError, Storage, User } from '../storage/types.js';
import type { Clock } from '../util/clock.js';
import { randomToken } from '../util/crypto.js';
import { problem } from '../util/json-problems.js';
import { isAdminError, ValidationError } from './errors.js';
import { CustomHash, storedHash } from './imported-hashes.js';
import { localUserId } from './user-search.js';
import { createUser, type UserInput, updateUser } from './users.js';

/*
 * Auth0's bulk users import (`POST /jobs/users-imports`, `sesame users import`): a JSON array of
 * users in Auth0's import schema, each created (or, with upsert, updated) on its own, with
 * password hashes stored as they are and checked at sign-in, then hashed again with argon2id.
 */

/** The id of Sesame's one connection (its own database of emails and passwords). */
export const CONNECTION_ID = 'con_sesame_database';
/** Auth0's limit on a users file. */
export const IMPORT_FILE_LIMIT = 500 * 1024;
/** Users of a file imported side by side. */
const IMPORTS_AT_ONCE = 8;
/** How long a finished job, its summary and its errors can be read. */
const JOB_KEPT = 7 * 86_400;

const text = z.string().max(255);
const Metadata = z.record(z.string().max(255), z.unknown());
const ImportedUser = z.strictObject({
  email: z.string().max(320),
  email_verified: z.boolean().optional(),
  user_id: z
    .string()
    .regex(/^(?:auth0\|)?[A-Za-z0-9_+:-]{1,64}$/, 'letters, digits and _ + : - only, at most 64')
    .optional(),
  given_name: text.optional(),
  family_name: text.optional(),
  name: text.optional(),
  nickname: text.optional(),
  picture: z.string().max(2048).optional(),
  blocked: z.boolean().optional(),
  app_metadata: Metadata.optional(),
  user_metadata: Metadata.optional(),
  password_hash: z.string().max(255).optional(),
  custom_password_hash: CustomHash.optional(),
});
type ImportedUser = z.infer<typeof ImportedUser>;
const KNOWN = new Set(Object.keys(ImportedUser.shape));

export interface ImportRequest {
  /** The users file, parsed. */
  users: unknown;
  connectionId: string;
  upsert: boolean;
  externalId?: string;
  /**
   * Whether the caller may take over an existing user (replace their password, change their
   * block): null when it may, else why not. Absent: it may (the CLI, run by the operator).
   */
  mayTakeOver?: (user: User) => Promise<string | null>;
}

type UserErrors = JobUserError['errors'];

/** Auth0's error code for a schema failure. */
function codeOf(issue: z.core.$ZodIssue): string {
  switch (issue.code) {
    case 'unrecognized_keys':
      return 'OBJECT_ADDITIONAL_PROPERTIES';
    case 'invalid_type':
      return issue.message.endsWith('received undefined')
        ? 'OBJECT_MISSING_REQUIRED_PROPERTY'
        : 'INVALID_TYPE';
    case 'invalid_value':
      return 'ENUM_MISMATCH';
    case 'too_big':
      return 'MAX_LENGTH';
    default:
      return 'INVALID_FORMAT';
  }
}

/** What the user's fields set, as admin/ takes them. */
function input(u: ImportedUser, passwordHash: string): UserInput {
  const out: UserInput = {};
  if (passwordHash !== NO_PASSWORD) out.passwordHash = passwordHash;
  if (u.blocked !== undefined) out.blocked = u.blocked;
  if (u.app_metadata !== undefined) out.appMetadata = u.app_metadata;
  if (u.user_metadata !== undefined) out.userMetadata = u.user_metadata;
  const claims: NonNullable<UserInput['claims']> = {};
  for (const k of ['given_name', 'family_name', 'name', 'nickname', 'picture'] as const)
    if (u[k] !== undefined) claims[k] = u[k];
  if (u.email_verified !== undefined) claims.email_verified = u.email_verified;
  if (Object.keys(claims).length > 0) out.claims = claims;
  return out;
}

/** The user as the file gave it, for the errors list: password hashes are never kept. */
function shown(raw: unknown): Record<string, unknown> {
  if (!raw || typeof raw !== 'object' || Array.isArray(raw)) return { value: raw };
  // A field the schema does not know (say, a plain `password`) is named, its value never kept.
  return Object.fromEntries(
    Object.entries(raw as Record<string, unknown>)
      .filter(([k]) => k !== 'password_hash' && k !== 'custom_password_hash')
      .map(([k, v]) => [k, KNOWN.has(k) ? v : '[not kept]']),
  );
}

/** Imports one user: 'inserted', 'updated', or what stood in the way. */
async function importOne(
  storage: Storage,
  clock: Clock,
  raw: unknown,
  req: ImportRequest,
  seen: { emails: Set<string>; ids: Set<string> },
): Promise<'inserted' | 'updated' | UserErrors> {
  const unstorable = problem(raw);
  if (unstorable) {
    const [path, message] = unstorable.split(': ', 2) as [string, string];
    return [{ code: 'INVALID_FORMAT', message, path: path === '(root)' ? '' : path }];
  }
  const parsed = ImportedUser.safeParse(raw);
  if (!parsed.success)
    return parsed.error.issues.map((i) => ({ code: codeOf(i), message: i.message, path: i.path.join('.') }));
  const u = parsed.data;
  const hash = storedHash(u);
  if (typeof hash !== 'string') return [{ code: 'INVALID_FORMAT', ...hash }];
  const email = normalizeEmail(u.email);
  const duplicated = (message: string, path = 'email'): UserErrors => [
    { code: 'DUPLICATED_USER', message, path },
  ];
  if (seen.emails.has(email)) return duplicated('the file holds this email more than once');
  seen.emails.add(email);
  // Stored as Sesame stores every id, without Auth0's `auth0|` (which the Management API takes off).
  const id = u.user_id === undefined ? undefined : localUserId(u.user_id);
  // Checked here, before anything is awaited, so the first in the file keeps it (users run side by side).
  if (id !== undefined && seen.ids.has(id))
    return duplicated('the file holds this user_id more than once', 'user_id');
  if (id !== undefined) seen.ids.add(id);
  const existing = await storage.users.getByEmail(email);
  try {
    if (existing) {
      if (!req.upsert) return duplicated('the user exists already, and upsert is false');
      if (id !== undefined && id !== existing.id)
        return duplicated(`the user with this email is ${existing.id}: a user_id cannot change`, 'user_id');
      const changes = input(u, hash);
      // As PATCH /users: a new password or block takes the account over, which only a caller
      // holding every Management API permission the user holds may do; a block sent unchanged
      // must still be what it was when the change commits.
      const takesOver =
        changes.passwordHash !== undefined ||
        (changes.blocked !== undefined && changes.blocked !== existing.blocked);
      const refusal = takesOver ? ((await req.mayTakeOver?.(existing)) ?? null) : null;
      if (refusal !== null) return [{ code: 'FORBIDDEN', message: refusal, path: '' }];
      const expected =
        takesOver || changes.blocked === undefined
          ? undefined
          : { email: existing.email, blocked: existing.blocked };
      await updateUser(storage, clock, existing.id, changes, undefined, expected);
      return 'updated';
    }
    if (id !== undefined && (await storage.users.get(id)))
      return duplicated(`another user has the user_id ${id}`, 'user_id');
    // A token's sub is a user's id or, for client credentials, the application's client_id:
    // the two must never meet.
    if (id !== undefined && (await storage.applications.get(id)))
      return [
        { code: 'INVALID_FORMAT', message: `user_id ${id} is an application's client_id`, path: 'user_id' },
      ];
    const fields = input(u, hash);
    await createUser(
      storage,
      clock,
      { ...fields, email: u.email, passwordHash: hash, ...(id ? { id } : {}) },
      undefined,
      {
        by: 'import',
      },
    );
    return 'inserted';
  } catch (err) {
    if (!isAdminError(err)) {
      // Another import (or instance) took the user_id meanwhile: its unique key refused this one.
      if (!existing && id !== undefined && (await storage.users.get(id)))
        return duplicated(`another user has the user_id ${id}`, 'user_id');
      throw err;
    }
    const field = /^(\w+)/.exec(err.message)?.[1] ?? '';
    // an admin error names its field first ("name: must …"); a field of the file is its path
    const path = KNOWN.has(field) ? field : '';
    const code =
      err instanceof ValidationError ? 'INVALID_FORMAT' : path === 'email' ? 'DUPLICATED_USER' : 'CONFLICT';
    return [{ code, message: err.message, path }];
  }
}

/** The refusal of a `connection_id` that is not Sesame's one connection. */
export const unknownConnection = (id: string, field = 'connection_id') =>
  new ValidationError(`${field}: no connection ${id} (Sesame's one connection is ${CONNECTION_ID})`);

/**
 * Imports the users, one after another, and stores the finished job. A file that is not an
 * array of users, or names another connection, is refused whole (ValidationError); a user that
 * cannot be imported is counted as failed and listed in the job's errors.
 */
export async function importUsers(storage: Storage, clock: Clock, req: ImportRequest): Promise<JobRecord> {
  if (req.connectionId !== CONNECTION_ID) throw unknownConnection(req.connectionId);
  if (!Array.isArray(req.users) || req.users.length === 0)
    throw new ValidationError('users: the file must hold a JSON array of at least one user');
  const summary = { total: req.users.length, inserted: 0, updated: 0, failed: 0 };
  const errors: JobUserError[] = [];
  const seen = { emails: new Set<string>(), ids: new Set<string>() };
  const users: unknown[] = req.users;
  // A few users at a time, so that their commits share the disk's syncs (a 500 KB file took 17 s
  // one by one). Each starts in file order and checks the file's duplicates before it awaits.
  const outcomes = new Array<Awaited<ReturnType<typeof importOne>>>(users.length);
  let next = 0;
  const worker = async () => {
    while (next < users.length) {
      const i = next++;
      try {
        outcomes[i] = await importOne(storage, clock, users[i], req, seen);
      } catch (err) {
        next = users.length; // a failing database: no one else starts
        throw err;
      }
    }
  };
  // every worker ends before the answer (or the CLI's storage closes), the first failure then thrown
  const ended = await Promise.allSettled(
    Array.from({ length: Math.min(IMPORTS_AT_ONCE, users.length) }, worker),
  );
  const failed = ended.find((e) => e.status === 'rejected');
  if (failed) throw failed.reason;
  outcomes.forEach((outcome, i) => {
    if (typeof outcome === 'string') summary[outcome]++;
    else {
      summary.failed++;
      errors.push({ user: shown(users[i]), errors: outcome });
    }
  });
  const now = clock.now();
  const job: JobRecord = {
    id: `job_${randomToken(12)}`,
    type: 'users_import',
    status: 'completed',
    connectionId: CONNECTION_ID,
    ...(req.externalId !== undefined ? { externalId: req.externalId } : {}),
    summary,
    errors,
    createdAt: now,
    expiresAt: now + JOB_KEPT,
  };
  await storage.jobs.create(job);
  return job;
}

const UTF8 = new TextDecoder('utf-8', { fatal: true });

/** A users file's content, parsed: UTF-8 (a BOM is dropped) holding JSON, or a ValidationError naming `name`. */
export function usersJson(name: string, bytes: Uint8Array): unknown {
  let text: string;
  try {
    text = UTF8.decode(bytes);
  } catch {
    throw new ValidationError(`${name}: the file is not UTF-8`);
  }
  try {
    return JSON.parse(text);
  } catch (err) {
    throw new ValidationError(`${name}: the file is not JSON (${(err as Error).message})`);
  }
}

/** A users import by id, or null (unknown, or expired). */
export async function findJob(storage: Storage, clock: Clock, id: string): Promise<JobRecord | null> {
  const job = await storage.jobs.get(id);
  return job && job.expiresAt > clock.now() ? job : null;
}
