import { isEmail, normalizeEmail } from '../accounts/email.js';
import { hashPassword, MAX_PASSWORD_BYTES, passwordFits } from '../accounts/password.js';
import type { Storage, User, UserClaims } from '../storage/types.js';
import type { Clock } from '../util/clock.js';
import { randomToken } from '../util/crypto.js';
import { NotFoundError, ValidationError } from './errors.js';

export interface NewUser {
  email: string;
  password: string;
  claims?: UserClaims;
}

function checkPassword(password: string): string {
  if (!passwordFits(password))
    throw new ValidationError(`password: must be at most ${MAX_PASSWORD_BYTES} bytes`);
  if (password.length < 8) throw new ValidationError('password: must be at least 8 characters');
  return password;
}

/** Creates a user; the email is normalised (trimmed, NFC, lowercased) and must be unused. */
export async function createUser(storage: Storage, clock: Clock, input: NewUser): Promise<User> {
  const email = normalizeEmail(input.email);
  if (!isEmail(email))
    throw new ValidationError(`email ${JSON.stringify(input.email)}: not an email address`);
  const passwordHash = await hashPassword(checkPassword(input.password));
  if (await storage.users.getByEmail(email))
    throw new ValidationError(`email: a user with ${email} exists already`);
  const now = clock.now();
  const user: User = {
    id: `usr_${randomToken(15)}`,
    email,
    passwordHash,
    blocked: false,
    claims: { email_verified: false, ...input.claims },
    createdAt: now,
    updatedAt: now,
  };
  await storage.users.create(user);
  return user;
}

/** The user by id or email, or NotFoundError. */
export async function getUser(storage: Storage, idOrEmail: string): Promise<User> {
  const user =
    (await storage.users.get(idOrEmail)) ?? (await storage.users.getByEmail(normalizeEmail(idOrEmail)));
  if (!user) throw new NotFoundError(`user ${idOrEmail} not found`);
  return user;
}

/** Replaces a user's password. */
export async function setPassword(
  storage: Storage,
  clock: Clock,
  idOrEmail: string,
  password: string,
): Promise<void> {
  const user = await getUser(storage, idOrEmail);
  await storage.users.update(
    user.id,
    { passwordHash: await hashPassword(checkPassword(password)) },
    clock.now(),
  );
}

/** Blocks or unblocks a user; a blocked user cannot sign in. */
export async function setBlocked(
  storage: Storage,
  clock: Clock,
  idOrEmail: string,
  blocked: boolean,
): Promise<User> {
  const user = await getUser(storage, idOrEmail);
  await storage.users.update(user.id, { blocked }, clock.now());
  return { ...user, blocked };
}

/** Deletes a user. */
export async function deleteUser(storage: Storage, idOrEmail: string): Promise<void> {
  const user = await getUser(storage, idOrEmail);
  await storage.users.delete(user.id);
}
