import type { MiddlewareHandler } from 'hono';
import { unsupportedCoding } from '../http/middleware/parse-form.js';
import { duplicateKey, problem } from '../util/json-problems.js';
import { ManagementError } from './errors.js';

const UTF8 = new TextDecoder('utf-8', { fatal: true });

/** Whether a URL's part decodes: each `%` starts two hex digits, and what they spell is UTF-8. */
function decodes(part: string): boolean {
  if (!part.includes('%')) return true;
  try {
    decodeURIComponent(part);
    return true;
  } catch {
    return false;
  }
}

/**
 * Refuses, before any schema sees them, what no field may hold: NUL characters (in the path,
 * the query or the body), and in a JSON body bytes that are not UTF-8, lone surrogates,
 * prototype keys (which a parser would swallow) and nesting deeper than MAX_NESTING.
 */
export const refuseHostileInput: MiddlewareHandler = async (c, next) => {
  const url = c.req.url;
  const query = url.indexOf('?');
  const path = query < 0 ? url : url.slice(0, query);
  if (/%00/i.test(path)) {
    throw new ManagementError(400, 'Path validation error: NUL characters are not allowed', 'invalid_uri');
  }
  if (!decodes(path)) {
    throw new ManagementError(
      400,
      'Path validation error: malformed percent-encoding (% then two hex digits, of UTF-8)',
      'invalid_uri',
    );
  }
  if (query >= 0 && /%00/i.test(url.slice(query))) {
    throw new ManagementError(
      400,
      'Query validation error: NUL characters are not allowed',
      'invalid_query_string',
    );
  }
  if (query >= 0 && !decodes(url.slice(query + 1))) {
    throw new ManagementError(
      400,
      'Query validation error: malformed percent-encoding (% then two hex digits, of UTF-8)',
      'invalid_query_string',
    );
  }
  const coding = unsupportedCoding(c.req.header('content-encoding'));
  // (a read has no body to be coded: the header is then no matter)
  if (coding !== null && c.req.method !== 'GET' && c.req.method !== 'HEAD') {
    // RFC 9110 §15.5.16: 415, with the codings it takes (§12.5.3)
    throw new ManagementError(415, coding, 'unsupported_media_type', { 'Accept-Encoding': 'identity' });
  }
  const type = c.req.header('content-type') ?? '';
  if (/^application\/([\w.-]+\+)?json\s*(;|$)/i.test(type)) {
    // Parsed whole every time: JSON's escapes (\u005f_proto__) hide what a look at the text seeks.
    // JSON is UTF-8 (RFC 8259 §8.1): bytes that are not would be stored as U+FFFD, not refused.
    let text: string;
    try {
      text = UTF8.decode(await c.req.arrayBuffer());
    } catch {
      throw new ManagementError(400, 'Payload validation error: the body is not UTF-8', 'invalid_body');
    }
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch {
      return next(); // the validator reports malformed JSON
    }
    const found = problem(parsed, '');
    if (found) throw new ManagementError(400, `Payload validation error: ${found}`, 'invalid_body');
    const twice = duplicateKey(text);
    if (twice !== null) {
      const message = `Payload validation error: ${twice}: the key appears twice in one object`;
      throw new ManagementError(400, message, 'invalid_body');
    }
  }
  await next();
};
