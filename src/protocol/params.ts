import { InvalidRequest } from './errors.js';

/** Parsed request parameters: single values by name, and every value for the few that may repeat. */
export interface Params {
  get(name: string): string | undefined;
  all(name: string): string[];
  names(): string[];
  /** The names sent more than once, empty values counted (for `repeatable` names). */
  repeated(): string[];
}

/** As `repeatable`: every name may repeat (for /authorize, which names the repeats in its own error). */
export const ANY_NAME = { has: () => true } as unknown as ReadonlySet<string>;

/**
 * Parses an application/x-www-form-urlencoded string (or a query string).
 * RFC 6749 §3.1: a parameter sent without a value is treated as omitted, and none may be sent
 * more than once, except those in `repeatable` (RFC 8707 §2: `resource`).
 */
export function parseParams(text: string, repeatable: ReadonlySet<string> = new Set()): Params {
  return paramsOf(new URLSearchParams(text), repeatable);
}

/**
 * Parses a JSON body (`application/json`, which Auth0's SDKs may send) under the same rules as
 * a form: one flat object whose values are all strings, no name twice (JSON.parse would keep
 * the last silently, so the object is read here), an empty value counts as omitted.
 */
export function parseJsonParams(text: string, repeatable: ReadonlySet<string> = new Set()): Params {
  return paramsOf(jsonEntries(text), repeatable);
}

function paramsOf(entries: Iterable<[string, string]>, repeatable: ReadonlySet<string>): Params {
  const values = new Map<string, string[]>();
  // names sent more than once (only where `repeatable` lets them): none on the hot paths
  let repeated: string[] | undefined;
  for (const [name, value] of entries) {
    // No OAuth parameter carries a NUL, and databases refuse it in text: reject it up front.
    if (name.includes('\u0000') || value.includes('\u0000')) {
      throw new InvalidRequest(`parameter ${name.replaceAll('\u0000', '')} contains a NUL character`);
    }
    if (name === '') continue; // `=x`: no parameter at all, so ignored as unknown ones are
    const list = values.get(name);
    if (list) {
      if (!repeatable.has(name)) throw new InvalidRequest(`parameter ${name} is repeated`);
      // `state=&state=x` is a repeat too (RFC 6749 §3.1), though an empty value counts as omitted
      if (list.length === 1) repeated = [...(repeated ?? []), name];
      list.push(value);
    } else values.set(name, [value]);
  }
  for (const [name, list] of values) {
    const kept = list.filter((v) => v !== '');
    if (kept.length === 0) values.delete(name);
    else values.set(name, kept);
  }
  return {
    get: (name) => values.get(name)?.[0],
    all: (name) => values.get(name) ?? [],
    names: () => [...values.keys()],
    repeated: () => repeated ?? [],
  };
}

/** A quoted string at the sticky position; JSON.parse then holds it to RFC 8259 §7. */
const STRING = /"(?:[^"\\]|\\.)*"/y;
const SPACE = /[ \t\n\r]*/y;

/** The members of a flat JSON object of strings, in order, duplicates kept. */
function jsonEntries(text: string): [string, string][] {
  const bad = (why: string) => new InvalidRequest(`the JSON body is not valid: ${why}`);
  let at = 0;
  const skip = () => {
    SPACE.lastIndex = at;
    SPACE.exec(text);
    at = SPACE.lastIndex;
  };
  const expect = (ch: string) => {
    skip();
    if (text[at] !== ch) throw bad(`expected ${ch} at position ${at}`);
    at += 1;
  };
  const string = (what: string): string | null => {
    skip();
    STRING.lastIndex = at;
    const m = STRING.exec(text);
    if (!m) return null;
    at = STRING.lastIndex;
    try {
      return JSON.parse(m[0]) as string;
    } catch {
      throw bad(`${what} is not a valid string`);
    }
  };
  const out: [string, string][] = [];
  expect('{');
  skip();
  if (text[at] === '}') at += 1;
  else {
    for (;;) {
      const name = string('a name');
      if (name === null) throw bad(`expected a name in quotes at position ${at}`);
      expect(':');
      const value = string(`the value of ${name}`);
      if (value === null) {
        // A number, object, array, true, false or null: still JSON, but not a parameter value.
        try {
          JSON.parse(text);
        } catch {
          throw bad(`the value of ${name} is malformed`);
        }
        throw new InvalidRequest(`parameter ${name} must be a string`);
      }
      out.push([name, value]);
      skip();
      if (text[at] === ',') {
        at += 1;
        continue;
      }
      expect('}');
      break;
    }
  }
  skip();
  if (at !== text.length) throw bad('text after the object');
  return out;
}

/** The value of a parameter that must be present, else invalid_request naming it. */
export function required(params: Params, name: string): string {
  const value = params.get(name);
  if (value === undefined) throw new InvalidRequest(`parameter ${name} is required`);
  return value;
}
