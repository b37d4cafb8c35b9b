import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { ConfigError } from '../../../src/config/load.js';
import {
  decrypt,
  deriveEncryptionKey,
  encrypt,
  KeyDecryptionError,
  keySecret,
  loadSecret,
} from '../../../src/keys/encryption.js';
import type { SigningKeyRecord } from '../../../src/storage/types.js';

const SECRET = 'a-test-secret-that-is-long-enough-0123456789';
const PEM =
  '-----BEGIN PRIVATE KEY-----\nMC4CAQAwBQYDK2VwBCIEIFakeFakeFakeFakeFakeFakeFakeFakeFake\n-----END PRIVATE KEY-----\n';

function caught(fn: () => unknown): Error {
  try {
    fn();
  } catch (err) {
    return err as Error;
  }
  throw new Error('expected an error');
}

describe('deriveEncryptionKey', () => {
  it('derives a stable 32-byte key per secret', () => {
    const a = deriveEncryptionKey(SECRET);
    expect(a).toHaveLength(32);
    expect(deriveEncryptionKey(SECRET).equals(a)).toBe(true);
    expect(deriveEncryptionKey(`${SECRET}x`).equals(a)).toBe(false);
  });
});

describe('encrypt / decrypt', () => {
  const key = deriveEncryptionKey(SECRET);

  it('round-trips', () => {
    const blob = encrypt(key, PEM, 'kid-1');
    expect(decrypt(key, blob, 'kid-1')).toBe(PEM);
  });

  it('writes v1.iv.tag.ciphertext without the plaintext, with a fresh IV each time', () => {
    const a = encrypt(key, PEM, 'kid-1');
    const b = encrypt(key, PEM, 'kid-1');
    const parts = a.split('.');
    expect(parts).toHaveLength(4);
    expect(parts[0]).toBe('v1');
    expect(Buffer.from(parts[1]!, 'base64url')).toHaveLength(12);
    expect(Buffer.from(parts[2]!, 'base64url')).toHaveLength(16);
    expect(a).not.toContain('PRIVATE KEY');
    expect(a).not.toBe(b);
    expect(decrypt(key, b, 'kid-1')).toBe(PEM);
  });

  it('round-trips an empty and a non-ASCII plaintext', () => {
    expect(decrypt(key, encrypt(key, '', 'k'), 'k')).toBe('');
    expect(decrypt(key, encrypt(key, 'clé ✓', 'k'), 'k')).toBe('clé ✓');
  });

  it('a wrong secret fails with KeyDecryptionError naming the key and SESAME_SECRET', () => {
    const blob = encrypt(key, PEM, 'kid-1');
    const err = caught(() => decrypt(deriveEncryptionKey(`other-${SECRET}`), blob, 'kid-1'));
    expect(err).toBeInstanceOf(KeyDecryptionError);
    expect(err.name).toBe('KeyDecryptionError');
    expect(err.message).toBe(
      'signing key kid-1 cannot be decrypted: SESAME_SECRET (or DATA_DIR/secret) is not the secret it was encrypted with',
    );
  });

  it('a wrong aad (another key id) fails', () => {
    const blob = encrypt(key, PEM, 'kid-1');
    const err = caught(() => decrypt(key, blob, 'kid-2'));
    expect(err).toBeInstanceOf(KeyDecryptionError);
    expect(err.message).toContain('signing key kid-2 cannot be decrypted');
  });

  it('tampered ciphertext or tag fails', () => {
    const [v, iv, tag, ct] = encrypt(key, PEM, 'k').split('.') as [string, string, string, string];
    const flip = (s: string) => {
      const b = Buffer.from(s, 'base64url');
      b[0] = (b[0] ?? 0) ^ 1;
      return b.toString('base64url');
    };
    expect(() => decrypt(key, [v, iv, tag, flip(ct)].join('.'), 'k')).toThrow(KeyDecryptionError);
    expect(() => decrypt(key, [v, iv, flip(tag), ct].join('.'), 'k')).toThrow(KeyDecryptionError);
    expect(() => decrypt(key, [v, flip(iv), tag, ct].join('.'), 'k')).toThrow(KeyDecryptionError);
  });

  it.each([
    ['another version', (b: string) => b.replace(/^v1\./, 'v2.')],
    ['missing parts', (b: string) => b.split('.').slice(0, 2).join('.')],
    ['not a blob at all', () => 'plain-text'],
  ])('an unknown format (%s) fails with KeyDecryptionError', (_name, mangle) => {
    const err = caught(() => decrypt(key, mangle(encrypt(key, PEM, 'k')), 'k'));
    expect(err).toBeInstanceOf(KeyDecryptionError);
    expect(err.message).toBe('unknown key format');
  });
});

