import { characters } from '../accounts/claims.js';
import { normalizeEmail } from '../accounts/email.js';
import type { UserQuery } from '../storage/types.js';
import { ValidationError } from './errors.js';
import { countRange, isRange, timeRange, unquote } from './search-range.js';

/** A user id as Sesame stores it: Auth0's `auth0|` (the database connection's prefix) taken off. */
export const localUserId = (id: string): string => (id.startsWith('auth0|') ? id.slice(6) : id);

/** What can be searched. */
const FIELD_TERM =
  'email, user_id, name, blocked, logins_count and last_login can, or plain text in the email or name';

/**
 * Reads a search: plain text (a substring of the email or the name), or one `field:value` term
 * of Auth0's user search: `email:"a@b.c"` (exact; `email:prefix*` a prefix, on the index),
 * `user_id:…`, `name:"…"` (exact, any case), `blocked:true|false`, `logins_count` and
 * `last_login` (a value or a range). A field it cannot search by is refused by name, never taken
 * as text.
 */
export function parseUserSearch(q: string | undefined): Omit<UserQuery, 'sort'> {
  if (q === undefined || q.trim() === '') return {};
  // names are stored in NFC (user-fields.ts), and emails normalised to it
  const text = q.trim().normalize('NFC');
  if (characters(text) > 320) throw new ValidationError('q: at most 320 characters');
  // Lucene's match-all, which scripts written for Auth0's search send
  if (text === '*:*') return {};
  const term = /^([A-Za-z_.]+):(.*)$/s.exec(text);
  // a field left out or given as a wildcard (`:1`, `*:x`); plain text such as `10:30` stays text
  if (!term && /^\*?:/.test(text))
    throw new ValidationError(`q: a term needs a field name: ${FIELD_TERM}; *:* alone lists everyone`);
  if (!term) {
    // a quoted phrase (Lucene's): its words as they are, in that order, `*` and AND included
    const phrase = /^"([^"]*)"$/.exec(text);
    if (phrase) {
      const inner = phrase[1]!.trim();
      if (inner === '') throw new ValidationError('q: "": no text between the quotes');
      return { text: inner };
    }
    // Auth0's query syntax taken as text would find nobody: a group, AND/OR/NOT, a negation, a
    // field term after the first word
    if (/^\(|\s(?:OR|AND|NOT)\s|(?:^|\s)-?[A-Za-z_.]+:/.test(text))
      throw new ValidationError(
        'q: one term only, plain text or field:value (AND, OR, NOT and groups are not supported)',
      );
    // Lucene's wildcard, taken as text, would find nobody (a `?` stays text: names and emails hold it)
    if (text.includes('*'))
      throw new ValidationError('q: a wildcard is supported only at the end of an email (email:prefix*)');
    return { text };
  }
  const [, field, raw] = term as unknown as [string, string, string];
  if (field === 'logins_count' || field === 'last_login') return activity(field, raw);
  // one value: "…" without a quote inside, or a run without spaces, quotes or parentheses; a
  // second term, AND/OR or a group would else be read as part of the value and find nobody
  const quoted = /^"([^"]*)"$/.exec(raw);
  if (!quoted && !/^[^\s"()]*$/.test(raw))
    throw new ValidationError(
      `q: one term only, ${field}:value or ${field}:"value" (AND, OR, groups and several terms are not supported)`,
    );
  const value = quoted ? quoted[1]! : raw;
  if (value === '') throw new ValidationError(`q: ${field}: no value`);
  if (!quoted && value.includes('*') && !(field === 'email' && value.indexOf('*') === value.length - 1))
    throw new ValidationError(
      `q: ${field}: a wildcard is supported only at the end of an email (email:prefix*)`,
    );
  switch (field) {
    case 'email':
      return !quoted && value.endsWith('*')
        ? { emailPrefix: normalizeEmail(value.slice(0, -1)) }
        : { email: normalizeEmail(value) };
    case 'user_id':
      return { id: localUserId(value) };
    case 'name':
      return { name: value };
    case 'blocked':
      if (value !== 'true' && value !== 'false')
        throw new ValidationError('q: blocked: must be true or false');
      return { blocked: value === 'true' };
    default:
      throw new ValidationError(`q: cannot search by ${field} (${FIELD_TERM})`);
  }
}

/**
 * `logins_count:3`, `logins_count:[1 TO *]`, `last_login:[* TO 2026-01-01]`,
 * `last_login:{2026-11-30T12:00:00Z TO *]`: ranges as Auth0's search takes them. A user who never
 * signed in has no last_login, so a last_login term never finds them.
 */
function activity(field: 'logins_count' | 'last_login', raw: string): Omit<UserQuery, 'sort'> {
  const value = raw.trim();
  if (!isRange(value) && !/^("[^"]*"|[^\s"()]+)$/.test(value))
    throw new ValidationError(
      `q: ${field}: one value or a range such as [1 TO *] (several terms are not supported)`,
    );
  if (field === 'logins_count') return { loginsCount: countRange(field, unquote(value)) };
  const { since, until } = timeRange(field, value);
  return {
    lastLogin: {
      min: since === undefined ? 1 : Math.max(1, Math.ceil(since / 1000)),
      ...(until !== undefined ? { max: Math.floor(until / 1000) } : {}),
    },
  };
}

const SORTABLE = ['created_at', 'updated_at', 'email', 'name', 'last_login', 'logins_count'] as const;

/** Reads Auth0's `sort=field:1` (ascending) or `field:-1` (descending). */
export function parseUserSort(sort: string | undefined): UserQuery['sort'] {
  if (sort === undefined) return undefined;
  const m = /^([a-z_]+):(1|-1)$/.exec(sort);
  const field = m?.[1] as (typeof SORTABLE)[number] | undefined;
  if (!m || !field || !SORTABLE.includes(field)) {
    throw new ValidationError(`sort: must be FIELD:1 or FIELD:-1 with FIELD one of ${SORTABLE.join(', ')}`);
  }
  return { field, descending: m[2] === '-1' };
}
