import { createLocalJWKSet, type JSONWebKeySet, jwtVerify } from 'jose';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { deriveEncryptionKey, KeyDecryptionError } from '../../../src/keys/encryption.js';
import { jwks } from '../../../src/keys/jwks.js';
import { currentKey, Keystore, keyStatus } from '../../../src/keys/keystore.js';
import { rotateKey } from '../../../src/keys/rotation.js';
import type { SigningKeyRecord, Storage } from '../../../src/storage/types.js';
import { signJwt, verifyJwt } from '../../../src/tokens/jwt.js';
import { TestClock } from '../../support/app.js';
import { createTestDatabase, type TestDatabase } from '../../support/databases.js';

const T0 = 1_750_000_000;
const encryptionKey = deriveEncryptionKey('keystore-test-secret-0123456789abcdef');

let db: TestDatabase;
let storage: Storage;
let clock: TestClock;
const opened: Storage[] = [];

beforeEach(async () => {
  clock = new TestClock(T0);
  db = await createTestDatabase('sqlite');
  storage = db.open(clock);
  await storage.migrate();
});

afterEach(async () => {
  for (const s of opened.splice(0)) await s.close();
  await storage.close();
  await db.drop();
});

const keystore = (cacheTtl = 5, s: Storage = storage, key = encryptionKey) =>
  new Keystore({ repo: s.signingKeys, encryptionKey: key, clock, cacheTtl });

const rotate = (maxTokenLifetime = 3600) =>
  rotateKey({ storage, encryptionKey, clock, alg: 'ES256', activationDelay: 60, maxTokenLifetime });

/** Proves the signer's key is in the published JWKS by verifying a token through it with jose. */
async function verifiesThroughJwks(ks: Keystore, alg: 'ES256' | 'RS256' | 'PS256' | 'EdDSA') {
  const signer = await ks.signer(alg);
  const token = signJwt(signer, { sub: 'x' });
  const set = createLocalJWKSet(jwks(await ks.published()) as unknown as JSONWebKeySet);
  const { protectedHeader } = await jwtVerify(token, set, { algorithms: [alg] });
  return protectedHeader.kid;
}

describe('Keystore.ensure', () => {
  it('creates one key per algorithm, signing at once, and only once', async () => {
    const ks = keystore();
    const created = await ks.ensure(['ES256', 'RS256', 'PS256', 'EdDSA']);
    expect(created.map((k) => k.alg)).toEqual(['ES256', 'RS256', 'PS256', 'EdDSA']);
    for (const k of created) {
      expect(k.activatesAt).toBe(T0);
      expect(k.createdAt).toBe(T0);
      expect(k.retiresAt).toBeNull();
      expect(k.publishedUntil).toBeNull();
      expect(k.publicJwk).toMatchObject({ kid: k.kid, alg: k.alg, use: 'sig' });
      expect(JSON.stringify(k.publicJwk)).not.toMatch(/"d"/);
      expect(k.privateKeyEncrypted.startsWith('v1.')).toBe(true);
    }
    expect(new Set(created.map((k) => k.kid)).size).toBe(4);

    expect(await ks.ensure(['ES256', 'RS256', 'PS256', 'EdDSA'])).toEqual([]);
    clock.advance(100);
    expect(await keystore().ensure(['ES256', 'EdDSA'])).toEqual([]);
    expect(await storage.signingKeys.listPublished(clock.now())).toHaveLength(4);
  });

  it('creates only the algorithms asked for', async () => {
    const ks = keystore();
    await ks.ensure(['EdDSA']);
    expect((await ks.published()).map((k) => k.alg)).toEqual(['EdDSA']);
  });
});

