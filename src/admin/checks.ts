import { characters, hasControlCharacters } from '../accounts/claims.js';
import { ValidationError } from './errors.js';

/**
 * A display name: trimmed, 1 to 255 characters, no control characters; with `angleBrackets:
 * false`, no `<` or `>` either (Auth0's rule for application names).
 */
export function checkName(field: string, value: string, opts: { angleBrackets?: boolean } = {}): string {
  const name = value.trim();
  if (name.length === 0 || characters(name) > 255)
    throw new ValidationError(`${field}: must be 1 to 255 characters`);
  if (hasControlCharacters(name)) throw new ValidationError(`${field}: must not contain control characters`);
  if (opts.angleBrackets === false && /[<>]/.test(name))
    throw new ValidationError(`${field}: must not contain < or >`);
  return name;
}

/** An absolute http(s) URL of at most 2048 characters (a logo, a support page). */
export function checkHttpUrl(field: string, value: string): string {
  const ok = value.length <= 2048 && URL.canParse(value) && /^https?:$/.test(new URL(value).protocol);
  if (!ok) throw new ValidationError(`${field}: must be an absolute http or https URL`);
  return value;
}

/** A whole number from `min` to `max`. */
export function checkInteger(field: string, value: number, min: number, max: number): number {
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new ValidationError(`${field}: must be a whole number from ${min} to ${max}`);
  }
  return value;
}

/** One of `allowed`. */
export function checkOneOf<T extends string>(field: string, value: string, allowed: readonly T[]): T {
  if (!(allowed as readonly string[]).includes(value)) {
    throw new ValidationError(`${field} ${JSON.stringify(value)}: must be one of ${allowed.join(', ')}`);
  }
  return value as T;
}

/** The most URIs an application's list holds (callbacks, logout URLs, web origins), and their length. */
export const URI_LIST = { items: 100, length: 2048 } as const;

/** A list of URIs within URI_LIST's bounds, as the Management API takes it. */
export function checkUriList(field: string, list: string[]): void {
  if (list.length > URI_LIST.items)
    throw new ValidationError(`${field}: at most ${URI_LIST.items} entries, not ${list.length}`);
  for (const uri of list)
    if (uri.length > URI_LIST.length)
      throw new ValidationError(`${field}: each entry at most ${URI_LIST.length} characters`);
}
