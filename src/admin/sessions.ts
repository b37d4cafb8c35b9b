import type { SessionRecord, Slice, Storage } from '../storage/types.js';
import type { Clock } from '../util/clock.js';
import { NotFoundError } from './errors.js';
import { endSessionTokens } from './revoke.js';
import { sessionEnded } from './settings.js';
import { getUser } from './users.js';

/** A user's live SSO sessions (neither expired nor unused for `idle` seconds), newest first. */
export async function listUserSessions(
  storage: Storage,
  clock: Clock,
  userId: string,
  idle: number,
  slice?: Slice,
): Promise<SessionRecord[]> {
  const user = await getUser(storage, userId);
  return storage.sessions.listForUser(user.id, clock.now(), slice, idle);
}

/** A live session by its public id (`sid`): neither expired nor unused for `idle` seconds. */
export async function getSession(
  storage: Storage,
  clock: Clock,
  sid: string,
  idle: number,
): Promise<SessionRecord> {
  const session = await storage.sessions.getBySid(sid);
  if (!session || sessionEnded(session, clock.now(), idle))
    throw new NotFoundError(`session ${sid} not found`);
  return session;
}

/**
 * Auth0's session revocation: the session ends (expired or not), and so do the refresh tokens
 * signed in through it, with the access tokens issued beside them.
 */
export async function revokeSession(storage: Storage, clock: Clock, sid: string): Promise<void> {
  const found = await storage.transaction(async (tx) => {
    const session = await tx.sessions.getBySid(sid);
    if (!session) return false;
    await tx.sessions.deleteBySid(sid);
    await endSessionTokens(tx, session.userId, (s) => s === sid, clock.now());
    return true;
  });
  if (!found) throw new NotFoundError(`session ${sid} not found`);
}

/** Ends one live session (as `getSession` finds it): its browser must sign in again. */
export async function deleteSession(
  storage: Storage,
  clock: Clock,
  sid: string,
  idle: number,
): Promise<void> {
  await getSession(storage, clock, sid, idle);
  if (!(await storage.sessions.deleteBySid(sid))) throw new NotFoundError(`session ${sid} not found`);
}

/** Ends every session of a user, the console's included: they are signed out everywhere. */
export async function deleteUserSessions(storage: Storage, userId: string): Promise<number> {
  const user = await getUser(storage, userId);
  return storage.transaction(async (tx) => {
    await tx.consoleSessions.deleteForUser(user.id);
    return tx.sessions.deleteForUser(user.id);
  });
}
