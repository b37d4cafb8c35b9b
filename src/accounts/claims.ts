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

/** A name a person typed for themselves: at most 255 characters, no control characters. */
export function isPersonName(name: string): boolean {
  return name.length <= 255 && !/\p{Cc}/u.test(name);
}
