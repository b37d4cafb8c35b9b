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

/** Revokes every refresh token of a user. */
export async function deleteUserRefreshTokens(storage: Storage, clock: Clock, userId: string): Promise<void> {
  const user = await getUser(storage, userId);
  const now = clock.now();
  await storage.transaction(async (tx) => {
    await tx.refreshTokens.revokeWhere({ userId: user.id }, now);
    // A refresh that rotated while the first statement waited for its row left a successor
    // that statement could not see (PostgreSQL): the second one ends it.
    await tx.refreshTokens.revokeWhere({ userId: user.id }, now);
  });
}
