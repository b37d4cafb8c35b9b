import { createPrivateKey, createPublicKey, type JsonWebKey } from 'node:crypto';
import type { SigningAlg } from '../config/schema.js';
import type { SigningKeyRecord, SigningKeyRepository } from '../storage/types.js';
import type { SigningKey, VerificationKey } from '../tokens/jwt.js';
import type { Clock } from '../util/clock.js';
import { decrypt } from './encryption.js';
import { generateSigningKey } from './generate.js';

/** The longest lifetime any token may have (the configuration's upper bound), in seconds. */
const MAX_TOKEN_LIFETIME = 2592000;

/** Where a key stands in its life at a moment. */
export type KeyStatus = 'next' | 'current' | 'retiring';

/** next: published, not yet signing; current: signs; retiring: published until its tokens expire. */
export function keyStatus(key: SigningKeyRecord, now: number): KeyStatus {
  if (key.activatesAt > now) return 'next';
  if (key.retiresAt !== null && key.retiresAt <= now) return 'retiring';
  return 'current';
}

/** The key that signs for `alg` at `now`: the newest active one. */
export function currentKey(
  keys: SigningKeyRecord[],
  alg: SigningAlg,
  now: number,
): SigningKeyRecord | undefined {
  let best: SigningKeyRecord | undefined;
  for (const k of keys) {
    if (k.alg !== alg || keyStatus(k, now) !== 'current') continue;
    if (!best || k.activatesAt > best.activatesAt || (k.activatesAt === best.activatesAt && k.kid > best.kid))
      best = k;
  }
  return best;
}

/** No current key signs for `alg` in a pinned keystore (see `Keystore.pinned`). */
export class KeyUnavailable extends Error {
  override name = 'KeyUnavailable';
  constructor(readonly alg: SigningAlg) {
    super(`no signing key for ${alg} yet`);
  }
}

export interface KeystoreOptions {
  repo: SigningKeyRepository;
  encryptionKey: Buffer;
  clock: Clock;
  /** Seconds between looks at the database for rotated keys. */
  cacheTtl: number;
  /**
   * Runs the making of keys as one change of the keys, after any rotation or revocation under way
   * (the lock they take, rotation.ts `KEY_CHANGES`); without it, straight on `repo`.
   */
  changes?: (make: (repo: SigningKeyRepository) => Promise<void>) => Promise<void>;
}

/**
 * The signing keys of every instance, read from the database and kept for `cacheTtl` seconds.
 * Private keys are decrypted and imported once per kid (house rule 11).
 */
export class Keystore {
  private records: SigningKeyRecord[] = [];
  private loadedAt = Number.NEGATIVE_INFINITY;
  private loading: Promise<void> | null = null;
  private ensuring: Promise<unknown> = Promise.resolve();
  /** performance.now() of the last reload for an unknown kid (at most one a second). */
  private lastMissAt = Number.NEGATIVE_INFINITY;
  private readonly privateKeys = new Map<string, SigningKey>();
  private readonly publicKeys = new Map<string, VerificationKey>();

  constructor(private readonly opts: KeystoreOptions) {}

  /** Reloads from the database now (after a rotation, or at start). */
  async refresh(): Promise<void> {
    const now = this.opts.clock.now();
    const records = await this.opts.repo.listPublished(now);
    this.records = records;
    this.loadedAt = now;
    const published = new Set(records.map((r) => r.kid));
    for (const kid of this.publicKeys.keys()) if (!published.has(kid)) this.publicKeys.delete(kid);
    for (const kid of this.privateKeys.keys()) if (!published.has(kid)) this.privateKeys.delete(kid);
    for (const r of records) {
      if (!this.publicKeys.has(r.kid)) {
        const key = createPublicKey({ key: r.publicJwk as JsonWebKey, format: 'jwk' });
        this.publicKeys.set(r.kid, { kid: r.kid, alg: r.alg, key });
      }
    }
  }

  private async fresh(): Promise<SigningKeyRecord[]> {
    if (this.opts.clock.now() - this.loadedAt >= this.opts.cacheTtl) {
      this.loading ??= this.refresh().finally(() => {
        this.loading = null;
      });
      await this.loading;
    }
    return this.records;
  }

  /** Every published key record (for the JWKS and `keys list`). */
  async published(): Promise<SigningKeyRecord[]> {
    return this.fresh();
  }

