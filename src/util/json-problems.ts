/*
 * What no stored text may hold, in a parsed JSON value (the Management API's bodies, a users
 * file): NUL characters, lone surrogates, prototype keys, and nesting past MAX_NESTING.
 */

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
