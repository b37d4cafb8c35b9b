import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Management as M, ManagementClient } from 'auth0';
import { createLocalJWKSet, type JSONWebKeySet, type JWTPayload, jwtVerify } from 'jose';
import * as client from 'openid-client';
import { Agent } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { UserAgent } from '../protocol/sign-in/agent.js';
import type { TestApp } from '../support/app.js';
import { createTestTls, type TestTls } from '../support/tls.js';
import {
  assertBuilt,
  eventually,
  freePort,
  killAll,
  runCliJson,
  type SesameProcess,
  startSesame,
} from './process.js';
import { errorBody, refusal } from './sdk.js';

/**
 * The Management API (/api/v2) driven end to end by the unmodified `auth0` SDK (v7): a real
 * `sesame start` serving HTTPS with a throwaway CA's certificate, the SDK trusting that CA
 * through an undici dispatcher, and what the SDK creates then working in real token flows.
 */

type Env = Record<string, string | undefined>;

const CONNECTION = 'Username-Password-Authentication';
const PASSWORD = 'correct horse battery staple';
const CALLBACK = 'https://rp.example/cb';
const ORDERS = 'https://orders.example/api';

interface TokenBody {
  access_token?: string;
  token_type?: string;
  expires_in?: number;
  refresh_token?: string;
  id_token?: string;
  scope?: string;
  error?: string;
  error_description?: string;
}

