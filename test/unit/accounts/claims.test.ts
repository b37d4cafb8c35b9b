import { describe, expect, it } from 'vitest';
import { characters, isPersonName } from '../../../src/accounts/claims.js';

describe('characters: a length as JSON Schema maxLength counts it (code points)', () => {
  it('counts a character beyond U+FFFF once', () => {
    expect(characters('')).toBe(0);
    expect(characters('abc')).toBe(3);
    expect(characters('\u{1F600}')).toBe(1);
    expect(characters('a\u{1F600}b\u{20000}')).toBe(4);
    expect(characters('\u{1F600}'.repeat(255))).toBe(255);
  });

  it('counts a lone surrogate as one character', () => {
    expect(characters('\uD83D')).toBe(1);
    expect(characters('\uDE00\uD83D')).toBe(2);
    expect(characters('x\uD83D')).toBe(2);
  });

  it('agrees with the string iterator', () => {
    for (const s of ['é', 'e\u0301', '👍🏽', '👨‍👩‍👧', '\u{10FFFF}z', '\uD800\uD800\uDC00'])
      expect(characters(s)).toBe([...s].length);
  });
});

describe('isPersonName: at most 255 characters, no control characters', () => {
  it('takes 255 emoji and refuses 256', () => {
    expect(isPersonName('\u{1F600}'.repeat(255))).toBe(true);
    expect(isPersonName('\u{1F600}'.repeat(256))).toBe(false);
    expect(isPersonName('Ada\u202ELovelace')).toBe(false);
  });
});
