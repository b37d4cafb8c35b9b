import type { Consent, Repositories } from '../storage/types.js';

/** Remembers access tokens as revoked until they would have expired. */
async function revokeAll(tx: Repositories, tokens: { jti: string; expiresAt: number }[]): Promise<void> {
  for (const t of tokens) await tx.revocations.revoke(t.jti, t.expiresAt);
}

/*
 * Each of these revokes the refresh tokens first and again last: on PostgreSQL a rotation in
 * flight holds its member's row, so the first statement waits for it to commit, and the later
 * ones see the access token and the successor it made (a snapshot taken before would not).
 */

/**
 * Ends everything issued under one grant: its refresh tokens and the access tokens on record
 * (a code used twice, a refresh token reused after its grace period, a revoked family).
 */
export async function endGrantTokens(tx: Repositories, grantId: string, now: number): Promise<void> {
  await tx.refreshTokens.revokeGrant(grantId, now);
  await revokeAll(tx, await tx.grantTokens.list(grantId));
  await tx.refreshTokens.revokeGrant(grantId, now);
}

/** Ends what an application was issued for people: access tokens on record and refresh tokens. */
export async function endApplicationTokens(tx: Repositories, clientId: string, now: number): Promise<void> {
  await tx.refreshTokens.revokeWhere({ clientId }, now);
  await revokeAll(tx, await tx.grantTokens.listWhere({ clientId }, now));
  await tx.refreshTokens.revokeWhere({ clientId }, now);
}

/** Signs a person out everywhere and ends every token they hold: sessions, access and refresh tokens. */
export async function endUserTokens(tx: Repositories, userId: string, now: number): Promise<void> {
  await tx.sessions.deleteForUser(userId);
  await tx.consoleSessions.deleteForUser(userId);
  await tx.refreshTokens.revokeWhere({ userId }, now);
  await revokeAll(tx, await tx.grantTokens.listWhere({ userId }, now));
  await tx.refreshTokens.revokeWhere({ userId }, now);
}

/**
 * Withdraws a consent: deletes it and ends the refresh tokens and access tokens its
 * application holds for that person and audience, so the next use asks again.
 */
export async function withdrawConsent(tx: Repositories, consent: Consent, now: number): Promise<void> {
  const { userId, clientId, audience } = consent;
  for (const rt of await tx.refreshTokens.listLive({ userId, clientId }, now)) {
    if (((rt.payload.audience as string | undefined) ?? '') === audience) {
      await endGrantTokens(tx, rt.grantId, now);
    }
  }
  await revokeAll(tx, await tx.grantTokens.listWhere({ userId, clientId, audience }, now));
  await tx.consents.deleteById(consent.id);
}

/**
 * Disconnects one application from one person: their consents to it go, and every refresh and
 * access token it holds for them ends (the person's other applications are untouched).
 */
export async function endUserApplicationTokens(
  tx: Repositories,
  userId: string,
  clientId: string,
  now: number,
): Promise<void> {
  for (const consent of await tx.consents.list({ userId, clientId }))
    await tx.consents.deleteById(consent.id);
  for (const rt of await tx.refreshTokens.listLive({ userId, clientId }, now))
    await endGrantTokens(tx, rt.grantId, now);
  await revokeAll(tx, await tx.grantTokens.listWhere({ userId, clientId }, now));
  for (const rt of await tx.refreshTokens.listLive({ userId, clientId }, now))
    await endGrantTokens(tx, rt.grantId, now);
}

/**
 * After a person changes their own password: every other session and every refresh token ends,
 * and the access tokens on record; the session they changed it from stays.
 */
export async function endOtherSessionsAndTokens(
  tx: Repositories,
  userId: string,
  keepSession: string,
  now: number,
): Promise<void> {
  await endOtherSessions(tx, userId, keepSession, now);
  await tx.refreshTokens.revokeWhere({ userId }, now);
  await revokeAll(tx, await tx.grantTokens.listWhere({ userId }, now));
  await tx.refreshTokens.revokeWhere({ userId }, now);
}

/**
 * Ends every session of the person but `keepSession` (the browser they act from), and their
 * console sessions but `keepConsole` (that browser's, when given); returns how many sessions.
 */
export async function endOtherSessions(
  tx: Pick<Repositories, 'sessions' | 'consoleSessions'>,
  userId: string,
  keepSession: string,
  now: number,
  keepConsole?: string,
): Promise<number> {
  await tx.consoleSessions.deleteForUser(userId, keepConsole);
  let ended = 0;
  for (const s of await tx.sessions.listForUser(userId, now)) {
    if (s.idHash === keepSession) continue;
    await tx.sessions.delete(s.idHash);
    ended++;
  }
  return ended;
}

/**
 * "Sign out all other sessions" on a person's account page: their other browsers are signed out,
 * and the refresh tokens signed in through any browser but this one end with the access tokens
 * issued beside them, so that the applications of a lost device lose access too (a session
 * ended alone would leave them refreshing for weeks). Returns how many sessions ended.
 */
export async function signOutOtherBrowsers(
  tx: Repositories,
  user: { id: string; keepSession: { idHash: string; sid: string }; keepConsole?: string | undefined },
  now: number,
): Promise<number> {
  const ended = await endOtherSessions(tx, user.id, user.keepSession.idHash, now, user.keepConsole);
  await endSessionTokens(tx, user.id, (sid) => sid !== user.keepSession.sid, now);
  return ended;
}

/**
 * Ends a person's refresh tokens signed in through the sessions `ended` picks (by their `sid`),
 * with the access tokens issued beside them. Tokens of no session (none is recorded) stay.
 */
export async function endSessionTokens(
  tx: Repositories,
  userId: string,
  ended: (sid: string) => boolean,
  now: number,
): Promise<void> {
  for (const rt of await sessionRefreshTokens(tx, userId, ended, now))
    await endGrantTokens(tx, rt.grantId, now);
}

/** A person's live refresh tokens signed in through the sessions `picked` picks (by their `sid`). */
async function sessionRefreshTokens(
  repos: Pick<Repositories, 'refreshTokens'>,
  userId: string,
  picked: (sid: string) => boolean,
  now: number,
) {
  const live = await repos.refreshTokens.listLive({ userId }, now);
  return live.filter((rt) => typeof rt.payload.sid === 'string' && picked(rt.payload.sid));
}

/**
 * How many sign-ins of applications (refresh-token grants) made through a browser other than the
 * session `keepSid` still renew their access, whether that browser is still signed in or not:
 * what "Sign out all other sessions" would end.
 */
export async function otherBrowsersSignIns(
  repos: Pick<Repositories, 'refreshTokens'>,
  userId: string,
  keepSid: string,
  now: number,
): Promise<number> {
  const tokens = await sessionRefreshTokens(repos, userId, (sid) => sid !== keepSid, now);
  return new Set(tokens.map((rt) => rt.grantId)).size;
}
