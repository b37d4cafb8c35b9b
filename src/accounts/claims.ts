import { claimsForScopes } from '../protocol/claims.js';
import type { User } from '../storage/types.js';
import { merged } from '../util/merged.js';

/** The user's claims that `scopes` release (OIDC Core §5.4), `sub` always. */
export function userClaims(user: User, scopes: readonly string[]): Record<string, unknown> {
  const all: Record<string, unknown> = merged(user.claims as Record<string, unknown>, {
    email: user.email,
    updated_at: user.updatedAt,
  });
  return { sub: user.id, ...claimsForScopes(all, scopes) };
}

/**
 * Whether `text` holds a control character, or a character that breaks or reorders a line (line
 * and paragraph separators, bidirectional embeddings, overrides and isolates): in a name, any of
 * these could forge or disguise lines of a listing (the CLI's, a log, the console).
 */
export function hasControlCharacters(text: string): boolean {
  return /[\p{Cc}\p{Zl}\p{Zp}\u202A-\u202E\u2066-\u2069]/u.test(text);
}

/**
 * How many characters `text` has, as JSON Schema's `maxLength` counts them (code points): a
 * character beyond U+FFFF, such as an emoji, is one, though JavaScript's `length` counts two.
 */
export function characters(text: string): number {
  return [...text].length;
}

/** A name a person typed for themselves: at most 255 characters, no control characters. */
export function isPersonName(name: string): boolean {
  return characters(name) <= 255 && !hasControlCharacters(name);
}
