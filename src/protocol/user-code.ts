import { randomInt } from 'node:crypto';

/** RFC 8628 §6.1: consonants only (no vowels, so no words), easy to read and type. */
const ALPHABET = 'BCDFGHJKLMNPQRSTVWXZ';

/** A new user code: 8 characters from the alphabet (20^8, about 34.5 bits), stored without the dash. */
export function newUserCode(): string {
  let code = '';
  for (let i = 0; i < 8; i++) code += ALPHABET[randomInt(ALPHABET.length)];
  return code;
}

/** How a user code is shown: XXXX-XXXX. */
export function formatUserCode(code: string): string {
  return `${code.slice(0, 4)}-${code.slice(4)}`;
}

/** What the person typed, normalised (case, dashes and spaces ignored), or null when it cannot be a code. */
export function normalizeUserCode(input: string): string | null {
  const code = input.toUpperCase().replace(/[\s-]/g, '');
  return code.length === 8 && [...code].every((ch) => ALPHABET.includes(ch)) ? code : null;
}