describe('Keystore.signer', () => {
  it('returns the current key for the algorithm, imported once', async () => {
    const ks = keystore();
    const [es, rs] = (await ks.ensure(['ES256', 'RS256'])) as [SigningKeyRecord, SigningKeyRecord];
    const signer = await ks.signer('ES256');
    expect(signer.kid).toBe(es.kid);
    expect(signer.alg).toBe('ES256');
    expect(signer.key.type).toBe('private');
    expect(await ks.signer('ES256')).toBe(signer);
    expect((await ks.signer('RS256')).kid).toBe(rs.kid);
    expect(await verifiesThroughJwks(ks, 'ES256')).toBe(es.kid);
    expect(await verifiesThroughJwks(ks, 'RS256')).toBe(rs.kid);
  });

  it('creates a first key when there is none', async () => {
    const ks = keystore();
    const signer = await ks.signer('PS256');
    const stored = await storage.signingKeys.listPublished(T0);
    expect(stored.map((k) => [k.kid, k.alg])).toEqual([[signer.kid, 'PS256']]);
  });

  it('tokens it signs verify with verifier(kid)', async () => {
    const ks = keystore();
    await ks.ensure(['EdDSA']);
    const signer = await ks.signer('EdDSA');
    await ks.prepare(signer.kid);
    const token = signJwt(signer, { sub: 'y' });
    expect(verifyJwt(token, (kid) => ks.verifier(kid))?.payload).toEqual({ sub: 'y' });
  });

  it('fails with KeyDecryptionError under another secret', async () => {
    await keystore().ensure(['ES256']);
    const wrong = keystore(5, storage, deriveEncryptionKey('a-different-secret-0123456789abcdef'));
    await expect(wrong.signer('ES256')).rejects.toBeInstanceOf(KeyDecryptionError);
  });
});

describe('rotation (activationDelay 60)', () => {
  it('publishes the new key at once; the old one signs until activatesAt, then the new one', async () => {
    const ks = keystore(5);
    const [old] = (await ks.ensure(['ES256'])) as [SigningKeyRecord];
    expect((await ks.signer('ES256')).kid).toBe(old.kid);

    const next = await rotate(3600);
    expect(next.kid).not.toBe(old.kid);
    expect(next.activatesAt).toBe(T0 + 60);
    await ks.refresh();

    // Both keys in the JWKS, the old one marked to retire when the new one activates.
    const published = await ks.published();
    expect(jwks(published).keys.map((k) => k.kid)).toEqual([old.kid, next.kid]);
    const oldRecord = published.find((k) => k.kid === old.kid)!;
    expect(oldRecord.retiresAt).toBe(T0 + 60);
    expect(oldRecord.publishedUntil).toBe(T0 + 60 + 3600);
    expect(keyStatus(oldRecord, T0)).toBe('current');
    expect(keyStatus(published.find((k) => k.kid === next.kid)!, T0)).toBe('next');

    // The next key does not count as missing: ensure() creates nothing.
    expect(await ks.ensure(['ES256'])).toEqual([]);

    expect((await ks.signer('ES256')).kid).toBe(old.kid);
    clock.advance(59);
    expect((await ks.signer('ES256')).kid).toBe(old.kid);
    clock.advance(1);
    expect((await ks.signer('ES256')).kid).toBe(next.kid);
    expect(await verifiesThroughJwks(ks, 'ES256')).toBe(next.kid);
    expect(keyStatus(oldRecord, clock.now())).toBe('retiring');
  });

  it('keeps the retired key published until publishedUntil, then drops it', async () => {
    const ks = keystore(5);
    const [old] = (await ks.ensure(['ES256'])) as [SigningKeyRecord];
    const oldToken = signJwt(await ks.signer('ES256'), { sub: 'old' });
    const next = await rotate(600);
    const until = T0 + 60 + 600;

    clock.t = until - 1;
    await ks.refresh();
    expect((await ks.published()).map((k) => k.kid)).toEqual([old.kid, next.kid]);
    expect(ks.verifier(old.kid)?.kid).toBe(old.kid);
    expect(verifyJwt(oldToken, (kid) => ks.verifier(kid))?.payload).toEqual({ sub: 'old' });

    // Within cacheTtl the instance still serves what it loaded.
    clock.t = until;
    expect((await ks.published()).map((k) => k.kid)).toEqual([old.kid, next.kid]);
    await ks.refresh();
    expect((await ks.published()).map((k) => k.kid)).toEqual([next.kid]);
    expect(ks.verifier(old.kid)).toBeUndefined();
    expect(verifyJwt(oldToken, (kid) => ks.verifier(kid))).toBeNull();
    expect((await ks.signer('ES256')).kid).toBe(next.kid);
  });

  it('rotating one algorithm leaves the others alone', async () => {
    const ks = keystore(0);
    const [es, ed] = (await ks.ensure(['ES256', 'EdDSA'])) as [SigningKeyRecord, SigningKeyRecord];
    await rotate();
    const edRecord = (await ks.published()).find((k) => k.kid === ed.kid)!;
    expect(edRecord.retiresAt).toBeNull();
    expect(edRecord.publishedUntil).toBeNull();
    clock.advance(60);
    expect((await ks.signer('EdDSA')).kid).toBe(ed.kid);
    expect((await ks.signer('ES256')).kid).not.toBe(es.kid);
  });
});

