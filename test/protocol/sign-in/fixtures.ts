import { createHash } from 'node:crypto';
import * as oauth from 'oauth4webapi';
import * as client from 'openid-client';
import { expect } from 'vitest';
import { createUser } from '../../../src/admin/users.js';
import type { User, UserClaims } from '../../../src/storage/types.js';
import type { TestApp } from '../../support/app.js';
import { type Credentials, type SignInOptions, type SignInResult, UserAgent } from './agent.js';

/** The callback of the web application in most tests. */
export const CALLBACK = 'https://rp.example/cb';
export const SPA_CALLBACK = 'https://spa.example/callback';
export const LOGOUT_CALLBACK = 'https://rp.example/signed-out';
export const PASSWORD = 'correct horse battery staple';

let users = 0;

/** A new user with a unique email, and the credentials to type. */
export async function newUser(
  t: TestApp,
  claims: UserClaims = {},
): Promise<{ user: User; creds: Credentials }> {
  const email = `person${++users}-${Math.random().toString(36).slice(2, 8)}@example.com`;
  const user = await createUser(t.rt.storage, t.clock, { email, password: PASSWORD, claims });
  return { user, creds: { email, password: PASSWORD } };
}

/** A browser for `creds`. */
export const browser = (t: TestApp, creds?: Credentials) => new UserAgent(t, creds);

/** Sesame's metadata, as a relying party discovers it (oauth4webapi checks the issuer). */
export async function discover(t: TestApp): Promise<oauth.AuthorizationServer> {
  const issuer = new URL(t.issuer);
  const res = await oauth.discoveryRequest(issuer, { [oauth.customFetch]: t.fetch });
  return oauth.processDiscoveryResponse(issuer, res);
}

/**
 * An openid-client Configuration for a confidential (web) application: client_secret_post,
 * ID tokens required to be signed with exactly `alg` (client metadata
 * id_token_signed_response_alg) and their signatures checked against the JWKS (non-repudiation
 * checks; the library skips them by default for TLS-fetched token responses).
 */
export async function webConfig(
  t: TestApp,
  app: { clientId: string; clientSecret?: string },
  alg = 'RS256',
): Promise<client.Configuration> {
  const config = new client.Configuration(await discover(t), app.clientId, {
    client_secret: app.clientSecret as string,
    id_token_signed_response_alg: alg,
  });
  config[client.customFetch] = t.fetch;
  client.enableNonRepudiationChecks(config);
  return config;
}

/** What a relying party keeps between the authorization request and the callback. */
export interface Pending {
  url: URL;
  state: string;
  nonce: string;
  verifier: string;
}

/** Builds an authorization URL with openid-client: PKCE S256, state, nonce, the given params. */
export async function webAuthorizationUrl(
  config: client.Configuration,
  params: Record<string, string> = {},
): Promise<Pending> {
  const verifier = client.randomPKCECodeVerifier();
  const state = params.state ?? client.randomState();
  const nonce = params.nonce ?? client.randomNonce();
  const url = client.buildAuthorizationUrl(config, {
    redirect_uri: CALLBACK,
    scope: 'openid',
    state,
    nonce,
    code_challenge: await client.calculatePKCECodeChallenge(verifier),
    code_challenge_method: 'S256',
    ...params,
  });
  return { url, state, nonce, verifier };
}

/** A full sign-in of a web application through `agent`, code exchanged by openid-client. */
export async function webSignIn(
  agent: UserAgent,
  config: client.Configuration,
  params: Record<string, string> = {},
  opts: SignInOptions = {},
) {
  const pending = await webAuthorizationUrl(config, params);
  const flow = await agent.signIn(pending.url, opts);
  expect(flow.location, `no redirect to the client (status ${flow.response.status})`).not.toBeNull();
  const tokens = await client.authorizationCodeGrant(config, flow.location as URL, {
    pkceCodeVerifier: pending.verifier,
    expectedNonce: pending.nonce,
    expectedState: pending.state,
    idTokenExpected: true,
  });
  return { tokens, flow, pending, claims: tokens.claims() as client.IDToken };
}

/** A public client (spa or native) as oauth4webapi sees it. */
export interface PublicClient {
  as: oauth.AuthorizationServer;
  client: oauth.Client;
  redirectUri: string;
}

export async function publicClient(
  t: TestApp,
  clientId: string,
  redirectUri: string,
  alg = 'RS256',
): Promise<PublicClient> {
  return {
    as: await discover(t),
    client: { client_id: clientId, id_token_signed_response_alg: alg },
    redirectUri,
  };
}

/** Builds a public client's authorization URL with oauth4webapi's PKCE helpers. */
export async function publicAuthorizationUrl(
  pc: PublicClient,
  params: Record<string, string> = {},
): Promise<Pending> {
  const verifier = oauth.generateRandomCodeVerifier();
  const state = params.state ?? oauth.generateRandomState();
  const nonce = params.nonce ?? oauth.generateRandomNonce();
  const url = new URL(pc.as.authorization_endpoint as string);
  const all: Record<string, string> = {
    response_type: 'code',
    client_id: pc.client.client_id,
    redirect_uri: pc.redirectUri,
    scope: 'openid',
    state,
    nonce,
    code_challenge: await oauth.calculatePKCECodeChallenge(verifier),
    code_challenge_method: 'S256',
    ...params,
  };
  for (const [k, v] of Object.entries(all)) url.searchParams.set(k, v);
  return { url, state, nonce, verifier };
}

/**
 * Exchanges the code of a public client's callback with oauth4webapi: the authorization response
 * validated (iss, state), the token response processed (ID token iss, aud, nonce, alg) and the
 * ID token signature checked against the JWKS.
 */
