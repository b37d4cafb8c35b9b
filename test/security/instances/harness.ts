// Real `sesame start` processes for the instances and crash suites: one or more processes on one
// database (same issuer, same secret, each on its own 127.0.0.1 port), HTTP helpers that never
// hang (every request has a deadline), the cookie-jar UserAgent adapted to a real server, and the
// fixtures (user, API, applications) made with the CLI as an operator would.
import { createHash, randomBytes } from 'node:crypto';
import { expect } from 'vitest';
import { freePort, runCliJson, type SesameProcess, startSesame } from '../../e2e/process.js';
import { type Credentials, csrfOf, UserAgent } from '../../protocol/sign-in/agent.js';
import type { TestApp } from '../../support/app.js';

/** Environment variables for `sesame`. */
export type Env = Record<string, string | undefined>;

export const PASSWORD = 'correct horse battery staple';
export const CALLBACK = 'https://rp.example/cb';
export const DEVICE_GRANT = 'urn:ietf:params:oauth:grant-type:device_code';
/** Every request the suites send gives up after this long (a hang is a failure, not a stuck run). */
export const REQUEST_TIMEOUT_MS = 15_000;

/** What `UserAgent` needs of an app: the issuer, and a fetch that reaches one real process. */
export type AgentApp = Pick<TestApp, 'issuer' | 'fetch'>;

/** One running `sesame start`. */
export interface Node {
  name: string;
  /** The issuer every instance shares (the first instance's URL). */
  issuer: string;
  /** http://127.0.0.1:PORT where this process listens. */
  base: string;
  port: number;
  env: Env;
  proc: SesameProcess;
  /** `{ issuer, fetch }` whose fetch rewrites issuer URLs to this process. */
  app: AgentApp;
  /** A cookie-keeping browser on this process. */
  agent(creds?: Credentials): UserAgent;
}

/** What every instance of one deployment shares. */
export interface Deployment {
  databaseUrl: string;
  dataDir: string;
  issuer: string;
  /** Env of the deployment (no port): the CLI runs with it. */
  env: Env;
}

/** The env of a deployment on `databaseUrl`; `issuerPort` fixes the issuer (the first instance's port). */
export function deployment(
  databaseUrl: string,
  dataDir: string,
  issuerPort: number,
  extra: Env = {},
): Deployment {
  const issuer = `http://127.0.0.1:${issuerPort}`;
  return {
    databaseUrl,
    dataDir,
    issuer,
    env: {
      SESAME_ISSUER: issuer,
      SESAME_HOST: '127.0.0.1',
      SESAME_DATA_DIR: dataDir,
      SESAME_DATABASE_URL: databaseUrl,
      SESAME_SECRET: 'instances-and-crash-suite-secret-at-least-32-chars',
      SESAME_KEY_ALGORITHMS: 'ES256,RS256',
      SESAME_LOG_LEVEL: 'warn',
      ...extra,
    },
  };
}

/** A fetch with a deadline, to 127.0.0.1 only. */
export function timedFetch(url: string | URL, init: RequestInit = {}): Promise<Response> {
  const u = new URL(url);
  if (u.hostname !== '127.0.0.1') throw new Error(`the suite only talks to 127.0.0.1, not ${u}`);
  return fetch(u, {
    ...init,
    redirect: 'manual',
    signal: init.signal ?? AbortSignal.timeout(REQUEST_TIMEOUT_MS),
  });
}

/** `{ issuer, fetch }` for `UserAgent`: URLs on the issuer are sent to `base` instead. */
export function agentApp(issuer: string, base: string): AgentApp {
  const fetchHere = async (input: string | URL | Request, init?: RequestInit) => {
    const u = new URL(input instanceof Request ? input.url : input.toString());
    if (u.origin !== new URL(issuer).origin) throw new Error(`not on the issuer: ${u}`);
    return timedFetch(new URL(`${u.pathname}${u.search}`, base), init);
  };
  return { issuer, fetch: fetchHere };
}

/** Starts `sesame start` for `d` on `port` (a free one by default) and waits for /readyz. */
export async function startNode(d: Deployment, name: string, port?: number, extra: Env = {}): Promise<Node> {
  const p = port ?? (await freePort());
  const base = `http://127.0.0.1:${p}`;
  const env: Env = { ...d.env, SESAME_PORT: String(p), ...extra };
  const proc = startSesame(env);
  await proc.waitReady(`${base}/readyz`, 30_000);
  const app = agentApp(d.issuer, base);
  return {
    name,
    issuer: d.issuer,
    base,
    port: p,
    env,
    proc,
    app,
    agent: (creds) => new UserAgent(app as TestApp, creds),
  };
}

