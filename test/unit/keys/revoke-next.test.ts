// Revoking a rotation's next key (before it signs): the key it was to replace takes over its
// schedule, so whatever signs was published before it signed, however rotations and
// revocations interleave.
import { afterEach, beforeEach, expect, it } from 'vitest';
import { type KeyContext, revokeKey, rotateKeys } from '../../../src/admin/keys.js';
import { deriveEncryptionKey } from '../../../src/keys/encryption.js';
import { Keystore, keyStatus } from '../../../src/keys/keystore.js';
import { keyChanges } from '../../../src/keys/rotation.js';
import type { Storage } from '../../../src/storage/types.js';
import { TestClock } from '../../support/app.js';
import { createTestDatabase, describeEachBackend, type TestDatabase } from '../../support/databases.js';

const T0 = 1_750_000_000;
const DELAY = 60;
const LIFETIME = 3600;

describeEachBackend('revoking a next key', (backend) => {
  let db: TestDatabase;
  let storage: Storage;
  let clock: TestClock;
  let ctx: KeyContext;

  beforeEach(async () => {
    clock = new TestClock(T0);
    db = await createTestDatabase(backend);
    storage = db.open(clock);
    await storage.migrate();
    const encryptionKey = deriveEncryptionKey('revoke-next-test-secret-0123456789abcdef');
    // as the runtime makes it: new keys are made under the lock rotations and revocations take
    const keys = new Keystore({
      repo: storage.signingKeys,
      encryptionKey,
      clock,
      cacheTtl: 0,
      changes: keyChanges(storage, clock),
    });
    ctx = { storage, keys, clock, encryptionKey, activationDelay: DELAY, algorithms: ['ES256'] };
    await keys.ensure(['ES256']); // the first key signs at once; the checks start a delay later
    clock.advance(DELAY);
  });

  afterEach(async () => {
    await storage.close();
    await db.drop();
  });

  const rotate = async () => (await rotateKeys(ctx, ['ES256'], LIFETIME))[0]!;

  /** The kid that signs now, after checking it was published a whole activation delay ago. */
  async function signing(): Promise<string> {
    const kid = (await ctx.keys.signer('ES256')).kid;
    const key = await storage.signingKeys.get(kid);
    expect(key?.createdAt, `${kid} signs, published at ${key?.createdAt}`).toBeLessThanOrEqual(
      clock.now() - DELAY,
    );
    return kid;
  }

  it('revoking the only next key leaves the current key signing, for good', async () => {
    const first = await signing();
    const next = await rotate();
    await revokeKey(ctx, next.kid);
    for (const step of [DELAY, 10 * LIFETIME]) {
      clock.advance(step);
      expect(await signing()).toBe(first);
    }
    expect((await storage.signingKeys.get(first))?.retiresAt).toBeNull();
  });

  it('two rotations in one second, the second revoked: the first new key signs at its time', async () => {
    const first = await signing();
    const a = await rotate();
    const b = await rotate();
    await revokeKey(ctx, b.kid);
    expect(await signing()).toBe(first);
    clock.advance(DELAY);
    expect(await signing()).toBe(a.kid);
    clock.advance(10 * LIFETIME);
    expect(await signing()).toBe(a.kid);
    expect((await storage.signingKeys.listPublished(clock.now())).map((k) => k.kid)).toEqual([a.kid]);
  });

  it('two rotations apart, the first revoked: the old key signs until the second takes over', async () => {
    const first = await signing();
    const a = await rotate();
    clock.advance(10);
    const b = await rotate();
    await revokeKey(ctx, a.kid);
    clock.advance(DELAY - 10); // a's time, had it not been revoked
    expect(await signing()).toBe(first);
    clock.advance(10); // b's time
    expect(await signing()).toBe(b.kid);
    // the old key stays published for the tokens it signed, as long as a would have been
    const old = await storage.signingKeys.get(first);
    expect(old?.retiresAt).toBe(b.activatesAt);
    expect(old?.publishedUntil).toBe(b.activatesAt + LIFETIME);
    clock.advance(LIFETIME + 1);
    expect((await storage.signingKeys.listPublished(clock.now())).map((k) => k.kid)).toEqual([b.kid]);
  });

  it('the signing key revoked while a rotation runs: its replacement, made at once, retires for the rotated one', async () => {
    for (let round = 0; round < 20; round++) {
      const current = await signing();
      // the revocation makes a key that signs at once; the rotation, one that signs after DELAY
      const [, next] = await Promise.all([revokeKey(ctx, current), rotate()]);
      const now = clock.now();
      expect(
        (await storage.signingKeys.listPublished(now)).filter((k) => keyStatus(k, now) === 'current'),
        `round ${round}: one key signs`,
      ).toHaveLength(1);
      clock.advance(DELAY);
      // the key made at once retired when the rotated one began: only that one signs
      const then = clock.now();
      expect(
        (await storage.signingKeys.listPublished(then))
          .filter((k) => keyStatus(k, then) === 'current')
          .map((k) => k.kid),
        `round ${round}: only the rotated key signs`,
      ).toEqual([next.kid]);
      expect(await signing()).toBe(next.kid);
    }
  });

  it('a revocation of the next key and a rotation at once: one key signs, and the replaced one retires', async () => {
    const first = await signing();
    for (let round = 0; round < 20; round++) {
      const next = await rotate();
      // on PostgreSQL both transactions run side by side unless they wait for each other
      await Promise.all([revokeKey(ctx, next.kid), rotate()]);
      clock.advance(DELAY);
      const now = clock.now();
      const published = await storage.signingKeys.listPublished(now);
      expect(
        published.filter((k) => keyStatus(k, now) === 'current').map((k) => k.kid),
        `round ${round}: one key signs`,
      ).toHaveLength(1);
      expect(await signing()).not.toBe(first);
      clock.advance(10 * LIFETIME);
      expect(
        (await storage.signingKeys.listPublished(clock.now())).map((k) => k.kid),
        `round ${round}: only the signing key stays published`,
      ).toEqual([await signing()]);
    }
  });
});
