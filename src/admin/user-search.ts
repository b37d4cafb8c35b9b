import { normalizeEmail } from '../accounts/email.js';
import type { UserQuery } from '../storage/types.js';
import { ValidationError } from './errors.js';

/** A user id as Sesame stores it: Auth0's `auth0|` (the database connection's prefix) taken off. */
export const localUserId = (id: string): string => (id.startsWith('auth0|') ? id.slice(6) : id);

/**
 * Reads a search: plain text (a substring of the email or the name), or one `field:value` term
 * of Auth0's user search: `email:"a@b.c"` (exact; `email:prefix*` a prefix, on the index),
 * `user_id:…`, `name:"…"` (exact, any case), `blocked:true|false`. A field it cannot search
 * by is refused by name, never taken as text.
 */
export function parseUserSearch(q: string | undefined): Omit<UserQuery, 'sort'> {
  if (q === undefined || q.trim() === '') return {};
  const text = q.trim();
  if (text.length > 320) throw new ValidationError('q: at most 320 characters');
  const term = /^([A-Za-z_.]+):(.*)$/s.exec(text);
  if (!term) {
    // Auth0's query syntax taken as text would find nobody: a group, AND/OR/NOT, a negation, a
    // field term after the first word
    if (/^\(|\s(?:OR|AND|NOT)\s|(?:^|\s)-?[A-Za-z_.]+:/.test(text))
      throw new ValidationError(
        'q: one term only, plain text or field:value (AND, OR, NOT and groups are not supported)',
      );
    return { text };
  }
  const [, field, raw] = term as unknown as [string, string, string];
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
      throw new ValidationError(
        `q: cannot search by ${field} (email, user_id, name and blocked can, or plain text in the email or name)`,
      );
  }
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
