// Issue #14 §3: any confidential client could introspect another client's refresh token or a
// person's access token and read `sub` and `scope`. Now introspection answers {"active":false}
// unless the caller is the token's client or, for an access token, acts for the API it was
// issued for (holds a machine client grant for it); and revoking another client's token
// changes nothing and says nothing (the same 200 as an unknown token).
import type * as client from 'openid-client';
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { Api } from '../../../src/storage/types.js';
import {
  browser,
  CALLBACK,
  newUser,
  tokenRequest,
  webConfig,
  webSignIn,
} from '../../protocol/sign-in/fixtures.js';
import { startTestApp, type TestApp } from '../../support/app.js';
import { describeEachBackend } from '../../support/databases.js';

type Creds = { clientId: string; clientSecret: string };
const INACTIVE = '{"active":false}';

describeEachBackend(
  'hardening: introspection and revocation only for the token’s own parties (#14 §3)',
  (backend) => {
    let t: TestApp;
    let api: Api;
    let web: Creds;
    let config: client.Configuration;
    /** The API's own credentials: a machine client granted the API. */
    let rs: Creds;
    /** A confidential stranger: its own API and grant, nothing to do with the person's tokens. */
    let stranger: Creds;
    let tokens: { access: string; refresh: string; userinfo: string };

    beforeAll(async () => {
      t = await startTestApp(backend);
      api = await t.createApi({ allowOfflineAccess: true });
      web = (await t.createApp({
        name: 'Web',
        type: 'web',
        callbacks: [CALLBACK],
        skipConsent: true,
      })) as Creds;
      config = await webConfig(t, web);
      rs = await t.createM2m(api);
      stranger = await t.createM2m(await t.createApi());
      const { creds } = await newUser(t);
      const forApi = (
        await webSignIn(browser(t, creds), config, {
          scope: 'openid offline_access read:things',
          audience: api.identifier,
        })
      ).tokens;
      const plain = (await webSignIn(browser(t, creds), config, { scope: 'openid' })).tokens;
      tokens = {
        access: forApi.access_token,
        refresh: forApi.refresh_token as string,
        userinfo: plain.access_token,
      };
    });
    afterAll(async () => t?.close());

    const post = (path: string, caller: Creds, token: string) =>
      t.fetch(`${t.issuer}${path}`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({ token, client_id: caller.clientId, client_secret: caller.clientSecret }),
      });
    const introspect = async (caller: Creds, token: string) =>
      (await post('/oauth/introspect', caller, token)).text();
    const active = async (caller: Creds, token: string) =>
      (JSON.parse(await introspect(caller, token)) as { active: boolean }).active;

    it('a stranger learns nothing about a person’s access token or refresh token', async () => {
      expect(await introspect(stranger, tokens.access)).toBe(INACTIVE);
      expect(await introspect(stranger, tokens.refresh)).toBe(INACTIVE);
      expect(await introspect(stranger, tokens.userinfo)).toBe(INACTIVE);
    });

    it('the token’s own client does; the API’s credentials do for its access tokens only', async () => {
      expect(await active(web, tokens.access)).toBe(true);
      expect(await active(web, tokens.refresh)).toBe(true);
      expect(JSON.parse(await introspect(rs, tokens.access))).toMatchObject({
        active: true,
        aud: [api.identifier, `${t.issuer}/userinfo`],
        scope: 'openid offline_access read:things',
      });
      // the API's credentials have no business with the refresh token, nor with a userinfo token
      expect(await introspect(rs, tokens.refresh)).toBe(INACTIVE);
      expect(await introspect(rs, tokens.userinfo)).toBe(INACTIVE);
    });

    it('revoking another client’s token: the answer of an unknown token, and the token lives on', async () => {
      const unknown = await post('/oauth/revoke', stranger, 'no-such-token');
      for (const token of [tokens.access, tokens.refresh]) {
        const res = await post('/oauth/revoke', stranger, token);
        expect([res.status, await res.text()]).toEqual([unknown.status, '']);
      }
      expect(unknown.status).toBe(200);
      expect(await active(web, tokens.access)).toBe(true);
      const refreshed = await tokenRequest(t, {
        grant_type: 'refresh_token',
        refresh_token: tokens.refresh,
        ...{ client_id: web.clientId, client_secret: web.clientSecret },
      });
      expect(refreshed.status).toBe(200);
    });
  },
);
