import { createHash } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { request as httpRequest, type IncomingHttpHeaders } from 'node:http';
import { join } from 'node:path';
import { expect } from 'vitest';
import { assertBuilt, freePort, runCliJson, type SesameProcess, startSesame } from '../../e2e/process.js';
import { type Credentials, csrfOf, inInteraction, UserAgent } from '../../protocol/sign-in/agent.js';
import type { TestApp } from '../../support/app.js';
import { type Backend, createTestDatabase, type TestDatabase } from '../../support/databases.js';

/** Environment variables for `sesame`. */
export type Env = Record<string, string | undefined>;

/** The password of every user these suites create. */
export const PASSWORD = 'correct horse battery staple';

/** What one raw HTTP exchange returned. */
export interface RawResponse {
  status: number;
  headers: IncomingHttpHeaders;
  body: string;
}

/** How to send one raw request: any Host header, any source address on the loopback net. */
export interface RawOptions {
  method?: string;
  headers?: Record<string, string>;
  body?: string;
  /** The source address, e.g. 127.0.0.7: each one is a different client IP to the server. */
  localAddress?: string;
  /** Where to connect instead of the URL's host and port (the URL still gives the path and Host). */
  connectTo?: { host: string; port: number };
  /** The request target instead of the URL's path and query (e.g. an absolute-form URL). */
  target?: string;
}

/**
 * One HTTP/1.1 request with node:http: sets the Host header as given (fetch does not let us)
 * and binds the socket to `localAddress`, so that tests can be different clients by IP.
 */
export function rawRequest(url: string | URL, opts: RawOptions = {}): Promise<RawResponse> {
  const u = new URL(url);
  const headers: Record<string, string> = { host: u.host, ...lower(opts.headers ?? {}) };
  if (opts.body !== undefined) headers['content-length'] = String(Buffer.byteLength(opts.body));
  return new Promise((resolve, reject) => {
    const req = httpRequest(
      {
        host: opts.connectTo?.host ?? u.hostname,
        port: opts.connectTo?.port ?? Number(u.port || 80),
        method: opts.method ?? 'GET',
        path: opts.target ?? `${u.pathname}${u.search}`,
        headers,
        agent: false,
        ...(opts.localAddress ? { localAddress: opts.localAddress } : {}),
        timeout: 15_000,
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (d: Buffer) => chunks.push(d));
        res.on('end', () =>
          resolve({
            status: res.statusCode ?? 0,
            headers: res.headers,
            body: Buffer.concat(chunks).toString('utf8'),
          }),
        );
        res.on('error', reject);
      },
    );
    req.on('timeout', () => req.destroy(new Error(`timeout: ${opts.method ?? 'GET'} ${u}`)));
    req.on('error', reject);
    if (opts.body !== undefined) req.write(opts.body);
    req.end();
  });
}

function lower(h: Record<string, string>): Record<string, string> {
  return Object.fromEntries(Object.entries(h).map(([k, v]) => [k.toLowerCase(), v]));
}

/** A raw response as a web Response (Set-Cookie headers kept apart, so getSetCookie works). */
function toResponse(raw: RawResponse): Response {
  const headers = new Headers();
  for (const [k, v] of Object.entries(raw.headers)) {
    if (v === undefined) continue;
    for (const one of Array.isArray(v) ? v : [v]) headers.append(k, one);
  }
  const empty = raw.status === 204 || raw.status === 304;
  return new Response(empty ? null : raw.body, { status: raw.status, headers });
}

async function bodyText(body: RequestInit['body']): Promise<string | undefined> {
  if (body === undefined || body === null) return undefined;
  if (typeof body === 'string') return body;
  if (body instanceof URLSearchParams) return body.toString();
  return new Response(body).text();
}

/** A running Sesame: the process, its database, its issuer and where it really listens. */
export interface Sesame {
  backend: Backend;
  issuer: string;
  /** http://127.0.0.1:PORT, where this process listens (differs from the issuer for a second instance). */
  base: string;
  port: number;
  env: Env;
  db: TestDatabase;
  proc: SesameProcess;
  /** Runs a CLI command with --json against this server's database. */
  cli<T = Record<string, unknown>>(args: string[]): Promise<T>;
  /** A raw request to this process; `path` is resolved against the issuer, then sent here. */
  raw(path: string, opts?: RawOptions): Promise<RawResponse>;
  /** fetch() to this process (URLs on the issuer are sent here); never follows redirects. */
  fetch(input: string | URL | Request, init?: RequestInit & { localAddress?: string }): Promise<Response>;
  /** What UserAgent needs: the issuer and a fetch to this process (see ClientOptions). */
  app(opts?: ClientOptions): TestApp;
  /** A cookie-keeping browser on this process (see ClientOptions). */
  agent(creds?: Credentials, opts?: ClientOptions): UserAgent;
  stop(): Promise<void>;
}

