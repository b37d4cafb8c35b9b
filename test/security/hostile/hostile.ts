// Shared ground for the hostile-input suite: one Sesame per backend with every kind of client,
// a signed-in browser, live interactions and real tokens (the "world"); the endpoints under
// attack as a table (the "targets"); a raw request helper that times every answer; and the
// oracle that says whether an answer is spec-shaped.
import { type IncomingHttpHeaders, request } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Readable } from 'node:stream';
import { type ServerType, serve } from '@hono/node-server';
import { expect } from 'vitest';
import { authorizeApplication } from '../../../src/admin/applications.js';
import type { ConfigInput } from '../../../src/config/schema.js';
import { createServer } from '../../../src/server.js';
import type { Api, User } from '../../../src/storage/types.js';
import { type Credentials, csrfOf, SESSION_COOKIE, UserAgent } from '../../protocol/sign-in/agent.js';
import { authorizationUrl, newUser, s256 } from '../../protocol/sign-in/fixtures.js';
import { startTestApp, type TestApp } from '../../support/app.js';
import type { Backend } from '../../support/databases.js';

export const CALLBACK = 'https://rp.example/cb';
export const LOGOUT_CALLBACK = 'https://rp.example/signed-out';
export const NATIVE_CALLBACK = 'com.example.hostile:/cb';
export const DEVICE_GRANT = 'urn:ietf:params:oauth:grant-type:device_code';
export const VERIFIER = 'hostile-suite-code-verifier-0123456789-abcdefghijklmnop';
export const CHALLENGE = s256(VERIFIER);
/** The configured body cap (config.bodyLimit default). */
export const BODY_LIMIT = 65_536;
/** Longest any single request may take. */
export const REQUEST_BUDGET_MS = 5_000;

/** fast-check runs per endpoint per backend: SESAME_FUZZ_RUNS, default 300. */
export const RUNS = Math.max(1, Number(process.env.SESAME_FUZZ_RUNS ?? 300) || 300);
/** A fixed seed for reproducing a failure (fast-check prints the one it used). */
export const SEED = process.env.SESAME_FUZZ_SEED ? Number(process.env.SESAME_FUZZ_SEED) : undefined;

/** Login throttling so high that it never hides the code paths behind a 429. */
export const NO_THROTTLE: Partial<ConfigInput> = {
  login: { accountFailures: 1_000_000, ipFailures: 1_000_000 },
};

export interface Client {
  clientId: string;
  clientSecret?: string;
}

/** Everything a hostile request may want to be valid: clients, a user, tokens, cookies, CSRF tokens. */
export interface World {
  t: TestApp;
  api: Api;
  /** Confidential web app with every grant, no consent, offline access. */
  web: Required<Client>;
  /** Public native app (device grant, PKCE). */
  native: Client;
  m2m: Required<Client>;
  user: User;
  creds: Credentials;
  accessToken: string;
  idToken: string;
  refreshToken: string;
  deviceCode: string;
  userCode: string;
  /** Authorization codes for the web app (PKCE with VERIFIER), each good once. */
  codes: string[];
  /** Cookie header of a signed-in browser (keep it alive: only logout targets may end sessions). */
  session: string;
  /** The CSRF token /activate shows that session. */
  activateCsrf: string;
  /** Cookie header and CSRF token of a live login interaction. */
  interaction: { cookie: string; csrf: string };
  /** A second signed-in browser that logout requests may end, and its logout CSRF token. */
  /** A browser about to sign out: its cookie, its logout CSRF token, an ID token of its session. */
  logout: { cookie: string; csrf: string; idToken: string };
}

const form = (fields: Record<string, string>) => new URLSearchParams(fields).toString();

