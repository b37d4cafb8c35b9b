import * as client from 'openid-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Api } from '../../../src/storage/types.js';
import { startTestApp, type TestApp } from '../../support/app.js';
import { describeEachBackend } from '../../support/databases.js';
import type { UserAgent } from './agent.js';
import {
  browser,
  CALLBACK,
  decodeJwt,
  expectTokenError,
  isActive,
  newUser,
  tokenRequest,
  webConfig,
  webSignIn,
} from './fixtures.js';

const SCOPE = 'openid profile offline_access read:things write:things';

describeEachBackend('sign-in: refresh tokens (RFC 6749 §6, RFC 9700 §4.14.2, OIDC Core §12)', (backend) => {
  let t: TestApp;
  let api: Api;
  let web: { clientId: string; clientSecret?: string };
  let other: { clientId: string; clientSecret?: string };
  let rs: { clientId: string; clientSecret: string };
  let config: client.Configuration;
  let agent: UserAgent;

  beforeAll(async () => {
    t = await startTestApp(backend);
    api = await t.createApi({
      allowOfflineAccess: true,
      scopes: ['read:things', 'write:things', 'admin:things'],
    });
    web = await t.createApp({ name: 'Web', type: 'web', callbacks: [CALLBACK] });
    other = await t.createApp({ name: 'Other', type: 'web', callbacks: [CALLBACK] });
    rs = await t.createM2m(api);
    config = await webConfig(t, web);
    const { creds } = await newUser(t);
    agent = browser(t, creds);
  });
  afterAll(async () => t?.close());

  /** A fresh sign-in (a new refresh-token family). */
  async function signIn() {
    const { tokens, claims } = await webSignIn(agent, config, { scope: SCOPE, audience: api.identifier });
    expect(tokens.refresh_token).toEqual(expect.any(String));
    return { refreshToken: tokens.refresh_token as string, claims };
  }

  const raw = (refreshToken: string, extra: Record<string, string> = {}, app = web) =>
    tokenRequest(t, {
      grant_type: 'refresh_token',
      refresh_token: refreshToken,
      client_id: app.clientId,
      client_secret: app.clientSecret as string,
      ...extra,
    });

  describe('rotation', () => {
    it('each refresh returns a new refresh token and a working access token (openid-client)', async () => {
      const { refreshToken } = await signIn();
      const next = await client.refreshTokenGrant(config, refreshToken);
      expect(next.refresh_token).toEqual(expect.any(String));
      expect(next.refresh_token).not.toBe(refreshToken);
      expect(await isActive(t, rs, next.access_token)).toBe(true);
      const third = await client.refreshTokenGrant(config, next.refresh_token as string);
      expect(third.refresh_token).not.toBe(next.refresh_token);
    });

    it('the refresh response has Cache-Control: no-store', async () => {
      const { refreshToken } = await signIn();
      const answer = await raw(refreshToken);
      expect(answer.status).toBe(200);
      expect(answer.headers.get('cache-control')).toBe('no-store');
    });

    it('reusing the old token within the grace period (10 s) still works', async () => {
      const { refreshToken } = await signIn();
      expect((await raw(refreshToken)).status).toBe(200);
      t.clock.advance(5);
      const again = await raw(refreshToken);
      expect(again.status, JSON.stringify(again.body)).toBe(200);
      expect(again.body.refresh_token).toEqual(expect.any(String));
    });

    it('reusing the old token after the grace (11 s) → invalid_grant, and the whole family is revoked', async () => {
      const { refreshToken } = await signIn();
      const second = await raw(refreshToken);
      const third = await raw(second.body.refresh_token as string);
      expect([second.status, third.status]).toEqual([200, 200]);
      const newest = third.body.refresh_token as string;
      t.clock.advance(11);
      expectTokenError(await raw(refreshToken), 400, 'invalid_grant');
      expectTokenError(await raw(newest), 400, 'invalid_grant');
      expectTokenError(await raw(second.body.refresh_token as string), 400, 'invalid_grant');
    });

    it('a revoked family does not touch another sign-in’s family', async () => {
      const a = await signIn();
      const b = await signIn();
      await raw(a.refreshToken);
      t.clock.advance(11);
      expectTokenError(await raw(a.refreshToken), 400, 'invalid_grant');
      expect((await raw(b.refreshToken)).status).toBe(200);
    });
  });

  describe('binding and scope', () => {
    it('another client’s refresh token → invalid_grant (and the owner can still use it)', async () => {
      const { refreshToken } = await signIn();
      expectTokenError(await raw(refreshToken, {}, other), 400, 'invalid_grant');
      expect((await raw(refreshToken)).status).toBe(200);
    });

    it('an unknown refresh token → invalid_grant', async () => {
      expectTokenError(await raw('no-such-refresh-token'), 400, 'invalid_grant');
    });

    it('a scope beyond the grant → invalid_scope', async () => {
      const { refreshToken } = await signIn();
      expectTokenError(
        await raw(refreshToken, { scope: 'openid read:things admin:things' }),
        400,
        'invalid_scope',
      );
    });

    it('an OIDC scope not granted (email) → invalid_scope', async () => {
      const { refreshToken } = await signIn();
      expectTokenError(await raw(refreshToken, { scope: 'openid email' }), 400, 'invalid_scope');
    });

    it('a narrower scope works, and the access token carries only it', async () => {
      const { refreshToken } = await signIn();
      const next = await client.refreshTokenGrant(config, refreshToken, { scope: 'openid read:things' });
      expect(next.scope).toBe('openid read:things');
      expect(decodeJwt(next.access_token).payload.scope).toBe('openid read:things');
    });

    it('after narrowing, the original scope can be asked for again (RFC 6749 §6)', async () => {
      const { refreshToken } = await signIn();
      const narrow = await client.refreshTokenGrant(config, refreshToken, { scope: 'openid read:things' });
      const wide = await raw(narrow.refresh_token as string, { scope: 'openid read:things write:things' });
      expect(wide.status, JSON.stringify(wide.body)).toBe(200);
      expect(wide.body.scope).toBe('openid read:things write:things');
    });
  });

  describe('ID token on refresh (OIDC Core §12.2)', () => {
    it('has the same sub and auth_time, a new iat, and is validated by openid-client', async () => {
      const { refreshToken, claims } = await signIn();
      t.clock.advance(30);
      const next = await client.refreshTokenGrant(config, refreshToken);
      const renewed = next.claims();
      expect(renewed).toBeDefined();
      expect(renewed?.sub).toBe(claims.sub);
      expect(renewed?.auth_time).toBe(claims.auth_time);
      expect(renewed?.aud).toBe(web.clientId);
      expect(renewed?.iat).toBe(claims.iat + 30);
    });
  });
});
