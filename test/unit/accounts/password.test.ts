import { performance } from 'node:perf_hooks';
import * as argon2 from '@node-rs/argon2';
import { beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import {
  checkPassword,
  hashPassword,
  MAX_PASSWORD_BYTES,
  passwordFits,
} from '../../../src/accounts/password.js';

// The real argon2, wrapped so that the tests can see what password.ts asks of it.
vi.mock('@node-rs/argon2', async (importOriginal) => {
  const actual = await importOriginal<typeof import('@node-rs/argon2')>();
  return { ...actual, hash: vi.fn(actual.hash), verify: vi.fn(actual.verify) };
});

const verifySpy = vi.mocked(argon2.verify);

/** OWASP Password Storage Cheat Sheet parameters (7 MiB, 5 passes; Keycloak's default), as a PHC string. */
const PHC = /^\$argon2id\$v=19\$m=7168,t=5,p=1\$[A-Za-z0-9+/]{16,}\$[A-Za-z0-9+/]{32,}$/;

const PASSWORD = 'correct horse battery staple';

describe('hashPassword', () => {
  it('produces an argon2id PHC string with m=7168, t=5, p=1', async () => {
    const hash = await hashPassword(PASSWORD);
    expect(hash).toMatch(PHC);
    expect(hash).not.toContain(PASSWORD);
  });

  it('salts: the same password hashes differently each time, and both verify', async () => {
    const [a, b] = await Promise.all([hashPassword(PASSWORD), hashPassword(PASSWORD)]);
    expect(a).not.toBe(b);
    expect(a.split('$')[4]).not.toBe(b.split('$')[4]);
    expect(await checkPassword(a, PASSWORD)).toBe(true);
    expect(await checkPassword(b, PASSWORD)).toBe(true);
  });
});

describe('checkPassword', () => {
  let stored: string;

  beforeAll(async () => {
    stored = await hashPassword(PASSWORD);
  });
  beforeEach(() => {
    verifySpy.mockClear();
  });

  it('is true for the right password', async () => {
    expect(await checkPassword(stored, PASSWORD)).toBe(true);
  });

  it.each([
    ['a wrong password', 'correct horse battery stapl'],
    ['a different case', PASSWORD.toUpperCase()],
    ['a trailing space', `${PASSWORD} `],
    ['the empty password', ''],
  ])('is false for %s', async (_what, attempt) => {
    expect(await checkPassword(stored, attempt)).toBe(false);
  });

  it('is false, not an exception, for a stored value that is not an argon2 hash', async () => {
    await expect(checkPassword('not-a-phc-string', PASSWORD)).resolves.toBe(false);
    await expect(checkPassword('', PASSWORD)).resolves.toBe(false);
  });

  describe('an unknown user (no hash)', () => {
    it('is false', async () => {
      expect(await checkPassword(undefined, PASSWORD)).toBe(false);
    });

    it('is false even for the password the dummy hash was made from', async () => {
      expect(await checkPassword(undefined, 'sesame-dummy-password-for-unknown-accounts')).toBe(false);
    });

    it('still runs argon2: it verifies the password against a dummy argon2id hash of the same cost', async () => {
      await checkPassword(undefined, 'some guess 123');
      expect(verifySpy).toHaveBeenCalledTimes(1);
      const [target, attempt] = verifySpy.mock.calls[0] as [string, string];
      expect(target).toMatch(PHC);
      expect(attempt).toBe('some guess 123');
    });

    it('takes time comparable to a wrong password (at least 30% of it, medians of 5)', async () => {
      await checkPassword(undefined, 'warm-up the dummy hash');
      await checkPassword(stored, 'warm-up a wrong password');
      const unknown: number[] = [];
      const wrong: number[] = [];
      for (let i = 0; i < 5; i++) {
        let start = performance.now();
        await checkPassword(undefined, `guess number ${i}`);
        unknown.push(performance.now() - start);
        start = performance.now();
        await checkPassword(stored, `guess number ${i}`);
        wrong.push(performance.now() - start);
      }
      const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[2] as number;
      const ratio = median(unknown) / median(wrong);
      expect(ratio, `unknown ${unknown.join(', ')} ms; wrong ${wrong.join(', ')} ms`).toBeGreaterThanOrEqual(
        0.3,
      );
    });
  });

  describe(`passwords over ${MAX_PASSWORD_BYTES} bytes`, () => {
    it('a password of exactly 1024 bytes is checked (true when right)', async () => {
      const max = 'a'.repeat(1024);
      expect(await checkPassword(await hashPassword(max), max)).toBe(true);
    });

    it('1025 bytes is false, even when the stored hash is of that very password, and no argon2 runs', async () => {
      const long = 'a'.repeat(1025);
      const hash = await hashPassword(long); // hashPassword itself does not refuse; the check must
      verifySpy.mockClear();
      expect(await checkPassword(hash, long)).toBe(false);
      expect(await checkPassword(undefined, long)).toBe(false);
      expect(verifySpy).not.toHaveBeenCalled();
    });

    it('counts UTF-8 bytes, not characters: 342 × “€” (1026 bytes, 342 characters) is false', async () => {
      const euros = '€'.repeat(342);
      expect(euros.length).toBeLessThan(MAX_PASSWORD_BYTES);
      const hash = await hashPassword(euros);
      expect(await checkPassword(hash, euros)).toBe(false);
    });
  });
});

describe('passwordFits', () => {
  it('is true up to 1024 UTF-8 bytes and false beyond', () => {
    expect(MAX_PASSWORD_BYTES).toBe(1024);
    expect(passwordFits('')).toBe(true);
    expect(passwordFits('a'.repeat(1024))).toBe(true);
    expect(passwordFits('a'.repeat(1025))).toBe(false);
    expect(passwordFits('é'.repeat(512))).toBe(true); // 2 bytes each
    expect(passwordFits(`${'é'.repeat(512)}a`)).toBe(false);
    expect(passwordFits('€'.repeat(342))).toBe(false); // 3 bytes each
  });
});
