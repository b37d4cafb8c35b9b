// Issue #13 §6 and §7: every token response of a sign-in with openid has an ID token (refreshes
// included, claims by scope), refresh tokens always rotate, every bad refresh token gets the same
// invalid_grant text; unknown /authorize parameters are ignored; no audience → good at /userinfo.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Api, User } from '../../../src/storage/types.js';
import { startTestApp, type TestApp } from '../../support/app.js';
import { describeEachBackend } from '../../support/databases.js';
import { browser, CALLBACK, newUser } from '../sign-in/fixtures.js';
import {
  type Answer,
  authorizeRequest,
  endpoint,
  eventsDuring,
  payloadOf,
  postForm,
  refreshForm,
  SPA_CALLBACK,
  type SpaClient,
  signIn,
  verifyIdToken,
} from './support.js';

const UNKNOWN = 'Unknown or invalid refresh token.';

describeEachBackend(
  'spa: refresh with ID tokens, refresh errors, /authorize leniency (issue #13 §6, §7)',
  (backend) => {
    let t: TestApp;
    let api: Api;
    let spa: SpaClient;
    let web: SpaClient;
    let user: User;
    let creds: { email: string; password: string };

    beforeAll(async () => {
      t = await startTestApp(backend);
      api = await t.createApi({ allowOfflineAccess: true });
      const s = await t.createApp({
        name: 'SPA',
        type: 'spa',
        callbacks: [SPA_CALLBACK],
        allowOfflineAccess: true,
      });
      spa = { clientId: s.clientId, redirectUri: SPA_CALLBACK };
      const w = await t.createApp({
        name: 'Web',
        type: 'web',
        callbacks: [CALLBACK],
        allowOfflineAccess: true,
      });
      web = { clientId: w.clientId, clientSecret: w.clientSecret as string, redirectUri: CALLBACK };
      ({ user, creds } = await newUser(t, { name: 'Ada Lovelace', nickname: 'ada', email_verified: true }));
    });
    afterAll(async () => t?.close());

    /** A fresh sign-in's token response for `c` (a new browser, a new refresh-token family). */
    async function tokensFor(c: SpaClient, params: Record<string, string>): Promise<Answer> {
      const { tokens } = await signIn(t, browser(t, creds), c, params);
      expect(tokens.body.refresh_token, JSON.stringify(tokens.body)).toEqual(expect.any(String));
      return tokens;
    }

    const refresh = (c: SpaClient, token: string) => postForm(t, '/oauth/token', refreshForm(c, token));

    describe('ID tokens on refresh', () => {
      it('each of three refreshes: an ID token with the same sub and auth_time, the profile and email claims, a new refresh token', async () => {
        const first = await tokensFor(spa, { scope: 'openid profile email offline_access' });
        const original = await verifyIdToken(t, first.body.id_token as string, spa.clientId);
        expect(original).toMatchObject({ sub: user.id, name: 'Ada Lovelace', email: user.email });
        const seen = new Set([first.body.refresh_token as string]);
        let token = first.body.refresh_token as string;
        for (let i = 0; i < 3; i++) {
          t.clock.advance(30);
          const next = await refresh(spa, token);
          expect(next.status, JSON.stringify(next.body)).toBe(200);
          expect(next.body.id_token, `refresh ${i + 1}`).toEqual(expect.any(String));
          const claims = await verifyIdToken(t, next.body.id_token as string, spa.clientId);
          expect(claims).toMatchObject({
            sub: original.sub,
            auth_time: original.auth_time,
            name: 'Ada Lovelace',
            nickname: 'ada',
            email: user.email,
            email_verified: true,
          });
          expect(claims.iat).toBeGreaterThan(original.iat as number);
          token = next.body.refresh_token as string;
          expect(token).toEqual(expect.any(String));
          expect(seen.has(token), `refresh ${i + 1} returned an old refresh token`).toBe(false);
          seen.add(token);
        }
      });

      it.each([
        ['openid offline_access', [], ['name', 'nickname', 'email', 'email_verified']],
        ['openid email offline_access', ['email', 'email_verified'], ['name', 'nickname']],
        ['openid profile offline_access', ['name', 'nickname'], ['email', 'email_verified']],
      ])(
        'scope %s: the refreshed ID token has exactly the claims the scopes grant',
        async (scope, has, hasNot) => {
          const first = await tokensFor(spa, { scope });
          const next = await refresh(spa, first.body.refresh_token as string);
          const claims = await verifyIdToken(t, next.body.id_token as string, spa.clientId);
          expect(claims.sub).toBe(user.id);
          for (const c of has) expect(claims[c], c).toBeDefined();
          for (const c of hasNot) expect(claims[c], c).toBeUndefined();
        },
      );

      it('with an audience (an API), the refresh still brings an ID token, and a confidential app too', async () => {
        const withApi = await tokensFor(spa, {
          scope: 'openid profile offline_access read:things',
          audience: api.identifier,
        });
        const next = await refresh(spa, withApi.body.refresh_token as string);
        expect(next.status, JSON.stringify(next.body)).toBe(200);
        expect(payloadOf(next.body.access_token as string).aud).toEqual([
          api.identifier,
          `${t.issuer}/userinfo`,
        ]);
        expect((await verifyIdToken(t, next.body.id_token as string, spa.clientId)).name).toBe(
          'Ada Lovelace',
        );
        const ofWeb = await tokensFor(web, { scope: 'openid profile offline_access' });
        const webNext = await refresh(web, ofWeb.body.refresh_token as string);
        expect((await verifyIdToken(t, webNext.body.id_token as string, web.clientId)).sub).toBe(user.id);
        expect(webNext.body.refresh_token).not.toBe(ofWeb.body.refresh_token);
      });
    });

    describe('every bad refresh token: invalid_grant "Unknown or invalid refresh token."', () => {
      /** A way to spoil a refresh token: the token and the client to send it as, and the logged reason. */
      const kinds: [string, () => Promise<{ token: string; as: SpaClient }>, RegExp][] = [
        ['unknown', async () => ({ token: 'no-such-refresh-token', as: spa }), /invalid/],
        [
          'another client’s',
          async () => ({
            token: (await tokensFor(spa, { scope: 'openid offline_access' })).body.refresh_token as string,
            as: web,
          }),
          /invalid/,
        ],
        [
          'revoked',
          async () => {
            const token = (await tokensFor(spa, { scope: 'openid offline_access' })).body
              .refresh_token as string;
            expect((await postForm(t, '/oauth/revoke', { token, client_id: spa.clientId })).status).toBe(200);
            return { token, as: spa };
          },
          /revoked/,
        ],
        [
          'expired',
          async () => {
            const token = (await tokensFor(spa, { scope: 'openid offline_access' })).body
              .refresh_token as string;
            t.clock.advance(t.rt.config.refreshToken.idleLifetime + 1);
            return { token, as: spa };
          },
          /expired/,
        ],
        [
          'reused after the grace period',
          async () => {
            const token = (await tokensFor(spa, { scope: 'openid offline_access' })).body
              .refresh_token as string;
            expect((await refresh(spa, token)).status).toBe(200);
            t.clock.advance(t.rt.config.refreshToken.reuseGrace + 1);
            return { token, as: spa };
          },
          /already used/,
        ],
      ];

      it.each(kinds)('%s', async (_name, spoil, reason) => {
        const { token, as } = await spoil();
        const [answer, events] = await eventsDuring(t, () => refresh(as, token));
        expect(answer.status).toBe(400);
        expect(answer.body).toEqual({ error: 'invalid_grant', error_description: UNKNOWN });
        const failed = events.filter((e) => e.details.error === 'invalid_grant');
        expect(failed, JSON.stringify(events)).toHaveLength(1);
        expect(failed[0]?.details.reason).toMatch(reason);
        expect(failed[0]?.clientId).toBe(as.clientId);
      });
    });

    describe('/authorize leniency and /userinfo without an audience', () => {
      const sdkParams = {
        auth0Client: Buffer.from(JSON.stringify({ name: 'auth0-spa-js', version: '2.28.3' })).toString(
          'base64',
        ),
        screen_hint: 'signup',
        ui_locales: 'fr-CA en',
        some_future_param: 'x',
      };

      it('auth0Client, screen_hint, ui_locales and other unknown parameters are ignored', async () => {
        const agent = browser(t, creds);
        const { callback, tokens } = await signIn(t, agent, spa, { ...sdkParams, scope: 'openid profile' });
        expect(callback.get('error')).toBeNull();
        expect(tokens.body.id_token).toEqual(expect.any(String));
        // The same again silently, as the SDK's getTokenSilently does.
        const res = await agent.get(authorizeRequest(t, spa, { ...sdkParams, prompt: 'none' }).url);
        const loc = new URL(res.headers.get('location') as string);
        expect(loc.searchParams.get('error'), loc.toString()).toBeNull();
        expect(loc.searchParams.get('code')).toEqual(expect.any(String));
      });

      it('a token without an audience works at /userinfo (GET and POST), before and after a refresh', async () => {
        const tokens = await tokensFor(spa, { scope: 'openid profile email offline_access' });
        const next = await refresh(spa, tokens.body.refresh_token as string);
        for (const at of [tokens.body.access_token as string, next.body.access_token as string]) {
          expect([payloadOf(at).aud].flat()).toContain(endpoint(t, '/userinfo'));
          for (const method of ['GET', 'POST']) {
            const res = await t.fetch(endpoint(t, '/userinfo'), {
              method,
              headers: { authorization: `Bearer ${at}` },
            });
            expect(res.status, method).toBe(200);
            expect(await res.json()).toMatchObject({ sub: user.id, name: 'Ada Lovelace', email: user.email });
          }
        }
      });
    });
  },
);
