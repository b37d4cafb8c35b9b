import type { Consent, Repositories } from '../storage/types.js';

/** Remembers access tokens as revoked until they would have expired. */
async function revokeAll(tx: Repositories, tokens: { jti: string; expiresAt: number }[]): Promise<void> {
  for (const t of tokens) await tx.revocations.revoke(t.jti, t.expiresAt);
}

/** Ends what an application was issued for people: access tokens on record and refresh tokens. */
export async function endApplicationTokens(tx: Repositories, clientId: string, now: number): Promise<void> {
  await revokeAll(tx, await tx.grantTokens.listWhere({ clientId }, now));
  await tx.refreshTokens.revokeWhere({ clientId }, now);
}

/** Signs a person out everywhere and ends every token they hold: sessions, access and refresh tokens. */
export async function endUserTokens(tx: Repositories, userId: string, now: number): Promise<void> {
  await tx.sessions.deleteForUser(userId);
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
      await tx.refreshTokens.revokeGrant(rt.grantId, now);
    }
  }
  await revokeAll(tx, await tx.grantTokens.listWhere({ userId, clientId, audience }, now));
  await tx.consents.deleteById(consent.id);
}
