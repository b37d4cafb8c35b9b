import type { SigningAlg } from '../config/schema.js';
import { writeEvent } from '../events/log.js';
import { type Keystore, keyStatus } from '../keys/keystore.js';
import { KEY_CHANGES, rotateKey } from '../keys/rotation.js';
import type { SigningKeyRecord, Storage } from '../storage/types.js';
import type { Clock } from '../util/clock.js';
import { NotFoundError, ValidationError } from './errors.js';

/** What key operations need: storage, the keystore, and how keys rotate. */
export interface KeyContext {
  storage: Storage;
  keys: Keystore;
  clock: Clock;
  encryptionKey: Buffer;
  activationDelay: number;
  algorithms: readonly SigningAlg[];
}

/** The key context of a runtime or a server's dependencies. */
export function keyContext(d: {
  storage: Storage;
  keys: Keystore;
  clock: Clock;
  encryptionKey: Buffer;
  config: { keys: { activationDelay: number; algorithms: SigningAlg[] } };
}): KeyContext {
  const { storage, keys, clock, encryptionKey } = d;
  return { storage, keys, clock, encryptionKey, ...d.config.keys };
}

/** Every signing key ever made (revoked and expired ones too), newest first. */
export function listKeys(ctx: KeyContext): Promise<SigningKeyRecord[]> {
  return ctx.storage.signingKeys.listAll();
}

/** One key by kid, or NotFoundError. */
export async function getKey(ctx: KeyContext, kid: string): Promise<SigningKeyRecord> {
  const key = await ctx.storage.signingKeys.get(kid);
  if (!key) throw new NotFoundError(`signing key ${kid} not found`);
  return key;
}

/** The longest lifetime a token signed now can have: the longest API token lifetime, at least `floor`. */
export async function longestTokenLifetime(storage: Storage, floor: number): Promise<number> {
  const apis = await storage.apis.list();
  return Math.max(floor, ...apis.map((a) => a.tokenLifetime));
}

/**
 * The algorithms a rotation without one named covers: those configured (`keys.algorithms`) and
 * those of every key still published, since an API may sign with one made on first use.
 */
export async function rotationAlgorithms(ctx: KeyContext): Promise<SigningAlg[]> {
  const inUse = new Set<SigningAlg>(ctx.algorithms);
  for (const key of await ctx.storage.signingKeys.listPublished(ctx.clock.now())) inUse.add(key.alg);
  return [...inUse];
}

/** Rotates the keys of `algs`: new keys are published now and sign after the activation delay. */
export async function rotateKeys(
  ctx: KeyContext,
  algs: readonly SigningAlg[],
  defaultLifetime: number,
): Promise<SigningKeyRecord[]> {
  const lifetime = await longestTokenLifetime(ctx.storage, defaultLifetime);
  const rotated: SigningKeyRecord[] = [];
  for (const alg of algs) {
    rotated.push(
      await rotateKey({
        storage: ctx.storage,
        encryptionKey: ctx.encryptionKey,
        clock: ctx.clock,
        alg,
        activationDelay: ctx.activationDelay,
        maxTokenLifetime: lifetime,
      }),
    );
  }
  for (const key of rotated) {
    await writeEvent(ctx.storage.logs, ctx.clock, {
      type: 'signing_key_rotated',
      details: { kid: key.kid, alg: key.alg, activates_at: new Date(key.activatesAt * 1000).toISOString() },
    });
  }
  await ctx.keys.refresh();
  return rotated;
}

/**
 * A rotation's new key was revoked before it signed: the key it was to replace (the newest of
 * its algorithm set to retire when it began to sign) takes over its schedule instead: it signs
 * on, until the revoked key would have retired (never, unless a later rotation comes), and stays
 * published as long as that one would have. So a key that signs is always one published before.
 */
async function keepSigning(tx: Storage, revoked: SigningKeyRecord, now: number): Promise<void> {
  let replaced: SigningKeyRecord | undefined;
  for (const k of await tx.signingKeys.listPublished(now)) {
    if (k.alg !== revoked.alg || k.kid === revoked.kid || k.retiresAt !== revoked.activatesAt) continue;
    if (!replaced || k.activatesAt > replaced.activatesAt) replaced = k;
  }
  if (replaced) await tx.signingKeys.retire(replaced.kid, revoked.retiresAt, revoked.publishedUntil);
}

/**
 * Revokes a key: it leaves the JWKS at once and whatever it signed stops verifying here (other
 * instances within keys.cacheTtl seconds). Revoking the key that signs now puts a new one in
 * its place at once.
 */
export async function revokeKey(ctx: KeyContext, kid: string): Promise<SigningKeyRecord> {
  const already = new ValidationError(`signing key ${kid} is revoked already`);
  if ((await getKey(ctx, kid)).revokedAt !== null) throw already;
  const now = ctx.clock.now();
  const key = await ctx.storage.transaction(async (tx) => {
    // After another rotation or revocation: the key as it left it (its schedule, or revoked).
    await tx.settings.hold(KEY_CHANGES, now);
    const key = await tx.signingKeys.get(kid);
    if (!key) throw new NotFoundError(`signing key ${kid} not found`);
    if (!(await tx.signingKeys.revoke(kid, now))) throw already;
    if (keyStatus(key, now) === 'next') await keepSigning(tx, key, now);
    await writeEvent(tx.logs, ctx.clock, { type: 'signing_key_revoked', details: { kid, alg: key.alg } });
    return key;
  });
  const status = keyStatus(key, now);
  await ctx.keys.refresh();
  // Only a key that signed needs a successor at once: revoking a next or retiring one leaves the
  // current key signing, and makes no key for an algorithm no longer in use.
  if (status === 'current') await ctx.keys.ensure([key.alg]);
  return { ...key, revokedAt: now };
}
