import * as client from 'openid-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Api } from '../../../src/storage/types.js';
import { startTestApp, type TestApp } from '../../support/app.js';
import { describeEachBackend } from '../../support/databases.js';
import type { UserAgent } from './agent.js';
import {
  browser,
  CALLBACK,
  expectTokenError,
  newUser,
  tokenRequest,
  webConfig,
  webSignIn,
} from './fixtures.js';

const FORM = { 'content-type': 'application/x-www-form-urlencoded' };
const SCOPE = 'openid offline_access read:things';

type Creds = { clientId: string; clientSecret: string };

/** RFC 6749 §2.3.1 client_secret_basic. */
const basic = (c: Creds) =>
  `Basic ${Buffer.from(`${encodeURIComponent(c.clientId)}:${encodeURIComponent(c.clientSecret)}`).toString('base64')}`;

interface Introspection {
  active: boolean;
  token_type?: string;
  client_id?: string;
  sub?: string;
  scope?: string;
  iss?: string;
  iat?: number;
  exp?: number;
}

describeEachBackend('refresh tokens: revocation (RFC 7009) and introspection (RFC 7662)', (backend) => {
  let t: TestApp;
  let api: Api;
  let web: Creds;
  let other: Creds;
  let rs: Creds;
  let config: client.Configuration;
  let agent: UserAgent;
  let userId: string;

  beforeAll(async () => {
    t = await startTestApp(backend);
    api = await t.createApi({ allowOfflineAccess: true });
    web = (await t.createApp({ name: 'Web', type: 'web', callbacks: [CALLBACK] })) as Creds;
    other = (await t.createApp({ name: 'Other', type: 'web', callbacks: [CALLBACK] })) as Creds;
    rs = await t.createM2m(api);
    config = await webConfig(t, web);
    const { user, creds } = await newUser(t);
    userId = user.id;
    agent = browser(t, creds);
  });
  afterAll(async () => t?.close());

  /** A fresh sign-in: a new refresh-token family. */
  async function signIn(): Promise<{ refreshToken: string; sub: string }> {
    const { tokens, claims } = await webSignIn(agent, config, { scope: SCOPE, audience: api.identifier });
    expect(tokens.refresh_token).toEqual(expect.any(String));
    return { refreshToken: tokens.refresh_token as string, sub: claims.sub };
  }

  /** The refresh_token grant as `app` (client_secret_post). */
  const refresh = (token: string, app: Creds = web) =>
    tokenRequest(t, {
      grant_type: 'refresh_token',
      refresh_token: token,
      client_id: app.clientId,
      client_secret: app.clientSecret,
    });

  /** Refreshes and returns the new refresh token (must succeed). */
  async function rotate(token: string): Promise<string> {
    const answer = await refresh(token);
    expect(answer.status, JSON.stringify(answer.body)).toBe(200);
    expect(answer.body.refresh_token).toEqual(expect.any(String));
    return answer.body.refresh_token as string;
  }

  /** POST /oauth/revoke as `app` with client_secret_basic. */
  const revoke = (token: string, app: Creds = web, extra: Record<string, string> = {}) =>
    t.fetch(`${t.issuer}/oauth/revoke`, {
      method: 'POST',
      headers: { ...FORM, authorization: basic(app) },
      body: new URLSearchParams({ token, ...extra }),
    });

  /** POST /oauth/introspect as `app` with client_secret_basic. */
  const introspect = (token: string, app: Creds = web) =>
    t.fetch(`${t.issuer}/oauth/introspect`, {
      method: 'POST',
      headers: { ...FORM, authorization: basic(app) },
      body: new URLSearchParams({ token }),
    });

  async function introspection(token: string, app: Creds = web): Promise<Introspection> {
    const res = await introspect(token, app);
    expect(res.status).toBe(200);
    return (await res.json()) as Introspection;
  }

  describe('introspection', () => {
    it("an active refresh token: active, client_id, sub (the user id), scope; no token_type (RFC 7662 §2.2: an access token's type)", async () => {
      const { refreshToken, sub } = await signIn();
      const res = await introspect(refreshToken);
      expect(res.status).toBe(200);
      expect(res.headers.get('cache-control')).toBe('no-store');
      expect(res.headers.get('content-type')).toMatch(/^application\/json/);
      const body = (await res.json()) as Introspection;
      expect(body).toMatchObject({
        active: true,
        client_id: web.clientId,
        sub: userId,
        iss: t.issuer,
      });
      expect(body).not.toHaveProperty('token_type');
      expect(body.sub).toBe(sub);
      expect((body.scope as string).split(' ').sort()).toEqual(SCOPE.split(' ').sort());
      expect(body.iat).toBe(t.clock.now());
      expect(body.exp).toBeGreaterThan(body.iat as number);
    });

    it('the rotated token is inactive once its grace has passed; its successor is active', async () => {
      const { refreshToken } = await signIn();
      const next = await rotate(refreshToken);
      t.clock.advance(11); // refreshToken.reuseGrace is 10 s
      expect(await (await introspect(refreshToken)).text()).toBe('{"active":false}');
      expect((await introspection(next)).active).toBe(true);
    });

    it('an unknown refresh-token-shaped value is {"active":false}', async () => {
      const res = await introspect('A'.repeat(43));
      expect(await res.text()).toBe('{"active":false}');
    });
  });

  describe('revocation by the client it was issued to (client_secret_basic)', () => {
    it('→ 200; then refreshing with it → invalid_grant, and introspection says {"active":false}', async () => {
      const { refreshToken } = await signIn();
      expect((await introspection(refreshToken)).active).toBe(true);
      const res = await revoke(refreshToken);
      expect(res.status).toBe(200);
      expect(res.headers.get('cache-control')).toBe('no-store');
      expect(await res.text()).toBe('');
      expectTokenError(await refresh(refreshToken), 400, 'invalid_grant');
      const after = await introspect(refreshToken);
      expect(after.status).toBe(200);
      expect(await after.text()).toBe('{"active":false}');
    });

    it('revoking a refresh token also revokes the access tokens issued with it (RFC 7009 §2.1)', async () => {
      const { tokens } = await webSignIn(agent, config, { scope: SCOPE, audience: api.identifier });
      const rotated = await refresh(tokens.refresh_token as string);
      expect(rotated.status).toBe(200);
      const laterAccess = rotated.body.access_token as string;
      expect((await introspection(tokens.access_token)).active).toBe(true);
      expect((await introspection(laterAccess)).active).toBe(true);
      expect((await revoke(rotated.body.refresh_token as string)).status).toBe(200);
      expect(await (await introspect(tokens.access_token)).text()).toBe('{"active":false}');
      expect(await (await introspect(laterAccess)).text()).toBe('{"active":false}');
    });

    it('revoking the first token of a family revokes every newer member (within the rotation grace)', async () => {
      const { refreshToken: first } = await signIn();
      const second = await rotate(first);
      const third = await rotate(second);
      expect((await revoke(first)).status).toBe(200);
      expectTokenError(await refresh(third), 400, 'invalid_grant');
      expectTokenError(await refresh(second), 400, 'invalid_grant');
      expectTokenError(await refresh(first), 400, 'invalid_grant');
      expect((await introspection(third)).active).toBe(false);
    });

    it('revoking the newest token revokes the older members still in their grace', async () => {
      const { refreshToken: first } = await signIn();
      const second = await rotate(first);
      expect((await revoke(second)).status).toBe(200);
      expectTokenError(await refresh(first), 400, 'invalid_grant');
      expectTokenError(await refresh(second), 400, 'invalid_grant');
    });

    // RFC 7009 §2.1 / RFC 9700 §4.14.2: the client asks to end the grant; a 200 must mean that
    // the family's live token no longer works, even when the client sent an older token of it
    // (the token endpoint revokes the family when that same token is replayed).
    it('revoking an already-rotated token (past its grace) still ends the family', async () => {
      const { refreshToken: first } = await signIn();
      const second = await rotate(first);
      t.clock.advance(11);
      expect((await revoke(first)).status).toBe(200);
      expectTokenError(await refresh(second), 400, 'invalid_grant');
    });

    it('leaves other sign-ins’ families alone', async () => {
      const a = await signIn();
      const b = await signIn();
      expect((await revoke(a.refreshToken)).status).toBe(200);
      expectTokenError(await refresh(a.refreshToken), 400, 'invalid_grant');
      expect((await refresh(b.refreshToken)).status).toBe(200);
    });

    it('a token_type_hint of access_token is only a hint: the refresh token is revoked', async () => {
      const { refreshToken } = await signIn();
      expect((await revoke(refreshToken, web, { token_type_hint: 'access_token' })).status).toBe(200);
      expectTokenError(await refresh(refreshToken), 400, 'invalid_grant');
    });

    it('revoking twice answers 200 both times', async () => {
      const { refreshToken } = await signIn();
      expect((await revoke(refreshToken)).status).toBe(200);
      expect((await revoke(refreshToken)).status).toBe(200);
    });

    it('works through openid-client (client_secret_post) too', async () => {
      const { refreshToken } = await signIn();
      await client.tokenRevocation(config, refreshToken, { token_type_hint: 'refresh_token' });
      expectTokenError(await refresh(refreshToken), 400, 'invalid_grant');
    });
  });

  describe('revocation by anyone else', () => {
    it('another client → 200 as for an unknown token (nothing told), and the token stays usable', async () => {
      const { refreshToken } = await signIn();
      const res = await revoke(refreshToken, other);
      expect([res.status, await res.text()]).toEqual([200, '']);
      expect((await introspection(refreshToken)).active).toBe(true);
      expect((await refresh(refreshToken)).status).toBe(200);
    });

    it('an m2m client (the resource server) → nothing revoked, and the token stays usable', async () => {
      const { refreshToken } = await signIn();
      const res = await revoke(refreshToken, rs);
      expect(res.status).toBe(200);
      expect((await refresh(refreshToken)).status).toBe(200);
    });

    it('the right client with a wrong secret → 401 invalid_client, and the token stays usable', async () => {
      const { refreshToken } = await signIn();
      const res = await revoke(refreshToken, { clientId: web.clientId, clientSecret: 'not-the-secret' });
      expect(res.status).toBe(401);
      expect(((await res.json()) as { error: string }).error).toBe('invalid_client');
      expect((await refresh(refreshToken)).status).toBe(200);
    });

    it('no client authentication (client_id only) → refused, and the token stays usable', async () => {
      const { refreshToken } = await signIn();
      const res = await t.fetch(`${t.issuer}/oauth/revoke`, {
        method: 'POST',
        headers: FORM,
        body: new URLSearchParams({ token: refreshToken, client_id: web.clientId }),
      });
      expect(res.status).toBeGreaterThanOrEqual(400);
      expect((await refresh(refreshToken)).status).toBe(200);
    });
  });
});
