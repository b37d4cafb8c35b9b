// Starting, provisioning and describing the servers under test: Sesame, node-oidc-provider and
// the ceiling (bench/ceiling.mjs).
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { freePort, spawnServer, waitReady } from './proc.mjs';
import { ACCOUNT, API, CLIENT, REDIRECT_URI, SCOPE } from './shared.mjs';

export const ROOT = fileURLToPath(new URL('../..', import.meta.url)).replace(/\/$/, '');
const SESAME_BIN = join(ROOT, 'bin', 'sesame.js');
const PEER_SERVER = join(ROOT, 'bench', 'peer', 'server.mjs');
const CEILING_SERVER = join(ROOT, 'bench', 'ceiling.mjs');

/** Our environment without SESAME_* and PORT, plus `extra`. */
function childEnv(extra) {
  const env = {};
  for (const [k, v] of Object.entries(process.env)) {
    if (!k.startsWith('SESAME_') && k !== 'PORT' && k !== 'NODE_OPTIONS') env[k] = v;
  }
  return { ...env, ...extra };
}

/** Sesame's environment for one configuration: production mode, warn logs, 127.0.0.1. */
export function sesameEnv({ port, dataDir, databaseUrl, configFile, metricsPort }) {
  return childEnv({
    NODE_ENV: 'production',
    SESAME_LOG_LEVEL: 'warn',
    SESAME_DATA_DIR: dataDir,
    SESAME_PORT: String(port),
    SESAME_HOST: '127.0.0.1',
    SESAME_ISSUER: `http://127.0.0.1:${port}`,
    ...(databaseUrl ? { SESAME_DATABASE_URL: databaseUrl } : {}),
    ...(configFile ? { SESAME_CONFIG: configFile } : {}),
    ...(metricsPort ? { SESAME_METRICS_PORT: String(metricsPort) } : {}),
  });
}

/** Whether `sesame start` takes `--workers N` (its --help lists it). */
export function sesameHasWorkers() {
  return new Promise((resolve) => {
    execFile(process.execPath, [SESAME_BIN, 'start', '--help'], { timeout: 30_000 }, (err, stdout) =>
      resolve(!err && /--workers\b/.test(stdout)),
    );
  });
}

/** Runs `sesame ...args --json` and returns its JSON output. */
export function sesameCli(env, args) {
  const end = args.indexOf('--');
  const withJson = end < 0 ? [...args, '--json'] : [...args.slice(0, end), '--json', ...args.slice(end)];
  return new Promise((resolve, reject) => {
    execFile(
      process.execPath,
      [SESAME_BIN, ...withJson],
      { env, cwd: env.SESAME_DATA_DIR, timeout: 60_000, killSignal: 'SIGKILL' },
      (err, stdout, stderr) => {
        if (err) reject(new Error(`sesame ${args.join(' ')}: ${err.message}\n${stderr}`));
        else resolve(JSON.parse(stdout));
      },
    );
  });
}

/**
 * Registers what the scenarios use, through the CLI: the ES256 API (offline access allowed) and
 * the RS256 API, an m2m application authorized for both, a web application, one user.
 */
export async function provisionSesame(env) {
  const cli = (args) => sesameCli(env, args);
  const api = (name, identifier, alg, offline) =>
    cli([
      'apis',
      'create',
      '--name',
      name,
      '--identifier',
      identifier,
      '--scope',
      `${SCOPE.api}=Read`,
      '--signing-alg',
      alg,
      ...(offline ? ['--allow-offline-access'] : []),
    ]);
  await api('Bench ES256 API', API.es256, 'ES256', true);
  await api('Bench RS256 API', API.rs256, 'RS256', false);
  const m2m = await cli(['apps', 'create', '--name', 'Bench m2m', '--type', 'm2m']);
  for (const identifier of [API.es256, API.rs256]) {
    await cli(['apps', 'authorize', '--api', identifier, '--scope', SCOPE.api, '--', m2m.client_id]);
  }
  const web = await cli([
    'apps',
    'create',
    '--name',
    'Bench web',
    '--type',
    'web',
    '--callback',
    REDIRECT_URI,
  ]);
  await cli([
    'users',
    'create',
    '--email',
    ACCOUNT.email,
    '--password',
    ACCOUNT.password,
    '--name',
    ACCOUNT.name,
    '--email-verified',
  ]);
  return {
    m2m: { id: m2m.client_id, secret: m2m.client_secret },
    web: { id: web.client_id, secret: web.client_secret },
  };
}

/**
 * Starts `node [nodeArgs] bin/sesame.js start [args]` (on CPU `cpu` if given); resolves when
 * /readyz answers 200, with the time it took.
 */
