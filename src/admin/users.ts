import { normalizeEmail } from '../accounts/email.js';
import { hashPassword } from '../accounts/password.js';
import { writeEvent } from '../events/log.js';
import type { Slice, Storage, User, UserPatch, UserQuery } from '../storage/types.js';
import type { Clock } from '../util/clock.js';
import { randomToken } from '../util/crypto.js';
import { ConflictError, NotFoundError, unique } from './errors.js';
import { endUserTokens } from './revoke.js';
import { keepAnAdmin } from './system.js';
import {
  type ClaimsPatch,
  checkEmail,
  checkPassword,
  DEFAULT_RULES,
  mergeClaims,
  mergeMetadata,
  type PasswordRules,
} from './user-fields.js';
import { localUserId } from './user-search.js';

/** What create and update may set; absent fields are left as they are. */
export interface UserInput {
  email?: string;
  password?: string;
  blocked?: boolean;
  /** Merged into the stored claims; a null value removes a claim. */
  claims?: ClaimsPatch;
  /** Merged at the top level, as Auth0 does; a null value removes a key. */
  appMetadata?: Record<string, unknown>;
  userMetadata?: Record<string, unknown>;
  /** A hash made elsewhere, stored as it is instead of a password (a users import). */
  passwordHash?: string;
}

export type { PasswordRules } from './user-fields.js';

export interface NewUser extends UserInput {
  email: string;
  /** Hashed here; or `passwordHash` instead. */
  password?: string;
  /** The identifier to create the user with (a users import keeps its users' `sub`); default: a new one. */
  id?: string;
}

/** Creates a user; the email is normalised (trimmed, NFC, lowercased) and must be unused. */
export async function createUser(
  storage: Storage,
  clock: Clock,
  input: NewUser,
  rules: PasswordRules = DEFAULT_RULES,
  opts: {
    /** Who made the account, for the `ss` event (default admin). */
    by?: 'admin' | 'signup' | 'import';
    /** Runs in the same transaction once the user exists (a sign-up queues its verification email). */
    inTransaction?: (tx: Storage, user: User) => Promise<void>;
    /** Recorded with the event: the application signed up to. */
    clientId?: string;
  } = {},
): Promise<User> {
  const email = checkEmail(input.email);
  const claims = mergeClaims({ email_verified: false }, input.claims ?? {});
  const appMetadata = mergeMetadata('app_metadata', {}, input.appMetadata ?? {});
  const userMetadata = mergeMetadata('user_metadata', {}, input.userMetadata ?? {});
  const passwordHash =
    input.passwordHash ?? (await hashPassword(await checkPassword(input.password ?? '', email, rules)));
  const taken = `email: a user with ${email} exists already`;
  if (await storage.users.getByEmail(email)) throw new ConflictError(taken);
  const now = clock.now();
  const user: User = {
    id: input.id ?? `usr_${randomToken(15)}`,
    email,
    passwordHash,
    blocked: input.blocked ?? false,
    claims,
    appMetadata,
    userMetadata,
    createdAt: now,
    updatedAt: now,
  };
  // Two creations of one email at once: the unique index decides.
  await unique(
    () =>
      storage.transaction(async (tx) => {
        await tx.users.create(user);
        await writeEvent(tx.logs, clock, {
          type: 'ss',
          userId: user.id,
          userName: email,
          ...(opts.clientId ? { clientId: opts.clientId } : {}),
          details: { by: opts.by ?? 'admin' },
        });
        await opts.inTransaction?.(tx, user);
      }),
    () => storage.users.getByEmail(email),
    taken,
  );
  return user;
}

/**
 * Changes a user. Blocking them or replacing their password also signs them out everywhere and
 * ends their tokens, in the same transaction.
 */
