import type { ClientGrant, RefreshTokenRecord, SessionRecord } from './types.js';

/**
 * The lists that page by checkpoint (the Management API's `from`/`take`): the columns each is
 * ordered by (the last one unique) and what they hold, and an item's values of them, which the
 * next page starts after. The storage orders by `columns`; the API hands out `of` the last item
 * as `next`.
 */
export interface ListOrder<T> {
  columns: readonly (readonly [column: string, direction: 'asc' | 'desc', kind: 'number' | 'string'])[];
  of(item: T): (string | number)[];
}

export const CLIENT_GRANT_ORDER: ListOrder<ClientGrant> = {
  columns: [
    ['created_at', 'asc', 'number'],
    ['id', 'asc', 'string'],
  ],
  of: (g) => [g.createdAt, g.id],
};

/** A role's users, by their ids. */
export const ROLE_USER_ORDER: ListOrder<{ id: string }> = {
  columns: [['user_id', 'asc', 'string']],
  of: (u) => [u.id],
};

/** Newest first. */
export const SESSION_ORDER: ListOrder<SessionRecord> = {
  columns: [
    ['created_at', 'desc', 'number'],
    ['sid', 'asc', 'string'],
  ],
  of: (s) => [s.createdAt, s.sid],
};

/**
 * Newest sign-in first: by the family's expiry (its start plus a fixed lifetime), which rotations
 * leave alone (a live row's own created_at moves with each one); a family has one live token, so
 * its id decides a tie.
 */
export const REFRESH_TOKEN_ORDER: ListOrder<RefreshTokenRecord> = {
  columns: [
    ['family_expires_at', 'desc', 'number'],
    ['family_id', 'asc', 'string'],
  ],
  of: (t) => [t.familyExpiresAt, t.familyId],
};
