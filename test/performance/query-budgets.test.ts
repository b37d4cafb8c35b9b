import type * as client from 'openid-client';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import type { Api } from '../../src/storage/types.js';
import { caller, expectStatus, managementToken } from '../management/support.js';
import type { UserAgent } from '../protocol/sign-in/agent.js';
import {
  browser,
  CALLBACK,
  newUser,
  type TokenAnswer,
  tokenRequest,
  webAuthorizationUrl,
  webConfig,
  webSignIn,
} from '../protocol/sign-in/fixtures.js';
import { startTestApp, type TestApp } from '../support/app.js';
import { describeEachBackend } from '../support/databases.js';
import {
  counted,
  expectAtMost,
  expectOneTransaction,
  expectRoundTripsAtMost,
  kindOf,
  listing,
} from './budgets.js';

/*
 * Query budgets (#16): how many statements each hot endpoint sends to the database for one
 * request, counted through `rt.queries`. A change that adds a round trip fails here, with the
 * statements listed. On PostgreSQL a statement can be held back to go with a later one, in its
 * round trip (`held`, postgres-pipeline.ts): round trips are the statements not held. Transaction control is counted like any statement: SQLite runs
 * `begin immediate` / `commit` / `rollback`, PostgreSQL (kysely) `begin` / `commit` / `rollback`.
 * The event log is written in batches by `rt.events`, off the request: it is flushed before each
 * counted window, never inside it.
 */

const SCOPE = 'openid profile offline_access read:things write:things';
const FORM = { 'content-type': 'application/x-www-form-urlencoded' };

const basic = (id: string, secret: string) =>
  `Basic ${Buffer.from(`${encodeURIComponent(id)}:${encodeURIComponent(secret)}`).toString('base64')}`;