/** How a simulated browser reaches the server. */
export interface ClientOptions {
  /** Its IP address: a source address on the loopback net, e.g. 127.0.0.7. */
  localAddress?: string;
  /** Headers added to every request (they may override Host). */
  headers?: Record<string, string>;
}

/** Options of `launch`. */
export interface LaunchOptions {
  /** Extra SESAME_* variables. */
  env?: Env;
  /** A JSON config file's contents (passed with SESAME_CONFIG). */
  config?: Record<string, unknown>;
  /** Run as a second instance of `shared`: the same database, secret and issuer, another port. */
  shared?: Sesame;
}

let configs = 0;

/** Starts `node bin/sesame.js start` on a fresh database (or `shared`'s) and waits until it is ready. */
export async function launch(backend: Backend, opts: LaunchOptions = {}): Promise<Sesame> {
  assertBuilt();
  const db = opts.shared?.db ?? (await createTestDatabase(backend));
  const port = await freePort();
  const base = `http://127.0.0.1:${port}`;
  const issuer = opts.shared?.issuer ?? base;
  const env: Env = {
    SESAME_PORT: String(port),
    SESAME_HOST: '127.0.0.1',
    SESAME_ISSUER: issuer,
    SESAME_DATA_DIR: db.dataDir,
    SESAME_DATABASE_URL: db.url,
    SESAME_SECRET: 'security-suite-secret-at-least-32-characters',
    SESAME_KEY_ALGORITHMS: 'ES256,RS256',
    SESAME_LOG_LEVEL: 'warn',
    ...opts.env,
  };
  if (opts.config) {
    const file = join(db.dataDir, `config-${process.pid}-${++configs}.json`);
    writeFileSync(file, JSON.stringify(opts.config));
    env.SESAME_CONFIG = file;
  }
  const proc = startSesame(env);
  try {
    await proc.waitReady(`${base}/readyz`);
  } catch (err) {
    await proc.kill();
    if (!opts.shared) await db.drop().catch(() => {});
    throw err;
  }
  const issuerOrigin = new URL(issuer).origin;
  const connectTo = { host: '127.0.0.1', port };
  const raw = (path: string, o: RawOptions = {}) => {
    const url = new URL(path, `${issuer}/`);
    return rawRequest(url, url.origin === issuerOrigin ? { connectTo, ...o } : o);
  };
  const doFetch: Sesame['fetch'] = async (input, init = {}) => {
    const req = input instanceof Request ? input : null;
    const url = req ? req.url : input.toString();
    const headers: Record<string, string> = {};
    new Headers(req?.headers ?? undefined).forEach((v, k) => {
      headers[k] = v;
    });
    new Headers(init.headers).forEach((v, k) => {
      headers[k] = v;
    });
    const body = init.body !== undefined ? await bodyText(init.body) : req ? await req.text() : undefined;
    const method = init.method ?? req?.method ?? 'GET';
    const o: RawOptions = { method, headers };
    if (body !== undefined && body !== '') o.body = body;
    if (init.localAddress) o.localAddress = init.localAddress;
    return toResponse(await raw(url, o));
  };
  const app = (c: ClientOptions = {}) =>
    ({
      issuer,
      fetch: (input: string | URL | Request, init: RequestInit = {}) => {
        const headers = new Headers(init.headers);
        for (const [k, v] of Object.entries(c.headers ?? {})) headers.set(k, v);
        return doFetch(input, {
          ...init,
          headers,
          ...(c.localAddress ? { localAddress: c.localAddress } : {}),
        });
      },
    }) as unknown as TestApp;
  return {
    backend,
    issuer,
    base,
    port,
    env,
    db,
    proc,
    cli: (args) => runCliJson(args, env),
    raw,
    fetch: doFetch,
    app,
    agent: (creds, c) => new UserAgent(app(c), creds),
    async stop() {
      await proc.stop('SIGTERM').catch(() => proc.kill());
      if (!opts.shared) await db.drop().catch(() => {});
    },
  };
}

let users = 0;

/** A user created with the CLI; the credentials to type. */
export async function newUser(s: Sesame): Promise<Credentials & { id: string }> {
  const email = `p${++users}-${process.pid}-${Math.random().toString(36).slice(2, 8)}@example.com`;
  const out = await s.cli<{ id: string }>(['users', 'create', '--email', email, '--password', PASSWORD]);
  return { id: out.id, email, password: PASSWORD };
}

/** A registered application: its id and (confidential) secret. */
export interface Client {
  clientId: string;
  clientSecret?: string;
}

/** An application created with the CLI: `sesame apps create --name NAME --type TYPE ...args`. */
export async function newApp(
  s: Sesame,
  type: string,
  args: string[] = [],
  name = `${type} app`,
): Promise<Client> {
  const out = await s.cli<{ client_id: string; client_secret?: string }>([
    'apps',
    'create',
    '--name',
    name,
    '--type',
    type,
    ...args,
  ]);
  return out.client_secret
    ? { clientId: out.client_id, clientSecret: out.client_secret }
    : { clientId: out.client_id };
}