export async function startSesame(env, logFile, { nodeArgs = [], args = [], cpu } = {}) {
  const t0 = performance.now();
  const child = spawnServer('sesame', process.execPath, [...nodeArgs, SESAME_BIN, 'start', ...args], {
    env,
    cwd: env.SESAME_DATA_DIR,
    logFile,
    cpu,
  });
  const readyMs = await waitReady(child, `${env.SESAME_ISSUER}/readyz`, t0);
  return { child, readyMs };
}

/** What the scenarios need to know about Sesame. */
export function sesameTarget(port, clients) {
  return {
    name: 'Sesame',
    base: `http://127.0.0.1:${port}`,
    paths: {
      authorize: '/authorize',
      token: '/oauth/token',
      introspect: '/oauth/introspect',
      discovery: '/.well-known/openid-configuration',
      jwks: '/.well-known/jwks.json',
      healthz: '/healthz',
    },
    introspectResource: API.es256,
    ...clients,
  };
}

/** Starts node-oidc-provider (bench/peer/server.mjs) on a free port (and CPU `cpu`); resolves when it serves discovery. */
export async function startPeer(logFile, { cpu } = {}) {
  const port = await freePort();
  const clients = {
    m2m: { id: CLIENT.m2m, secret: randomBytes(32).toString('base64url') },
    web: { id: CLIENT.web, secret: randomBytes(32).toString('base64url') },
  };
  const env = childEnv({
    NODE_ENV: 'production',
    PEER_PORT: String(port),
    PEER_HOST: '127.0.0.1',
    PEER_ISSUER: `http://127.0.0.1:${port}`,
    PEER_M2M_SECRET: clients.m2m.secret,
    PEER_WEB_SECRET: clients.web.secret,
  });
  const t0 = performance.now();
  const child = spawnServer('peer', process.execPath, [PEER_SERVER], { env, cwd: ROOT, logFile, cpu });
  const readyMs = await waitReady(child, `http://127.0.0.1:${port}/.well-known/openid-configuration`, t0);
  const target = {
    name: 'node-oidc-provider',
    base: `http://127.0.0.1:${port}`,
    paths: {
      authorize: '/auth',
      token: '/token',
      introspect: '/token/introspection',
      discovery: '/.well-known/openid-configuration',
      jwks: '/jwks',
    },
    // it refuses to introspect JWTs, so it is asked about an opaque access token
    introspectResource: API.opaque,
    // OIDC Core §11: offline_access is only honoured with prompt=consent there
    offlinePrompt: 'consent',
    mintConcurrency: 1,
    ...clients,
  };
  return { child, readyMs, target };
}

/**
 * Starts the ceiling (bench/ceiling.mjs: bare node:http, form POST → fixed JSON) on a free port
 * (and CPU `cpu`). It is sent the client-credentials request, with `m2m`'s credentials so that
 * the request has the same size as Sesame's.
 */
export async function startCeiling(logFile, m2m, { cpu } = {}) {
  const port = await freePort();
  const env = childEnv({ NODE_ENV: 'production' });
  const t0 = performance.now();
  const child = spawnServer('ceiling', process.execPath, [CEILING_SERVER, String(port)], {
    env,
    cwd: ROOT,
    logFile,
    cpu,
  });
  // a GET has no grant_type: 400 means it is listening
  await waitReady(child, `http://127.0.0.1:${port}/token`, t0, { status: 400 });
  const target = { name: 'ceiling', base: `http://127.0.0.1:${port}`, paths: { token: '/token' }, m2m };
  return { child, target };
}

/** Provisions Sesame on a new data directory (SQLite, or PostgreSQL at `databaseUrl`). */
export async function sesameContext(kind, work, log, databaseUrl) {
  const dataDir = mkdtempSync(join(work, `sesame-${kind}-`));
  // Many wrong passwords and sign-ins from one address: raise the lock thresholds and the
  // per-address budgets so that every attempt costs its argon2 verification (the login storm
  // measures that) instead of a 429.
  const configFile = join(work, 'sesame-config.json');
  writeFileSync(
    configFile,
    JSON.stringify({
      login: { accountFailures: 1e9, ipFailures: 1e9, accountCeiling: 1e9 },
      session: { interactionsPerMinute: 1e9 },
      device: { codesPerMinute: 1e9 },
    }),
  );
  const port = await freePort();
  const env = sesameEnv({ port, dataDir, databaseUrl, configFile });
  log(`Sesame (${kind}): provisioning with the CLI`);
  const clients = await provisionSesame(env);
  const target = sesameTarget(port, clients);
  return { kind, env, dataDir, configFile, clients, target, logFile: join(work, `sesame-${kind}.log`) };
}
