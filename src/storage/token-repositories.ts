/** The repositories of issued tokens: authorization codes, refresh tokens, revocations. */

import type { Api, Application, AuthorizationCodeRecord, RefreshTokenRecord, Slice, User } from './types.js';

export interface RevocationRepository {
  /** Remembers a revoked JWT by jti until it would have expired; idempotent. */
  revoke(jti: string, expiresAt: number): Promise<void>;
  isRevoked(jti: string): Promise<boolean>;
  /**
   * In one statement (#16: a cold introspection reads all three): the application `clientId`,
   * whether `jti` is revoked, and the API `audience` names (null: none; `audience` '' asks for
   * none). Null when there is no such application. Through the read cache, an application and
   * an API kept in memory are answered from there with `revoked: null` (not looked up), and
   * `jti`'s answer is never kept: it comes from a token not yet verified.
   */
  withApplication(
    clientId: string,
    jti: string,
    audience: string,
  ): Promise<{ application: Application; revoked: boolean | null; api: Api | null } | null>;
  /** Forgets revocations of tokens that have expired anyway; returns how many. */
  purgeExpired(now: number): Promise<number>;
}

export interface AuthorizationCodeRepository {
  create(code: AuthorizationCodeRecord): Promise<void>;
  /**
   * Marks the code used and returns it, exactly once across every caller, process and
   * instance; every later call gets `{ replayed }` with the record (house rule 7).
   */
  consume(hash: string, now: number): Promise<{ code: AuthorizationCodeRecord; replayed: boolean } | null>;
  /**
   * `consume`, and for the caller that won the code, the user it was issued for (its payload's
   * `userId`; null when that user is gone) and whether the sign-in it was issued in (its
   * payload's `sid`) is still a session, unexpired at `now` (`signedIn`; absent without a
   * `sid`): one round trip on PostgreSQL (#16).
   */
  consumeWithUser(
    hash: string,
    now: number,
  ): Promise<{
    code: AuthorizationCodeRecord;
    replayed: boolean;
    user?: User | null;
    signedIn?: boolean;
  } | null>;
}

export interface RefreshTokenRepository {
  create(token: RefreshTokenRecord): Promise<void>;
  get(hash: string): Promise<RefreshTokenRecord | null>;
  /**
   * Rotates a live token of `clientId` (unrotated, unrevoked, unexpired at `now`) in one
   * conditional UPDATE: marks it rotated and keeps its successor's sealed value (for reuse within
   * the grace period). Returns the rotated token to exactly one caller (house rule 7);
   * null when it is unknown, another client's, revoked, expired or rotated already.
   */
  rotate(
    hash: string,
    rotation: { clientId: string; now: number; successor: string },
  ): Promise<RefreshTokenRecord | null>;
  /** `rotate`, and the token's user (null when gone): one round trip on PostgreSQL (#16). */
  rotateWithUser(
    hash: string,
    rotation: { clientId: string; now: number; successor: string },
  ): Promise<{ token: RefreshTokenRecord; user: User | null } | null>;
  /**
   * Holds a token's row until the transaction ends (a revocation in flight is waited for);
   * false when the token is revoked.
   */
  hold(hash: string): Promise<boolean>;
  revokeFamily(familyId: string, now: number): Promise<void>;
  revokeGrant(grantId: string, now: number): Promise<void>;
  /**
   * The live member (not rotated, not revoked, not expired at `now`) of each family of a user,
   * of one client when given; newest first.
   */
  listLive(
    filter: { userId: string; clientId?: string },
    now: number,
    slice?: Slice,
  ): Promise<RefreshTokenRecord[]>;
  /** The live member of a family, or null. */
  liveOfFamily(familyId: string, now: number): Promise<RefreshTokenRecord | null>;
  /** Revokes every refresh token of a user or of an application. */
  revokeWhere(filter: { userId: string } | { clientId: string }, now: number): Promise<void>;
}

/** Who an access token was issued to, so that deleting them can revoke it. */
export interface GrantTokenOwner {
  userId: string;
  clientId: string;
  /** The API identifier, '' for a sign-in without an API. */
  audience: string;
}

/** Access tokens (by jti) issued under one grant, so that a code replay can revoke them. */
export interface GrantTokenRepository {
  add(grantId: string, jti: string, expiresAt: number, owner?: GrantTokenOwner): Promise<void>;
  /**
   * Creates a refresh token and records the access token issued beside it (its grant, user,
   * application and audience are the refresh token's): one row written (#16).
   */
  addWithRefreshToken(jti: string, expiresAt: number, refreshToken: RefreshTokenRecord): Promise<void>;
  list(grantId: string): Promise<{ jti: string; expiresAt: number }[]>;
  /** The unexpired access tokens of a user, an application, or one consent. */
  listWhere(
    filter: { userId: string; clientId?: string; audience?: string } | { clientId: string },
    now: number,
  ): Promise<{ jti: string; expiresAt: number }[]>;
}