/** An authorization URL on `s`'s issuer: response_type code, scope openid, then `params` (null drops one). */
export function authorizeUrl(s: Sesame, params: Record<string, string | null>): string {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries({ response_type: 'code', scope: 'openid', ...params })) {
    if (v !== null) q.append(k, v);
  }
  return `${s.issuer}/authorize?${q}`;
}

/** An answer of a JSON endpoint. */
export interface JsonAnswer {
  status: number;
  headers: Headers;
  body: Record<string, unknown> & { error?: string; error_description?: string };
}

/** POSTs a form to `path` (with Basic credentials when `basic` is given). */
export async function postForm(
  s: Sesame,
  path: string,
  form: Record<string, string>,
  opts: { basic?: Client; headers?: Record<string, string>; localAddress?: string } = {},
): Promise<JsonAnswer> {
  const headers: Record<string, string> = {
    'content-type': 'application/x-www-form-urlencoded',
    ...opts.headers,
  };
  if (opts.basic) headers.authorization = basicAuth(opts.basic.clientId, opts.basic.clientSecret ?? '');
  const res = await s.fetch(`${s.issuer}${path}`, {
    method: 'POST',
    headers,
    body: new URLSearchParams(form).toString(),
    ...(opts.localAddress ? { localAddress: opts.localAddress } : {}),
  });
  const text = await res.text();
  let body: JsonAnswer['body'];
  try {
    body = JSON.parse(text) as JsonAnswer['body'];
  } catch {
    throw new Error(`${path} answered ${res.status} with non-JSON:\n${text.slice(0, 500)}`);
  }
  return { status: res.status, headers: res.headers, body };
}

/** RFC 6749 §2.3.1: id and secret form-url-encoded, joined by a colon, Base64. */
export function basicAuth(id: string, secret: string): string {
  return `Basic ${Buffer.from(`${encodeURIComponent(id)}:${encodeURIComponent(secret)}`).toString('base64')}`;
}

/** POST /oauth/token with `form`; a confidential client authenticates with client_secret_post. */
export function token(s: Sesame, client: Client, form: Record<string, string>, localAddress?: string) {
  const auth: Record<string, string> = { client_id: client.clientId };
  if (client.clientSecret) auth.client_secret = client.clientSecret;
  return postForm(s, '/oauth/token', { ...auth, ...form }, localAddress ? { localAddress } : {});
}

/** Asserts an RFC 6749 §5.2 error answer: status and error code. */
export function expectError(answer: JsonAnswer, status: number, error: string): void {
  expect({ status: answer.status, error: answer.body.error }, JSON.stringify(answer.body)).toEqual({
    status,
    error,
  });
}

/** GET /userinfo with a bearer token: the status. */
export async function userinfoStatus(s: Sesame, accessToken: string): Promise<number> {
  const res = await s.fetch(`${s.issuer}/userinfo`, { headers: { authorization: `Bearer ${accessToken}` } });
  await res.arrayBuffer();
  return res.status;
}

/** Whether /oauth/introspect (asked by `rs`, a confidential client) says the token is active. */
export async function introspectActive(s: Sesame, rs: Client, tokenValue: string): Promise<boolean> {
  const res = await postForm(s, '/oauth/introspect', {
    token: tokenValue,
    client_id: rs.clientId,
    client_secret: rs.clientSecret ?? '',
  });
  expect(res.status, JSON.stringify(res.body)).toBe(200);
  return res.body.active === true;
}

/** The payload of a JWT, not verified. */
export function jwtPayload(jwt: string): Record<string, unknown> {
  return JSON.parse(Buffer.from(jwt.split('.')[1] ?? '', 'base64url').toString('utf8'));
}

/** PKCE S256 of a verifier (RFC 7636 §4.2), computed independently of the server. */
export const s256 = (verifier: string) => createHash('sha256').update(verifier).digest('base64url');

/** Signs in through `agent` and returns the code of the redirect to the client. */
export async function codeFor(agent: UserAgent, url: string): Promise<string> {
  const flow = await agent.signIn(url);
  const code = flow.location?.searchParams.get('code');
  if (!code)
    throw new Error(`no code: ${flow.response.status} ${flow.location ?? (await flow.response.text())}`);
  return code;
}

/** The login page of a new interaction started by `url`: its HTML and CSRF token. */
export async function openLogin(agent: UserAgent, url: string): Promise<{ html: string; csrf: string }> {
  const res = await agent.get(url);
  expect(res.status, await res.clone().text()).toBe(303);
  expect(res.headers.get('location')).toEqual(inInteraction('/u/login'));
  const page = await agent.get('/u/login');
  const html = await page.text();
  expect(page.status, html).toBe(200);
  return { html, csrf: csrfOf(html) };
}

/** The median of some numbers. */
export function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2
    ? (sorted[mid] as number)
    : ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2;
}
