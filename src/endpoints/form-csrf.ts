import type { Context } from 'hono';
import type { Cookies } from '../http/cookies.js';
import { randomToken } from '../util/crypto.js';
import { checkCsrf } from './authorize/interaction.js';

/** What formCsrf makes: 256 random bits, base64url. */
const TOKEN = /^[A-Za-z0-9_-]{43}$/;

/** A day: long enough for a page left open, short enough to renew. */
const LIFETIME = 86_400;

/**
 * The CSRF token of a form that belongs to no sign-in (forgot password, a link from an email):
 * a random value in an HttpOnly, SameSite=Lax cookie (`__Host-` on https), which the form also
 * carries (double submit). A foreign page can neither read the cookie nor set it.
 */
export function formCsrf(cookies: Cookies, c: Context): string {
  const current = cookies.get(c, 'csrf');
  if (current && TOKEN.test(current)) return current;
  const value = randomToken(32);
  cookies.set(c, 'csrf', value, LIFETIME);
  return value;
}

/** The form's token must equal the cookie's; a missing or foreign one is a 403 page. */
export function checkFormCsrf(cookies: Cookies, c: Context, sent: string | undefined): void {
  // Only a token formCsrf made counts: a cookie planted by a sibling host (no __Host- on http) is ignored.
  const cookie = cookies.get(c, 'csrf');
  const expected = cookie && TOKEN.test(cookie) ? cookie : undefined;
  checkCsrf(expected ?? '', expected ? sent : undefined);
}
