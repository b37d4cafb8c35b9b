// Issue #14 §4 (first half): a rotated refresh token presented again within the grace period
// got a brand-new refresh token, so two tabs refreshing at once forked the family into two live
// branches. Now a reuse within the grace period gets the family's live member back (followed
// through the rotations since), with new access and ID tokens: a family has one live refresh
// token at most. After the grace period, a reuse of any member that is not the live one revokes
// the whole grant, the live member and every access token included (those handed to in-grace
// reuses too).
import type * as client from 'openid-client';
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { Api } from '../../../src/storage/types.js';
import { sha256 } from '../../../src/util/crypto.js';
import {
  activeFor,
  browser,
  CALLBACK,
  decodeJwt,
  newUser,
  type TokenAnswer,
  tokenRequest,
  webConfig,
  webSignIn,
} from '../../protocol/sign-in/fixtures.js';
import { startTestApp, type TestApp } from '../../support/app.js';
import { describeEachBackend } from '../../support/databases.js';

const GRACE = 10;

describeEachBackend(
  'hardening: a refresh reuse within the grace period does not fork the family (#14 §4)',
  (backend) => {
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
    /** The hashes of the person's live refresh tokens, as the admin views list them. */
    const liveHashes = async (userId: string) =>
      (await t.rt.storage.refreshTokens.listLive({ userId }, t.clock.now())).map((r) => r.hash);

    function expectTokens(answer: TokenAnswer): { accessToken: string; refreshToken: string } {
      expect(answer.status, JSON.stringify(answer.body)).toBe(200);
      expect(answer.body.access_token).toEqual(expect.any(String));
      expect(answer.body.id_token).toEqual(expect.any(String));
      expect(answer.body.refresh_token).toEqual(expect.any(String));
      return {
        accessToken: answer.body.access_token as string,
        refreshToken: answer.body.refresh_token as string,
      };
    }

    /** A sign-in (RT1) and its first rotation (RT2). */
    async function signedIn() {
      const { user, creds } = await newUser(t);
      const { tokens } = await webSignIn(browser(t, creds), config, {
        scope: 'openid offline_access read:things',
        audience: api.identifier,
      });
      const rt1 = tokens.refresh_token as string;
      const second = expectTokens(await refresh(rt1));
      expect(second.refreshToken).not.toBe(rt1);
      return {
        userId: user.id,
        rt1,
        rt2: second.refreshToken,
        accessTokens: [tokens.access_token, second.accessToken],
      };
    }

    it('within the grace period, RT1 again gets new access and ID tokens and the same RT2, not a new one', async () => {
      const { userId, rt1, rt2, accessTokens } = await signedIn();
      t.clock.advance(GRACE - 1);
      const again = expectTokens(await refresh(rt1));
      expect(again.refreshToken).toBe(rt2);
      expect(accessTokens).not.toContain(again.accessToken);
      expect(decodeJwt(again.accessToken).payload.sub).toBe(userId);
      for (const at of [...accessTokens, again.accessToken]) expect(await active(at)).toBe(true);
      expect(await liveHashes(userId)).toEqual([sha256(rt2)]);
    });

    it('when RT2 was rotated too (RT3), RT1 within the grace period gets RT3, the live member', async () => {
      const { userId, rt1, rt2 } = await signedIn();
      const third = expectTokens(await refresh(rt2));
      const rt3 = third.refreshToken;
      expect([rt1, rt2]).not.toContain(rt3);
      t.clock.advance(GRACE - 1);
      expect(expectTokens(await refresh(rt1)).refreshToken).toBe(rt3);
      expect(expectTokens(await refresh(rt2)).refreshToken).toBe(rt3);
      expect(await liveHashes(userId)).toEqual([sha256(rt3)]);
    });

    it('two concurrent uses of RT1 both answer 200 with the same refresh token', async () => {
      const { userId, rt1, rt2 } = await signedIn();
      // RT2 rotated at once: both uses of it race for the same row.
      const [a, b] = await Promise.all([refresh(rt2), refresh(rt2)]);
      const first = expectTokens(a);
      const second = expectTokens(b);
      expect(second.refreshToken).toBe(first.refreshToken);
      expect(first.refreshToken).not.toBe(rt2);
      expect(second.accessToken).not.toBe(first.accessToken);
      // And RT1, rotated earlier, raced twice as well: the same live member again.
      const [c, d] = await Promise.all([refresh(rt1), refresh(rt1)]);
      expect(expectTokens(c).refreshToken).toBe(first.refreshToken);
      expect(expectTokens(d).refreshToken).toBe(first.refreshToken);
      expect(await liveHashes(userId)).toEqual([sha256(first.refreshToken)]);
    });

    it('after the grace period the family has exactly one live refresh token, and it is the one that works', async () => {
      const { userId, rt1, rt2, accessTokens } = await signedIn();
      // Several in-grace reuses, from both rotated members of the chain.
      const third = expectTokens(await refresh(rt2));
      const rt3 = third.refreshToken;
      const reuses = [expectTokens(await refresh(rt1)), expectTokens(await refresh(rt2))];
      for (const r of reuses) expect(r.refreshToken).toBe(rt3);
      const everyAccessToken = [...accessTokens, third.accessToken, ...reuses.map((r) => r.accessToken)];

      t.clock.advance(GRACE + 1);
      const live = await t.rt.storage.refreshTokens.listLive({ userId }, t.clock.now());
      expect(live.map((r) => r.hash)).toEqual([sha256(rt3)]);
      expect(await active(rt3)).toBe(true);
      expect(await active(rt1)).toBe(false);
      expect(await active(rt2)).toBe(false);

      // Only the live member refreshes; it rotates to RT4, still one live token.
      const fourth = expectTokens(await refresh(rt3));
      expect(await liveHashes(userId)).toEqual([sha256(fourth.refreshToken)]);
      for (const at of [...everyAccessToken, fourth.accessToken]) expect(await active(at)).toBe(true);
    });

    it.each([
      ['RT1 (rotated, then reused in grace)', 0],
      ['RT2 (rotated later)', 1],
    ])('after the grace period, %s presented again revokes the whole grant', async (_, which) => {
      const { userId, rt1, rt2, accessTokens } = await signedIn();
      const third = expectTokens(await refresh(rt2));
      const rt3 = third.refreshToken;
      const reuse = expectTokens(await refresh(rt1));
      expect(reuse.refreshToken).toBe(rt3);
      const everyAccessToken = [...accessTokens, third.accessToken, reuse.accessToken];
      for (const at of everyAccessToken) expect(await active(at)).toBe(true);

      t.clock.advance(GRACE + 1);
      const answer = await refresh([rt1, rt2][which] as string);
      expect([answer.status, answer.body.error]).toEqual([400, 'invalid_grant']);

      expect(await liveHashes(userId)).toEqual([]);
      for (const at of everyAccessToken) expect(await active(at)).toBe(false);
      for (const rt of [rt1, rt2, rt3]) {
        expect(await active(rt)).toBe(false);
        const again = await refresh(rt);
        expect([again.status, again.body.error]).toEqual([400, 'invalid_grant']);
      }
    });

    it('access tokens handed to in-grace reuses die when the grant is revoked later', async () => {
      const { userId, rt1, rt2 } = await signedIn();
      const concurrent = await Promise.all([refresh(rt1), refresh(rt1), refresh(rt1)]);
      const reuseTokens = concurrent.map((a) => expectTokens(a));
      for (const r of reuseTokens) expect(r.refreshToken).toBe(rt2);
      for (const r of reuseTokens) expect(await active(r.accessToken)).toBe(true);

      // Much later, RT2 is still the live member and works; then stolen RT1 shows up again.
      t.clock.advance(GRACE * 6);
      expect(await liveHashes(userId)).toEqual([sha256(rt2)]);
      const later = expectTokens(await refresh(rt2));
      const answer = await refresh(rt1);
      expect([answer.status, answer.body.error]).toEqual([400, 'invalid_grant']);
      for (const r of reuseTokens) expect(await active(r.accessToken)).toBe(false);
      expect(await active(later.accessToken)).toBe(false);
      expect(await active(later.refreshToken)).toBe(false);
      expect(await liveHashes(userId)).toEqual([]);
    });

    it('a refused refresh (a scope beyond the grant) leaves the token as it was: it refreshes after, and nothing is revoked after the grace', async () => {
      const { userId, rt2 } = await signedIn();
      const refused = await tokenRequest(t, {
        grant_type: 'refresh_token',
        refresh_token: rt2,
        scope: 'openid write:things',
        ...secret(),
      });
      expect(refused.status, JSON.stringify(refused.body)).toBe(400);
      expect(refused.body.error).toBe('invalid_scope');
      t.clock.advance(GRACE + 1);
      const rt3 = expectTokens(await refresh(rt2)).refreshToken;
      expect(await liveHashes(userId)).toHaveLength(1);
      expect(await active(rt3)).toBe(true);
    });
  },
);
