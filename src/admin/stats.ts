import type { Storage } from '../storage/types.js';
import { type Clock, nowMs } from '../util/clock.js';
import { ValidationError } from './errors.js';

/** One day of Auth0's daily stats (`GET /stats/daily`), counted from the log of events. */
export interface DailyStats {
  /** The day, at 00:00 UTC. */
  date: string;
  logins: number;
  signups: number;
  /** Breached-password detection: Sesame has none, so always 0. */
  leaked_passwords: number;
  /** Sesame's own: failed sign-ins (wrong password, unknown user, blocked by too many failures). */
  failed_logins: number;
  /** The day's first and last counted event (absent on a day without any). */
  created_at?: string;
  updated_at?: string;
}

const DAY_MS = 86_400_000;
/** The longest range one request may ask for, in days. */
export const STATS_MAX_DAYS = 366;
/** The days `GET /stats/daily` covers without `from`, and those `active-users` looks back. */
export const STATS_DEFAULT_DAYS = 30;

/**
 * The events counted: sign-ins with a password (the login page's, the password grant's, a
 * sign-up's: as logins_count counts them); failed sign-ins of the login page (the password
 * grant's failures are every refusal of the request, a bad client or scope included, so they are
 * not counted), and the locks' events from both (an attempt a lock refused, or one that started it).
 */
const COUNTED: Record<string, 'logins' | 'signups' | 'failed_logins'> = {
  s: 'logins',
  sepft: 'logins',
  ss: 'signups',
  f: 'failed_logins',
  fp: 'failed_logins',
  fu: 'failed_logins',
  limit_wc: 'failed_logins',
  limit_mu: 'failed_logins',
};

/** A day as Auth0's stats name it, `YYYYMMDD`, at 00:00 UTC in ms. */
export function parseStatsDay(field: string, value: string): number {
  const m = /^(\d{4})(\d{2})(\d{2})$/.exec(value);
  const ms = m ? Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3])) : Number.NaN;
  if (!m || new Date(ms).toISOString().slice(0, 10) !== `${m[1]}-${m[2]}-${m[3]}`) {
    throw new ValidationError(`${field}: must be a day as YYYYMMDD`);
  }
  return ms;
}

/**
 * Sign-ins, sign-ups and failed sign-ins of each day from `from` to `to` (YYYYMMDD, both
 * included; by default the last 30 days up to today, UTC), oldest first; days after today are
 * left out. Counted from the log, so they go back as far as it keeps events.
 */
export async function dailyStats(
  storage: Storage,
  clock: Clock,
  range: { from?: string; to?: string },
): Promise<DailyStats[]> {
  const today = Math.floor(nowMs(clock) / DAY_MS) * DAY_MS;
  const to = range.to === undefined ? today : parseStatsDay('to', range.to);
  const from =
    range.from === undefined ? to - (STATS_DEFAULT_DAYS - 1) * DAY_MS : parseStatsDay('from', range.from);
  if (from > to) throw new ValidationError('from: must not be after to');
  if ((to - from) / DAY_MS + 1 > STATS_MAX_DAYS) {
    throw new ValidationError(`from, to: at most ${STATS_MAX_DAYS} days at once`);
  }
  const last = Math.min(to, today);
  const days = new Map<number, DailyStats & { first?: number; last?: number }>();
  for (let day = from; day <= last; day += DAY_MS) {
    days.set(day, {
      date: new Date(day).toISOString(),
      logins: 0,
      signups: 0,
      leaked_passwords: 0,
      failed_logins: 0,
    });
  }
  if (days.size === 0) return [];
  const counts = await storage.logs.countByDay({
    types: Object.keys(COUNTED),
    since: from,
    until: last + DAY_MS - 1,
  });
  for (const c of counts) {
    const day = days.get(c.day);
    if (!day) continue;
    day[COUNTED[c.type]!] += c.count;
    day.first = Math.min(day.first ?? c.first, c.first);
    day.last = Math.max(day.last ?? c.last, c.last);
  }
  return [...days.values()].map(({ first, last, ...day }) =>
    first === undefined || last === undefined
      ? day
      : { ...day, created_at: new Date(first).toISOString(), updated_at: new Date(last).toISOString() },
  );
}

/** How many people signed in during the last 30 days (Auth0's `GET /stats/active-users`). */
export function activeUsers(storage: Storage, clock: Clock): Promise<number> {
  const since = nowMs(clock) - STATS_DEFAULT_DAYS * DAY_MS;
  return storage.logs.countUsers({ types: ['s', 'sepft'], since });
}