describeEachBackend('query budgets of the hot endpoints (#16)', (backend) => {
  let t: TestApp;
  let api: Api;
  let web: { clientId: string; clientSecret?: string };
  let config: client.Configuration;
  let agent: UserAgent;

  beforeAll(async () => {
    // The read cache keeps what it read for a second of performance.now(): stopped here, so a
    // slow machine between two requests cannot make a warm one cold (writes still empty it).
    vi.spyOn(performance, 'now').mockReturnValue(performance.now());
    t = await startTestApp(backend);
    api = await t.createApi({
      allowOfflineAccess: true,
      scopes: ['read:things', 'write:things'],
    });
    web = await t.createApp({ name: 'Web', type: 'web', callbacks: [CALLBACK] });
    config = await webConfig(t, web);
    const { creds } = await newUser(t);
    agent = browser(t, creds);
  });
  afterAll(async () => {
    vi.restoreAllMocks();
    await t?.close();
  });

  /** client_credentials with client_secret_basic; the answer must carry an access token. */
  async function clientCredentials(m2m: { clientId: string; clientSecret: string }, audience: string) {
    const res = await t.fetch(`${t.issuer}/oauth/token`, {
      method: 'POST',
      headers: { ...FORM, authorization: basic(m2m.clientId, m2m.clientSecret) },
      body: new URLSearchParams({ grant_type: 'client_credentials', audience }),
    });
    const body = (await res.json()) as { access_token?: string; error?: string };
    return { status: res.status, body };
  }

  function expectIssued(answer: { status: number; body: Record<string, unknown> }, label: string): void {
    expect(answer.status, `${label}: ${JSON.stringify(answer.body)}`).toBe(200);
    expect(answer.body.access_token, label).toEqual(expect.any(String));
  }

  /** A signed-in /authorize for the web application: the code and the PKCE verifier to redeem it. */
  async function authorizationCode(): Promise<{ code: string; verifier: string }> {
    const pending = await webAuthorizationUrl(config, { scope: SCOPE, audience: api.identifier });
    const flow = await agent.signIn(pending.url);
    const code = flow.location?.searchParams.get('code');
    if (!code) throw new Error(`no code: ${flow.response.status} ${flow.location}`);
    return { code, verifier: pending.verifier };
  }

  const exchange = ({ code, verifier }: { code: string; verifier: string }) =>
    tokenRequest(t, {
      grant_type: 'authorization_code',
      code,
      redirect_uri: CALLBACK,
      code_verifier: verifier,
      client_id: web.clientId,
      client_secret: web.clientSecret as string,
    });

  const refresh = (refreshToken: string) =>
    tokenRequest(t, {
      grant_type: 'refresh_token',
      refresh_token: refreshToken,
      client_id: web.clientId,
      client_secret: web.clientSecret as string,
    });

  function expectTokens(answer: TokenAnswer, label: string): void {
    expect(answer.status, `${label}: ${JSON.stringify(answer.body)}`).toBe(200);
    expect(answer.body, label).toEqual(
      expect.objectContaining({
        access_token: expect.any(String),
        id_token: expect.any(String),
        refresh_token: expect.any(String),
      }),
    );
  }

  it('the hook sees statements at all: the Management API reads users and writes one', async () => {
    const admin = await managementToken(t);
    const call = caller(t, admin.token);
    const list = await counted(t, () => call('GET', '/users'));
    expectStatus(list.result, 200);
    expect(list.statements.length, listing('GET /api/v2/users', list.statements)).toBeGreaterThanOrEqual(1);
    expect(list.statements.some((s) => /\busers\b/i.test(s.sql))).toBe(true);

    const create = await counted(t, () =>
      call('POST', '/users', {
        body: {
          connection: 'Username-Password-Authentication',
          email: `budget-${Date.now()}@example.com`,
          password: 'correct horse battery staple',
        },
      }),
    );
    expectStatus(create.result, 201);
    const writes = create.statements.filter((s) => kindOf(s.sql) === 'write');
    expect(writes.length, listing('POST /api/v2/users', create.statements)).toBeGreaterThanOrEqual(1);
  });

  // Cold, one statement reads the application, the API and the client grant together; warm, the
  // read cache has all three.
  it('client credentials: at most 1 statement cold, 0 warm', async () => {
    const fresh = await t.createApi();
    const m2m = await t.createM2m(fresh);
    const cold = await counted(t, () => clientCredentials(m2m, fresh.identifier));
    expectIssued(cold.result, 'cold client credentials');
    expectAtMost('client credentials (cold)', cold.statements, 1);

    const warm = await counted(t, () => clientCredentials(m2m, fresh.identifier));
    expectIssued(warm.result, 'warm client credentials');
    expectAtMost('client credentials (warm)', warm.statements, 0);
  });

  it('refresh with rotation: one transaction, reads outside it at most 1 (0 warm)', async () => {
    const { tokens } = await webSignIn(agent, config, { scope: SCOPE, audience: api.identifier });
    expect(tokens.refresh_token).toEqual(expect.any(String));

    const first = await counted(t, () => refresh(tokens.refresh_token as string));
    expectTokens(first.result, 'first refresh');
    expectOneTransaction('refresh (first)', first.statements, 1);

    const second = await counted(t, () => refresh(first.result.body.refresh_token as string));
    expectTokens(second.result, 'second refresh');
    expect(second.result.body.refresh_token).not.toBe(first.result.body.refresh_token);
    expectOneTransaction('refresh (warm)', second.statements, 0);
    // Begin, the rotation (with its user on PostgreSQL; SQLite reads it apart), the new refresh
    // token with the access token on its row, commit. PostgreSQL: two round trips (begin goes
    // with the rotation, the new refresh token with the commit).
    expectAtMost('refresh (warm)', second.statements, backend === 'postgres' ? 4 : 5);
    if (backend === 'postgres') expectRoundTripsAtMost('refresh (warm)', second.statements, 2);
  });

  it('code exchange with PKCE: one transaction, reads outside it at most 1 (0 warm)', async () => {
    const first = await authorizationCode();
    const cold = await counted(t, () => exchange(first));
    expectTokens(cold.result, 'first code exchange');
    expectOneTransaction('code exchange (first)', cold.statements, 1);

    // A signed-in /authorize: the session with its user and consent, the new code.
    const authorize = await counted(t, authorizationCode);
    expectAtMost('signed-in /authorize (warm)', authorize.statements, 2);
    const warm = await counted(t, () => exchange(authorize.result));
    expectTokens(warm.result, 'second code exchange');
    expectOneTransaction('code exchange (warm)', warm.statements, 0);
    // Begin, the code's consumption (with its user on PostgreSQL), the refresh token with the
    // access token on its row, commit; on PostgreSQL two round trips, as for a refresh.
    expectAtMost('code exchange (warm)', warm.statements, backend === 'postgres' ? 4 : 5);
    if (backend === 'postgres') expectRoundTripsAtMost('code exchange (warm)', warm.statements, 2);
  });

  it('a signed-in /authorize of a first-party application: 2 statements (no consent read)', async () => {
    const firstParty = await t.createApp({
      name: 'First',
      type: 'web',
      callbacks: [CALLBACK],
      skipConsent: true,
    });
    const own = await webConfig(t, firstParty);
    const code = async () => {
      const flow = await agent.signIn(
        (await webAuthorizationUrl(own, { scope: SCOPE, audience: api.identifier })).url,
      );
      expect(
        flow.location?.searchParams.get('code'),
        `${flow.response.status} ${flow.location}`,
      ).toBeTruthy();
    };
    await code();
    expectAtMost('first-party /authorize (warm)', (await counted(t, code)).statements, 2);
  });

  // Cold, one statement reads the caller's application and whether the token's jti is revoked.
  // Then the application comes from the read cache and the verified jti is looked up: on
  // PostgreSQL every time (another instance's revocation counts at once), on SQLite once, then
  // kept (its read cache sees every commit).
  it('introspection of a JWT access token by its own client: at most 1 statement, cold or warm', async () => {
    const m2m = await t.createM2m(api);
    const issued = await clientCredentials(m2m, api.identifier);
    expectIssued(issued, 'client credentials');
    const introspect = async () => {
      const res = await t.fetch(`${t.issuer}/oauth/introspect`, {
        method: 'POST',
        headers: { ...FORM, authorization: basic(m2m.clientId, m2m.clientSecret) },
        body: new URLSearchParams({ token: issued.body.access_token as string }),
      });
      return { status: res.status, body: (await res.json()) as { active?: boolean } };
    };
    const active = { status: 200, body: expect.objectContaining({ active: true, client_id: m2m.clientId }) };
    await t.createApi(); // a write to what the read cache holds empties it: the next one is cold
    const cold = await counted(t, introspect);
    expect(cold.result, 'cold introspection').toEqual(active);
    expectAtMost('introspection (cold)', cold.statements, 1);

    const second = await counted(t, introspect);
    expect(second.result, 'second introspection').toEqual(active);
    expectAtMost('introspection (second)', second.statements, 1);

    const warm = await counted(t, introspect);
    expect(warm.result, 'warm introspection').toEqual(active);
    expectAtMost('introspection (warm)', warm.statements, backend === 'sqlite' ? 0 : 1);
  });

  describe('0 statements when warm', () => {
    it.each([
      ['JWKS', '/.well-known/jwks.json', 'keys'],
      ['discovery', '/.well-known/openid-configuration', 'issuer'],
      ['OAuth metadata', '/.well-known/oauth-authorization-server', 'issuer'],
    ])('%s (%s)', async (label, path, member) => {
      const get = async () => {
        const res = await t.fetch(`${t.issuer}${path}`);
        return { status: res.status, body: (await res.json()) as Record<string, unknown> };
      };
      const first = await get();
      expect(first.status, label).toBe(200);
      const warm = await counted(t, get);
      expect(warm.result.status, label).toBe(200);
      expect(warm.result.body[member], label).toBeDefined();
      expectAtMost(`${label} (warm)`, warm.statements, 0);
    });
  });
});
