// Deleting an API ends what was issued for it (#14 §5, "revocation that reaches every token"):
// introspection calls its access tokens (machine and people's) and refresh tokens inactive, and
// /userinfo refuses a token for it, though none of them is on record as revoked. An API made
// again under the same identifier does not bring its refresh tokens back (each records its
// API's id); an access token names only the identifier, and lives at most its lifetime.
import type * as client from 'openid-client';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { createApi, deleteApi } from '../../../src/admin/apis.js';
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

describeEachBackend('hardening: deleting an API ends its tokens (#14 §5)', (backend) => {
  let t: TestApp;
  let web: { clientId: string; clientSecret?: string };
  let config: client.Configuration;

  beforeAll(async () => {
    t = await startTestApp(backend);
    web = await t.createApp({ name: 'Web', type: 'web', callbacks: [CALLBACK], skipConsent: true });
    config = await webConfig(t, web);
  });
  afterAll(async () => t?.close());

  const userinfo = (token: string) =>
    t.fetch(`${t.issuer}/userinfo`, { headers: { authorization: `Bearer ${token}` } });

  it('machine and people tokens for a deleted API are inactive; a new API of that identifier does not revive them', async () => {
    const api = await t.createApi({ allowOfflineAccess: true });
    const other = await t.createApi({ allowOfflineAccess: true });
    const m2m = await t.createM2m(api, ['read:things']);
    const machine = await tokenRequest(t, {
      grant_type: 'client_credentials',
      audience: api.identifier,
      client_id: m2m.clientId,
      client_secret: m2m.clientSecret,
    });
    expect(machine.status).toBe(200);
    const { creds } = await newUser(t);
    const agent = browser(t, creds);
    const scope = 'openid offline_access read:things';
    const { tokens } = await webSignIn(agent, config, { scope, audience: api.identifier });
    const kept = (await webSignIn(agent, config, { scope, audience: other.identifier })).tokens;
    const people = [tokens.access_token, tokens.refresh_token as string];
    expect(await activeFor(t, m2m, machine.body.access_token as string)).toBe(true);
    for (const token of people) expect(await activeFor(t, web, token)).toBe(true);
    expect((await userinfo(tokens.access_token)).status).toBe(200);

    await deleteApi(t.rt.storage, api.identifier);

    expect(await activeFor(t, m2m, machine.body.access_token as string), 'machine token').toBe(false);
    for (const token of people) expect(await activeFor(t, web, token)).toBe(false);
    expect((await userinfo(tokens.access_token)).status).toBe(401);
    // another API's tokens are untouched
    expect(await activeFor(t, web, kept.access_token)).toBe(true);
    expect(await activeFor(t, web, kept.refresh_token as string)).toBe(true);

    // an API made again under the identifier is another: the old refresh token stays ended
    const again = { name: 'Again', identifier: api.identifier, allowOfflineAccess: true };
    await createApi(t.rt.storage, t.clock, again, 3600);
    expect(await activeFor(t, web, tokens.refresh_token as string)).toBe(false);
    const refreshed = await tokenRequest(t, {
      grant_type: 'refresh_token',
      refresh_token: tokens.refresh_token as string,
      client_id: web.clientId,
      client_secret: web.clientSecret as string,
    });
    expect([refreshed.status, refreshed.body.error]).toEqual([400, 'invalid_grant']);
  });
});