describe('e2e: Management API through the auth0 SDK over HTTPS [sqlite]', { timeout: 60_000 }, () => {
  let tls: TestTls;
  let dataRoot: string;
  let agent: Agent;
  let env: Env;
  let port: number;
  let issuer: string;
  let mgmtAudience: string;
  let server: SesameProcess;
  let mgmt: ManagementClient;
  let stoppedByTest = false;

  /** Node's fetch, trusting the test CA (and only it) through an undici dispatcher. */
  const httpsFetch: typeof fetch = (input, init) =>
    fetch(input, { ...init, dispatcher: agent } as RequestInit);

  /** POSTs a form to the token endpoint over HTTPS; `basic` authenticates with client_secret_basic. */
  async function tokenRequest(
    form: Record<string, string>,
    basic?: { id: string; secret: string },
  ): Promise<{ status: number; body: TokenBody }> {
    const headers: Record<string, string> = { 'content-type': 'application/x-www-form-urlencoded' };
    if (basic) {
      const pair = `${encodeURIComponent(basic.id)}:${encodeURIComponent(basic.secret)}`;
      headers.authorization = `Basic ${Buffer.from(pair).toString('base64')}`;
    }
    const res = await httpsFetch(`${issuer}/oauth/token`, {
      method: 'POST',
      headers,
      body: new URLSearchParams(form).toString(),
      signal: AbortSignal.timeout(10_000),
    });
    const text = await res.text();
    try {
      return { status: res.status, body: JSON.parse(text) as TokenBody };
    } catch {
      throw new Error(`token endpoint answered ${res.status} with non-JSON: ${text}`);
    }
  }

  async function jwks(): Promise<JSONWebKeySet> {
    const res = await httpsFetch(`${issuer}/.well-known/jwks.json`);
    expect(res.status).toBe(200);
    return (await res.json()) as JSONWebKeySet;
  }

  const jwksKids = async () => (await jwks()).keys.map((k) => k.kid);

  /** Verifies an access token against the JWKS served now. */
  async function verifyAccessToken(token: string, audience: string): Promise<JWTPayload> {
    const { payload } = await jwtVerify(token, createLocalJWKSet(await jwks()), {
      issuer,
      audience,
      typ: 'at+jwt',
    });
    return payload;
  }

  /**
   * Signs `email` in to the SDK-made web app with the code flow: openid-client builds the request
   * (PKCE, state, nonce) and redeems the code; a cookie-keeping agent types the password on
   * Sesame's login page and presses Allow on its consent page, when one is shown.
   */
  async function codeSignIn(email: string, scope: string) {
    const config = await client.discovery(new URL(issuer), web.client_id, web.client_secret, undefined, {
      [client.customFetch]: httpsFetch,
    });
    const verifier = client.randomPKCECodeVerifier();
    const state = client.randomState();
    const nonce = client.randomNonce();
    const url = client.buildAuthorizationUrl(config, {
      redirect_uri: CALLBACK,
      scope,
      audience: ORDERS,
      state,
      nonce,
      code_challenge: await client.calculatePKCECodeChallenge(verifier),
      code_challenge_method: 'S256',
    });
    const browser = new UserAgent({ issuer, fetch: httpsFetch } as unknown as TestApp, {
      email,
      password: PASSWORD,
    });
    const flow = await browser.signIn(url);
    expect(flow.location, `no redirect to the client (${flow.response.status})`).not.toBeNull();
    const tokens = await client.authorizationCodeGrant(config, flow.location!, {
      pkceCodeVerifier: verifier,
      expectedState: state,
      expectedNonce: nonce,
      idTokenExpected: true,
    });
    return { pages: flow.pages, tokens };
  }

  beforeAll(async () => {
    assertBuilt();
    tls = await createTestTls();
    agent = new Agent({ connect: { ca: tls.caPem } });
    dataRoot = await mkdtemp(join(tmpdir(), 'sesame-mgmt-sdk-'));
    // a port free a moment ago may be taken by another test's server before ours binds it: retry
    for (let attempt = 1; ; attempt++) {
      port = await freePort();
      issuer = `https://localhost:${port}`;
      mgmtAudience = `${issuer}/api/v2/`;
      env = {
        SESAME_PORT: String(port),
        SESAME_HOST: '127.0.0.1',
        SESAME_ISSUER: issuer,
        SESAME_DATA_DIR: join(dataRoot, `data-${attempt}`),
        SESAME_TLS_CERT: tls.cert,
        SESAME_TLS_KEY: tls.key,
        SESAME_KEY_CACHE_TTL: '1',
        SESAME_LOG_LEVEL: 'info',
      };
      server = startSesame(env);
      const ready = await eventually(
        async () => {
          if (server.exit()) return false;
          try {
            const res = await httpsFetch(`${issuer}/readyz`, { signal: AbortSignal.timeout(2_000) });
            await res.arrayBuffer();
            return res.status === 200 ? true : undefined;
          } catch {
            return undefined; // not listening yet
          }
        },
        30_000,
        `sesame ready at ${issuer}/readyz`,
        100,
      );
      if (ready) break;
      const output = `${server.stdout()}${server.stderr()}`;
      if (attempt >= 3 || !output.includes('EADDRINUSE')) {
        throw new Error(`sesame exited ${JSON.stringify(server.exit())} before it was ready\n${output}`);
      }
    }

    // the machine that manages Sesame: an m2m application authorized for every management scope
    const app = await runCliJson<{ client_id: string; client_secret: string }>(
      ['apps', 'create', '--type', 'm2m', '--name', 'SDK admin'],
      env,
    );
    await runCliJson(['apps', 'authorize', '--api', mgmtAudience, '--all-scopes', '--', app.client_id], env);
    mgmt = new ManagementClient({
      domain: `localhost:${port}`,
      clientId: app.client_id,
      clientSecret: app.client_secret,
      maxRetries: 0,
      timeoutInSeconds: 15,
      fetch: httpsFetch,
    });
  });

  afterAll(async () => {
    try {
      const early = server?.exit();
      if (early && !stoppedByTest) {
        console.error(
          `sesame exited during the tests: ${JSON.stringify(early)}\n${server.stdout()}\n${server.stderr()}`,
        );
      }
      if (server && !server.exit()) await server.stop('SIGTERM', 5_000);
    } finally {
      await killAll();
      await agent?.close();
      await tls?.cleanup();
      if (dataRoot) await rm(dataRoot, { recursive: true, force: true });
    }
  });

  // state built up by the sequence below
  let ordersId: string;
  let robot: { client_id: string; client_secret: string };
  let web: { client_id: string; client_secret: string };
  let clientGrantId: string;
  let ada: { user_id: string; email: string };
  let bob: { user_id: string; email: string };
  let passwordRefresh: string;
  let codeRefresh: string;

  it('serves the issuer over HTTPS with the test certificate, which plain fetch does not trust', async () => {
    const res = await httpsFetch(`${issuer}/.well-known/openid-configuration`);
    expect(res.status).toBe(200);
    const meta = (await res.json()) as { issuer: string; token_endpoint: string };
    expect(meta).toMatchObject({ issuer, token_endpoint: `${issuer}/oauth/token` });
    await expect(fetch(`${issuer}/readyz`)).rejects.toThrow();
  });

  it('the SDK gets its token by client credentials and lists the APIs, the system API among them', async () => {
    const page = await mgmt.resourceServers.list({ include_totals: true });
    const system = page.data.find((r) => r.identifier === mgmtAudience);
    expect(system).toMatchObject({
      id: 'api_sesame_management',
      name: 'Sesame Management API',
      is_system: true,
    });
    expect(system?.scopes?.map((s) => s.value)).toEqual(
      expect.arrayContaining(['read:clients', 'create:users', 'update:tenant_settings']),
    );
    expect(page.response).toMatchObject({ start: 0, limit: 50, total: page.data.length });
  });

  describe('resource servers', () => {
    it('creates, reads (by id and by identifier), updates and lists an API', async () => {
      const created = await mgmt.resourceServers.create({
        name: 'Orders',
        identifier: ORDERS,
        scopes: [{ value: 'read:orders', description: 'Read orders' }],
        signing_alg: 'RS256',
        token_lifetime: 600,
        allow_offline_access: true,
      });
      expect(created).toMatchObject({
        name: 'Orders',
        identifier: ORDERS,
        signing_alg: 'RS256',
        token_lifetime: 600,
        allow_offline_access: true,
        is_system: false,
        scopes: [{ value: 'read:orders', description: 'Read orders' }],
      });
      ordersId = created.id!;
      expect(ordersId).toEqual(expect.any(String));

      expect(await mgmt.resourceServers.get(ordersId)).toMatchObject({ id: ordersId, identifier: ORDERS });
      // the SDK URL-encodes the path parameter: an identifier works in place of the id
      expect(await mgmt.resourceServers.get(ORDERS)).toMatchObject({ id: ordersId, name: 'Orders' });

      const updated = await mgmt.resourceServers.update(ordersId, {
        name: 'Orders API',
        scopes: [
          { value: 'read:orders', description: 'Read orders' },
          { value: 'write:orders', description: 'Create orders' },
        ],
      });
      expect(updated).toMatchObject({ id: ordersId, name: 'Orders API', token_lifetime: 600 });
      expect(updated.scopes?.map((s) => s.value)).toEqual(['read:orders', 'write:orders']);

      const page = await mgmt.resourceServers.list({ include_totals: true, per_page: 10 });
      expect(page.data.map((r) => r.identifier)).toEqual(expect.arrayContaining([ORDERS, mgmtAudience]));
      expect(page.response).toMatchObject({ start: 0, limit: 10, total: 2 });
      // past the end: an empty page, so iteration stops
      const past = await mgmt.resourceServers.list({ include_totals: true, page: 1, per_page: 10 });
      expect(past.data).toEqual([]);
    });

    it('409 for a duplicate identifier; 403 for deleting the system API; 400 naming an unknown field', async () => {
      const dup = await refusal(mgmt.resourceServers.create({ name: 'Again', identifier: ORDERS }));
      expect(dup).toBeInstanceOf(M.ConflictError);
      expect(dup.statusCode).toBe(409);
      expect(errorBody(dup)).toMatchObject({ statusCode: 409, error: 'Conflict', errorCode: 'conflict' });

      const system = await refusal(mgmt.resourceServers.delete('api_sesame_management'));
      expect(system.statusCode).toBe(403);
      expect(errorBody(system)).toMatchObject({ statusCode: 403, errorCode: 'operation_not_supported' });

      const unknown = await refusal(
        mgmt.resourceServers.create({
          identifier: 'https://other.example/api',
          token_encryption: {
            format: 'compact-nested-jwe',
            encryption_key: { alg: 'RSA-OAEP-256', pem: 'x' },
          },
        }),
      );
      expect(unknown).toBeInstanceOf(M.BadRequestError);
      expect(errorBody(unknown)).toMatchObject({
        statusCode: 400,
        error: 'Bad Request',
        errorCode: 'invalid_body',
      });
      expect(errorBody(unknown).message).toContain('unknown or unsupported field');
      expect(errorBody(unknown).message).toContain('token_encryption');
    });
  });

  describe('clients', () => {
    it('creates an m2m and a web application; the secret is shown on create only', async () => {
      const m2m = await mgmt.clients.create({
        name: 'SDK robot',
        app_type: 'non_interactive',
        grant_types: ['client_credentials'],
        description: 'made by the SDK',
        client_metadata: { team: 'billing' },
      });
      expect(m2m).toMatchObject({
        name: 'SDK robot',
        app_type: 'non_interactive',
        grant_types: ['client_credentials'],
        description: 'made by the SDK',
        client_metadata: { team: 'billing' },
        oidc_conformant: true,
        client_secret: expect.any(String),
      });
      robot = { client_id: m2m.client_id!, client_secret: m2m.client_secret! };

      const w = await mgmt.clients.create({
        name: 'SDK web',
        app_type: 'regular_web',
        callbacks: [CALLBACK],
        allowed_logout_urls: ['https://rp.example/'],
        grant_types: ['authorization_code', 'refresh_token', 'password'],
        token_endpoint_auth_method: 'client_secret_post',
        is_first_party: false,
        oidc_conformant: true,
        jwt_configuration: { alg: 'RS256' },
      });
      expect(w).toMatchObject({
        app_type: 'regular_web',
        callbacks: [CALLBACK],
        grant_types: ['authorization_code', 'refresh_token', 'password'],
        token_endpoint_auth_method: 'client_secret_post',
        is_first_party: false,
        client_secret: expect.any(String),
      });
      web = { client_id: w.client_id!, client_secret: w.client_secret! };

      const got = await mgmt.clients.get(robot.client_id);
      expect(got).toMatchObject({
        client_id: robot.client_id,
        name: 'SDK robot',
        app_type: 'non_interactive',
      });
      expect(got).not.toHaveProperty('client_secret');
      expect(Date.parse(got.created_at as string)).not.toBeNaN();
    });

    it('updates an application', async () => {
      const updated = await mgmt.clients.update(web.client_id, {
        name: 'SDK web app',
        description: 'signs people in',
        callbacks: [CALLBACK, 'https://rp.example/cb2'],
        web_origins: ['https://rp.example'],
      });
      expect(updated).toMatchObject({
        client_id: web.client_id,
        name: 'SDK web app',
        description: 'signs people in',
        callbacks: [CALLBACK, 'https://rp.example/cb2'],
        web_origins: ['https://rp.example'],
        grant_types: ['authorization_code', 'refresh_token', 'password'],
      });
      expect(updated).not.toHaveProperty('client_secret');
      expect((await mgmt.clients.get(web.client_id)).name).toBe('SDK web app');
    });

    it('lists with totals and filters by app_type', async () => {
      const all = await mgmt.clients.list({ include_totals: true });
      const ids = all.data.map((c) => c.client_id);
      expect(ids).toEqual(expect.arrayContaining([robot.client_id, web.client_id]));
      expect(all.response.total).toBe(all.data.length);
      expect(all.data.every((c) => c.client_secret === undefined)).toBe(true);

      const machines = await mgmt.clients.list({ app_type: 'non_interactive', include_totals: true });
      expect(machines.data.map((c) => c.client_id)).toContain(robot.client_id);
      expect(machines.data.map((c) => c.client_id)).not.toContain(web.client_id);
      expect(machines.data.every((c) => c.app_type === 'non_interactive')).toBe(true);
      expect(machines.response.total).toBe(machines.data.length);

      // the console is a regular web application of every Sesame (system, made by a migration)
      const webs = await mgmt.clients.list({ app_type: 'regular_web', include_totals: true });
      expect(webs.data.map((c) => c.client_id)).toEqual(['sesame-console', web.client_id]);
      expect(webs.data[0]?.is_system).toBe(true);
      expect(webs.response).toMatchObject({ total: 2, start: 0 });

      // paging one at a time with `for await` visits every application exactly once
      const visited: string[] = [];
      for await (const c of await mgmt.clients.list({ per_page: 1, include_totals: true })) {
        visited.push(c.client_id!);
        if (visited.length > 20) break;
      }
      expect(visited.sort()).toEqual([...ids].sort());
    });

    it('rotates a secret', async () => {
      const rotated = await mgmt.clients.rotateSecret(robot.client_id);
      expect(rotated.client_id).toBe(robot.client_id);
      expect(rotated.client_secret).toEqual(expect.any(String));
      expect(rotated.client_secret).not.toBe(robot.client_secret);
      const old = await tokenRequest(
        { grant_type: 'client_credentials', audience: ORDERS },
        {
          id: robot.client_id,
          secret: robot.client_secret,
        },
      );
      expect(old.status).toBe(401);
      expect(old.body.error).toBe('invalid_client');
      robot.client_secret = rotated.client_secret!;
    });

    it('404 NotFoundError with errorCode for an unknown client; 400 naming an unknown field', async () => {
      const missing = await refusal(mgmt.clients.get('no-such-client'));
      expect(missing).toBeInstanceOf(M.NotFoundError);
      expect(missing.statusCode).toBe(404);
      expect(errorBody(missing)).toMatchObject({
        statusCode: 404,
        error: 'Not Found',
        errorCode: 'inexistent_resource',
        message: expect.any(String),
      });

      const unknown = await refusal(mgmt.clients.create({ name: 'Bad', sso_disabled: true }));
      expect(unknown).toBeInstanceOf(M.BadRequestError);
      expect(errorBody(unknown)).toMatchObject({ statusCode: 400, errorCode: 'invalid_body' });
      expect(errorBody(unknown).message).toMatch(/unknown or unsupported field.*sso_disabled/);
    });
  });

  describe('client grants', () => {
    it('creates, refuses a duplicate, lists (checkpoint paging) and updates', async () => {
      const grant = await mgmt.clientGrants.create({
        client_id: robot.client_id,
        audience: ORDERS,
        scope: ['read:orders'],
      });
      expect(grant).toMatchObject({ client_id: robot.client_id, audience: ORDERS, scope: ['read:orders'] });
      clientGrantId = grant.id!;
      expect(clientGrantId).toEqual(expect.any(String));

      const dup = await refusal(
        mgmt.clientGrants.create({ client_id: robot.client_id, audience: ORDERS, scope: [] }),
      );
      expect(dup).toBeInstanceOf(M.ConflictError);
      expect(errorBody(dup)).toMatchObject({ statusCode: 409, errorCode: 'conflict' });

      const mine = await mgmt.clientGrants.list({ audience: ORDERS, client_id: robot.client_id });
      expect(mine.data).toEqual([
        expect.objectContaining({ id: clientGrantId, client_id: robot.client_id, audience: ORDERS }),
      ]);
      expect(mine.hasNextPage()).toBe(false);

      // every grant, one per page, through `next`: the SDK admin's (management API) and the robot's
      const all: string[] = [];
      for await (const g of await mgmt.clientGrants.list({ take: 1 })) {
        all.push(`${g.client_id} ${g.audience}`);
        if (all.length > 20) break;
      }
      expect(all).toHaveLength(2);
      expect(all).toContain(`${robot.client_id} ${ORDERS}`);
      expect(all.some((g) => g.endsWith(` ${mgmtAudience}`))).toBe(true);

      expect(await mgmt.clientGrants.get(clientGrantId)).toMatchObject({
        id: clientGrantId,
        scope: ['read:orders'],
      });
      const updated = await mgmt.clientGrants.update(clientGrantId, {
        scope: ['read:orders', 'write:orders'],
      });
      expect(updated).toMatchObject({ id: clientGrantId, scope: ['read:orders', 'write:orders'] });
    });

    it('the SDK-made client gets a client-credentials token for the SDK-made API', async () => {
      const { status, body } = await tokenRequest(
        { grant_type: 'client_credentials', audience: ORDERS },
        {
          id: robot.client_id,
          secret: robot.client_secret,
        },
      );
      expect(status, JSON.stringify(body)).toBe(200);
      expect(body).toMatchObject({
        token_type: 'Bearer',
        expires_in: 600,
        scope: 'read:orders write:orders',
      });
      const payload = await verifyAccessToken(body.access_token!, ORDERS);
      expect(payload).toMatchObject({
        aud: ORDERS,
        sub: robot.client_id,
        client_id: robot.client_id,
        scope: 'read:orders write:orders',
      });
      expect(payload.exp! - payload.iat!).toBe(600);

      // narrowed by scope, and refused beyond the grant's scopes
      const narrow = await tokenRequest(
        { grant_type: 'client_credentials', audience: ORDERS, scope: 'read:orders' },
        { id: robot.client_id, secret: robot.client_secret },
      );
      expect(narrow.body.scope).toBe('read:orders');
      const mgmtToken = await tokenRequest(
        { grant_type: 'client_credentials', audience: mgmtAudience },
        { id: robot.client_id, secret: robot.client_secret },
      );
      expect(mgmtToken.status).toBe(400);
      expect(mgmtToken.body.error).toBe('unauthorized_client');
    });
  });

  describe('access control', () => {
    let reader: { client_id: string; client_secret: string };
    let readerMgmt: ManagementClient;

    it('a machine the SDK authorized for read:clients only may read clients and nothing else', async () => {
      const created = await mgmt.clients.create({ name: 'SDK reader', app_type: 'non_interactive' });
      reader = { client_id: created.client_id!, client_secret: created.client_secret! };
      await mgmt.clientGrants.create({
        client_id: reader.client_id,
        audience: mgmtAudience,
        scope: ['read:clients'],
      });
      readerMgmt = new ManagementClient({
        domain: `localhost:${port}`,
        clientId: reader.client_id,
        clientSecret: reader.client_secret,
        maxRetries: 0,
        fetch: httpsFetch,
      });
      expect((await readerMgmt.clients.get(robot.client_id)).name).toBe('SDK robot');
      const forbidden = await refusal(readerMgmt.users.list());
      expect(forbidden).toBeInstanceOf(M.ForbiddenError);
      expect(forbidden.body).toEqual({
        statusCode: 403,
        error: 'Forbidden',
        message: 'Insufficient scope, expected any of: read:users',
        errorCode: 'insufficient_scope',
      });
    });

    it('401 invalid_token for a bad token, and for the token of an application deleted since', async () => {
      const forged = new ManagementClient({
        domain: `localhost:${port}`,
        token: 'not-a-jwt',
        maxRetries: 0,
        fetch: httpsFetch,
      });
      const bad = await refusal(forged.clients.list());
      expect(bad).toBeInstanceOf(M.UnauthorizedError);
      expect(errorBody(bad)).toMatchObject({ statusCode: 401, errorCode: 'invalid_token' });
      expect(bad.rawResponse?.headers.get('www-authenticate')).toContain('error="invalid_token"');

      await mgmt.clients.delete(reader.client_id);
      // the SDK keeps its cached token: Sesame must refuse it now that its application is gone
      const gone = await refusal(readerMgmt.clients.get(robot.client_id));
      expect(gone.statusCode).toBe(401);
      expect(errorBody(gone).errorCode).toBe('invalid_token');
      expect((await mgmt.clientGrants.list({ client_id: reader.client_id })).data).toEqual([]);
    });
  });

  describe('users', () => {
    it('creates users; 409 for a taken email', async () => {
      const a = await mgmt.users.create({
        connection: CONNECTION,
        email: 'ada@example.com',
        password: PASSWORD,
        name: 'Ada Lovelace',
        given_name: 'Ada',
        family_name: 'Lovelace',
        email_verified: true,
        user_metadata: { theme: 'dark' },
        app_metadata: { plan: 'gold' },
      });
      expect(a).toMatchObject({
        email: 'ada@example.com',
        email_verified: true,
        name: 'Ada Lovelace',
        given_name: 'Ada',
        family_name: 'Lovelace',
        blocked: false,
        user_metadata: { theme: 'dark' },
        app_metadata: { plan: 'gold' },
        identities: [{ connection: CONNECTION, provider: 'auth0', user_id: a.user_id, isSocial: false }],
      });
      expect(a).not.toHaveProperty('password');
      ada = { user_id: a.user_id!, email: 'ada@example.com' };

      const b = await mgmt.users.create({
        connection: CONNECTION,
        email: 'bob@example.org',
        password: PASSWORD,
        name: 'Bob Builder',
      });
      bob = { user_id: b.user_id!, email: 'bob@example.org' };

      const dup = await refusal(
        mgmt.users.create({ connection: CONNECTION, email: 'ADA@example.com', password: PASSWORD }),
      );
      expect(dup).toBeInstanceOf(M.ConflictError);
      expect(errorBody(dup)).toMatchObject({ statusCode: 409, errorCode: 'conflict' });

      const unknown = await refusal(
        mgmt.users.create({
          connection: CONNECTION,
          email: 'c@example.com',
          password: PASSWORD,
          username: 'c',
        }),
      );
      expect(unknown).toBeInstanceOf(M.BadRequestError);
      expect(errorBody(unknown).message).toMatch(/unknown or unsupported field.*username/);
    });

    it('reads and updates a user', async () => {
      const got = await mgmt.users.get(ada.user_id);
      expect(got).toMatchObject({ user_id: ada.user_id, email: ada.email, name: 'Ada Lovelace' });
      const updated = await mgmt.users.update(ada.user_id, {
        nickname: 'ada',
        user_metadata: { theme: 'light' },
      });
      expect(updated).toMatchObject({
        user_id: ada.user_id,
        nickname: 'ada',
        name: 'Ada Lovelace',
        user_metadata: { theme: 'light' },
        app_metadata: { plan: 'gold' },
      });
      const missing = await refusal(mgmt.users.get('no-such-user'));
      expect(missing).toBeInstanceOf(M.NotFoundError);
      expect(errorBody(missing).errorCode).toBe('inexistent_resource');
    });

    it('lists with totals, searches with q, sorts, and finds by email', async () => {
      const all = await mgmt.users.list({ include_totals: true, sort: 'email:1' });
      expect(all.data.map((u) => u.email)).toEqual([ada.email, bob.email]);
      expect(all.response).toMatchObject({ start: 0, total: 2, length: 2 });
      const desc = await mgmt.users.list({ sort: 'email:-1' });
      expect(desc.data.map((u) => u.email)).toEqual([bob.email, ada.email]);

      const byName = await mgmt.users.list({ q: 'lovelace', search_engine: 'v3', include_totals: true });
      expect(byName.data.map((u) => u.user_id)).toEqual([ada.user_id]);
      expect(byName.response.total).toBe(1);
      const exact = await mgmt.users.list({ q: `email:"${bob.email}"` });
      expect(exact.data.map((u) => u.user_id)).toEqual([bob.user_id]);
      const prefix = await mgmt.users.list({ q: 'email:ada*' });
      expect(prefix.data.map((u) => u.user_id)).toEqual([ada.user_id]);
      const none = await mgmt.users.list({ q: 'nobody-at-all', include_totals: true });
      expect(none.data).toEqual([]);
      expect(none.response.total).toBe(0);

      const found = await mgmt.users.listUsersByEmail({ email: ada.email });
      expect(found).toEqual([expect.objectContaining({ user_id: ada.user_id, email: ada.email })]);
      expect(await mgmt.users.listUsersByEmail({ email: 'nobody@example.com' })).toEqual([]);
    });
  });

  describe('tenant settings', () => {
    it('reads and updates the settings; default_audience must name an API', async () => {
      expect(await mgmt.tenants.settings.get()).toEqual(expect.any(Object));
      const updated = await mgmt.tenants.settings.update({
        friendly_name: 'Sesame e2e',
        support_email: 'help@example.com',
        default_audience: ORDERS,
        session_lifetime: 24,
        idle_session_lifetime_in_minutes: 90,
      });
      expect(updated).toMatchObject({
        friendly_name: 'Sesame e2e',
        support_email: 'help@example.com',
        default_audience: ORDERS,
        session_lifetime: 24,
        idle_session_lifetime: 1.5,
      });
      expect(await mgmt.tenants.settings.get()).toMatchObject({
        friendly_name: 'Sesame e2e',
        default_audience: ORDERS,
      });

      const bad = await refusal(
        mgmt.tenants.settings.update({ default_audience: 'https://nowhere.example/' }),
      );
      expect(bad).toBeInstanceOf(M.BadRequestError);
      expect(errorBody(bad).message).toContain('default_audience');
    });
  });

  describe('a user the SDK created signs in', () => {
    it('password grant on the SDK-made web app: the default audience gives a token for the SDK-made API', async () => {
      const { status, body } = await tokenRequest({
        grant_type: 'password',
        client_id: web.client_id,
        client_secret: web.client_secret,
        username: ada.email,
        password: PASSWORD,
        scope: 'openid offline_access read:orders',
      });
      expect(status, JSON.stringify(body)).toBe(200);
      expect(body.refresh_token).toEqual(expect.any(String));
      expect(body.id_token).toEqual(expect.any(String));
      const payload = await verifyAccessToken(body.access_token!, ORDERS);
      expect(payload).toMatchObject({
        sub: ada.user_id,
        client_id: web.client_id,
        aud: [ORDERS, `${issuer}/userinfo`],
      });
      expect(String(payload.scope).split(' ')).toContain('read:orders');
      passwordRefresh = body.refresh_token!;

      const wrong = await tokenRequest({
        grant_type: 'password',
        client_id: web.client_id,
        client_secret: web.client_secret,
        username: ada.email,
        password: 'not the password',
      });
      expect(wrong.status).toBe(400);
      expect(wrong.body.error).toBe('invalid_grant');
    });

    it('code flow with openid-client through the login and consent pages', async () => {
      const { pages, tokens } = await codeSignIn(
        ada.email,
        'openid profile email offline_access read:orders',
      );
      expect(pages).toEqual(['login', 'consent']);
      expect(tokens.claims()).toMatchObject({ sub: ada.user_id, email: ada.email, name: 'Ada Lovelace' });
      expect(tokens.refresh_token).toEqual(expect.any(String));
      const payload = await verifyAccessToken(tokens.access_token, ORDERS);
      expect(payload.sub).toBe(ada.user_id);
      codeRefresh = tokens.refresh_token!;
    });
  });

  describe('what the sign-ins left: sessions, consents, refresh tokens', () => {
    let sessionId: string;
    let codeFamily: string;
    let passwordFamily: string;

    it('lists and reads the user’s session', async () => {
      const page = await mgmt.users.sessions.list(ada.user_id);
      expect(page.data).toHaveLength(1);
      expect(page.hasNextPage()).toBe(false);
      const s = page.data[0]!;
      expect(s).toMatchObject({
        user_id: ada.user_id,
        authentication: { methods: [expect.objectContaining({ name: 'pwd' })] },
      });
      expect(Date.parse(s.created_at as string)).not.toBeNaN();
      expect(Date.parse(s.expires_at as string)).toBeGreaterThan(Date.now());
      sessionId = s.id!;
      expect(await mgmt.sessions.get(sessionId)).toMatchObject({ id: sessionId, user_id: ada.user_id });
      expect((await mgmt.users.sessions.list(bob.user_id)).data).toEqual([]);
    });

    it('lists the consent (user grant) given on the consent page', async () => {
      const page = await mgmt.userGrants.list({ user_id: ada.user_id, include_totals: true });
      const grant = page.data.find((g) => g.clientID === web.client_id && g.audience === ORDERS);
      expect(grant, JSON.stringify(page.data)).toMatchObject({ user_id: ada.user_id });
      expect(grant?.scope).toEqual(expect.arrayContaining(['read:orders']));
      expect(page.response.total).toBe(page.data.length);
      const byClient = await mgmt.userGrants.list({ client_id: web.client_id, audience: ORDERS });
      expect(byClient.data.map((g) => g.id)).toContain(grant!.id);
      expect((await mgmt.userGrants.list({ user_id: bob.user_id })).data).toEqual([]);
    });

    it('lists and reads the refresh tokens of both sign-ins', async () => {
      const page = await mgmt.users.refreshToken.list(ada.user_id);
      expect(page.data).toHaveLength(2);
      expect(page.hasNextPage()).toBe(false);
      for (const t of page.data) {
        expect(t).toMatchObject({
          user_id: ada.user_id,
          client_id: web.client_id,
          rotating: true,
          resource_servers: [expect.objectContaining({ audience: ORDERS })],
        });
      }
      const withSession = page.data.find((t) => t.session_id === sessionId);
      expect(withSession, 'the code flow’s token names its session').toBeDefined();
      codeFamily = withSession!.id!;
      passwordFamily = page.data.find((t) => t.id !== codeFamily)!.id!;
      expect(await mgmt.refreshTokens.get(codeFamily)).toMatchObject({
        id: codeFamily,
        session_id: sessionId,
      });

      // both refresh tokens work before anything is revoked (the password one rotates)
      const refreshed = await tokenRequest({
        grant_type: 'refresh_token',
        refresh_token: passwordRefresh,
        client_id: web.client_id,
        client_secret: web.client_secret,
      });
      expect(refreshed.status, JSON.stringify(refreshed.body)).toBe(200);
      passwordRefresh = refreshed.body.refresh_token ?? passwordRefresh;
    });

    it('deleting a refresh token through the SDK ends its family at the token endpoint', async () => {
      await mgmt.refreshTokens.delete(passwordFamily);
      const refused = await tokenRequest({
        grant_type: 'refresh_token',
        refresh_token: passwordRefresh,
        client_id: web.client_id,
        client_secret: web.client_secret,
      });
      expect(refused.status).toBe(400);
      expect(refused.body.error).toBe('invalid_grant');
      expect(errorBody(await refusal(mgmt.refreshTokens.get(passwordFamily))).errorCode).toBe(
        'inexistent_resource',
      );
    });

    it('deleting the consent revokes the refresh token issued under it', async () => {
      const page = await mgmt.userGrants.list({ user_id: ada.user_id });
      const grant = page.data.find((g) => g.clientID === web.client_id && g.audience === ORDERS)!;
      await mgmt.userGrants.delete(grant.id!);
      const after = await mgmt.userGrants.list({ user_id: ada.user_id });
      expect(after.data.map((g) => g.id)).not.toContain(grant.id);
      const refused = await tokenRequest({
        grant_type: 'refresh_token',
        refresh_token: codeRefresh,
        client_id: web.client_id,
        client_secret: web.client_secret,
      });
      expect(refused.status).toBe(400);
      expect(refused.body.error).toBe('invalid_grant');
    });

    it('deletes a session, then all of a user’s sessions, refresh tokens and grants', async () => {
      await mgmt.sessions.delete(sessionId);
      expect(await refusal(mgmt.sessions.get(sessionId))).toBeInstanceOf(M.NotFoundError);
      expect((await mgmt.users.sessions.list(ada.user_id)).data).toEqual([]);

      // two fresh sign-ins: consent is asked again (it was revoked), then remembered
      const first = await codeSignIn(ada.email, 'openid offline_access read:orders');
      expect(first.pages).toEqual(['login', 'consent']);
      const second = await codeSignIn(ada.email, 'openid offline_access read:orders');
      expect(second.pages).toEqual(['login']);
      expect(second.tokens.refresh_token).toEqual(expect.any(String));

      // checkpoint paging one at a time through `next`
      const sessions: string[] = [];
      for await (const x of await mgmt.users.sessions.list(ada.user_id, { take: 1 })) {
        sessions.push(x.id!);
        if (sessions.length > 10) break;
      }
      expect(new Set(sessions).size).toBe(2);
      expect(sessions).toHaveLength(2);
      const families: string[] = [];
      for await (const x of await mgmt.users.refreshToken.list(ada.user_id, { take: 1 })) {
        families.push(x.id!);
        if (families.length > 10) break;
      }
      expect(new Set(families).size).toBe(2);
      expect(families).toHaveLength(2);
      expect((await mgmt.userGrants.list({ user_id: ada.user_id })).data.length).toBeGreaterThan(0);

      await mgmt.users.sessions.delete(ada.user_id);
      expect((await mgmt.users.sessions.list(ada.user_id)).data).toEqual([]);
      await mgmt.users.refreshToken.delete(ada.user_id);
      expect((await mgmt.users.refreshToken.list(ada.user_id)).data).toEqual([]);
      const refused = await tokenRequest({
        grant_type: 'refresh_token',
        refresh_token: second.tokens.refresh_token!,
        client_id: web.client_id,
        client_secret: web.client_secret,
      });
      expect(refused.body.error).toBe('invalid_grant');
      await mgmt.userGrants.deleteByUserId({ user_id: ada.user_id });
      expect((await mgmt.userGrants.list({ user_id: ada.user_id })).data).toEqual([]);
    });

    it('blocking a user through the SDK stops the password grant', async () => {
      const blocked = await mgmt.users.update(bob.user_id, { blocked: true });
      expect(blocked.blocked).toBe(true);
      const refused = await tokenRequest({
        grant_type: 'password',
        client_id: web.client_id,
        client_secret: web.client_secret,
        username: bob.email,
        password: PASSWORD,
      });
      expect(refused.status).toBe(400);
      expect(refused.body.error).toBe('invalid_grant');
    });
  });

  describe('signing keys', () => {
    it('lists and reads the keys; the current ones are in the JWKS', async () => {
      const keys = await mgmt.keys.signing.list();
      expect(Array.isArray(keys)).toBe(true);
      const current = keys.filter((k) => k.current);
      expect(current.length).toBeGreaterThan(0);
      const published = await jwksKids();
      for (const k of current) {
        expect(published).toContain(k.kid);
        expect(k).toMatchObject({
          revoked: false,
          thumbprint: expect.any(String),
          fingerprint: expect.any(String),
        });
      }
      const one = await mgmt.keys.signing.get(current[0]!.kid);
      expect(one).toMatchObject({ kid: current[0]!.kid, current: true });
      expect((one as { public_key?: string }).public_key).toMatch(/^-----BEGIN PUBLIC KEY-----/);
      expect(errorBody(await refusal(mgmt.keys.signing.get('no-such-kid'))).errorCode).toBe(
        'inexistent_resource',
      );
    });

    it('rotates: the new key is published and waits as next; revoking it takes it out of the JWKS', async () => {
      const before = await jwksKids();
      const rotated = await mgmt.keys.signing.rotate();
      const kid = rotated.kid;
      expect(kid).toEqual(expect.any(String));
      expect(before).not.toContain(kid);
      expect(await mgmt.keys.signing.get(kid)).toMatchObject({
        kid,
        next: true,
        current: false,
        revoked: false,
      });
      await eventually(
        async () => ((await jwksKids()).includes(kid) ? true : undefined),
        5_000,
        `${kid} published`,
      );

      const revoked = await mgmt.keys.signing.revoke(kid);
      expect(revoked.kid).toBe(kid);
      const after = await mgmt.keys.signing.get(kid);
      expect(after).toMatchObject({ kid, revoked: true });
      expect(Date.parse(after.revoked_at as string)).not.toBeNaN();
      await eventually(
        async () => ((await jwksKids()).includes(kid) ? undefined : true),
        5_000,
        `${kid} unpublished`,
      );

      // the keys that sign now are untouched: the SDK's own token and new tokens still verify
      expect((await mgmt.clients.get(robot.client_id)).client_id).toBe(robot.client_id);
      const { body } = await tokenRequest(
        { grant_type: 'client_credentials', audience: ORDERS },
        {
          id: robot.client_id,
          secret: robot.client_secret,
        },
      );
      await verifyAccessToken(body.access_token!, ORDERS);
    });
  });

  describe('deleting what the SDK created', () => {
    it('deletes the client grant: the robot can no longer get a token for the API', async () => {
      await mgmt.clientGrants.delete(clientGrantId);
      expect((await mgmt.clientGrants.list({ client_id: robot.client_id })).data).toEqual([]);
      const refused = await tokenRequest(
        { grant_type: 'client_credentials', audience: ORDERS },
        {
          id: robot.client_id,
          secret: robot.client_secret,
        },
      );
      expect(refused.status).toBe(400);
      expect(refused.body.error).toBe('unauthorized_client');
    });

    it('deletes users, clients and the API; each is gone afterwards', async () => {
      await mgmt.users.delete(ada.user_id);
      await mgmt.users.delete(bob.user_id);
      expect(await refusal(mgmt.users.get(ada.user_id))).toBeInstanceOf(M.NotFoundError);
      expect((await mgmt.users.list({ include_totals: true })).response.total).toBe(0);

      await mgmt.clients.delete(robot.client_id);
      await mgmt.clients.delete(web.client_id);
      expect(await refusal(mgmt.clients.get(web.client_id))).toBeInstanceOf(M.NotFoundError);
      const refused = await tokenRequest(
        { grant_type: 'client_credentials', audience: ORDERS },
        {
          id: robot.client_id,
          secret: robot.client_secret,
        },
      );
      expect(refused.status).toBe(401);

      // the default audience points at the API: reset it first ('' or null: back to none)
      const reset = await mgmt.tenants.settings.update({ default_audience: '' });
      expect(reset.default_audience).toBeUndefined();
      await mgmt.resourceServers.delete(ordersId);
      expect(await refusal(mgmt.resourceServers.get(ordersId))).toBeInstanceOf(M.NotFoundError);
      const left = await mgmt.resourceServers.list({ include_totals: true });
      expect(left.data.map((r) => r.identifier)).toEqual([mgmtAudience]);
    });
  });

  it('stops cleanly on SIGTERM', async () => {
    expect(server.exit(), 'sesame had already exited').toBeNull();
    stoppedByTest = true;
    expect(await server.stop('SIGTERM', 5_000)).toEqual({ code: 0, signal: null });
  });
});
