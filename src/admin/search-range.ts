import { ValidationError } from './errors.js';

/*
 * The ranges of Auth0's searches (a subset of Lucene): `[a TO b]` inclusive, `{a TO b}` exclusive
 * (the brackets mix), `*` for an open end; or a single value. Times are ISO 8601 days or times.
 */

const DAY = /^\d{4}-\d{2}-\d{2}$/;
/** The ISO 8601 forms a bound may take: a day, or a time with its offset (Z or ±hh:mm). */
const TIME =
  /^\d{4}-\d{2}-\d{2}(?:T(?:[01]\d|2[0-3]):[0-5]\d(?::[0-5]\d(?:\.\d{1,9})?)?(?:Z|[+-](?:[01]\d|2[0-3]):[0-5]\d))?$/;
const RANGE = /^([[{])\s*(\S+)\s+TO\s+(\S+)\s*([\]}])$/;

/** Whether `yyyy-mm-dd` is a day of the calendar (Date.parse takes 2026-02-30 as March 2). */
const realDay = (day: string) => {
  const [y, m, d] = day.split('-').map(Number);
  return new Date(Date.UTC(y!, m! - 1, d!)).toISOString().slice(0, 10) === day;
};

/** A value without its quotes and escapes. */
export const unquote = (v: string) => (v.startsWith('"') ? v.slice(1, -1).replace(/\\(.)/g, '$1') : v);

/** Whether a search value is a range (`[a TO b]`, `{a TO b}`). */
export const isRange = (value: string) => /^[[{].*[\]}]$/s.test(value);

/**
 * A time bound in ms, as Lucene reads a day (Auth0's searches): a bare day is the whole day, so an
 * inclusive lower bound is its first millisecond and an exclusive one the day after it; an
 * inclusive upper bound its last millisecond and an exclusive one the day before it. A time is
 * itself, or the millisecond beside it when exclusive.
 */
function timeOf(
  field: string,
  value: string,
  side: 'since' | 'until',
  exclusive: boolean,
): number | undefined {
  const v = unquote(value.trim());
  if (v === '*') return undefined;
  const ms =
    !TIME.test(v) || !realDay(v.slice(0, 10)) ? Number.NaN : Date.parse(DAY.test(v) ? `${v}T00:00:00Z` : v);
  if (Number.isNaN(ms)) throw new ValidationError(`q: ${field} ${v} is not an ISO 8601 date`);
  const [first, last] = DAY.test(v) ? [ms, ms + 86_399_999] : [ms, ms];
  if (side === 'since') return exclusive ? last + 1 : first;
  return exclusive ? first - 1 : last;
}

/** A range's brackets and ends; a single value is the range `[value TO value]`. */
function ends(value: string): [open: string, from: string, to: string, close: string] {
  const range = RANGE.exec(value);
  return range ? [range[1]!, range[2]!, range[3]!, range[4]!] : ['[', value, value, ']'];
}

/** A range of times in ms, both ends included (a single day: that whole day). */
export function timeRange(field: string, value: string): { since?: number; until?: number } {
  const [open, a, b, close] = ends(value);
  const since = timeOf(field, a, 'since', open === '{');
  const until = timeOf(field, b, 'until', close === '}');
  return { ...(since !== undefined ? { since } : {}), ...(until !== undefined ? { until } : {}) };
}

/**
 * The largest count a search takes: one below a 32-bit column's largest, so that an exclusive
 * lower bound (one more) still fits it; PostgreSQL refuses a parameter past it.
 */
const MAX_COUNT = 2_147_483_646;

/** A range of whole numbers from 0 to MAX_COUNT, both ends included. */
export function countRange(field: string, value: string): { min?: number; max?: number } {
  const [open, a, b, close] = ends(value);
  const bound = (v: string, exclusive: boolean, step: number) => {
    if (v === '*') return undefined;
    const n = /^\d{1,10}$/.test(v) ? Number(v) : Number.NaN;
    if (!(n <= MAX_COUNT))
      throw new ValidationError(`q: ${field} ${v} is not a whole number from 0 to ${MAX_COUNT}`);
    return n + (exclusive ? step : 0);
  };
  const min = bound(a, open === '{', 1);
  const max = bound(b, close === '}', -1);
  return { ...(min !== undefined ? { min } : {}), ...(max !== undefined ? { max } : {}) };
}
