import { createHmac } from 'node:crypto';
import type { Context } from 'hono';
import type { Cookies } from '../http/cookies.js';
import { randomToken } from '../util/crypto.js';
import { checkCsrf } from './authorize/interaction.js';

/** A day: long enough for a page left open, short enough to renew. */
const LIFETIME = 86_400;

/** `nonce.mac`: 128 random bits and their HMAC under a key of this server. */
function signed(key: Buffer, nonce: string): string {
  return `${nonce}.${createHmac('sha256', key).update(`form-csrf:${nonce}`).digest('base64url')}`;
}

/** The cookie's token when this server made it (its HMAC checks out), else undefined. */
function ours(key: Buffer, value: string | undefined): string | undefined {
  const nonce = value?.split('.')[0];
  return nonce && /^[A-Za-z0-9_-]{22}$/.test(nonce) && signed(key, nonce) === value ? value : undefined;
}

/**
 * The CSRF token of a form that belongs to no sign-in (forgot password, a link from an email):
 * a token in an HttpOnly, SameSite=Lax cookie (`__Host-` on https), which the form also carries
 * (double submit). The token is signed with `key`, so a cookie planted by a sibling host (no
 * `__Host-` prefix on http) does not count; a foreign page can neither read the cookie nor set it.
 */
export function formCsrf(key: Buffer, cookies: Cookies, c: Context): string {
  const current = ours(key, cookies.get(c, 'csrf'));
  if (current) return current;
  const value = signed(key, randomToken(16));
  cookies.set(c, 'csrf', value, LIFETIME);
  return value;
}

/** The form's token must equal the cookie's, which this server signed; otherwise a 403 page. */
export function checkFormCsrf(key: Buffer, cookies: Cookies, c: Context, sent: string | undefined): void {
  const expected = ours(key, cookies.get(c, 'csrf'));
  checkCsrf(expected ?? '', expected ? sent : undefined);
}
