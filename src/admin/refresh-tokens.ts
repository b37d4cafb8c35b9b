import type { RefreshTokenRecord, Slice, Storage } from '../storage/types.js';
import type { Clock } from '../util/clock.js';
import { NotFoundError } from './errors.js';
import { endGrantTokens } from './revoke.js';
import { getUser } from './users.js';

/**
 * Refresh tokens as people see them: one per sign-in (a rotating family), named by the family
 * id, shown as its live member. The token itself is never shown; only its hash is stored.
 */
export async function listUserRefreshTokens(
  storage: Storage,
  clock: Clock,
  userId: string,
  slice?: Slice,
): Promise<RefreshTokenRecord[]> {
  const user = await getUser(storage, userId);
  return storage.refreshTokens.listLive({ userId: user.id }, clock.now(), slice);
}

/** The live member of a refresh-token family, or NotFoundError. */
export async function getRefreshToken(
  storage: Storage,
  clock: Clock,
  id: string,
): Promise<RefreshTokenRecord> {
  const token = await storage.refreshTokens.liveOfFamily(id, clock.now());
  if (!token) throw new NotFoundError(`refresh token ${id} not found`);
  return token;
}

/** Revokes a refresh-token family and the access tokens issued under its grant. */
export async function deleteRefreshToken(storage: Storage, clock: Clock, id: string): Promise<void> {
  const token = await getRefreshToken(storage, clock, id);
  const now = clock.now();
  await storage.transaction((tx) => endGrantTokens(tx, token.grantId, now));
}

/**
 * Revokes every refresh token of a user and, as deleting each family would, the access tokens
 * issued under their grants.
 */
export async function deleteUserRefreshTokens(storage: Storage, clock: Clock, userId: string): Promise<void> {
  const user = await getUser(storage, userId);
  const now = clock.now();
  await storage.transaction(async (tx) => {
    const live = await tx.refreshTokens.listLive({ userId: user.id }, now);
    for (const grantId of new Set(live.map((t) => t.grantId))) await endGrantTokens(tx, grantId, now);
    // A sign-in that made a family after the list was read: its refresh tokens go too. On
    // PostgreSQL a refresh rotating meanwhile holds its row; the second statement sees its successor.
    await tx.refreshTokens.revokeWhere({ userId: user.id }, now);
    await tx.refreshTokens.revokeWhere({ userId: user.id }, now);
  });
}
