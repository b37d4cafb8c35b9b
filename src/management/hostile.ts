import type { MiddlewareHandler } from 'hono';
import { ManagementError } from './errors.js';

/** Keys that could reach an object's prototype, refused anywhere in a body. */
const FORBIDDEN_KEYS = new Set(['__proto__', 'constructor', 'prototype']);

/** JSON nested deeper than this is refused (no Management API body needs a tenth of it). */
export const MAX_NESTING = 32;

/** In Unicode mode a pair is one code point, so only a lone surrogate matches. */
const LONE_SURROGATE = /[\uD800-\uDFFF]/u;

/** What no string or key may hold: a NUL, or a lone UTF-16 surrogate (not storable as UTF-8). */
function badText(text: string): string | null {
  if (text.includes('\0')) return 'NUL characters are not allowed';
  if (LONE_SURROGATE.test(text)) return 'strings must be well-formed Unicode (a lone surrogate is not)';
  return null;
}

/**
 * The first problem in a parsed JSON value: a NUL or a lone surrogate in a string or key, a
 * prototype key, or nesting deeper than MAX_NESTING.
 */
export function problem(value: unknown, path = '', depth = 0): string | null {
  if (typeof value === 'string') {
    const bad = badText(value);
    return bad ? `${path || '(root)'}: ${bad}` : null;
  }
  if (value === null || typeof value !== 'object') return null;
  if (depth >= MAX_NESTING) return `${path || '(root)'}: nested deeper than ${MAX_NESTING} levels`;
  for (const [k, v] of Object.entries(value)) {
    const at = path ? `${path}.${k}` : k;
    if (FORBIDDEN_KEYS.has(k)) return `${at}: key not allowed`;
    const bad = badText(k);
    if (bad) return `${path || '(root)'}: ${bad} in keys`;
    const inner = problem(v, at, depth + 1);
    if (inner) return inner;
  }
  return null;
}

/**
 * Refuses, before any schema sees them, what no field may hold: NUL characters (in the path,
 * the query or the body), and in a JSON body lone surrogates, prototype keys (which a parser
 * would swallow) and nesting deeper than MAX_NESTING.
 */
export const refuseHostileInput: MiddlewareHandler = async (c, next) => {
  const url = c.req.url;
  const query = url.indexOf('?');
  if (/%00/i.test(query < 0 ? url : url.slice(0, query))) {
    throw new ManagementError(400, 'Path validation error: NUL characters are not allowed', 'invalid_uri');
  }
  if (query >= 0 && /%00/i.test(url.slice(query))) {
    throw new ManagementError(
      400,
      'Query validation error: NUL characters are not allowed',
      'invalid_query_string',
    );
  }
  const type = c.req.header('content-type') ?? '';
  if (/^application\/([\w.-]+\+)?json\s*(;|$)/i.test(type)) {
    // Parsed whole every time: JSON's escapes (\u005f_proto__) hide what a look at the text seeks.
    let parsed: unknown;
    try {
      parsed = JSON.parse(await c.req.text());
    } catch {
      return next(); // the validator reports malformed JSON
    }
    const found = problem(parsed, '');
    if (found) throw new ManagementError(400, `Payload validation error: ${found}`, 'invalid_body');
  }
  await next();
};