/** A confidential client's id and secret. */
export interface ClientCreds {
  clientId: string;
  clientSecret: string;
}

/** RFC 6749 §2.3.1: client_secret_basic (id and secret form-encoded before Base64). */
export function basic(c: ClientCreds): string {
  const pair = `${encodeURIComponent(c.clientId)}:${encodeURIComponent(c.clientSecret)}`;
  return `Basic ${Buffer.from(pair).toString('base64')}`;
}

/** A JSON endpoint's answer. */
export interface Answer {
  status: number;
  headers: Headers;
  text: string;
  /** The parsed JSON body, or null when the body is not JSON. */
  body: (Record<string, unknown> & { error?: string; error_description?: string }) | null;
  ms: number;
}

/** POSTs a form to `path` on `node` (a base URL), with client_secret_basic when `client` is given. */
export async function postForm(
  base: string,
  path: string,
  fields: Record<string, string>,
  client?: ClientCreds,
): Promise<Answer> {
  const headers: Record<string, string> = { 'content-type': 'application/x-www-form-urlencoded' };
  if (client) headers.authorization = basic(client);
  const started = performance.now();
  const res = await timedFetch(`${base}${path}`, {
    method: 'POST',
    headers,
    body: new URLSearchParams(fields).toString(),
  });
  const text = await res.text();
  let body: Answer['body'] = null;
  try {
    body = JSON.parse(text) as Answer['body'];
  } catch {
    body = null;
  }
  return { status: res.status, headers: res.headers, text, body, ms: performance.now() - started };
}

/** A short description of an answer for assertion messages. */
export const show = (a: Answer) =>
  a.body?.error !== undefined
    ? `${a.status} ${a.body.error}: ${a.body.error_description ?? ''}`
    : `${a.status} ${a.status === 200 && a.body?.access_token ? '(tokens issued)' : a.text.slice(0, 200)}`;

/** Asks /oauth/introspect on `base` (as the resource server `rs`) whether `token` is active. */
export async function isActive(base: string, rs: ClientCreds, token: string): Promise<boolean> {
  const a = await postForm(base, '/oauth/introspect', { token }, rs);
  if (a.status !== 200 || typeof a.body?.active !== 'boolean') {
    throw new Error(`introspection on ${base} answered ${show(a)}`);
  }
  return a.body.active;
}

/** Decodes a JWT's header and payload without verifying it. */
export function decodeJwt(token: string): {
  header: Record<string, unknown>;
  payload: Record<string, unknown>;
} {
  const [h, p] = token.split('.');
  return {
    header: JSON.parse(Buffer.from(h ?? '', 'base64url').toString('utf8')),
    payload: JSON.parse(Buffer.from(p ?? '', 'base64url').toString('utf8')),
  };
}

export const sha256 = (value: string) => createHash('sha256').update(value).digest('base64url');
const random = () => randomBytes(32).toString('base64url');
export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** The parameters a relying party keeps between /authorize and the token request. */
export interface PendingCode {
  url: string;
  verifier: string;
  state: string;
}

/** A code-flow authorization URL with PKCE S256 for `clientId`, on the issuer. */
export function authorizationUrl(
  issuer: string,
  clientId: string,
  params: Record<string, string> = {},
): PendingCode {
  const verifier = random();
  const state = random();
  const q = new URLSearchParams({
    response_type: 'code',
    client_id: clientId,
    redirect_uri: CALLBACK,
    scope: 'openid',
    state,
    nonce: random(),
    code_challenge: sha256(verifier),
    code_challenge_method: 'S256',
    ...params,
  });
  return { url: `${issuer}/authorize?${q}`, verifier, state };
}

/** Signs in through `agent` and returns the code (and what the exchange needs). */
export async function signInForCode(
  agent: UserAgent,
  issuer: string,
  clientId: string,
  params: Record<string, string> = {},
): Promise<{ code: string; verifier: string }> {
  const pending = authorizationUrl(issuer, clientId, params);
  const flow = await agent.signIn(pending.url);
  const loc = flow.location;
  const code = loc?.searchParams.get('code');
  if (!loc || !code) {
    throw new Error(`no code: ${flow.response.status} ${loc ?? (await flow.response.text()).slice(0, 300)}`);
  }
  if (loc.searchParams.get('state') !== pending.state) throw new Error(`state mismatch in ${loc}`);
  return { code, verifier: pending.verifier };
}

