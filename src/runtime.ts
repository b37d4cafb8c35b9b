import { statSync } from 'node:fs';
import { join } from 'node:path';
import pino, { type Logger } from 'pino';
import { normalizeEmail } from './accounts/email.js';
import { ensureConsoleApp } from './admin/console.js';
import { TenantSettingsReader } from './admin/settings.js';
import { ensureManagementApi } from './admin/system.js';
import { type ResetRequest, runResetRequest } from './admin/tickets.js';
import type { Config } from './config/schema.js';
import { Mailer } from './email/mailer.js';
import { EventLog } from './events/log.js';
import { type Limits, limitsOf } from './http/rate-limit.js';
import { keySecret } from './keys/encryption.js';
import { Keystore } from './keys/keystore.js';
import { keyChanges } from './keys/rotation.js';
import { looserThanPrivate } from './storage/file-modes.js';
import { openStorage, type QueryListener, sqliteFile } from './storage/sql/index.js';
import type { Storage, User } from './storage/types.js';
import { type Clock, systemClock } from './util/clock.js';

/** What the server and the CLI run on: storage migrated, the keystore, the clock and a logger. */
export interface Runtime {
  config: Config;
  storage: Storage;
  keys: Keystore;
  encryptionKey: Buffer;
  clock: Clock;
  logger: Logger;
  /** The tenant settings, as every request reads them (cached briefly). */
  tenant: TenantSettingsReader;
  /** The log of security events. */
  events: EventLog;
  /** What anonymous callers may make this process store, per address and minute. */
  limits: Limits;
  /** The email outbox and its delivery. */
  mail: Mailer;
  /** Migrations this opening applied. */
  applied: string[];
  /** Listeners of every database statement (metrics; the query budgets' tests). */
  queries: Set<QueryListener>;
}

/** Opens the database, applies pending migrations and loads the keystore. */
export async function openRuntime(
  config: Config,
  opts: {
    clock?: Clock;
    logger?: Logger;
    /** A server: the Management API's identifier follows this configuration's issuer. */
    server?: boolean;
  } = {},
): Promise<Runtime> {
  const clock = opts.clock ?? systemClock;
  const logger = opts.logger ?? pino({ level: config.logLevel, base: { service: 'sesame' } });
  warnLooseFiles(config, logger);
  const queries = new Set<QueryListener>();
  const storage = openStorage({
    databaseUrl: config.databaseUrl,
    dataDir: config.dataDir,
    clock,
    queryListeners: queries,
    listen: opts.server === true,
    onListener: (state, err) =>
      state === 'lost'
        ? logger.warn(
            { err },
            "no database connection hears other instances' changes (lost, or not made); until one does (tried every second), their changes to applications, APIs and client grants are seen within 1 s",
          )
        : logger.info("a database connection hears other instances' changes again"),
  });
  let applied: string[];
  let encryptionKey: Buffer;
  try {
    applied = await storage.migrate();
    if (applied.length > 0) logger.info({ applied }, 'migrations applied');
    if (applied.includes('017-unicode-domains')) await warnPunycodeLeft(storage, logger);
    const live = (await storage.signingKeys.listAll()).filter((k) => k.revokedAt === null);
    encryptionKey = keySecret(config.secret, config.dataDir, live);
    await ensureManagementApi(storage, clock, config.issuer, opts.server === true);
    if (opts.server) await ensureConsoleApp(storage, clock, config.issuer, encryptionKey);
  } catch (err) {
    await storage.close();
    throw err;
  }
  const keys = new Keystore({
    repo: storage.signingKeys,
    encryptionKey,
    clock,
    cacheTtl: config.keys.cacheTtl,
    changes: keyChanges(storage, clock),
  });
  const tenant = new TenantSettingsReader(storage);
  const events = new EventLog(storage.logs, clock, logger);
  const limits = limitsOf(config);
  const mail = new Mailer({ storage, config, clock, logger, encryptionKey });
  const rt = {
    config,
    storage,
    queries,
    keys,
    encryptionKey,
    clock,
    logger,
    tenant,
    events,
    limits,
    mail,
    applied,
  };
  // in every process with an outbox (a CLI command's kick may find one queued)
  mail.handle('password_reset_request', (request, settle) =>
    runResetRequest(rt, request as ResetRequest, settle),
  );
  return rt;
}

/**
 * The accounts migration 017 left with a domain in its ASCII form (`xn--…`) because another
 * account has the same address in Unicode: sign-ins and resets look the Unicode spelling up, so
 * they reach only the other one. Said once, when the migration runs; the admin changes or
 * deletes one of the two.
 */
async function warnPunycodeLeft(storage: Storage, logger: Logger): Promise<void> {
  const left: User[] = [];
  try {
    for (let offset = 0; ; offset += 1000) {
      const page = await storage.users.list({ text: 'xn--' }, { offset, limit: 1000 });
      for (const u of page) {
        // (the text matches names too: only an email that reads differently in Unicode counts)
        const unicode = normalizeEmail(u.email);
        if (unicode !== u.email && (await storage.users.getByEmail(unicode))) left.push(u);
      }
      if (page.length < 1000) break;
    }
  } catch (err) {
    // the migration is done; a failed look must not stop the start
    logger.warn({ err }, 'could not list the accounts migration 017 left with an ASCII (xn--) domain');
    return;
  }
  if (left.length === 0) return;
  logger.warn(
    { users: left.map((u) => ({ id: u.id, email: u.email })) },
    `${left.length} account(s) keep an email whose domain is in its ASCII form (xn--), because another account has the same address in Unicode; sign-ins and password resets reach only that other account. Change or delete one of each pair (sesame users update ID --email …, or sesame users delete ID)`,
  );
}

/** Whether `path` is a directory this process can see (not when it cannot look). */
function isDirectory(path: string): boolean {
  try {
    return statSync(path).isDirectory();
  } catch {
    return false;
  }
}

/**
 * Warns when the data directory or the SQLite files (password hashes, encrypted keys) are open
 * to other users, as files made by older versions were: they are not changed behind the admin's back.
 */
function warnLooseFiles(config: Config, logger: Logger): void {
  const db = sqliteFile(config);
  // a data directory that is a file is refused when it is opened, with what to do instead
  const paths = [join(config.dataDir, 'secret')];
  if (isDirectory(config.dataDir)) paths.unshift(config.dataDir);
  if (db !== null) paths.push(db, `${db}-wal`, `${db}-shm`);
  for (const { path, mode } of looserThanPrivate(paths)) {
    logger.warn(
      { path, mode },
      `${path} is readable by other users (mode ${mode}); run: chmod go-rwx ${path}`,
    );
  }
}
