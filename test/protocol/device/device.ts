// Helpers for the Device Authorization Grant tests (RFC 8628): the device's requests and a
// person at /activate.
import { createLocalJWKSet, type JWTPayload, jwtVerify } from 'jose';
import { expect } from 'vitest';
import { createServer } from '../../../src/server.js';
import type { TestApp } from '../../support/app.js';
import { type Credentials, csrfOf, inInteraction, UserAgent } from '../sign-in/agent.js';
import { type TokenAnswer, tokenRequest } from '../sign-in/fixtures.js';

export const DEVICE_GRANT = 'urn:ietf:params:oauth:grant-type:device_code';
/** RFC 8628 §6.1 user codes: consonants only. */
export const USER_CODE_ALPHABET = 'BCDFGHJKLMNPQRSTVWXZ';
export const USER_CODE = /^[BCDFGHJKLMNPQRSTVWXZ]{4}-[BCDFGHJKLMNPQRSTVWXZ]{4}$/;
/** What /activate says about a wrong, expired or already decided code. */
export const INVALID_CODE = 'That code is not valid or has expired. Check the code on your device.';

/** A client as the tests know it: public (no secret) or confidential. */
export interface ClientCreds {
  clientId: string;
  clientSecret?: string;
}

/** A device authorization response (RFC 8628 §3.2). */
export interface DeviceGrant {
  device_code: string;
  user_code: string;
  verification_uri: string;
  verification_uri_complete: string;
  expires_in: number;
  interval: number;
}

/** The client_id, and client_secret when it has one (client_secret_post). */
const credsOf = (c: ClientCreds): Record<string, string> =>
  c.clientSecret === undefined
    ? { client_id: c.clientId }
    : { client_id: c.clientId, client_secret: c.clientSecret };

/** POSTs /oauth/device/code with raw form parameters (and headers, e.g. Authorization). */
export async function deviceRequest(
  t: TestApp,
  params: Record<string, string> | [string, string][],
  headers: Record<string, string> = {},
): Promise<TokenAnswer> {
  const res = await t.fetch(`${t.issuer}/oauth/device/code`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded', ...headers },
    body: new URLSearchParams(params),
  });
  const text = await res.text();
  let body: TokenAnswer['body'];
  try {
    body = JSON.parse(text) as TokenAnswer['body'];
  } catch {
    throw new Error(`/oauth/device/code answered ${res.status} with non-JSON:\n${text}`);
  }
  return { status: res.status, headers: res.headers, body };
}

/** Starts a device authorization for `client` that must succeed. */
export async function startDevice(
  t: TestApp,
  client: ClientCreds,
  params: Record<string, string> = {},
): Promise<DeviceGrant> {
  const answer = await deviceRequest(t, { ...credsOf(client), ...params });
  expect(answer.status, JSON.stringify(answer.body)).toBe(200);
  return answer.body as unknown as DeviceGrant;
}

/** The device polls the token endpoint once (with `extra` parameters). */
export function poll(
  t: TestApp,
  client: ClientCreds,
  deviceCode: string,
  extra: Record<string, string> = {},
): Promise<TokenAnswer> {
  return tokenRequest(t, { grant_type: DEVICE_GRANT, device_code: deviceCode, ...credsOf(client), ...extra });
}

/** The `error` of a token answer, or 'ok' for a 200 (so a list of answers reads at a glance). */
export const outcome = (a: TokenAnswer): string => (a.status === 200 ? 'ok' : `${a.status} ${a.body.error}`);

const servers = new WeakMap<TestApp, ReturnType<typeof createServer>>();

/**
 * The same Sesame (same runtime and database) reached from the peer address `ip`, as the Node
 * server would report it for a socket; t.fetch has no socket, so every request comes from
 * 'unknown' there.
 */
export function fromIp(t: TestApp, ip: string): TestApp {
  let app = servers.get(t);
  if (!app) {
    app = createServer(t.rt);
    servers.set(t, app);
  }
  const server = app;
  const env = { incoming: { socket: { remoteAddress: ip } } };
  const fetch = async (input: string | URL | Request, init?: RequestInit) =>
    server.fetch(input instanceof Request && !init ? input : new Request(input, init), env);
  return { ...t, fetch };
}

