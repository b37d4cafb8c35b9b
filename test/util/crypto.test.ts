// The random values and hashes every token, code and secret check rests on (#16 draws small random
// values from a pool): each value must be new, of the asked size, base64url; the hashes standard.
import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { randomBuffer, randomToken, safeEqual, sameText, sha256 } from '../../src/util/crypto.js';

const B64URL = /^[A-Za-z0-9_-]+$/;

describe('util/crypto', () => {
  it('randomToken: the asked number of bytes, base64url, never the same twice across many pool refills', () => {
    const seen = new Set<string>();
    for (let i = 0; i < 3000; i++) {
      for (const bytes of [16, 32, 9]) {
        const token = randomToken(bytes);
        expect(token).toMatch(B64URL);
        expect(Buffer.from(token, 'base64url')).toHaveLength(bytes);
        expect(seen.has(token)).toBe(false);
        seen.add(token);
      }
    }
    // about 171 KB drawn: the pool was refilled some 40 times, and no draw repeated another
    expect(seen.size).toBe(9000);
  });

  it('randomToken: large values come straight from the CSPRNG; the default is 32 bytes', () => {
    expect(Buffer.from(randomToken(), 'base64url')).toHaveLength(32);
    const big = randomToken(4096);
    expect(Buffer.from(big, 'base64url')).toHaveLength(4096);
    expect(big).not.toBe(randomToken(4096));
    for (const wrong of [0, -1, 1.5, Number.NaN]) expect(() => randomToken(wrong)).toThrow(RangeError);
  });

  it('randomToken: the bytes are spread evenly (a zeroed or reused pool would show)', () => {
    const counts = new Array<number>(256).fill(0);
    for (let i = 0; i < 4000; i++) for (const b of Buffer.from(randomToken(32), 'base64url')) counts[b]!++;
    // 128,000 bytes: 500 expected per value; a chi-square over 255 degrees of freedom near 255
    const chi = counts.reduce((sum, n) => sum + (n - 500) ** 2 / 500, 0);
    expect(chi).toBeLessThan(400);
    expect(Math.min(...counts)).toBeGreaterThan(350);
  });

  it('randomBuffer: its own copy of new bytes, never shared with a token drawn beside it', () => {
    const seen = new Set<string>();
    const buffers: Buffer[] = [];
    for (let i = 0; i < 2000; i++) {
      const iv = randomBuffer(12);
      expect(iv).toHaveLength(12);
      buffers.push(iv);
      for (const value of [iv.toString('base64url'), randomToken(12)]) {
        expect(seen.has(value)).toBe(false);
        seen.add(value);
      }
    }
    // the pool is zeroed and refilled behind them: what was handed out stays as it was
    expect(new Set(buffers.map((b) => b.toString('hex'))).size).toBe(2000);
    expect(buffers.every((b) => b.some((byte) => byte !== 0))).toBe(true);
    expect(randomBuffer(4096)).toHaveLength(4096);
    for (const wrong of [0, -1, 1.5, Number.NaN]) expect(() => randomBuffer(wrong)).toThrow(RangeError);
  });

  it('sha256 is SHA-256 in base64url; safeEqual compares whole values', () => {
    expect(sha256('abc')).toBe('ungWv48Bz-pBQUDeXa4iI7ADYaOWF3qctBD_YfIAFa0');
    expect(sha256('é')).toBe(createHash('sha256').update('é', 'utf8').digest('base64url'));
    expect(safeEqual('secret', 'secret')).toBe(true);
    expect(safeEqual('secret', 'secreT')).toBe(false);
    expect(safeEqual('secret', 'secret ')).toBe(false);
    expect(safeEqual('', '')).toBe(true);
  });

  it('sameText compares whole strings, every character', () => {
    expect(sameText('secret', 'secret')).toBe(true);
    expect(sameText('secret', 'Secret')).toBe(false);
    expect(sameText('secret', 'secreT')).toBe(false);
    expect(sameText('secret', 'secret ')).toBe(false);
    expect(sameText('é', 'e')).toBe(false);
    expect(sameText('', '')).toBe(true);
  });
});
