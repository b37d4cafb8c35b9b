// Starting, provisioning and describing the two servers under test.
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { freePort, spawnServer, waitReady } from './proc.mjs';
import { ACCOUNT, API, CLIENT, REDIRECT_URI, SCOPE } from './shared.mjs';

export const ROOT = fileURLToPath(new URL('../..', import.meta.url)).replace(/\/$/, '');
const SESAME_BIN = join(ROOT, 'bin', 'sesame.js');
const PEER_SERVER = join(ROOT, 'bench', 'peer', 'server.mjs');

/** Our environment without SESAME_* and PORT, plus `extra`. */
function childEnv(extra) {
  const env = {};
  for (const [k, v] of Object.entries(process.env)) {
    if (!k.startsWith('SESAME_') && k !== 'PORT' && k !== 'NODE_OPTIONS') env[k] = v;
  }
  return { ...env, ...extra };
}

/** Sesame's environment for one configuration: production mode, warn logs, 127.0.0.1. */
export function sesameEnv({ port, dataDir, databaseUrl, configFile }) {
  return childEnv({
    NODE_ENV: 'production',
    SESAME_LOG_LEVEL: 'warn',
    SESAME_DATA_DIR: dataDir,
    SESAME_PORT: String(port),
    SESAME_HOST: '127.0.0.1',
    SESAME_ISSUER: `http://127.0.0.1:${port}`,
    ...(databaseUrl ? { SESAME_DATABASE_URL: databaseUrl } : {}),
    ...(configFile ? { SESAME_CONFIG: configFile } : {}),
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

/** Starts `node [nodeArgs] bin/sesame.js start`; resolves when /readyz answers 200, with the time it took. */
export async function startSesame(env, logFile, nodeArgs = []) {
  const t0 = performance.now();
  const child = spawnServer('sesame', process.execPath, [...nodeArgs, SESAME_BIN, 'start'], {
    env,
    cwd: env.SESAME_DATA_DIR,
    logFile,
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

/** Starts node-oidc-provider (bench/peer/server.mjs) on a free port; resolves when it serves discovery. */
export async function startPeer(logFile) {
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
  const child = spawnServer('peer', process.execPath, [PEER_SERVER], { env, cwd: ROOT, logFile });
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
