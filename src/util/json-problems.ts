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

/** An object or array being read by `duplicateKey`: its path, and for an object its keys so far. */
interface Frame {
  path: string;
  keys: Set<string> | null;
  key: string;
}

/**
 * The path of the first key a JSON text repeats within one object, or null. The text must be
 * valid JSON (JSON.parse took it), which keeps the last of two such keys without a word: RFC
 * 8259 §4 says names SHOULD be unique, and what a receiver makes of others is unpredictable.
 */
export function duplicateKey(text: string): string | null {
  const stack: Frame[] = [];
  let expectKey = false;
  const member = (path: string, key: string) => (path ? `${path}.${key}` : key);
  const open = (keys: Set<string> | null) => {
    const parent = stack.at(-1);
    let path = '';
    if (parent) path = parent.keys ? member(parent.path, parent.key) : `${parent.path}[]`;
    stack.push({ path, keys, key: '' });
    expectKey = keys !== null;
  };
  for (let i = 0; i < text.length; i++) {
    const ch = text[i];
    if (ch === '"') {
      let end = i + 1;
      while (text[end] !== '"') end += text[end] === '\\' ? 2 : 1;
      const top = stack.at(-1);
      if (expectKey && top?.keys) {
        const key = JSON.parse(text.slice(i, end + 1)) as string;
        if (top.keys.has(key)) return member(top.path, key);
        top.keys.add(key);
        top.key = key;
        expectKey = false;
      }
      i = end;
    } else if (ch === '{') open(new Set());
    else if (ch === '[') open(null);
    else if (ch === '}' || ch === ']') {
      stack.pop();
      expectKey = false;
    } else if (ch === ',') expectKey = stack.at(-1)?.keys != null;
  }
  return null;
}
