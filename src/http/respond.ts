import type { Context } from 'hono';
import type { OAuthError } from '../protocol/errors.js';

/** RFC 6749 §5.1: token responses (and their errors) must not be cached. */
export const NO_STORE = { 'Cache-Control': 'no-store', Pragma: 'no-cache' } as const;

/** A JSON response with `Cache-Control: no-store`. */
export function jsonNoStore(
  c: Context,
  body: unknown,
  status = 200,
  headers: Record<string, string> = {},
): Response {
  return c.newResponse(JSON.stringify(body), status as 200, {
    'Content-Type': 'application/json; charset=utf-8',
    ...NO_STORE,
    ...headers,
  });
}

/** A public JSON document that caches may keep for `maxAge` seconds (discovery, JWKS). */
export function jsonCached(c: Context, body: unknown, maxAge: number): Response {
  return c.newResponse(JSON.stringify(body), 200, {
    'Content-Type': 'application/json; charset=utf-8',
    'Cache-Control': `public, max-age=${maxAge}`,
  });
}

/** The RFC 6749 §5.2 error body with the error's status and headers. */
export function oauthErrorResponse(
  c: Context,
  err: OAuthError,
  extra: Record<string, string> = {},
): Response {
  return jsonNoStore(c, err.toJSON(), err.status, { ...err.headers, ...extra });
}