describe('loadSecret', () => {
  const dirs: string[] = [];
  const tempDir = () => {
    const d = mkdtempSync(join(tmpdir(), 'sesame-secret-'));
    dirs.push(d);
    return d;
  };
  afterEach(() => {
    for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
  });

  it('returns the configured secret and writes nothing', () => {
    const dir = tempDir();
    expect(loadSecret(SECRET, dir)).toBe(SECRET);
    expect(() => statSync(join(dir, 'secret'))).toThrow();
  });

  it('creates DATA_DIR/secret once with mode 0600 and reuses it', () => {
    const dir = join(tempDir(), 'nested', 'data');
    const first = loadSecret(undefined, dir);
    const file = join(dir, 'secret');
    expect(statSync(file).mode & 0o777).toBe(0o600);
    expect(first.length).toBeGreaterThanOrEqual(32);
    expect(Buffer.from(first, 'base64url')).toHaveLength(32);
    expect(readFileSync(file, 'utf8')).toBe(`${first}\n`);

    const second = loadSecret(undefined, dir);
    expect(second).toBe(first);
    expect(readFileSync(file, 'utf8')).toBe(`${first}\n`);
  });

  it('an empty configured secret falls back to the file', () => {
    const dir = tempDir();
    const fromFile = loadSecret(undefined, dir);
    expect(loadSecret('', dir)).toBe(fromFile);
  });

  it('gives each data directory its own secret', () => {
    expect(loadSecret(undefined, tempDir())).not.toBe(loadSecret(undefined, tempDir()));
  });

  it('tightens the mode of an existing secret file to 0600 and reads it trimmed', () => {
    const dir = tempDir();
    const file = join(dir, 'secret');
    const mine = 'x'.repeat(40);
    writeFileSync(file, `  ${mine}\n\n`, { mode: 0o644 });
    expect(loadSecret(undefined, dir)).toBe(mine);
    expect(statSync(file).mode & 0o777).toBe(0o600);
  });

  it('refuses a secret file shorter than 32 characters, naming the file', () => {
    const dir = tempDir();
    const file = join(dir, 'secret');
    writeFileSync(file, 'too-short\n', { mode: 0o600 });
    expect(() => loadSecret(undefined, dir)).toThrow(`${file}: the secret must be at least 32 characters`);
  });
});

describe('keySecret: the secret must open a live key of the database', () => {
  const OTHER = 'another-test-secret-long-enough-9876543210';
  const record = (kid: string, secret: string): SigningKeyRecord => ({
    kid,
    alg: 'EdDSA',
    publicJwk: {},
    privateKeyEncrypted: encrypt(deriveEncryptionKey(secret), PEM, kid),
    createdAt: 0,
    activatesAt: 0,
    retiresAt: null,
    publishedUntil: null,
    revokedAt: null,
  });
  const fresh = () => mkdtempSync(join(tmpdir(), 'sesame-keysecret-'));

  it('no key: any secret, and DATA_DIR/secret is made when none is set', () => {
    const dir = fresh();
    expect(keySecret(undefined, dir, [])).toHaveLength(32);
    expect(statSync(join(dir, 'secret')).mode & 0o777).toBe(0o600);
    rmSync(dir, { recursive: true });
  });

  it('a secret that opens one of the keys is enough (a key made with a wrong one can then be revoked)', () => {
    const key = keySecret(SECRET, fresh(), [record('wrong', OTHER), record('right', SECRET)]);
    expect(key.equals(deriveEncryptionKey(SECRET))).toBe(true);
  });

  it('a secret that opens none is refused, naming SESAME_SECRET', () => {
    const err = caught(() => keySecret(OTHER, fresh(), [record('k', SECRET)]));
    expect(err).toBeInstanceOf(ConfigError);
    expect(err.message).toMatch(/made with another secret than this one: set SESAME_SECRET/);
  });

  it('keys and no secret at all (none set, no DATA_DIR/secret): refused, and no secret file is made', () => {
    const dir = fresh();
    const err = caught(() => keySecret(undefined, dir, [record('k', SECRET)]));
    expect(err).toBeInstanceOf(ConfigError);
    expect(err.message).toMatch(/no secret is set and .*secret does not exist/);
    expect(() => statSync(join(dir, 'secret'))).toThrow();
    rmSync(dir, { recursive: true });
  });
});