describe('cacheTtl', () => {
  it('a rotation shows in another instance only once its cache has expired', async () => {
    const writer = keystore(5);
    const [old] = (await writer.ensure(['ES256'])) as [SigningKeyRecord];
    const second = db.open(clock);
    opened.push(second);
    const reader = keystore(30, second);
    expect((await reader.published()).map((k) => k.kid)).toEqual([old.kid]);

    const next = await rotate();
    expect((await reader.published()).map((k) => k.kid)).toEqual([old.kid]);
    clock.advance(29);
    expect((await reader.published()).map((k) => k.kid)).toEqual([old.kid]);
    clock.advance(1);
    expect((await reader.published()).map((k) => k.kid)).toEqual([old.kid, next.kid]);
  });

  it('prepare(kid) looks again for an unknown kid at once, then at most once a second', async () => {
    const ks = keystore(300);
    await ks.ensure(['ES256']);
    const first = await rotate();
    expect(ks.verifier(first.kid)).toBeUndefined();
    await ks.prepare(first.kid);
    expect(ks.verifier(first.kid)?.kid).toBe(first.kid);
    // A second unknown kid within the same second waits: unknown kids cannot hammer the database.
    const second = await rotate();
    await ks.prepare(second.kid);
    expect(ks.verifier(second.kid)).toBeUndefined();
    await new Promise((r) => setTimeout(r, 1050));
    await ks.prepare(second.kid);
    expect(ks.verifier(second.kid)?.kid).toBe(second.kid);
  });

  it('cacheTtl 0 reads the database every time', async () => {
    const ks = keystore(0);
    const [old] = (await ks.ensure(['ES256'])) as [SigningKeyRecord];
    const next = await rotate();
    expect((await ks.published()).map((k) => k.kid)).toEqual([old.kid, next.kid]);
  });
});

describe('currentKey', () => {
  const rec = (kid: string, activatesAt: number, retiresAt: number | null = null): SigningKeyRecord => ({
    kid,
    alg: 'ES256',
    publicJwk: {},
    privateKeyEncrypted: '',
    createdAt: 0,
    activatesAt,
    retiresAt,
    publishedUntil: retiresAt === null ? null : retiresAt + 100,
    revokedAt: null,
  });

  it('picks the newest active key of the algorithm', () => {
    const keys = [rec('a', 10, 50), rec('b', 50), rec('c', 90), { ...rec('d', 60), alg: 'RS256' as const }];
    expect(currentKey(keys, 'ES256', 49)?.kid).toBe('a');
    expect(currentKey(keys, 'ES256', 50)?.kid).toBe('b');
    expect(currentKey(keys, 'ES256', 90)?.kid).toBe('c');
    expect(currentKey(keys, 'ES256', 5)).toBeUndefined();
    expect(currentKey(keys, 'RS256', 60)?.kid).toBe('d');
    expect(currentKey(keys, 'EdDSA', 60)).toBeUndefined();
  });

  it('breaks a tie on activatesAt by the greater kid', () => {
    expect(currentKey([rec('m', 10), rec('z', 10), rec('a', 10)], 'ES256', 10)?.kid).toBe('z');
  });
});