export async function publicExchange(
  t: TestApp,
  pc: PublicClient,
  callback: URLSearchParams | URL,
  p: Pending,
) {
  const params = oauth.validateAuthResponse(pc.as, pc.client, callback, p.state);
  const response = await oauth.authorizationCodeGrantRequest(
    pc.as,
    pc.client,
    oauth.None(),
    params,
    pc.redirectUri,
    p.verifier,
    { [oauth.customFetch]: t.fetch },
  );
  const result = await oauth.processAuthorizationCodeResponse(pc.as, pc.client, response, {
    expectedNonce: p.nonce,
    requireIdToken: true,
  });
  await oauth.validateApplicationLevelSignature(pc.as, response, { [oauth.customFetch]: t.fetch });
  return { result, claims: oauth.getValidatedIdTokenClaims(result) as oauth.IDToken };
}

/** A public client's sign-in through `agent`, code exchanged by oauth4webapi. */
export async function publicSignIn(
  t: TestApp,
  agent: UserAgent,
  pc: PublicClient,
  params: Record<string, string> = {},
  opts: SignInOptions = {},
) {
  const pending = await publicAuthorizationUrl(pc, params);
  const flow: SignInResult = await agent.signIn(pending.url, opts);
  expect(flow.location, `no redirect to the client (status ${flow.response.status})`).not.toBeNull();
  return { ...(await publicExchange(t, pc, flow.location as URL, pending)), flow, pending };
}

/** A token endpoint answer. */
export interface TokenAnswer {
  status: number;
  headers: Headers;
  body: Record<string, unknown> & { error?: string; error_description?: string };
}

/** POSTs the token endpoint with raw form parameters. */
export async function tokenRequest(t: TestApp, params: Record<string, string>): Promise<TokenAnswer> {
  const res = await t.fetch(`${t.issuer}/oauth/token`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams(params),
  });
  return { status: res.status, headers: res.headers, body: (await res.json()) as TokenAnswer['body'] };
}

/** Asserts an RFC 6749 §5.2 error answer: status and error code. */
export function expectTokenError(answer: TokenAnswer, status: number, error: string): void {
  expect({ status: answer.status, error: answer.body.error }, JSON.stringify(answer.body)).toEqual({
    status,
    error,
  });
}

/** Asks /oauth/introspect (as a resource server) whether an access token is active. */
export async function isActive(
  t: TestApp,
  rs: { clientId: string; clientSecret: string },
  token: string,
): Promise<boolean> {
  const res = await t.fetch(`${t.issuer}/oauth/introspect`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ token, client_id: rs.clientId, client_secret: rs.clientSecret }),
  });
  expect(res.status).toBe(200);
  return ((await res.json()) as { active: boolean }).active;
}

/** S256 of a verifier, computed independently of the libraries. */
export const s256 = (verifier: string) => createHash('sha256').update(verifier).digest('base64url');

/** OIDC Core §3.1.3.6 at_hash for a *256 algorithm. */
export const atHash = (token: string) =>
  createHash('sha256').update(token, 'ascii').digest().subarray(0, 16).toString('base64url');

/** Decodes a JWT's header and payload without verifying it. */
export function decodeJwt(token: string): {
  header: Record<string, unknown>;
  payload: Record<string, unknown>;
} {
  const [h, p] = token.split('.');
  return {
    header: JSON.parse(Buffer.from(h as string, 'base64url').toString('utf8')),
    payload: JSON.parse(Buffer.from(p as string, 'base64url').toString('utf8')),
  };
}

/** The query (or fragment) parameters of a redirect as a plain object. */
export const paramsOf = (u: URLSearchParams) => Object.fromEntries(u);

/** Asserts that an HTML error page (not a redirect) answered. */
export async function expectErrorPage(res: Response, status = 400): Promise<string> {
  const text = await res.text();
  expect({ status: res.status, location: res.headers.get('location') }, text).toEqual({
    status,
    location: null,
  });
  expect(res.headers.get('content-type')).toMatch(/^text\/html/);
  return text;
}

/** A raw authorization URL: response_type code, scope openid, then `params` (null drops one). */
export function authorizationUrl(t: TestApp, params: Record<string, string | null>): string {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries({ response_type: 'code', scope: 'openid', ...params })) {
    if (v !== null) q.append(k, v);
  }
  return `${t.issuer}/authorize?${q}`;
}

/** Signs in through `agent` and returns the code of the redirect to the client. */
export async function codeFor(
  agent: UserAgent,
  url: string | URL,
  opts: SignInOptions = {},
): Promise<string> {
  const flow = await agent.signIn(url, opts);
  const code = flow.location?.searchParams.get('code');
  if (!code)
    throw new Error(`no code: ${flow.response.status} ${flow.location ?? (await flow.response.text())}`);
  return code;
}

/**
 * Whether the agent's SSO session is alive: an authorization request with prompt=none gets a
 * code, not login_required (any other answer fails the test).
 */
export async function sessionAlive(agent: UserAgent, config: client.Configuration): Promise<boolean> {
  const res = await agent.get((await webAuthorizationUrl(config, { prompt: 'none' })).url);
  const loc = new URL(res.headers.get('location') as string);
  if (loc.searchParams.get('code')) return true;
  expect(loc.searchParams.get('error')).toBe('login_required');
  return false;
}

/** Whether introspection, asked by `caller` (a confidential client), calls `token` active. */
export async function activeFor(
  t: TestApp,
  caller: { clientId: string; clientSecret?: string },
  token: string,
): Promise<boolean> {
  const res = await t.fetch(`${t.issuer}/oauth/introspect`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({
      token,
      client_id: caller.clientId,
      client_secret: caller.clientSecret ?? '',
    }),
  });
  return ((await res.json()) as { active: boolean }).active;
}
