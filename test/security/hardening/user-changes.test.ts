// Issue #14 §5: blocking a person, changing their password or deleting them must end everything
// they hold, in the same transaction as the change: the SSO session, the refresh tokens and the
// access tokens (which introspection then calls inactive). Each change is made as an admin makes
// it (src/admin/users.ts, behind the Management API, the CLI and the console).
import type * as client from 'openid-client';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { deleteUser, setBlocked, setPassword } from '../../../src/admin/users.js';
import type { Api } from '../../../src/storage/types.js';
import {
  activeFor,
  browser,
  CALLBACK,
  newUser,
  sessionAlive,
  tokenRequest,
  webConfig,
  webSignIn,
} from '../../protocol/sign-in/fixtures.js';
import { startTestApp, type TestApp } from '../../support/app.js';
import { describeEachBackend } from '../../support/databases.js';

const SCOPE = 'openid offline_access read:things';

describeEachBackend('hardening: block, password change and deletion end everything (#14 §5)', (backend) => {
  let t: TestApp;
  let web: { clientId: string; clientSecret?: string };
  let api: Api;
  let config: client.Configuration;

  beforeAll(async () => {
    t = await startTestApp(backend);
    web = await t.createApp({ name: 'Web', type: 'web', callbacks: [CALLBACK], skipConsent: true });
    api = await t.createApi({ allowOfflineAccess: true });
    config = await webConfig(t, web);
  });
  afterAll(async () => t?.close());

  const secret = () => ({ client_id: web.clientId, client_secret: web.clientSecret as string });
  const active = (token: string) => activeFor(t, web, token);

  const changes: [string, (userId: string) => Promise<unknown>][] = [
    ['blocking', (id) => setBlocked(t.rt.storage, t.clock, id, true)],
    ['a password change', (id) => setPassword(t.rt.storage, t.clock, id, 'a brand new passphrase')],
    ['deletion', (id) => deleteUser(t.rt.storage, t.clock, id)],
  ];

  it.each(changes)('%s ends the session, the refresh token and the access tokens', async (_, change) => {
    const { user, creds } = await newUser(t);
    const agent = browser(t, creds);
    const { tokens } = await webSignIn(agent, config, { scope: SCOPE, audience: api.identifier });
    const refreshed = await tokenRequest(t, {
      grant_type: 'refresh_token',
      refresh_token: tokens.refresh_token as string,
      ...secret(),
    });
    expect(refreshed.status).toBe(200);
    const accessTokens = [tokens.access_token, refreshed.body.access_token as string];
    for (const at of accessTokens) expect(await active(at)).toBe(true);
    expect(await active(refreshed.body.refresh_token as string)).toBe(true);
    expect(await sessionAlive(agent, config)).toBe(true);

    await change(user.id);

    for (const at of accessTokens) expect(await active(at)).toBe(false);
    expect(await active(refreshed.body.refresh_token as string)).toBe(false);
    const again = await tokenRequest(t, {
      grant_type: 'refresh_token',
      refresh_token: refreshed.body.refresh_token as string,
      ...secret(),
    });
    expect([again.status, again.body.error]).toEqual([400, 'invalid_grant']);
    expect(await sessionAlive(agent, config)).toBe(false);
  });
});
