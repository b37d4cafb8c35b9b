// Helpers shared by the single-page-application tests (issue #13): raw requests against the
// issuer exactly as configured (with or without a trailing slash), a public client's sign-in
// through the in-process browser, and readers for the web_message page and CORS headers.
import { createHash, randomBytes } from 'node:crypto';
import { createLocalJWKSet, type JWTPayload, jwtVerify } from 'jose';
import { expect } from 'vitest';
import type { LogEvent } from '../../../src/storage/types.js';
import type { TestApp } from '../../support/app.js';
import { type SignInOptions, type UserAgent, unescapeHtml } from '../sign-in/agent.js';

export const SPA_ORIGIN = 'https://spa.example';
export const SPA_CALLBACK = `${SPA_ORIGIN}/callback`;
/** A web origin (Auth0's "Allowed Web Origins") registered apart from the callbacks. */
export const WEB_ORIGIN = 'https://app.spa.example';

/** The issuer without trailing slashes: what Sesame's paths follow. */
export const baseOf = (t: TestApp): string => t.issuer.replace(/\/+$/, '');

/** The URL of one of Sesame's endpoints (`path` starts with a slash). */
export const endpoint = (t: TestApp, path: string): string => `${baseOf(t)}${path}`;

/** A token endpoint (or revocation) answer, its body read. */
export interface Answer {
  status: number;
  headers: Headers;
  body: Record<string, unknown> & { error?: string; error_description?: string };
}

async function answerOf(res: Response): Promise<Answer> {
  const text = await res.text();
  let body: Answer['body'] = {};
  if (text !== '') body = JSON.parse(text) as Answer['body'];
  return { status: res.status, headers: res.headers, body };
}

/** POSTs a form to `path`. */
export async function postForm(
  t: TestApp,
  path: string,
  params: Record<string, string> | URLSearchParams,
  headers: Record<string, string> = {},
): Promise<Answer> {
  const res = await t.fetch(endpoint(t, path), {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded', ...headers },
    body: new URLSearchParams(params),
  });
  return answerOf(res);
}

