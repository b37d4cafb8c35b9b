import type { MiddlewareHandler } from 'hono';
import { ManagementError } from './errors.js';

/** Keys that could reach an object's prototype, refused anywhere in a body. */
const FORBIDDEN_KEYS = new Set(['__proto__', 'constructor', 'prototype']);

/** The first problem in a parsed JSON value: a NUL in a string or key, or a prototype key. */
function problem(value: unknown, path: string): string | null {
  if (typeof value === 'string')
    return value.includes('\0') ? `${path || '(root)'}: NUL characters are not allowed` : null;
  if (value === null || typeof value !== 'object') return null;
  for (const [k, v] of Object.entries(value)) {
    const at = path ? `${path}.${k}` : k;
    if (FORBIDDEN_KEYS.has(k)) return `${at}: key not allowed`;
    if (k.includes('\0')) return `${path || '(root)'}: NUL characters are not allowed in keys`;
    const inner = problem(v, at);
    if (inner) return inner;
  }
  return null;
}

/**
 * Refuses, before any schema sees them, what no field may hold: NUL characters (in the path,
 * the query or the body) and prototype keys in a JSON body (which a parser would swallow).
 */
export const refuseHostileInput: MiddlewareHandler = async (c, next) => {
  if (/%00/i.test(c.req.url)) {
    throw new ManagementError(
      400,
      'Query validation error: NUL characters are not allowed',
      'invalid_query_string',
    );
  }
  const type = c.req.header('content-type') ?? '';
  if (/^application\/([\w.-]+\+)?json\s*(;|$)/i.test(type)) {
    const text = await c.req.text();
    if (/__proto__|constructor|prototype|\\u0000|\0/.test(text)) {
      let parsed: unknown;
      try {
        parsed = JSON.parse(text);
      } catch {
        return next(); // the validator reports malformed JSON
      }
      const found = problem(parsed, '');
      if (found) throw new ManagementError(400, `Payload validation error: ${found}`, 'invalid_body');
    }
  }
  await next();
};
