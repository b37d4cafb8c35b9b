import type { Context } from 'hono';
import { MANAGEMENT_API_ID } from '../admin/system.js';
import type { Deps } from '../http/context.js';
import type { Cookies } from '../http/cookies.js';
import { decrypt, encrypt } from '../keys/encryption.js';
import type { User } from '../storage/types.js';
import { randomToken, safeEqual, sha256 } from '../util/crypto.js';
import { ManagementCalls, type ServerFetch } from './management.js';

/** The tokens a console session holds for its admin (never sent to the browser). */
interface Tokens {
  access_token: string;
  id_token?: string;
}

/**
 * A signed-in admin: who, the form token of their session, the Management API as them, and the
 * permissions of that API their token gives them now (what the navigation offers).
 */
export interface Admin {
  user: User;
  csrf: string;
  idToken?: string;
  api: ManagementCalls;
  scopes: ReadonlySet<string>;
  /** What one page hands the page its redirect leads to, once (a new client secret). */
  once: OneTime;
}

/**
 * A value shown once on the page after a redirect (post/redirect/get), so that reloading the
 * answer to "Create" or "Rotate secret" re-sends nothing. It travels in a cookie of five minutes,
 * sealed to the console session and to what it is for (`key`); taking it clears the cookie.
 */
export interface OneTime {
  keep(key: string, value: string): void;
  take(key: string): string | undefined;
}

const ONE_TIME_SECONDS = 300;

function oneTime(deps: Deps, cookies: Cookies, c: Context, idHash: string): OneTime {
  const aadOf = (key: string) => `console-once:${idHash}:${key}`;
  return {
    keep: (key, value) => {
      // the expiry is sealed with the value: a copy of the cookie is worth nothing after it
      const sealed = JSON.stringify({ value, exp: deps.clock.now() + ONE_TIME_SECONDS });
      cookies.set(c, 'console_once', encrypt(deps.encryptionKey, sealed, aadOf(key)), ONE_TIME_SECONDS);
    },
    take: (key) => {
      const sealed = cookies.get(c, 'console_once');
      if (!sealed) return undefined;
      cookies.clear(c, 'console_once');
      try {
        const { value, exp } = JSON.parse(decrypt(deps.encryptionKey, sealed, aadOf(key)));
        return typeof value === 'string' && exp > deps.clock.now() ? value : undefined;
      } catch {
        return undefined; // another session's or another application's, or tampered with
      }
    },
  };
}

/** The `scope` of a console session's access token (Sesame's own JWT, kept server-side). */
function scopeOf(accessToken: string): string[] {
  try {
    const payload = JSON.parse(Buffer.from(accessToken.split('.')[1] ?? '', 'base64url').toString('utf8'));
    return typeof payload?.scope === 'string' ? payload.scope.split(' ') : [];
  } catch {
    return [];
  }
}

const aad = (idHash: string) => `console-session:${idHash}`;

/** Starts a console session for `userId` holding `tokens` until `expiresIn` seconds from now. */
export async function startConsoleSession(
  deps: Deps,
  cookies: Cookies,
  c: Context,
  userId: string,
  tokens: Tokens,
  expiresIn: number,
): Promise<void> {
  const value = randomToken(32);
  const idHash = sha256(value);
  const now = deps.clock.now();
  await deps.storage.consoleSessions.deleteExpired(now);
  await deps.storage.consoleSessions.create({
    idHash,
    userId,
    token: encrypt(deps.encryptionKey, JSON.stringify(tokens), aad(idHash)),
    csrf: randomToken(24),
    createdAt: now,
    expiresAt: now + expiresIn,
  });
  cookies.set(c, 'console', value, expiresIn);
}

/** The signed-in admin of this browser, or null (no cookie, expired, or the user is gone or blocked). */
export async function loadAdmin(
  deps: Deps,
  cookies: Cookies,
  c: Context,
  fetch: ServerFetch,
): Promise<Admin | null> {
  const value = cookies.get(c, 'console');
  if (!value) return null;
  const idHash = sha256(value);
  const session = await deps.storage.consoleSessions.get(idHash);
  if (!session || session.expiresAt <= deps.clock.now()) return null;
  const user = await deps.storage.users.get(session.userId);
  if (!user || user.blocked) return null;
  const tokens = JSON.parse(decrypt(deps.encryptionKey, session.token, aad(idHash))) as Tokens;
  // as the API counts them: the token's scopes that the person still holds
  const held = new Set(await deps.storage.permissions.effective(user.id, MANAGEMENT_API_ID));
  return {
    user,
    csrf: session.csrf,
    scopes: new Set(scopeOf(tokens.access_token).filter((s) => held.has(s))),
    once: oneTime(deps, cookies, c, idHash),
    ...(tokens.id_token ? { idToken: tokens.id_token } : {}),
    api: ManagementCalls.for(c, fetch, deps.config.issuer, tokens.access_token),
  };
}

/** Ends this browser's console session. */
export async function endConsoleSession(deps: Deps, cookies: Cookies, c: Context): Promise<void> {
  const value = cookies.get(c, 'console');
  if (value) await deps.storage.consoleSessions.delete(sha256(value));
  cookies.clear(c, 'console');
}

/** A form's CSRF token must be the session's own. */
export const csrfMatches = (admin: Admin, sent: string | undefined): boolean =>
  sent !== undefined && safeEqual(admin.csrf, sent);
