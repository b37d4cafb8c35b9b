import { readFileSync } from 'node:fs';

import { type Config, type ConfigInput, configSchema } from './schema.js';

/** Raised when configuration is invalid; the message names every bad key. */
export class ConfigError extends Error {
  override name = 'ConfigError';
}

type Env = Record<string, string | undefined>;

function fromEnv(env: Env): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  const keys: Record<string, unknown> = {};
  const set = (target: Record<string, unknown>, key: string, value: string | undefined) => {
    if (value !== undefined && value !== '') target[key] = value;
  };
  set(out, 'issuer', env.SESAME_ISSUER);
  set(out, 'port', env.SESAME_PORT || env.PORT);
  set(out, 'host', env.SESAME_HOST);
  set(out, 'dataDir', env.SESAME_DATA_DIR);
  set(out, 'databaseUrl', env.SESAME_DATABASE_URL);
  set(out, 'secret', env.SESAME_SECRET);
  set(out, 'logLevel', env.SESAME_LOG_LEVEL);
  set(out, 'bodyLimit', env.SESAME_BODY_LIMIT);
  set(keys, 'activationDelay', env.SESAME_KEY_ACTIVATION_DELAY);
  set(keys, 'jwksMaxAge', env.SESAME_JWKS_MAX_AGE);
  set(keys, 'cacheTtl', env.SESAME_KEY_CACHE_TTL);
  if (env.SESAME_TRUSTED_PROXIES)
    out.trustedProxies = env.SESAME_TRUSTED_PROXIES.split(',')
      .map((s) => s.trim())
      .filter(Boolean);
  if (env.SESAME_KEY_ALGORITHMS) keys.algorithms = env.SESAME_KEY_ALGORITHMS.split(',').map((s) => s.trim());
  if (Object.keys(keys).length > 0) out.keys = keys;
  const tls: Record<string, unknown> = {};
  set(tls, 'cert', env.SESAME_TLS_CERT);
  set(tls, 'key', env.SESAME_TLS_KEY);
  if (Object.keys(tls).length > 0) out.tls = tls;
  const admin: Record<string, unknown> = {};
  set(admin, 'email', env.SESAME_ADMIN_EMAIL);
  set(admin, 'password', env.SESAME_ADMIN_PASSWORD);
  if (Object.keys(admin).length > 0) out.admin = admin;
  const nested: [string, string, string | undefined][] = [
    ['authorizationCode', 'lifetime', env.SESAME_CODE_LIFETIME],
    ['idToken', 'lifetime', env.SESAME_ID_TOKEN_LIFETIME],
    ['refreshToken', 'idleLifetime', env.SESAME_REFRESH_IDLE_LIFETIME],
    ['refreshToken', 'absoluteLifetime', env.SESAME_REFRESH_ABSOLUTE_LIFETIME],
    ['refreshToken', 'reuseGrace', env.SESAME_REFRESH_REUSE_GRACE],
    ['session', 'lifetime', env.SESAME_SESSION_LIFETIME],
    ['logs', 'retentionDays', env.SESAME_LOGS_RETENTION_DAYS],
    ['janitor', 'interval', env.SESAME_JANITOR_INTERVAL],
    ['email', 'smtpUrl', env.SESAME_SMTP_URL],
    ['email', 'from', env.SESAME_EMAIL_FROM],
    ['email', 'pollInterval', env.SESAME_EMAIL_POLL_INTERVAL],
    ['password', 'minLength', env.SESAME_PASSWORD_MIN_LENGTH],
    ['metrics', 'port', env.SESAME_METRICS_PORT],
    ['metrics', 'host', env.SESAME_METRICS_HOST],
  ];
  for (const [section, key, value] of nested) {
    if (value === undefined || value === '') continue;
    const target = (out[section] ?? {}) as Record<string, unknown>;
    target[key] = value;
    out[section] = target;
  }
  return out;
}

function readFile(path: string): Record<string, unknown> {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new ConfigError(`config file ${path}: ${(err as Error).message}`);
  }
  try {
    const value: unknown = JSON.parse(text);
    if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new Error('not an object');
    return value as Record<string, unknown>;
  } catch (err) {
    throw new ConfigError(`config file ${path}: invalid JSON (${(err as Error).message})`);
  }
}

function merge(a: Record<string, unknown>, b: Record<string, unknown>): Record<string, unknown> {
  const out = { ...a };
  for (const [k, v] of Object.entries(b)) {
    const prev = out[k];
    out[k] =
      prev &&
      typeof prev === 'object' &&
      !Array.isArray(prev) &&
      v &&
      typeof v === 'object' &&
      !Array.isArray(v)
        ? merge(prev as Record<string, unknown>, v as Record<string, unknown>)
        : v;
  }
  return out;
}

/**
 * Validates raw configuration. Throws ConfigError naming each invalid key,
 * e.g. `port: Too big: expected number to be <=65535`.
 */
export function parseConfig(input: ConfigInput | Record<string, unknown>): Config {
  const result = configSchema.safeParse(input);
  if (!result.success) {
    const lines = result.error.issues.map((i) => {
      const message =
        i.code === 'unrecognized_keys'
          ? i.keys.map((k) => `unknown key ${JSON.stringify(k)}`).join(', ')
          : i.message;
      return `  ${i.path.join('.') || '(root)'}: ${message}`;
    });
    throw new ConfigError(`invalid configuration:\n${lines.join('\n')}`);
  }
  const cfg = result.data;
  const issuer = cfg.issuer ?? `http://localhost:${cfg.port}`;
  return { ...cfg, issuer };
}

/**
 * Loads configuration: the JSON file named by `SESAME_CONFIG` (or `file`), then
 * `SESAME_*` environment variables over it, then `overrides` (CLI flags).
 */
export function loadConfig(
  env: Env = process.env,
  overrides: Record<string, unknown> = {},
  file?: string,
): Config {
  const path = file ?? env.SESAME_CONFIG;
  const base = path ? readFile(path) : {};
  return parseConfig(merge(merge(base, fromEnv(env)), overrides));
}
