import { InvalidRequest } from './errors.js';

/** Parsed request parameters: single values by name, and every value for the few that may repeat. */
export interface Params {
  get(name: string): string | undefined;
  all(name: string): string[];
  names(): string[];
}

/**
 * Parses an application/x-www-form-urlencoded string (or a query string).
 * RFC 6749 §3.1: a parameter sent without a value is treated as omitted, and none may be sent
 * more than once, except those in `repeatable` (RFC 8707 §2: `resource`).
 */
export function parseParams(text: string, repeatable: ReadonlySet<string> = new Set()): Params {
  const values = new Map<string, string[]>();
  for (const [name, value] of new URLSearchParams(text)) {
    // No OAuth parameter carries a NUL, and databases refuse it in text: reject it up front.
    if (name.includes('\u0000') || value.includes('\u0000')) {
      throw new InvalidRequest(`parameter ${name.replaceAll('\u0000', '')} contains a NUL character`);
    }
    const list = values.get(name);
    if (list) {
      if (!repeatable.has(name)) throw new InvalidRequest(`parameter ${name} is repeated`);
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
  };
}

/** The value of a parameter that must be present, else invalid_request naming it. */
export function required(params: Params, name: string): string {
  const value = params.get(name);
  if (value === undefined) throw new InvalidRequest(`parameter ${name} is required`);
  return value;
}
