import { randomBytes } from 'node:crypto';
import { calculateJwkThumbprint, type JWK } from 'jose';
import { describe, expect, it } from 'vitest';
import { generateSigningKey } from '../../../src/keys/generate.js';

describe('generateSigningKey', () => {
  it('names each key by its RFC 7638 thumbprint, never one that starts with - (read as a CLI option)', async () => {
    const encryptionKey = randomBytes(32);
    const times = { now: 1_000, activatesAt: 1_000 };
    // Without the check, one thumbprint in 64 starts with -: 400 keys would meet one 99.8% of the time.
    const keys = await Promise.all(
      Array.from({ length: 400 }, () => generateSigningKey('ES256', encryptionKey, times)),
    );
    for (const key of keys) {
      expect(key.kid.startsWith('-'), key.kid).toBe(false);
      const { kid: _kid, alg: _alg, use: _use, ...jwk } = key.publicJwk as JWK;
      expect(await calculateJwkThumbprint(jwk, 'sha256')).toBe(key.kid);
    }
    expect(new Set(keys.map((k) => k.kid)).size).toBe(400);
  });
});