/** POSTs a form and returns the parsed JSON, failing loudly on anything but 200. */
async function postJson(t: TestApp, path: string, fields: Record<string, string>) {
  const res = await t.fetch(`${t.issuer}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: form(fields),
  });
  const text = await res.text();
  if (res.status !== 200) throw new Error(`${path} answered ${res.status}: ${text}`);
  return JSON.parse(text) as Record<string, string>;
}

/** A browser signed in through the web app (no consent). */
async function signedInBrowser(t: TestApp, web: Client, creds: Credentials): Promise<UserAgent> {
  const agent = new UserAgent(t, creds);
  const flow = await agent.signIn(
    authorizationUrl(t, { client_id: web.clientId, redirect_uri: CALLBACK, state: 's', nonce: 'n' }),
  );
  if (!flow.location?.searchParams.get('code')) throw new Error('setup: sign-in did not reach the client');
  if (!agent.cookies.get(SESSION_COOKIE)) throw new Error('setup: no session cookie');
  return agent;
}

const cookieHeader = (agent: UserAgent) => [...agent.cookies].map(([k, v]) => `${k}=${v}`).join('; ');

/** Builds the world on a fresh database of `backend`. */
export async function buildWorld(
  backend: Backend,
  config: Partial<ConfigInput> = NO_THROTTLE,
): Promise<World> {
  const t = await startTestApp(backend, config);
  const api = await t.createApi({ name: 'Hostile API' });
  const web = (await t.createApp({
    name: 'Hostile web',
    type: 'web',
    requirePkce: false,
    callbacks: [CALLBACK],
    logoutCallbacks: [LOGOUT_CALLBACK],
    grants: [
      'authorization_code',
      'refresh_token',
      'password',
      'implicit',
      'client_credentials',
      DEVICE_GRANT,
    ],
    skipConsent: true,
    allowOfflineAccess: true,
  })) as Required<Client>;
  await authorizeApplication(t.rt.storage, t.clock, web.clientId, api.identifier, ['read:things']);
  const native = await t.createApp({ name: 'Hostile native', type: 'native', callbacks: [NATIVE_CALLBACK] });
  const m2m = await t.createM2m(api);
  const { user, creds } = await newUser(t, { name: 'Hostile Person' });
  const tokens = await postJson(t, '/oauth/token', {
    grant_type: 'password',
    client_id: web.clientId,
    client_secret: web.clientSecret,
    username: creds.email,
    password: creds.password,
    scope: 'openid profile email offline_access',
  });
  const device = await postJson(t, '/oauth/device/code', {
    client_id: web.clientId,
    client_secret: web.clientSecret,
    scope: 'openid',
  });
  const signedIn = await signedInBrowser(t, web, creds);
  const session = cookieHeader(signedIn);
  const codes: string[] = [];
  for (let i = 0; i < 3; i++) {
    const url = authorizationUrl(t, {
      client_id: web.clientId,
      redirect_uri: CALLBACK,
      scope: 'openid offline_access',
      code_challenge: CHALLENGE,
      code_challenge_method: 'S256',
    });
    const res = await t.fetch(url, { headers: { cookie: session }, redirect: 'manual' });
    const code = new URL(res.headers.get('location') ?? 'x:').searchParams.get('code');
    if (!code) throw new Error(`setup: no code (${res.status} ${res.headers.get('location')})`);
    codes.push(code);
  }
  const activate = await t.fetch(`${t.issuer}/activate`, { headers: { cookie: session } });
  const activateCsrf = csrfOf(await activate.text());
  // A login interaction left open on the login page.
  const pending = new UserAgent(t, creds);
  const started = await pending.get(authorizationUrl(t, { client_id: web.clientId, redirect_uri: CALLBACK }));
  if (started.headers.get('location')?.split('?')[0] !== '/u/login')
    throw new Error('setup: no login interaction');
  const loginPage = await pending.get('/u/login');
  const interaction = { cookie: cookieHeader(pending), csrf: csrfOf(await loginPage.text()) };
  const leaving = await signedInBrowser(t, web, creds);
  const logoutPage = await leaving.get('/oidc/logout');
  // An ID token that names the leaving browser's session (sid), as a hint that signs it out at once.
  const leavingAuth = await t.fetch(
    authorizationUrl(t, {
      client_id: web.clientId,
      redirect_uri: CALLBACK,
      scope: 'openid',
      code_challenge: CHALLENGE,
      code_challenge_method: 'S256',
    }),
    { headers: { cookie: cookieHeader(leaving) }, redirect: 'manual' },
  );
  const leavingTokens = await postJson(t, '/oauth/token', {
    grant_type: 'authorization_code',
    code: new URL(leavingAuth.headers.get('location') ?? 'x:').searchParams.get('code') ?? '',
    redirect_uri: CALLBACK,
    code_verifier: VERIFIER,
    client_id: web.clientId,
    client_secret: web.clientSecret,
  });
  const logout = {
    cookie: cookieHeader(leaving),
    csrf: csrfOf(await logoutPage.text()),
    idToken: leavingTokens.id_token as string,
  };
  return {
    t,
    api,
    web,
    native,
    m2m,
    user,
    creds,
    accessToken: tokens.access_token as string,
    idToken: tokens.id_token as string,
    refreshToken: tokens.refresh_token as string,
    deviceCode: device.device_code as string,
    userCode: device.user_code as string,
    codes,
    session,
    activateCsrf,
    interaction,
    logout,
  };
}

/** What kind of answers an endpoint gives. */
export type Kind =
  /** RFC 6749 §5.2 JSON errors only. */
  | 'oauth'
  /** RFC 6750 §3 JSON errors with WWW-Authenticate: Bearer. */
  | 'bearer'
  /** Sesame's HTML pages (form-parsing errors may be JSON invalid_request). */
  | 'page'
  /** Error pages before redirect_uri validation, redirects with error+iss after. */
  | 'authorize';

/** One endpoint (method + path + browser state) under attack. */
export interface Target {
  id: string;
  method: 'GET' | 'POST';
  path: string;
  kind: Kind;
  /** The Allow header of the path. */
  allow: string[];
  /** Parameter names the endpoint knows. */
  names: string[];
  /** Cookie header the browser sends. */
  cookie(w: World): string | undefined;
  /** A well-formed request's parameters. */
  base(w: World): Record<string, string>;
  /** Authorization header of the well-formed request. */
  auth?(w: World): string;
  /** Values that mean something to the endpoint, by parameter name. */
  good(w: World): Record<string, string[]>;
}

const _basic = (c: Required<Client>) =>
  `Basic ${Buffer.from(`${encodeURIComponent(c.clientId)}:${encodeURIComponent(c.clientSecret)}`).toString('base64')}`;

const AUTHORIZE_NAMES = [
  'response_type',
  'client_id',
  'redirect_uri',
  'scope',
  'state',
  'nonce',
  'code_challenge',
  'code_challenge_method',
  'response_mode',
  'prompt',
  'max_age',
  'login_hint',
  'id_token_hint',
  'audience',
  'resource',
  'acr_values',
  'ui_locales',
  'display',
  'claims',
  'request',
  'request_uri',
];

const authorizeBase = (w: World) => ({
  response_type: 'code',
  client_id: w.web.clientId,
  redirect_uri: CALLBACK,
  scope: 'openid',
  state: 'st',
  nonce: 'no',
  code_challenge: CHALLENGE,
  code_challenge_method: 'S256',
});

const authorizeGood = (w: World): Record<string, string[]> => ({
  response_type: ['code', 'id_token', 'code id_token', 'token', 'id_token token', 'code id_token token'],
  client_id: [w.web.clientId, w.native.clientId, w.m2m.clientId],
  redirect_uri: [CALLBACK, NATIVE_CALLBACK, 'http://127.0.0.1:9/cb'],
  scope: ['openid', 'openid profile email offline_access', 'read:things', 'openid read:things'],
  code_challenge: [CHALLENGE],
  code_challenge_method: ['S256', 'plain'],
  response_mode: ['query', 'fragment', 'form_post'],
  prompt: ['none', 'login', 'consent', 'select_account', 'none login'],
  max_age: ['0', '60', '-1', '999999999999'],
  login_hint: [w.creds.email],
  id_token_hint: [w.idToken],
  audience: [w.api.identifier],
  resource: [w.api.identifier, 'urn:x', 'https://a.example/#f'],
});

const TOKEN_NAMES = [
  'grant_type',
  'client_id',
  'client_secret',
  'code',
  'redirect_uri',
  'code_verifier',
  'refresh_token',
  'scope',
  'audience',
  'resource',
  'username',
  'password',
  'device_code',
];

const clientGood = (w: World) => ({
  client_id: [w.web.clientId, w.native.clientId, w.m2m.clientId],
  client_secret: [w.web.clientSecret, w.m2m.clientSecret],
});

const tokenishGood = (w: World) => [w.accessToken, w.refreshToken, w.idToken, w.deviceCode];

/** The endpoints under attack. Revocation comes last: it may revoke the world's tokens. */
export const TARGETS: Target[] = [
  {
    id: 'GET /authorize',
    method: 'GET',
    path: '/authorize',
    kind: 'authorize',
    allow: ['GET', 'HEAD', 'POST'],
    names: AUTHORIZE_NAMES,
    cookie: () => undefined,
    base: authorizeBase,
    good: authorizeGood,
  },
  {
    id: 'GET /authorize (session)',
    method: 'GET',
    path: '/authorize',
    kind: 'authorize',
    allow: ['GET', 'HEAD', 'POST'],
    names: AUTHORIZE_NAMES,
    cookie: (w) => w.session,
    base: authorizeBase,
    good: authorizeGood,
  },
  {
    id: 'POST /authorize',
    method: 'POST',
    path: '/authorize',
    kind: 'authorize',
    allow: ['GET', 'HEAD', 'POST'],
    names: AUTHORIZE_NAMES,
    cookie: () => undefined,
    base: authorizeBase,
    good: authorizeGood,
  },
  {
    id: 'POST /oauth/token',
    method: 'POST',
    path: '/oauth/token',
    kind: 'oauth',
    allow: ['POST', 'OPTIONS'],
    names: TOKEN_NAMES,
    cookie: () => undefined,
    base: (w) => ({
      grant_type: 'client_credentials',
      client_id: w.web.clientId,
      client_secret: w.web.clientSecret,
      audience: w.api.identifier,
    }),
    good: (w) => ({
      ...clientGood(w),
      grant_type: [
        'authorization_code',
        'refresh_token',
        'client_credentials',
        'password',
        DEVICE_GRANT,
        'implicit',
      ],
      code: [...w.codes, w.refreshToken],
      redirect_uri: [CALLBACK],
      code_verifier: [VERIFIER],
      refresh_token: [w.refreshToken],
      scope: ['openid', 'read:things', 'openid offline_access'],
      audience: [w.api.identifier],
      resource: [w.api.identifier],
      username: [w.creds.email, w.creds.email.toUpperCase()],
      password: [w.creds.password],
      device_code: [w.deviceCode],
    }),
  },
  {
    id: 'POST /oauth/device/code',
    method: 'POST',
    path: '/oauth/device/code',
    kind: 'oauth',
    allow: ['POST'],
    names: ['client_id', 'client_secret', 'scope', 'audience', 'resource'],
    cookie: () => undefined,
    base: (w) => ({ client_id: w.native.clientId, scope: 'openid' }),
    good: (w) => ({
      ...clientGood(w),
      scope: ['openid', 'openid offline_access', 'read:things'],
      audience: [w.api.identifier],
      resource: [w.api.identifier],
    }),
  },
  {
    id: 'GET /activate',
    method: 'GET',
    path: '/activate',
    kind: 'page',
    allow: ['GET', 'HEAD', 'POST'],
    names: ['user_code'],
    cookie: () => undefined,
    base: (w) => ({ user_code: w.userCode }),
    good: (w) => ({ user_code: [w.userCode, w.userCode.toLowerCase(), w.userCode.replace('-', '')] }),
  },
  {
    id: 'GET /activate (session)',
    method: 'GET',
    path: '/activate',
    kind: 'page',
    allow: ['GET', 'HEAD', 'POST'],
    names: ['user_code'],
    cookie: (w) => w.session,
    base: (w) => ({ user_code: w.userCode }),
    good: (w) => ({ user_code: [w.userCode, w.userCode.toLowerCase(), w.userCode.replace('-', '')] }),
  },
  {
    id: 'POST /activate',
    method: 'POST',
    path: '/activate',
    kind: 'page',
    allow: ['GET', 'HEAD', 'POST'],
    names: ['user_code', 'csrf'],
    cookie: () => undefined,
    base: (w) => ({ user_code: w.userCode, csrf: w.activateCsrf }),
    good: (w) => ({ user_code: [w.userCode], csrf: [w.activateCsrf] }),
  },
  {
    id: 'POST /activate (session)',
    method: 'POST',
    path: '/activate',
    kind: 'page',
    allow: ['GET', 'HEAD', 'POST'],
    names: ['user_code', 'csrf'],
    cookie: (w) => w.session,
    base: (w) => ({ user_code: w.userCode, csrf: w.activateCsrf }),
    good: (w) => ({ user_code: [w.userCode, w.userCode.toLowerCase()], csrf: [w.activateCsrf] }),
  },
  {
    id: 'GET /userinfo',
    method: 'GET',
    path: '/userinfo',
    kind: 'bearer',
    allow: ['GET', 'HEAD', 'POST', 'OPTIONS'],
    names: ['access_token', 'scope'],
    cookie: () => undefined,
    base: () => ({}),
    auth: (w) => `Bearer ${w.accessToken}`,
    good: (w) => ({ access_token: [w.accessToken] }),
  },
  {
    id: 'POST /userinfo',
    method: 'POST',
    path: '/userinfo',
    kind: 'bearer',
    allow: ['GET', 'HEAD', 'POST', 'OPTIONS'],
    names: ['access_token', 'scope'],
    cookie: () => undefined,
    base: (w) => ({ access_token: w.accessToken }),
    good: (w) => ({ access_token: [w.accessToken, w.idToken, w.refreshToken] }),
  },
  {
    id: 'POST /oauth/introspect',
    method: 'POST',
    path: '/oauth/introspect',
    kind: 'oauth',
    allow: ['POST'],
    names: ['token', 'token_type_hint', 'client_id', 'client_secret'],
    cookie: () => undefined,
    base: (w) => ({ token: w.accessToken, client_id: w.web.clientId, client_secret: w.web.clientSecret }),
    good: (w) => ({
      ...clientGood(w),
      token: tokenishGood(w),
      token_type_hint: ['access_token', 'refresh_token'],
    }),
  },
  {
    id: 'GET /oidc/logout',
    method: 'GET',
    path: '/oidc/logout',
    kind: 'page',
    allow: ['GET', 'HEAD', 'POST'],
    names: [
      'id_token_hint',
      'post_logout_redirect_uri',
      'state',
      'client_id',
      'confirm',
      'csrf',
      'ui_locales',
    ],
    cookie: (w) => w.logout.cookie,
    base: (w) => ({
      id_token_hint: w.logout.idToken,
      post_logout_redirect_uri: LOGOUT_CALLBACK,
      state: 'st',
      client_id: w.web.clientId,
    }),
    good: (w) => ({
      id_token_hint: [w.logout.idToken, w.idToken],
      post_logout_redirect_uri: [LOGOUT_CALLBACK, CALLBACK],
      client_id: [w.web.clientId, w.native.clientId],
      confirm: ['yes', 'no'],
      csrf: [w.logout.csrf],
    }),
  },
  {
    id: 'POST /oidc/logout',
    method: 'POST',
    path: '/oidc/logout',
    kind: 'page',
    allow: ['GET', 'HEAD', 'POST'],
    names: [
      'id_token_hint',
      'post_logout_redirect_uri',
      'state',
      'client_id',
      'confirm',
      'csrf',
      'ui_locales',
    ],
    cookie: (w) => w.logout.cookie,
    base: (w) => ({
      id_token_hint: w.logout.idToken,
      post_logout_redirect_uri: LOGOUT_CALLBACK,
      state: 'st',
      client_id: w.web.clientId,
    }),
    good: (w) => ({
      id_token_hint: [w.logout.idToken, w.idToken],
      post_logout_redirect_uri: [LOGOUT_CALLBACK, CALLBACK],
      client_id: [w.web.clientId, w.native.clientId],
      confirm: ['yes', 'no'],
      csrf: [w.logout.csrf],
    }),
  },
  {
    id: 'GET /u/login',
    method: 'GET',
    path: '/u/login',
    kind: 'page',
    allow: ['GET', 'HEAD', 'POST'],
    names: ['login_hint', 'email'],
    cookie: (w) => w.interaction.cookie,
    base: () => ({}),
    good: (w) => ({ email: [w.creds.email] }),
  },
  {
    id: 'POST /u/login',
    method: 'POST',
    path: '/u/login',
    kind: 'page',
    allow: ['GET', 'HEAD', 'POST'],
    names: ['csrf', 'email', 'password'],
    cookie: (w) => w.interaction.cookie,
    base: (w) => ({ csrf: w.interaction.csrf, email: w.creds.email, password: 'wrong password, hostile' }),
    good: (w) => ({
      csrf: [w.interaction.csrf],
      email: [w.creds.email, w.creds.email.toUpperCase(), ` ${w.creds.email} `],
      password: [w.creds.password],
    }),
  },
  {
    id: 'POST /oauth/revoke',
    method: 'POST',
    path: '/oauth/revoke',
    kind: 'oauth',
    allow: ['POST', 'OPTIONS'],
    names: ['token', 'token_type_hint', 'client_id', 'client_secret'],
    cookie: () => undefined,
    // Unknown token: a well-formed request that revokes nothing the other targets rely on.
    base: (w) => ({
      token: 'not-a-token-of-this-server',
      client_id: w.web.clientId,
      client_secret: w.web.clientSecret,
    }),
    good: (w) => ({
      ...clientGood(w),
      token: tokenishGood(w),
      token_type_hint: ['access_token', 'refresh_token'],
    }),
  },
];

export const targetById = (id: string): Target => {
  const target = TARGETS.find((x) => x.id === id);
  if (!target) throw new Error(`no target ${id}`);
  return target;
};

export const POST_TARGETS = TARGETS.filter((x) => x.method === 'POST');
export const GET_TARGETS = TARGETS.filter((x) => x.method === 'GET');

/**
 * One parameter: a name with a plain value (form-encoded when sent) or a raw one (already
 * percent-encoded, sent as is), or a whole raw `name=value` pair.
 */
export type Param = [name: string, value: string] | [name: string, value: { raw: string }] | { raw: string };

/** application/x-www-form-urlencoded of `params`; lone surrogates become U+FFFD as in browsers. */
export function encodeParams(params: Param[]): string {
  return params
    .map((p) => {
      if (!Array.isArray(p)) return p.raw;
      const [k, v] = p;
      return typeof v === 'string'
        ? new URLSearchParams([[k, v]]).toString()
        : `${new URLSearchParams([[k, '']])}${v.raw}`;
    })
    .join('&');
}

export const entries = (fields: Record<string, string>): Param[] => Object.entries(fields);

/** What a request got back, its body read, and how long it took. */
export interface Answer {
  status: number;
  headers: Headers;
  text: string;
  ms: number;
  location: string | null;
}

export interface Call {
  method: string;
  /** Path with an optional query string. */
  path: string;
  headers?: Record<string, string>;
  body?: RequestInit['body'];
}

/** Sends `call` to Sesame in-process, never following redirects; fails when it takes over the budget. */
export async function send(t: TestApp, call: Call, budget = REQUEST_BUDGET_MS): Promise<Answer> {
  const start = performance.now();
  const init: RequestInit & { duplex?: 'half' } = {
    method: call.method,
    headers: call.headers ?? {},
    redirect: 'manual',
  };
  if (call.body !== undefined && call.body !== null) init.body = call.body;
  if (call.body instanceof ReadableStream) init.duplex = 'half';
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(new Error(`${call.method} ${call.path.slice(0, 200)} took longer than ${budget} ms`)),
      budget,
    );
  });
  try {
    const res = await Promise.race([t.fetch(`${t.issuer}${call.path}`, init), timeout]);
    const text = await Promise.race([res.text(), timeout]);
    const ms = performance.now() - start;
    return { status: res.status, headers: res.headers, text, ms, location: res.headers.get('location') };
  } finally {
    clearTimeout(timer);
  }
}

/** The well-formed request of `target` with `params` instead of its base parameters. */
export function requestOf(
  w: World,
  target: Target,
  params: Param[],
  opts: { contentType?: string | null; auth?: string | null; method?: string } = {},
): Call {
  const headers: Record<string, string> = {};
  const cookie = target.cookie(w);
  if (cookie) headers.cookie = cookie;
  const auth = opts.auth === undefined ? target.auth?.(w) : opts.auth;
  if (auth) headers.authorization = auth;
  const method = opts.method ?? target.method;
  const encoded = encodeParams(params);
  if (target.method === 'GET') {
    return { method, path: encoded ? `${target.path}?${encoded}` : target.path, headers };
  }
  const contentType = opts.contentType === undefined ? 'application/x-www-form-urlencoded' : opts.contentType;
  if (contentType !== null) headers['content-type'] = contentType;
  return { method, path: target.path, headers, body: Buffer.from(encoded, 'utf8') };
}

/** Sends `target`'s request with `params` (default: its base parameters). */
export function hit(
  w: World,
  target: Target,
  params: Param[] = entries(target.base(w)),
  opts: { contentType?: string | null; auth?: string | null } = {},
): Promise<Answer> {
  return send(w.t, requestOf(w, target, params, opts));
}

/** The parsed JSON body, or null. */
export function jsonOf(a: Answer): Record<string, unknown> | null {
  try {
    const v: unknown = JSON.parse(a.text);
    return v && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, unknown>) : null;
  } catch {
    return null;
  }
}

export const isJson = (a: Answer) => /^application\/json\b/.test(a.headers.get('content-type') ?? '');
export const isHtml = (a: Answer) =>
  /^text\/html\b/.test(a.headers.get('content-type') ?? '') && a.text.startsWith('<!doctype html>');

/** The error code of a JSON error answer, or undefined. */
export const errorOf = (a: Answer): string | undefined => {
  const e = jsonOf(a)?.error;
  return typeof e === 'string' ? e : undefined;
};

// RFC 6749 §5.2: error codes are %x20-21 / %x23-5B / %x5D-7E.
const ERROR_CODE = /^[\x20\x21\x23-\x5B\x5D-\x7E]+$/;

/** A short description of an answer for assertion messages. */
export function show(a: Answer): string {
  return `${a.status} ${a.headers.get('content-type')} location=${a.location} ${a.text.slice(0, 300)}`;
}

/** The query or fragment parameters of a redirect to a client. */
export function redirectParams(location: string): URLSearchParams | null {
  if (!URL.canParse(location)) return null;
  const url = new URL(location);
  return new URLSearchParams(url.hash ? url.hash.slice(1) : url.search);
}

const SESAME_PAGES = /^\/(u\/login|u\/consent|authorize\/resume|activate)(\?|$)/;

/**
 * Whether `a` is a spec-shaped answer of `target`, or why not: never a 5xx; every header value
 * free of CR/LF; 4xx as JSON with an RFC 6749 `error` (OAuth endpoints), or an HTML page (page
 * endpoints, and /authorize before redirect_uri validation); 3xx to Sesame's own pages or to a
 * registered redirect URI with `iss`; 2xx JSON (OAuth), or HTML (pages).
 */
export function problemWith(
  w: World,
  target: Target,
  a: Answer,
  method: string = target.method,
): string | null {
  if (a.status >= 500 || a.status < 200) return `status ${a.status}`;
  for (const [name, value] of a.headers) {
    if (/[\r\n]/.test(value)) return `header ${name} holds CR/LF`;
  }
  if (a.ms > REQUEST_BUDGET_MS) return `took ${Math.round(a.ms)} ms`;
  if (method === 'HEAD') return a.text === '' ? null : 'HEAD with a body';
  // A CORS preflight (endpoints a browser application calls): 204, no body, no CORS headers
  // unless an application registered the origin (the fuzzer's origins are registered by none).
  if (method === 'OPTIONS' && target.allow.includes('OPTIONS')) {
    if (a.status !== 204 || a.text !== '') return `OPTIONS answered ${a.status} with a body`;
    return a.headers.get('access-control-allow-origin')
      ? 'a preflight allowed for an unregistered origin'
      : null;
  }
  if (a.status >= 400) {
    if (isJson(a)) {
      const error = errorOf(a);
      if (!error || !ERROR_CODE.test(error)) return 'JSON error answer without an RFC 6749 error code';
      if (a.status === 405 && !a.headers.get('allow')) return '405 without Allow';
      if (a.status === 401 && !a.headers.get('www-authenticate')) return '401 without WWW-Authenticate';
      if (a.status === 413 && error !== 'invalid_request') return '413 that is not invalid_request';
      if (target.kind === 'bearer' && [400, 401, 403].includes(a.status)) {
        if (!/^Bearer /.test(a.headers.get('www-authenticate') ?? ''))
          return 'Bearer error without challenge';
      }
      if (target.kind === 'page' || target.kind === 'authorize') {
        // Pages answer with HTML, except for the request-level refusals made before any page logic.
        const early = error === 'invalid_request' && [400, 405, 413].includes(a.status);
        if (!early) return `page endpoint answered JSON ${error}`;
      }
      return null;
    }
    if (isHtml(a) && (target.kind === 'page' || target.kind === 'authorize')) {
      return a.headers.get('content-security-policy') ? null : 'HTML page without CSP';
    }
    return `4xx that is neither a JSON error nor a page: ${a.headers.get('content-type')}`;
  }
  if (a.status >= 300) {
    const loc = a.location;
    if (!loc) return `${a.status} without Location`;
    if (SESAME_PAGES.test(loc)) return null;
    if (target.kind === 'authorize') {
      const p = redirectParams(loc);
      const registered =
        [CALLBACK, NATIVE_CALLBACK].some((cb) => loc.startsWith(cb)) ||
        /^http:\/\/127\.0\.0\.1:\d+\/cb/.test(loc);
      if (!registered || !p) return `redirect to an unregistered place: ${loc}`;
      if (p.get('iss') !== w.t.issuer) return `redirect without iss: ${loc}`;
      const answered = ['error', 'code', 'access_token', 'id_token'].some((k) => p.has(k));
      return answered ? null : `redirect without a response: ${loc}`;
    }
    if (target.path === '/oidc/logout' && loc.startsWith(LOGOUT_CALLBACK)) return null;
    return `redirect to ${loc}`;
  }
  // 2xx
  if (target.kind === 'oauth' || target.kind === 'bearer') {
    if (target.path === '/oauth/revoke' && a.text === '') return null;
    return isJson(a) && jsonOf(a) ? null : '2xx that is not a JSON object';
  }
  if (!isHtml(a)) return '2xx that is not an HTML page';
  if (target.kind === 'authorize' && !a.text.includes(`name="iss" value="${w.t.issuer}"`)) {
    return 'form_post page without iss';
  }
  return null;
}

/** Asserts that `a` is spec-shaped for `target` (see problemWith). */
export function expectShaped(w: World, target: Target, a: Answer, method: string = target.method): void {
  expect(problemWith(w, target, a, method), show(a)).toBeNull();
}

/** Rows Sesame must still have after an attack, counted through its own storage. */
export async function census(w: World) {
  const s = w.t.rt.storage;
  const [users, apps, apis, me] = await Promise.all([
    s.users.list(),
    s.applications.list(),
    s.apis.list(),
    s.users.getByEmail(w.creds.email),
  ]);
  return {
    users: users.length,
    applications: apps.length,
    apis: apis.length,
    meIntact: me?.id === w.user.id && me.passwordHash === w.user.passwordHash,
    webIntact: (await s.applications.get(w.web.clientId))?.secretHash !== null,
  };
}

/** Sesame of `w` behind a real Node HTTP listener on 127.0.0.1 (what production runs). */
export async function listen(w: World): Promise<{ port: number; close(): Promise<void> }> {
  const app = createServer(w.t.rt);
  const server = await new Promise<ServerType>((resolve) => {
    const s = serve({ fetch: app.fetch, port: 0, hostname: '127.0.0.1' }, () => resolve(s));
  });
  const address = server.address() as AddressInfo;
  return {
    port: address.port,
    close: () =>
      new Promise<void>((resolve) => {
        if ('closeAllConnections' in server) server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** A raw HTTP/1.1 request over a socket: status and headers (the body is drained). */
export function rawRequest(
  port: number,
  opts: { method: string; path: string; headers?: Record<string, string>; body?: Readable | Buffer },
): Promise<{ status: number; headers: IncomingHttpHeaders; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request(
      { host: '127.0.0.1', port, method: opts.method, path: opts.path, headers: opts.headers ?? {} },
      (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (d: string) => {
          body += d;
        });
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
        res.on('error', reject);
      },
    );
    // The server may answer and close before the whole body is sent; that is its right.
    req.on('error', (err: NodeJS.ErrnoException) => {
      if (err.code === 'EPIPE' || err.code === 'ECONNRESET') return;
      reject(err);
    });
    if (opts.body instanceof Readable) opts.body.pipe(req);
    else req.end(opts.body);
  });
}

/** A stream of `size` bytes of form text (`name=aaaa…`), produced on demand in 64 KB chunks. */
export function lazyBody(size: number, name = 'state'): ReadableStream<Uint8Array> {
  let sent = 0;
  const head = new TextEncoder().encode(`${name}=`);
  return new ReadableStream<Uint8Array>({
    pull(controller) {
      if (sent >= size) {
        controller.close();
        return;
      }
      const n = Math.min(65_536, size - sent);
      const chunk = new Uint8Array(n).fill(0x61);
      if (sent === 0) chunk.set(head.subarray(0, n));
      sent += n;
      controller.enqueue(chunk);
    },
  });
}

/**
 * What an answer amounts to, without the echoed details: status and error code (JSON, or the
 * redirect's `error`), or "page", or where a redirect goes.
 */
export function verdict(a: Answer): string {
  const error = errorOf(a);
  if (error) return `${a.status} ${error}`;
  if (a.location) {
    const p = URL.canParse(a.location) ? redirectParams(a.location) : null;
    if (p?.get('error')) return `${a.status} redirect error=${p.get('error')}`;
    if (p?.get('code')) return `${a.status} redirect with code`;
    return `${a.status} redirect to ${a.location.split('?')[0]}`;
  }
  return `${a.status} ${isHtml(a) ? 'page' : a.headers.get('content-type')}`;
}