  /** The published records when they were read within `cacheTtl`, else null (then use published()). */
  publishedIfFresh(): SigningKeyRecord[] | null {
    return this.opts.clock.now() - this.loadedAt < this.opts.cacheTtl ? this.records : null;
  }

  /** The imported private key that signs for `alg` now; creates a first key if there is none. */
  async signer(alg: SigningAlg): Promise<SigningKey> {
    let record = currentKey(await this.fresh(), alg, this.opts.clock.now());
    if (!record) {
      await this.ensure([alg]);
      record = currentKey(this.records, alg, this.opts.clock.now());
      if (!record) throw new Error(`no signing key for ${alg}`);
    }
    return this.imported(record);
  }

  private imported(record: SigningKeyRecord): SigningKey {
    let key = this.privateKeys.get(record.kid);
    if (!key) {
      const pem = decrypt(this.opts.encryptionKey, record.privateKeyEncrypted, record.kid);
      key = { kid: record.kid, alg: record.alg, key: createPrivateKey(pem) };
      this.privateKeys.set(record.kid, key);
    }
    return key;
  }

  /**
   * This keystore as it stands, never going to the database: for signing inside a transaction
   * (on SQLite the transaction holds the only connection). Signing for an algorithm that has
   * no key yet throws KeyUnavailable, so that the caller makes one outside and tries again.
   */
  pinned(): Keystore {
    const view = Object.create(this) as Keystore;
    const records = this.records;
    view.signer = async (alg) => {
      const record = currentKey(records, alg, this.opts.clock.now());
      if (!record) throw new KeyUnavailable(alg);
      return this.imported(record);
    };
    view.prepare = async () => {};
    return view;
  }

  /** The public key for `kid`, if it is published (from the cache; see `refresh`). */
  verifier(kid: string): VerificationKey | undefined {
    return this.publicKeys.get(kid);
  }

  /**
   * Makes sure the cache is no older than `cacheTtl` before `verifier` is asked, and looks again
   * (at most once a second) when `kid` is not known yet: another instance may have just made it.
   */
  async prepare(kid?: string): Promise<void> {
    await this.fresh();
    if (kid !== undefined && !this.publicKeys.has(kid) && performance.now() - this.lastMissAt >= 1000) {
      this.lastMissAt = performance.now();
      await this.refresh();
    }
  }

  /**
   * Creates a key, signing at once, for each of `algs` that has no current key. One
   * creation at a time in this process, so that concurrent first requests make one key.
   */
  ensure(algs: readonly SigningAlg[]): Promise<SigningKeyRecord[]> {
    const run = this.ensuring.then(() => this.create(algs));
    this.ensuring = run.catch(() => {});
    return run;
  }

  private async create(algs: readonly SigningAlg[]): Promise<SigningKeyRecord[]> {
    const now = this.opts.clock.now();
    await this.refresh();
    const created: SigningKeyRecord[] = [];
    const missing = algs.filter(
      (alg) => !this.records.some((k) => k.alg === alg && keyStatus(k, now) === 'current'),
    );
    // Generated side by side on libuv's pool (two RSA-2048 keys take most of a first start).
    const keys = await Promise.all(
      missing.map((alg) => generateSigningKey(alg, this.opts.encryptionKey, { now, activatesAt: now })),
    );
    const make = async (repo: SigningKeyRepository) => {
      // read again once the other changes of the keys are done
      const records = await repo.listPublished(now);
      for (const key of keys) {
        const alg = key.alg;
        // another instance made one meanwhile: that one signs
        if (records.some((k) => k.alg === alg && keyStatus(k, now) === 'current')) continue;
        // A rotation made before any key signed (`keys rotate` before the first start): this key
        // signs until the rotated-in one activates, then stays published as long as a token can live.
        const next = records.find((k) => k.alg === alg && keyStatus(k, now) === 'next');
        if (next) {
          key.retiresAt = next.activatesAt;
          key.publishedUntil = next.activatesAt + MAX_TOKEN_LIFETIME;
        }
        await repo.insert(key);
        created.push(key);
      }
    };
    await (this.opts.changes ? this.opts.changes(make) : make(this.opts.repo));
    if (created.length > 0) await this.refresh();
    return created;
  }
}