/** POSTs a JSON body (an object, or the exact text) to `path`. */
export async function postJson(
  t: TestApp,
  path: string,
  body: string | Record<string, unknown>,
  headers: Record<string, string> = {},
): Promise<Answer> {
  const res = await t.fetch(endpoint(t, path), {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
  return answerOf(res);
}

/** Asserts an RFC 6749 §5.2 error: status and code; returns the description. */
export function expectError(a: Answer, status: number, error: string): string {
  expect({ status: a.status, error: a.body.error }, JSON.stringify(a.body)).toEqual({ status, error });
  return a.body.error_description as string;
}

/** A PKCE pair (RFC 7636, S256), computed without any client library. */
export function pkce(): { verifier: string; challenge: string } {
  const verifier = randomBytes(32).toString('base64url');
  return { verifier, challenge: createHash('sha256').update(verifier).digest('base64url') };
}

/** Who signs in where. */
export interface SpaClient {
  clientId: string;
  clientSecret?: string;
  redirectUri: string;
}

/** What a relying party keeps between /authorize and the callback. */
export interface Pending {
  url: string;
  state: string;
  nonce: string;
  verifier: string;
}

/** An authorization-code request with PKCE; `params` are added (null drops one). */
export function authorizeRequest(
  t: TestApp,
  c: SpaClient,
  params: Record<string, string | null> = {},
): Pending {
  const { verifier, challenge } = pkce();
  const state = params.state ?? randomBytes(8).toString('hex');
  const nonce = params.nonce ?? randomBytes(8).toString('hex');
  const all: Record<string, string | null> = {
    response_type: 'code',
    client_id: c.clientId,
    redirect_uri: c.redirectUri,
    scope: 'openid',
    state,
    nonce,
    code_challenge: challenge,
    code_challenge_method: 'S256',
    ...params,
  };
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(all)) if (v !== null) q.append(k, v);
  return { url: `${endpoint(t, '/authorize')}?${q}`, state, nonce, verifier };
}

/** The form of an authorization_code redemption. */
export function codeForm(c: SpaClient, code: string, verifier: string): Record<string, string> {
  return {
    grant_type: 'authorization_code',
    code,
    redirect_uri: c.redirectUri,
    client_id: c.clientId,
    code_verifier: verifier,
    ...(c.clientSecret ? { client_secret: c.clientSecret } : {}),
  };
}

/** The form of a refresh. */
export function refreshForm(c: SpaClient, refreshToken: string): Record<string, string> {
  return {
    grant_type: 'refresh_token',
    refresh_token: refreshToken,
    client_id: c.clientId,
    ...(c.clientSecret ? { client_secret: c.clientSecret } : {}),
  };
}

/**
 * Signs in through `agent` (query response mode), checks the authorization response's `state`,
 * and redeems the code: the callback's parameters and the token response.
 */
export async function signIn(
  t: TestApp,
  agent: UserAgent,
  c: SpaClient,
  params: Record<string, string | null> = {},
  opts: SignInOptions = {},
): Promise<{ callback: URLSearchParams; tokens: Answer; pending: Pending }> {
  const pending = authorizeRequest(t, c, params);
  const flow = await agent.signIn(pending.url, opts);
  expect(flow.location, `no redirect to the client (status ${flow.response.status})`).not.toBeNull();
  const callback = (flow.location as URL).searchParams;
  expect(callback.get('state')).toBe(pending.state);
  const code = callback.get('code');
  expect(code, callback.toString()).toEqual(expect.any(String));
  const tokens = await postForm(t, '/oauth/token', codeForm(c, code as string, pending.verifier));
  expect(tokens.status, JSON.stringify(tokens.body)).toBe(200);
  return { callback, tokens, pending };
}

/** Decodes a JWT's payload without verifying it. */
export const payloadOf = (jwt: string): Record<string, unknown> =>
  JSON.parse(Buffer.from(jwt.split('.')[1] as string, 'base64url').toString('utf8'));

/** Verifies an ID token against Sesame's JWKS: signature, `iss` exactly `t.issuer`, `aud`. */
export async function verifyIdToken(t: TestApp, idToken: string, clientId: string): Promise<JWTPayload> {
  const res = await t.fetch(endpoint(t, '/.well-known/jwks.json'));
  const jwks = createLocalJWKSet((await res.json()) as Parameters<typeof createLocalJWKSet>[0]);
  const { payload } = await jwtVerify(idToken, jwks, { issuer: t.issuer, audience: clientId });
  return payload;
}

/** The `#response` element of a web_message page: the target origin and the response fields. */
export function webMessageOf(html: string): { origin: string; response: Record<string, string> } {
  const el = /<p id="response" data-origin="([^"]*)" data-response="([^"]*)"/.exec(html);
  if (!el) throw new Error(`no #response element in the page:\n${html}`);
  return {
    origin: unescapeHtml(el[1] as string),
    response: JSON.parse(unescapeHtml(el[2] as string)) as Record<string, string>,
  };
}

/** The sources of one CSP directive of a response, or null when it has none. */
export function cspDirective(res: Response, name: string): string[] | null {
  const csp = res.headers.get('content-security-policy') ?? '';
  for (const d of csp.split(';')) {
    const [n, ...sources] = d.trim().split(/\s+/);
    if (n === name) return sources;
  }
  return null;
}

/** The texts inside every <script> element of a page. */
export const scriptsOf = (html: string): string[] =>
  [...html.matchAll(/<script\b[^>]*>([\s\S]*?)<\/script>/g)].map((m) => m[1] as string);

/** The names of every Access-Control-* header of a response. */
export const corsHeaderNames = (h: Headers): string[] =>
  [...h.keys()].filter((k) => k.toLowerCase().startsWith('access-control-'));

/** The events of the log written while `action` ran (queued events flushed first and after). */
export async function eventsDuring<T>(t: TestApp, action: () => Promise<T>): Promise<[T, LogEvent[]]> {
  await t.rt.events.flush();
  const last = (await t.rt.storage.logs.list({}, { offset: 0, limit: 1 }))[0]?.logId;
  const answer = await action();
  await t.rt.events.flush();
  const events = last
    ? await t.rt.storage.logs.listAfter({}, last, 10_000)
    : await t.rt.storage.logs.list({}, { offset: 0, limit: 10_000 });
  if (!events) throw new Error('the last event before the action is gone');
  return [answer, events];
}