/** A page answered by /activate: the response and its HTML. */
export interface PageAnswer {
  res: Response;
  html: string;
}

/** The text of the page's alert (the error message), if any. */
export const alertOf = (html: string): string | undefined => /role="alert">([^<]*)</.exec(html)?.[1]?.trim();

/** The texts of the page's list items, tags removed. */
export const listItems = (html: string): string[] =>
  [...html.matchAll(/<li>([\s\S]*?)<\/li>/g)].map((m) =>
    (m[1] ?? '')
      .replace(/<[^>]+>/g, '')
      .replace(/\s+/g, ' ')
      .trim(),
  );

/** The page's first heading, tags removed. */
export const headingOf = (html: string): string | undefined =>
  /<h1>([\s\S]*?)<\/h1>/
    .exec(html)?.[1]
    ?.replace(/<[^>]+>/g, '')
    .trim();

/**
 * A person with a browser at /activate: signs in through /activate → /u/login → /activate,
 * then enters codes and presses Allow or Deny. `csrf` is the token of the activation forms.
 */
export class Activator {
  csrf = '';
  constructor(readonly agent: UserAgent) {}

  /** Signs `creds` in by opening `path` (/activate, possibly with ?user_code=) without a session. */
  static async signIn(t: TestApp, creds: Credentials, path = '/activate'): Promise<Activator> {
    const a = new Activator(new UserAgent(t, creds));
    let res = await a.agent.get(path);
    expect(res.status).toBe(303);
    expect(res.headers.get('location')).toEqual(inInteraction('/u/login'));
    const login = await a.agent.get('/u/login');
    expect(login.status).toBe(200);
    res = await a.agent.post('/u/login', {
      csrf: csrfOf(await login.text()),
      email: creds.email,
      password: creds.password,
    });
    expect(res.status, await res.clone().text()).toBe(303);
    const back = res.headers.get('location') as string;
    const page = await a.agent.get(back);
    const html = await page.text();
    expect(page.status, html).toBe(200);
    a.csrf = csrfOf(html);
    return a;
  }

  /** Types `code` on the /activate form and presses Continue. */
  async enter(code: string, csrf: string | null = this.csrf): Promise<PageAnswer> {
    const res = await this.agent.post('/activate', {
      ...(csrf === null ? {} : { csrf }),
      user_code: code,
    });
    return { res, html: await res.text() };
  }

  /** Presses Allow or Deny on the confirmation page of `code`. */
  async decide(
    code: string,
    decision: 'allow' | 'deny',
    csrf: string | null = this.csrf,
  ): Promise<PageAnswer> {
    const res = await this.agent.post('/activate/confirm', {
      ...(csrf === null ? {} : { csrf }),
      user_code: code,
      decision,
    });
    return { res, html: await res.text() };
  }

  /** Enters `code`, expects the confirmation page, and presses `decision` there with its own form. */
  async approve(code: string, decision: 'allow' | 'deny' = 'allow'): Promise<PageAnswer> {
    const confirm = await this.enter(code);
    expect(confirm.res.status, confirm.html).toBe(200);
    const hidden = /name="user_code" value="([^"]+)"/.exec(confirm.html)?.[1];
    expect(hidden, 'the confirmation form carries the user code').toBeTruthy();
    const done = await this.decide(hidden as string, decision, csrfOf(confirm.html));
    expect(done.res.status, done.html).toBe(200);
    return done;
  }
}

/** Verifies a JWT against Sesame's JWKS (fetched in-process). */
export async function verifyWithJwks(
  t: TestApp,
  token: string,
  opts: { audience: string; typ?: string },
): Promise<JWTPayload> {
  const res = await t.fetch(`${t.issuer}/.well-known/jwks.json`);
  expect(res.status).toBe(200);
  const jwks = createLocalJWKSet((await res.json()) as Parameters<typeof createLocalJWKSet>[0]);
  const { payload } = await jwtVerify(token, jwks, {
    issuer: t.issuer,
    audience: opts.audience,
    currentDate: new Date(t.clock.now() * 1000),
    ...(opts.typ ? { typ: opts.typ } : {}),
  });
  return payload;
}