/** The token request that exchanges `code` (client_secret_basic). */
export const exchangeFields = (code: string, verifier: string): Record<string, string> => ({
  grant_type: 'authorization_code',
  code,
  redirect_uri: CALLBACK,
  code_verifier: verifier,
});

/**
 * A person approves a device at /activate on `node`: signs in (/activate → /u/login → /activate),
 * types the user code, and presses Allow on the confirmation page.
 */
export async function approveDevice(node: Node, creds: Credentials, userCode: string): Promise<void> {
  const agent = node.agent(creds);
  let res = await agent.get('/activate');
  expect(res.status, 'GET /activate without a session').toBe(303);
  const login = await agent.get(res.headers.get('location') ?? '/u/login');
  res = await agent.post('/u/login', {
    csrf: csrfOf(await login.text()),
    email: creds.email,
    password: creds.password,
  });
  expect(res.status, 'login').toBe(303);
  const page = await agent.get(res.headers.get('location') ?? '/activate');
  const html = await page.text();
  expect(page.status, html).toBe(200);
  const confirm = await agent.post('/activate', { csrf: csrfOf(html), user_code: userCode });
  const confirmHtml = await confirm.text();
  expect(confirm.status, confirmHtml).toBe(200);
  const hidden = /name="user_code" value="([^"]+)"/.exec(confirmHtml)?.[1];
  expect(hidden, 'the confirmation form carries the user code').toBeTruthy();
  const done = await agent.post('/activate/confirm', {
    csrf: csrfOf(confirmHtml),
    user_code: hidden as string,
    decision: 'allow',
  });
  expect(done.status, await done.text()).toBe(200);
}

/** What the CLI registered for a suite. */
export interface Fixtures {
  api: string;
  creds: Credentials;
  /** A web application: code flow + refresh tokens, consent asked once. */
  web: ClientCreds;
  /** An m2m application for the API: client credentials, and the resource server that introspects. */
  m2m: ClientCreds;
  /** A native (public) application with the device grant. */
  tv: { clientId: string };
}

interface CreatedApp {
  client_id: string;
  client_secret?: string;
}

/**
 * Registers users, an API with offline access, and the web, m2m and native apps with the CLI
 * (independent commands run side by side, as two operators would).
 */
export async function registerFixtures(
  env: Env,
  extraUsers = 0,
): Promise<Fixtures & { users: Credentials[] }> {
  const api = 'https://api.example.test/orders';
  const users: Credentials[] = Array.from({ length: extraUsers + 1 }, (_, i) => ({
    email: `person${i}-${random().slice(0, 6).toLowerCase()}@example.com`,
    password: PASSWORD,
  }));
  const app = (args: string[]) => runCliJson<CreatedApp>(['apps', 'create', ...args], env);
  const [web, m2m, tv] = await Promise.all([
    app(['--name', 'Web', '--type', 'web', '--callback', CALLBACK, '--allow-offline-access']),
    app(['--name', 'Worker', '--type', 'm2m']),
    app(['--name', 'TV', '--type', 'native', '--callback', 'com.example.tv:/cb', '--allow-offline-access']),
    runCliJson(
      [
        'apis',
        'create',
        '--name',
        'Orders',
        '--identifier',
        api,
        '--allow-offline-access',
        '--scope',
        'read:orders',
      ],
      env,
    ),
    ...users.map((u) => runCliJson(['users', 'create', '--email', u.email, '--password', u.password], env)),
  ]);
  if (!web || !m2m || !tv) throw new Error('the CLI did not register the applications');
  await runCliJson(['apps', 'authorize', m2m.client_id, '--api', api, '--scope', 'read:orders'], env);
  return {
    api,
    creds: users[0] as Credentials,
    users,
    web: { clientId: web.client_id, clientSecret: web.client_secret as string },
    m2m: { clientId: m2m.client_id, clientSecret: m2m.client_secret as string },
    tv: { clientId: tv.client_id },
  };
}

/** The scope and audience of a code-flow sign-in that yields access, ID and refresh tokens. */
export const userParams = (api: string) => ({ scope: 'openid offline_access read:orders', audience: api });

/** Starts `n` functions at (nearly) the same instant and collects their answers. */
export async function burst<T>(n: number, fn: (i: number) => Promise<T>): Promise<T[]> {
  let release!: () => void;
  const gate = new Promise<void>((r) => {
    release = r;
  });
  const all = Array.from({ length: n }, (_, i) => gate.then(() => fn(i)));
  release();
  return Promise.all(all);
}
