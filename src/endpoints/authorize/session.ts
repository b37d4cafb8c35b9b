import type { Context } from 'hono';
import { sessionEnded, sessionLifetimes } from '../../admin/settings.js';
import { clientIp } from '../../http/client-ip.js';
import type { Deps } from '../../http/context.js';
import type { Cookies } from '../../http/cookies.js';
import { seeOther } from '../../http/respond.js';
import type { Consent, SessionRecord, User } from '../../storage/types.js';
import { randomToken, sha256 } from '../../util/crypto.js';
import { interactionPath, startInteraction } from './interaction.js';

/**
 * The browser's SSO session and its user, when the cookie names a live session of an unblocked
 * user; with `consentOf`, read in the same statement, the user's consent to that application and
 * audience (null: none).
 */
export async function loadSession(
  deps: Deps,
  cookies: Cookies,
  c: Context,
  consentOf?: { clientId: string; audience: string },
): Promise<{ session: SessionRecord; user: User; consent?: Consent | null } | null> {
  const value = cookies.get(c, 'session');
  if (!value) return null;
  const found = await deps.storage.sessions.getWithUser(sha256(value), consentOf);
  const now = deps.clock.now();
  if (!found) return null;
  const { session, user } = found;
  if (sessionEnded(session, now, (await sessionLifetimes(deps)).idle)) return null;
  if (!user || user.blocked) return null;
  // Use is recorded at most once a minute: the idle lifetime is counted in minutes at least.
  if (now - session.lastSeenAt >= 60) await deps.storage.sessions.touch(session.idHash, now);
  return found.consent !== undefined ? { session, user, consent: found.consent } : { session, user };
}

/**
 * Starts a new SSO session after a successful login: a fresh id (never the old one; session
 * fixation), stored as its hash, the old session ended.
 */
export async function startSession(
  deps: Deps,
  cookies: Cookies,
  c: Context,
  userId: string,
): Promise<SessionRecord> {
  const old = cookies.get(c, 'session');
  if (old) await deps.storage.sessions.delete(sha256(old));
  const value = randomToken(32);
  const now = deps.clock.now();
  const lifetime = (await sessionLifetimes(deps)).absolute;
  const userAgent = c.req.header('user-agent');
  const session: SessionRecord = {
    idHash: sha256(value),
    sid: randomToken(16),
    userId,
    authTime: now,
    createdAt: now,
    expiresAt: now + lifetime,
    lastSeenAt: now,
    initialIp: clientIp(c),
    ...(userAgent ? { initialUserAgent: userAgent.slice(0, 512) } : {}),
  };
  await deps.storage.sessions.create(session);
  cookies.set(c, 'session', value, lifetime);
  return session;
}

/** Ends the browser's SSO session, if any. */
export async function endSession(deps: Deps, cookies: Cookies, c: Context): Promise<void> {
  const value = cookies.get(c, 'session');
  if (value) await deps.storage.sessions.delete(sha256(value));
  cookies.clear(c, 'session');
}

/**
 * A CSRF token for a form bound to the SSO session rather than to an interaction (logout,
 * device activation): a hash of the HttpOnly cookie's value and the form's purpose, which a
 * foreign page can neither read nor compute.
 */
export function sessionCsrf(cookies: Cookies, c: Context, purpose: string): string | undefined {
  const value = cookies.get(c, 'session');
  return value ? sha256(`${purpose}:${value}`) : undefined;
}

/**
 * A page of the signed-in person (device activation, /account): their session, user and the
 * page's CSRF token; with no session, an interaction that comes back to `returnTo` and a 303
 * to the login page.
 */
export async function signedInOrLogin(
  deps: Deps,
  cookies: Cookies,
  c: Context,
  returnTo: string,
  purpose: string,
): Promise<
  | { current: { session: SessionRecord; user: User }; csrf: string; redirect?: undefined }
  | { redirect: Response }
> {
  const current = await loadSession(deps, cookies, c);
  if (current) return { current, csrf: sessionCsrf(cookies, c, purpose) as string };
  const handle = await startInteraction(deps, cookies, c, { returnTo });
  return { redirect: seeOther(c, interactionPath('/u/login', handle)) };
}
