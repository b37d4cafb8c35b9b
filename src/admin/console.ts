import { createHmac } from 'node:crypto';
import { endpointUrl, issuerBase } from '../protocol/issuer.js';
import type { Storage } from '../storage/types.js';
import type { Clock } from '../util/clock.js';
import { randomToken, safeEqual, sha256 } from '../util/crypto.js';
import { ConflictError, ValidationError } from './errors.js';
import { ADMIN_ROLE_ID } from './system.js';
import { createUser, type PasswordRules } from './users.js';

/** The console's own application (made by migration 008). */
export const CONSOLE_CLIENT_ID = 'sesame-console';

/** Where the console receives its authorization codes. */
export const consoleCallback = (issuer: string): string => endpointUrl(issuer, '/console/callback');

/**
 * The console's client secret: derived from the instance key, so every instance of a tenant
 * (sharing SESAME_SECRET) knows it and it is never stored or shown.
 */
export const consoleSecret = (encryptionKey: Buffer): string =>
  createHmac('sha256', encryptionKey).update('sesame-console client secret').digest('base64url');

/** Points the console application at this issuer and this instance's secret. */
export async function ensureConsoleApp(
  storage: Storage,
  clock: Clock,
  issuer: string,
  encryptionKey: Buffer,
): Promise<void> {
  const base = issuerBase(issuer);
  const now = clock.now();
  await storage.applications.update(
    CONSOLE_CLIENT_ID,
    { callbacks: [consoleCallback(issuer)], logoutCallbacks: [`${base}/console`] },
    now,
  );
  await storage.applications.setSecretHash(CONSOLE_CLIENT_ID, sha256(consoleSecret(encryptionKey)), now);
}

/** Whether anybody holds the Sesame Admin role. */
export async function hasAdmin(storage: Storage): Promise<boolean> {
  return (await storage.roles.countUsers(ADMIN_ROLE_ID)) > 0;
}

/** Creates a person who holds Sesame Admin (the first admin, or another from the CLI). */
export async function createAdmin(
  storage: Storage,
  clock: Clock,
  input: { email: string; password: string; name?: string },
  rules?: PasswordRules,
) {
  const existing = await storage.users.getByEmail(input.email.trim().toLowerCase());
  if (existing) {
    throw new ConflictError(
      `email: ${existing.email} exists already; give them the role with sesame users assign-role ${existing.email} "Sesame Admin"`,
    );
  }
  const user = await createUser(
    storage,
    clock,
    {
      email: input.email,
      password: input.password,
      claims: input.name ? { name: input.name } : {},
    },
    rules,
  );
  await storage.roles.assign([user.id], [ADMIN_ROLE_ID], clock.now());
  return user;
}

/** The setup link's state: the hash of its token and when it stops working. */
const SETUP_KEY = 'console_setup';
const SETUP_LIFETIME = 3600;

/** A new single-use setup token, valid one hour (any earlier one stops working). */
export async function issueSetupToken(storage: Storage, clock: Clock): Promise<string> {
  const token = randomToken(32);
  const now = clock.now();
  await storage.settings.put(SETUP_KEY, { hash: sha256(token), expires_at: now + SETUP_LIFETIME }, now);
  return token;
}

/** Whether `token` is the current, unexpired setup token (while nobody is an admin yet). */
export async function setupTokenValid(
  storage: Storage,
  clock: Clock,
  token: string | undefined,
): Promise<boolean> {
  if (!token || (await hasAdmin(storage))) return false;
  const state = await storage.settings.get(SETUP_KEY);
  if (!state || typeof state.hash !== 'string' || Number(state.expires_at) <= clock.now()) return false;
  return safeEqual(state.hash, sha256(token));
}

/**
 * Creates the first admin through the setup link, which then stops working (it also stops as
 * soon as anybody is an admin). A form with a mistake leaves the link usable.
 */
export async function completeSetup(
  storage: Storage,
  clock: Clock,
  token: string | undefined,
  input: { email: string; password: string; name?: string },
  rules?: PasswordRules,
) {
  if (!(await setupTokenValid(storage, clock, token))) {
    throw new ValidationError('token: this setup link is used, expired, or not the latest one');
  }
  const admin = await createAdmin(storage, clock, input, rules);
  await storage.settings.put(SETUP_KEY, { used_at: clock.now() }, clock.now());
  return admin;
}
