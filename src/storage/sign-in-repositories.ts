/** The repositories of signing in: sessions, interactions in progress, failed-login counters, known places. */

import type { Consent, InteractionRecord, SessionRecord, Slice, User } from './types.js';

export interface SessionRepository {
  create(session: SessionRecord): Promise<void>;
  get(idHash: string): Promise<SessionRecord | null>;
  /**
   * The session and its user (null when gone), and with `consentOf` the user's consent to that
   * application and audience (null when none), in one statement (#16).
   */
  getWithUser(
    idHash: string,
    consentOf?: { clientId: string; audience: string },
  ): Promise<{ session: SessionRecord; user: User | null; consent?: Consent | null } | null>;
  getBySid(sid: string): Promise<SessionRecord | null>;
  /** The user's sessions unexpired at `now` (and, with `idle`, used within it), newest first. */
  listForUser(userId: string, now: number, slice?: Slice, idle?: number): Promise<SessionRecord[]>;
  /** Records use of the session at `now`. */
  touch(idHash: string, now: number): Promise<void>;
  delete(idHash: string): Promise<void>;
  /** True when a session was deleted. */
  deleteBySid(sid: string): Promise<boolean>;
  /** Ends every session of the user; returns how many. */
  deleteForUser(userId: string): Promise<number>;
}

export interface InteractionRepository {
  create(interaction: InteractionRecord): Promise<void>;
  get(idHash: string): Promise<InteractionRecord | null>;
  update(idHash: string, payload: Record<string, unknown>): Promise<void>;
  delete(idHash: string): Promise<void>;
}

/** Failed-login counters per key (account or IP), shared by every instance. */
export interface LoginAttemptRepository {
  /** Seconds until `key` may try again, 0 when it may now. */
  lockedFor(key: string, now: number): Promise<number>;
  /**
   * Counts a failure within `window` seconds (a new count after the window or a lock has passed)
   * and returns the count, atomically; at `threshold` failures locks for `lockSeconds`.
   */
  recordFailure(
    key: string,
    now: number,
    window: number,
    threshold: number,
    lockSeconds: number,
  ): Promise<number>;
  /**
   * Counts a failure for a counter of growing delays: the count goes on until `window` seconds
   * pass with no failure and no lock (a lock running out does not restart it); returns the
   * count, atomically.
   */
  recordGrowing(key: string, now: number, window: number): Promise<number>;
  /**
   * Locks `key` until `until` unless it is locked at `now` already: true for the one caller
   * that set the lock, false while another's lock holds.
   */
  lockUntil(key: string, until: number, now: number): Promise<boolean>;
  /** Takes one failure back (an attempt counted in advance that succeeded). */
  forgive(key: string): Promise<void>;
  clear(key: string): Promise<void>;
}

/** Where an account has signed in from: client addresses (IPv6 per /64) and device cookies (hashed). */
export interface KnownSignInRepository {
  /** Records (or refreshes) that `userId` signed in from `value` at `now`. */
  remember(userId: string, kind: 'address' | 'device', value: string, now: number): Promise<void>;
  isKnown(userId: string, kind: 'address' | 'device', value: string): Promise<boolean>;
}
