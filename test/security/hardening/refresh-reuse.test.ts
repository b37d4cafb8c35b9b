// Issue #14 §4 (second half): a rotated refresh token presented again after the grace period
// revoked its family's refresh tokens but left the access tokens alive. Now the reuse revokes
// the whole grant, as a code replay does: every refresh token and every access token issued
// under it (inactive at introspection).
import type * as client from 'openid-client';
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { Api } from '../../../src/storage/types.js';
import {
  activeFor,
  browser,
  CALLBACK,
  newUser,
  tokenRequest,
  webConfig,
  webSignIn,
} from '../../protocol/sign-in/fixtures.js';
import { startTestApp, type TestApp } from '../../support/app.js';
import { describeEachBackend } from '../../support/databases.js';

const GRACE = 10;

describeEachBackend('hardening: refresh token reuse revokes the whole grant (#14 §4)', (backend) => {
  let t: TestApp;
  let api: Api;
  let web: { clientId: string; clientSecret: string };
  let config: client.Configuration;

  beforeAll(async () => {
    t = await startTestApp(backend, { refreshToken: { reuseGrace: GRACE } });
    api = await t.createApi({ allowOfflineAccess: true });
    web = (await t.createApp({
      name: 'Web',
      type: 'web',
      callbacks: [CALLBACK],
      skipConsent: true,
    })) as typeof web;
    config = await webConfig(t, web);
  });
  afterAll(async () => t?.close());

  const secret = () => ({ client_id: web.clientId, client_secret: web.clientSecret });
  const refresh = (token: string) =>
    tokenRequest(t, { grant_type: 'refresh_token', refresh_token: token, ...secret() });
  const active = (token: string) => activeFor(t, web, token);
  async function signedIn() {
    const { creds } = await newUser(t);
    const { tokens } = await webSignIn(browser(t, creds), config, {
      scope: 'openid offline_access read:things',
      audience: api.identifier,
    });
    const second = await refresh(tokens.refresh_token as string);
    expect(second.status).toBe(200);
    return {
      rt1: tokens.refresh_token as string,
      rt2: second.body.refresh_token as string,
      accessTokens: [tokens.access_token, second.body.access_token as string],
    };
  }

  it('within the grace period a reuse still works (two tabs refreshing at once)', async () => {
    const { rt1, accessTokens } = await signedIn();
    const again = await refresh(rt1);
    expect(again.status).toBe(200);
    for (const at of accessTokens) expect(await active(at)).toBe(true);
  });

  it('after it, the reuse is refused and every token of the grant is dead', async () => {
    const { rt1, rt2, accessTokens } = await signedIn();
    for (const at of accessTokens) expect(await active(at)).toBe(true);
    t.clock.advance(GRACE + 1);
    const reuse = await refresh(rt1);
    expect([reuse.status, reuse.body.error]).toEqual([400, 'invalid_grant']);
    for (const at of accessTokens) expect(await active(at)).toBe(false);
    expect(await active(rt2)).toBe(false);
    expect((await refresh(rt2)).status).toBe(400);
  });
});
