import type { Logger } from 'pino';
import type { Config } from '../config/schema.js';
import type { Keystore } from '../keys/keystore.js';
import type { Params } from '../protocol/params.js';
import type { Storage } from '../storage/types.js';
import type { Clock } from '../util/clock.js';

/** What the server is built from (house rule 10: explicit wiring, no globals). */
export interface Deps {
  config: Config;
  storage: Storage;
  keys: Keystore;
  clock: Clock;
  logger: Logger;
}

/** Hono's per-request variables. */
export interface AppEnv {
  Variables: {
    requestId: string;
    log: Logger;
    params: Params;
  };
}
