import pino, { type Logger } from 'pino';
import type { Config } from './config/schema.js';
import { deriveEncryptionKey, loadSecret } from './keys/encryption.js';
import { Keystore } from './keys/keystore.js';
import { openStorage } from './storage/sql/index.js';
import type { Storage } from './storage/types.js';
import { type Clock, systemClock } from './util/clock.js';

/** What the server and the CLI run on: storage migrated, the keystore, the clock and a logger. */
export interface Runtime {
  config: Config;
  storage: Storage;
  keys: Keystore;
  encryptionKey: Buffer;
  clock: Clock;
  logger: Logger;
  /** Migrations this opening applied. */
  applied: string[];
}

/** Opens the database, applies pending migrations and loads the keystore. */
export async function openRuntime(
  config: Config,
  opts: { clock?: Clock; logger?: Logger } = {},
): Promise<Runtime> {
  const clock = opts.clock ?? systemClock;
  const logger = opts.logger ?? pino({ level: config.logLevel, base: { service: 'sesame' } });
  const encryptionKey = deriveEncryptionKey(loadSecret(config.secret, config.dataDir));
  const storage = openStorage({ databaseUrl: config.databaseUrl, dataDir: config.dataDir, clock });
  let applied: string[];
  try {
    applied = await storage.migrate();
    if (applied.length > 0) logger.info({ applied }, 'migrations applied');
  } catch (err) {
    await storage.close();
    throw err;
  }
  const keys = new Keystore({
    repo: storage.signingKeys,
    encryptionKey,
    clock,
    cacheTtl: config.keys.cacheTtl,
  });
  return { config, storage, keys, encryptionKey, clock, logger, applied };
}

/** The longest lifetime a token signed now can have: the longest API token lifetime, at least the default. */
export async function maxTokenLifetime(rt: Runtime): Promise<number> {
  const apis = await rt.storage.apis.list();
  return Math.max(rt.config.accessToken.defaultLifetime, ...apis.map((a) => a.tokenLifetime));
}
