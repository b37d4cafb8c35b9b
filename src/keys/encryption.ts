import { createCipheriv, createDecipheriv, hkdfSync, randomBytes } from 'node:crypto';
import { chmodSync, existsSync, linkSync, readFileSync, unlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

import { ConfigError } from '../config/load.js';
import { makePrivateDir } from '../storage/file-modes.js';
import type { SigningKeyRecord } from '../storage/types.js';
import { randomBuffer } from '../util/crypto.js';

const VERSION = 'v1';

/** The AES-256-GCM key that protects private keys at rest, derived from the configured secret. */
export function deriveEncryptionKey(secret: string): Buffer {
  return Buffer.from(hkdfSync('sha256', Buffer.from(secret, 'utf8'), 'sesame', 'signing-key-encryption', 32));
}

/** Encrypts `plaintext`; `aad` (the key id) is authenticated with it. */
export function encrypt(key: Buffer, plaintext: string, aad: string): string {
  const iv = randomBuffer(12);
  const cipher = createCipheriv('aes-256-gcm', key, iv);
  cipher.setAAD(Buffer.from(aad, 'utf8'));
  const ct = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()]);
  return [
    VERSION,
    iv.toString('base64url'),
    cipher.getAuthTag().toString('base64url'),
    ct.toString('base64url'),
  ].join('.');
}

/** Raised when a stored private key cannot be decrypted with this secret. */
export class KeyDecryptionError extends Error {
  override name = 'KeyDecryptionError';
}

/** Decrypts what `encrypt` produced; throws KeyDecryptionError on a wrong secret or tampering. */
export function decrypt(key: Buffer, blob: string, aad: string): string {
  const [version, iv, tag, ct] = blob.split('.');
  if (version !== VERSION || !iv || !tag || ct === undefined)
    throw new KeyDecryptionError('unknown key format');
  try {
    const decipher = createDecipheriv('aes-256-gcm', key, Buffer.from(iv, 'base64url'));
    decipher.setAAD(Buffer.from(aad, 'utf8'));
    decipher.setAuthTag(Buffer.from(tag, 'base64url'));
    return Buffer.concat([decipher.update(Buffer.from(ct, 'base64url')), decipher.final()]).toString('utf8');
  } catch {
    throw new KeyDecryptionError(
      `signing key ${aad} cannot be decrypted: SESAME_SECRET (or DATA_DIR/secret) is not the secret it was encrypted with`,
    );
  }
}

/**
 * The secret that opens the stored private keys: from configuration, or else DATA_DIR/secret,
 * which is made (256 random bits, mode 0600) only while the database holds no live key. It must
 * open one of the `live` (not revoked) keys: a CLI run, or an instance, with another secret (or
 * none where the keys were made with SESAME_SECRET) would otherwise make keys no one else can
 * open, and token requests would fail. One is enough, so that a key made earlier with a wrong
 * secret can still be revoked with the right one.
 */
export function keySecret(configured: string | undefined, dataDir: string, live: SigningKeyRecord[]): Buffer {
  const fix = 'set SESAME_SECRET (or DATA_DIR/secret) to the secret they were made with';
  const file = join(dataDir, 'secret');
  if (!configured && live.length > 0 && !existsSync(file)) {
    throw new ConfigError(
      `the database holds signing keys, but no secret is set and ${file} does not exist: ${fix}`,
    );
  }
  const key = deriveEncryptionKey(loadSecret(configured, dataDir));
  if (live.length > 0 && !live.some((k) => opens(key, k))) {
    throw new ConfigError(`the database's signing keys were made with another secret than this one: ${fix}`);
  }
  return key;
}

function opens(key: Buffer, record: SigningKeyRecord): boolean {
  try {
    decrypt(key, record.privateKeyEncrypted, record.kid);
    return true;
  } catch (err) {
    if (err instanceof KeyDecryptionError) return false;
    throw err;
  }
}

/**
 * The secret from configuration, or else the one in DATA_DIR/secret, created on first use
 * with 256 random bits and mode 0600.
 */
export function loadSecret(configured: string | undefined, dataDir: string): string {
  if (configured) return configured;
  makePrivateDir(dataDir);
  const file = join(dataDir, 'secret');
  // Written whole under a temporary name, then linked into place: a process starting at the
  // same moment sees either no file or the complete one, and exactly one secret wins.
  const tmp = `${file}.${process.pid}.${randomBytes(6).toString('hex')}`;
  writeFileSync(tmp, `${randomBytes(32).toString('base64url')}\n`, { mode: 0o600 });
  try {
    linkSync(tmp, file);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
  } finally {
    unlinkSync(tmp);
  }
  chmodSync(file, 0o600);
  const secret = readFileSync(file, 'utf8').trim();
  if (secret.length < 32) throw new ConfigError(`${file}: the secret must be at least 32 characters`);
  return secret;
}
