import { createHash } from 'node:crypto';
import type { ServerResponse } from 'node:http';
import type { Context } from 'hono';
import type { OAuthError } from '../protocol/errors.js';
import { merged } from '../util/merged.js';

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
    'Content-Type': JSON_TYPE,
    ...NO_STORE,
    ...headers,
  });
}

/** JSON's media type, as every JSON answer names it. */
/** 303 See Other to `to`, not kept by any cache: where a browser goes next after a form or a step. */
export const seeOther = (c: Context, to: string): Response =>
  c.body(null, 303, { Location: to, 'Cache-Control': 'no-store' });

export const JSON_TYPE = 'application/json; charset=utf-8';

/** A JSON document serialized once, with its strong ETag (RFC 9110 §8.8.3). */
export interface SerializedJson {
  readonly body: string;
  /** The body in UTF-8, for the lean lane. */
  readonly bytes: Buffer;
  readonly etag: string;
}

export function serializeJson(document: unknown): SerializedJson {
  const body = JSON.stringify(document);
  return { body, bytes: Buffer.from(body), etag: etagOf(body) };
}

/** A strong entity tag: the first 160 bits of the body's SHA-256. */
export function etagOf(body: string | Uint8Array): string {
  return `"${createHash('sha256').update(body).digest('base64url').slice(0, 27)}"`;
}

/**
 * A public JSON document that caches may keep for `maxAge` seconds (discovery, JWKS), serialized
 * when it changes, not per request. A matching `If-None-Match` gets 304 (RFC 9110 §13.1.2).
 */
export function jsonCached(c: Context, doc: SerializedJson, maxAge: number): Response {
  const headers = cachedHeaders(doc, maxAge);
  if (etagMatches(c.req.header('If-None-Match'), doc.etag)) return c.newResponse(null, 304, headers);
  return c.newResponse(doc.body, 200, { 'Content-Type': JSON_TYPE, ...headers });
}

/** What a cache needs of a public document: its tag and how long to keep it. */
export function cachedHeaders(doc: SerializedJson, maxAge: number): Record<string, string> {
  return { ETag: doc.etag, 'Cache-Control': `public, max-age=${maxAge}` };
}

/**
 * The lean lane's answer (#16): a JSON body (serialized beforehand, or the text of one) written
 * straight to Node's response; none for a 304.
 */
export function writeJson(
  res: ServerResponse,
  status: number,
  headers: Record<string, string>,
  body: Buffer | string | null,
): void {
  if (body === null) {
    res.writeHead(status, headers);
    res.end();
    return;
  }
  const length = typeof body === 'string' ? Buffer.byteLength(body) : body.length;
  res.writeHead(status, { 'Content-Type': JSON_TYPE, 'Content-Length': String(length), ...headers });
  res.end(body);
}

/** If-None-Match uses the weak comparison: `*`, or any listed tag with W/ ignored (§13.1.2). */
export function etagMatches(header: string | undefined, etag: string): boolean {
  if (!header) return false;
  if (header.trim() === '*') return true;
  return header.split(',').some((tag) => tag.trim().replace(/^W\//, '') === etag);
}

/** The RFC 6749 §5.2 error body with the error's status and headers. */
export function oauthErrorResponse(
  c: Context,
  err: OAuthError,
  extra: Record<string, string> = {},
): Response {
  return jsonNoStore(c, err.toJSON(), err.status, merged(err.headers, extra));
}
