import type { Logger } from 'pino';
import type { Brand } from '../admin/branding.js';
import type { TenantSettingsReader } from '../admin/settings.js';
import type { Config } from '../config/schema.js';
import type { Mailer } from '../email/mailer.js';
import type { EventLog } from '../events/log.js';
import type { Keystore } from '../keys/keystore.js';
import type { Metrics } from '../metrics.js';
import type { Params } from '../protocol/params.js';
import type { Storage } from '../storage/types.js';
import type { Clock } from '../util/clock.js';
import type { TrustedProxies } from './proxies.js';
import type { Limits } from './rate-limit.js';

/** What the server is built from (house rule 10: explicit wiring, no globals). */
export interface Deps {
  config: Config;
  storage: Storage;
  keys: Keystore;
  clock: Clock;
  logger: Logger;
  /** Encrypts signing keys made through the Management API. */
  encryptionKey: Buffer;
  tenant: TenantSettingsReader;
  /** The log of security events (failures written at once, token successes in batches). */
  events: EventLog;
  /** What anonymous callers may make this process store, per address and minute. */
  limits: Limits;
  /** The email outbox: flows queue messages in their transaction, then kick delivery. */
  mail: Mailer;
  /** Prometheus metrics, when `metrics.port` is set. */
  metrics?: Metrics;
}

/** Hono's per-request variables. */
export interface AppEnv {
  Variables: {
    requestId: string;
    log: Logger;
    params: Params;
    /** The proxies whose forwarding headers count (SESAME_TRUSTED_PROXIES). */
    proxies: TrustedProxies;
    /** The application a request proved itself to be (token, revoke) or acts for (userinfo). */
    clientId?: string;
    /** The tenant's brand, on routes that render pages. */
    brand?: Brand;
    /** The route a sub-app built on first use matched (mount-later.ts), for the metrics. */
    route?: string;
  };
}
