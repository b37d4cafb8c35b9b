import * as client from 'openid-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { changeOwnPassword } from '../../../src/admin/my-account.js';
import { deleteUserSessions } from '../../../src/admin/sessions.js';
import type { Api } from '../../../src/storage/types.js';
import { sha256 } from '../../../src/util/crypto.js';
import { startTestApp, type TestApp } from '../../support/app.js';
import { describeEachBackend } from '../../support/databases.js';
import { SESSION_COOKIE, type UserAgent } from './agent.js';
import {
  authorizationUrl,
  browser,
  CALLBACK,
  codeFor,
  expectTokenError,
  isActive,
  newUser,
  s256,
  type TokenAnswer,
  tokenRequest,
  webAuthorizationUrl,
  webConfig,
} from './fixtures.js';

const SECOND_CALLBACK = 'https://rp.example/second';
const VERIFIER = 'c'.repeat(43);

describeEachBackend('sign-in: authorization codes (RFC 6749 §4.1.2, §4.1.3, §10.5)', (backend) => {
  let t: TestApp;
  let api: Api;
  let web: { clientId: string; clientSecret?: string };
  let other: { clientId: string; clientSecret?: string };
  let rs: { clientId: string; clientSecret: string };
  let agent: UserAgent;

  beforeAll(async () => {
    t = await startTestApp(backend);
    api = await t.createApi({ allowOfflineAccess: true });
    web = await t.createApp({ name: 'Web', type: 'web', callbacks: [CALLBACK, SECOND_CALLBACK] });
    other = await t.createApp({ name: 'Other', type: 'web', callbacks: [CALLBACK] });
    rs = await t.createM2m(api);
    const { creds } = await newUser(t);
    agent = browser(t, creds);
  });
  afterAll(async () => t?.close());

  const SCOPE = 'openid profile offline_access read:things';

  /** A code for `app` at `redirectUri`, issued to `who` with an S256 challenge of VERIFIER. */
  const newCode = (app = web, redirectUri = CALLBACK, who = agent) =>
    codeFor(
      who,
      authorizationUrl(t, {
        client_id: app.clientId,
        redirect_uri: redirectUri,
        scope: SCOPE,
        audience: api.identifier,
        code_challenge: s256(VERIFIER),
        code_challenge_method: 'S256',
      }),
    );

  const exchange = (code: string, extra: Record<string, string> = {}, app = web): Promise<TokenAnswer> =>
    tokenRequest(t, {
      grant_type: 'authorization_code',
      code,
      redirect_uri: CALLBACK,
      code_verifier: VERIFIER,
      client_id: app.clientId,
      client_secret: app.clientSecret as string,
      ...extra,
    });

  const refresh = (refreshToken: string, app = web) =>
    tokenRequest(t, {
      grant_type: 'refresh_token',
      refresh_token: refreshToken,
      client_id: app.clientId,
      client_secret: app.clientSecret as string,
    });

  const userinfoStatus = async (token: string) =>
    (await t.fetch(`${t.issuer}/userinfo`, { headers: { authorization: `Bearer ${token}` } })).status;

  it('an exchange through openid-client works (the baseline the others break)', async () => {
    const config = await webConfig(t, web);
    const pending = await webAuthorizationUrl(config, { scope: SCOPE, audience: api.identifier });
    const flow = await agent.signIn(pending.url);
    const tokens = await client.authorizationCodeGrant(config, flow.location as URL, {
      pkceCodeVerifier: pending.verifier,
      expectedNonce: pending.nonce,
      expectedState: pending.state,
    });
    expect(tokens.refresh_token).toEqual(expect.any(String));
    expect(await isActive(t, rs, tokens.access_token)).toBe(true);
  });

  describe('replay', () => {
    it('a second use → invalid_grant, and what the first issued is revoked: introspection, userinfo, refresh', async () => {
      const code = await newCode();
      const first = await exchange(code);
      expect(first.status, JSON.stringify(first.body)).toBe(200);
      const access = first.body.access_token as string;
      const refreshToken = first.body.refresh_token as string;
      expect(await isActive(t, rs, access)).toBe(true);
      expect(await userinfoStatus(access)).toBe(200);

      expectTokenError(await exchange(code), 400, 'invalid_grant');

      expect(await isActive(t, rs, access)).toBe(false);
      expect(await userinfoStatus(access)).toBe(401);
      expectTokenError(await refresh(refreshToken), 400, 'invalid_grant');
    });

    it('a replay also revokes the tokens issued since by refreshing', async () => {
      const code = await newCode();
      const first = await exchange(code);
      const refreshed = await refresh(first.body.refresh_token as string);
      expect(refreshed.status).toBe(200);
      expectTokenError(await exchange(code), 400, 'invalid_grant');
      expect(await isActive(t, rs, refreshed.body.access_token as string)).toBe(false);
      expectTokenError(await refresh(refreshed.body.refresh_token as string), 400, 'invalid_grant');
    });

    it('a replay with a bad client secret → 401 invalid_client, and nothing is revoked', async () => {
      const code = await newCode();
      const first = await exchange(code);
      expect(first.status).toBe(200);
      const answer = await exchange(code, { client_secret: 'wrong-secret' });
      expectTokenError(answer, 401, 'invalid_client');
      expect(answer.headers.get('www-authenticate')).toMatch(/^Basic /);
      expect(await isActive(t, rs, first.body.access_token as string)).toBe(true);
      expect(await userinfoStatus(first.body.access_token as string)).toBe(200);
      expect((await refresh(first.body.refresh_token as string)).status).toBe(200);
    });

    it('10 concurrent exchanges of one code → exactly one 200, nine invalid_grant', async () => {
      const code = await newCode();
      const answers = await Promise.all(Array.from({ length: 10 }, () => exchange(code)));
      const statuses = answers.map((a) => a.status).sort();
      expect(statuses).toEqual([200, 400, 400, 400, 400, 400, 400, 400, 400, 400]);
      for (const a of answers.filter((x) => x.status !== 200)) expect(a.body.error).toBe('invalid_grant');
    });
    it('after 10 concurrent exchanges, the tokens of the one that won are revoked too (nine were replays)', async () => {
      const code = await newCode();
      const answers = await Promise.all(Array.from({ length: 10 }, () => exchange(code)));
      const winner = answers.find((a) => a.status === 200);
      expect(winner).toBeDefined();
      expect(await isActive(t, rs, winner?.body.access_token as string)).toBe(false);
      expectTokenError(await refresh(winner?.body.refresh_token as string), 400, 'invalid_grant');
    });
  });

  describe('binding', () => {
    it('another client’s code → invalid_grant', async () => {
      const code = await newCode();
      expectTokenError(await exchange(code, {}, other), 400, 'invalid_grant');
    });

    it('a code is used up even by another client’s failed attempt (single use)', async () => {
      const code = await newCode();
      await exchange(code, {}, other);
      expectTokenError(await exchange(code), 400, 'invalid_grant');
    });

    it('redirect_uri differing from the authorization request → invalid_grant (another registered one)', async () => {
      const code = await newCode();
      expectTokenError(await exchange(code, { redirect_uri: SECOND_CALLBACK }), 400, 'invalid_grant');
    });

    it('redirect_uri differing from the authorization request → invalid_grant (unregistered)', async () => {
      const code = await newCode();
      expectTokenError(await exchange(code, { redirect_uri: `${CALLBACK}/` }), 400, 'invalid_grant');
    });

    it('the second callback’s code is redeemed at the second callback', async () => {
      const code = await newCode(web, SECOND_CALLBACK);
      expect((await exchange(code, { redirect_uri: SECOND_CALLBACK })).status).toBe(200);
    });

    it('an unknown code → invalid_grant', async () => {
      expectTokenError(await exchange('not-a-code-that-was-issued'), 400, 'invalid_grant');
    });
  });

  describe('lifetime and single use', () => {
    it('a code older than 60 s → invalid_grant', async () => {
      const code = await newCode();
      t.clock.advance(61);
      expectTokenError(await exchange(code), 400, 'invalid_grant');
    });

    it('a code at 59 s still works', async () => {
      const code = await newCode();
      t.clock.advance(59);
      expect((await exchange(code)).status).toBe(200);
    });

    it('a failed first exchange (bad verifier) uses the code up: the right verifier then → invalid_grant', async () => {
      const code = await newCode();
      expectTokenError(await exchange(code, { code_verifier: 'w'.repeat(43) }), 400, 'invalid_grant');
      expectTokenError(await exchange(code), 400, 'invalid_grant');
    });

    it('a failed first exchange (wrong redirect_uri) uses the code up too', async () => {
      const code = await newCode();
      expectTokenError(await exchange(code, { redirect_uri: SECOND_CALLBACK }), 400, 'invalid_grant');
      expectTokenError(await exchange(code), 400, 'invalid_grant');
    });
  });

  describe('a code whose sign-in has ended (Keycloak refuses it too)', () => {
    const codeIn = (who: UserAgent) => newCode(web, CALLBACK, who);

    it('signed out everywhere (a reset, a block, an admin): invalid_grant, no tokens', async () => {
      const { user, creds } = await newUser(t);
      const code = await codeIn(browser(t, creds));
      await deleteUserSessions(t.rt.storage, user.id);
      expectTokenError(await exchange(code), 400, 'invalid_grant');
    });

    it("a password changed on /account in another browser: that browser's code works, the other's does not", async () => {
      const { user, creds } = await newUser(t);
      const [here, there] = [browser(t, creds), browser(t, creds)];
      const [mine, theirs] = [await codeIn(here), await codeIn(there)];
      const kept = [...(await t.rt.storage.sessions.listForUser(user.id, t.clock.now()))].find(
        (s) =>
          here.cookies.get(SESSION_COOKIE) !== undefined &&
          sha256(here.cookies.get(SESSION_COOKIE) as string) === s.idHash,
      );
      expect(kept, 'the session of the browser that changes the password').toBeDefined();
      const person = (await t.rt.storage.users.get(user.id))!;
      expect(
        await changeOwnPassword(
          t.rt.storage,
          t.clock,
          person,
          kept!.idHash,
          'a new long passphrase 42',
          async () => {},
        ),
      ).toBe(true);
      expectTokenError(await exchange(theirs), 400, 'invalid_grant');
      const ok = await exchange(mine);
      expect(ok.status, JSON.stringify(ok.body)).toBe(200);
    });
  });
});
