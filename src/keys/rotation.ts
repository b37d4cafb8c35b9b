import type { SigningAlg } from '../config/schema.js';
import type { SigningKeyRecord, Storage } from '../storage/types.js';
import type { Clock } from '../util/clock.js';
import { generateSigningKey } from './generate.js';
import { type KeystoreOptions, keyStatus } from './keystore.js';

/**
 * The row a rotation or a revocation locks first (the settings table's, as the tenant settings
 * do), so that on PostgreSQL one waits for the other and reads what it wrote: a revocation of a
 * next key hands its schedule back to the key it replaced, which a rotation at once would also
 * change.
 */
export const KEY_CHANGES = 'signing-key-changes';

/** The keystore's `changes`: new keys made in a transaction that holds `KEY_CHANGES` first. */
export const keyChanges =
  (storage: Storage, clock: Clock): KeystoreOptions['changes'] =>
  (make) =>
    storage.transaction(async (tx) => {
      await tx.settings.hold(KEY_CHANGES, clock.now());
      await make(tx.signingKeys);
    });

export interface RotateOptions {
  storage: Storage;
  encryptionKey: Buffer;
  clock: Clock;
  alg: SigningAlg;
  /** Seconds the new key is published before it signs, so JWKS caches pick it up first. */
  activationDelay: number;
  /** Longest lifetime of a token the old key may have signed; it stays published that long after. */
  maxTokenLifetime: number;
}

/**
 * Rotates the key for one algorithm: the new key is published at once and signs after
 * `activationDelay`; the keys it replaces stop signing then and stay in the JWKS until every
 * token they signed has expired.
 */
export async function rotateKey(opts: RotateOptions): Promise<SigningKeyRecord> {
  const now = opts.clock.now();
  const activatesAt = now + opts.activationDelay;
  const key = await generateSigningKey(opts.alg, opts.encryptionKey, { now, activatesAt });
  await opts.storage.transaction(async (tx) => {
    await tx.settings.hold(KEY_CHANGES, now);
    await tx.signingKeys.insert(key);
    for (const old of await tx.signingKeys.listPublished(now)) {
      if (old.kid === key.kid || old.alg !== opts.alg || old.retiresAt !== null) continue;
      if (keyStatus(old, now) === 'retiring') continue;
      await tx.signingKeys.retire(old.kid, activatesAt, activatesAt + opts.maxTokenLifetime);
    }
  });
  return key;
}