export async function updateUser(
  storage: Storage,
  clock: Clock,
  idOrEmail: string,
  input: UserInput,
  rules: PasswordRules = DEFAULT_RULES,
  expected?: Pick<User, 'email' | 'blocked'>,
): Promise<User> {
  const user = await getUser(storage, idOrEmail);
  const patch: UserPatch = {};
  // An address stored before a stricter check is kept when sent back unchanged.
  if (input.email !== undefined && normalizeEmail(input.email) !== user.email) {
    const email = checkEmail(input.email);
    if (await storage.users.getByEmail(email))
      throw new ConflictError(`email: a user with ${email} exists already`);
    patch.email = email;
  }
  if (input.blocked !== undefined) patch.blocked = input.blocked;
  if (input.password !== undefined) {
    const email = patch.email ?? user.email;
    patch.passwordHash = await hashPassword(await checkPassword(input.password, email, rules));
  } else if (input.passwordHash !== undefined) patch.passwordHash = input.passwordHash;
  const now = clock.now();
  const signOut = input.blocked === true || patch.passwordHash !== undefined;
  // Two renames to one email at once: the unique index decides, looked at after the rollback.
  const taken = async () => {
    const holder = patch.email === undefined ? null : await storage.users.getByEmail(patch.email);
    return holder !== null && holder.id !== user.id;
  };
  const updated = await unique(
    () =>
      storage.transaction(async (tx) => {
        // Merged into the row as it is now, held to the commit: updates at once each keep theirs.
        const fresh = await heldUser(tx, user.id);
        if (!fresh) throw new NotFoundError(`user ${user.id} not found`);
        // What the caller's check relied on changed meanwhile (the Management API's delegation).
        if (expected && (fresh.email !== expected.email || fresh.blocked !== expected.blocked))
          throw new ConflictError('the user changed while this change was checked: read it again and retry');
        if (input.blocked === true && !fresh.blocked) await keepAnAdmin(tx, user.id, 'blocked');
        // OpenID Connect's email_verified speaks of the address: a new one is not verified yet.
        const claims =
          patch.email !== undefined && input.claims?.email_verified === undefined
            ? { ...input.claims, email_verified: false }
            : input.claims;
        if (claims !== undefined) patch.claims = mergeClaims(fresh.claims, claims);
        if (input.appMetadata !== undefined)
          patch.appMetadata = mergeMetadata('app_metadata', fresh.appMetadata, input.appMetadata);
        if (input.userMetadata !== undefined)
          patch.userMetadata = mergeMetadata('user_metadata', fresh.userMetadata, input.userMetadata);
        await tx.users.update(user.id, patch, now);
        if (signOut) {
          await endUserTokens(tx, user.id, now);
          // A reset link sent before cannot take back an account an admin just secured.
          await tx.accountTickets.supersede(user.id, 'password_reset', now);
        }
        const who = { userId: user.id, userName: patch.email ?? user.email };
        if (patch.passwordHash)
          await writeEvent(tx.logs, clock, { ...who, type: 'scp', details: { by: 'admin' } });
        if (patch.email)
          await writeEvent(tx.logs, clock, {
            ...who,
            type: 'sce',
            details: { from: user.email, to: patch.email },
          });
        return fresh;
      }),
    taken,
    `email: a user with ${patch.email} exists already`,
  );
  return { ...updated, ...patch, updatedAt: now };
}

/** The user, their row held until the transaction ends (a write-back undoes no one's change); or null. */
export async function heldUser(tx: Storage, id: string): Promise<User | null> {
  await tx.users.hold(id);
  return tx.users.get(id);
}

/** The user by id (Auth0's `auth0|` form too) or email, or NotFoundError. */
export async function getUser(storage: Storage, idOrEmail: string): Promise<User> {
  const user =
    (await storage.users.get(localUserId(idOrEmail))) ??
    (await storage.users.getByEmail(normalizeEmail(idOrEmail)));
  if (!user) throw new NotFoundError(`user ${idOrEmail} not found`);
  return user;
}

/** A slice of the users matching a query, and how many match in all. */
export async function listUsers(storage: Storage, query: UserQuery, slice?: Slice) {
  return { items: await storage.users.list(query, slice), total: () => storage.users.count(query) };
}

/** Replaces a user's password (and ends their sessions and tokens). */
export async function setPassword(
  storage: Storage,
  clock: Clock,
  idOrEmail: string,
  password: string,
  rules: PasswordRules = DEFAULT_RULES,
): Promise<void> {
  await updateUser(storage, clock, idOrEmail, { password }, rules);
}

/** Blocks (ending their sessions and tokens) or unblocks a user; a blocked user cannot sign in. */
export async function setBlocked(
  storage: Storage,
  clock: Clock,
  idOrEmail: string,
  blocked: boolean,
): Promise<User> {
  return updateUser(storage, clock, idOrEmail, { blocked });
}

/**
 * Signs a user out everywhere: their sessions (the console's too) end, and so do their refresh
 * tokens and the access tokens issued beside them. They may sign in again.
 */
export async function signOutEverywhere(storage: Storage, clock: Clock, idOrEmail: string): Promise<User> {
  const user = await getUser(storage, idOrEmail);
  await storage.transaction(async (tx) => {
    if (!(await tx.users.hold(user.id))) throw new NotFoundError(`user ${user.id} not found`);
    await endUserTokens(tx, user.id, clock.now());
  });
  return user;
}

/** Deletes a user with their sessions, tokens and consents; the row first, as every path holds it. */
export async function deleteUser(storage: Storage, clock: Clock, idOrEmail: string): Promise<void> {
  const user = await getUser(storage, idOrEmail);
  await storage.transaction(async (tx) => {
    await tx.users.hold(user.id);
    await removeUser(tx, clock, user);
  });
}

/** In `tx`, the user's row held: their tokens and sessions end, their consents and row go. */
export async function removeUser(tx: Storage, clock: Clock, user: User): Promise<void> {
  await keepAnAdmin(tx, user.id, 'delete');
  await endUserTokens(tx, user.id, clock.now());
  await tx.consents.deleteWhere({ userId: user.id });
  await tx.users.delete(user.id);
  await writeEvent(tx.logs, clock, { type: 'sdu', userId: user.id, userName: user.email });
}
