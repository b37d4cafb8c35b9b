// Issue #13 §1: the issuer is used byte for byte as configured, with or without Auth0's trailing
// slash (auth0-spa-js requires `iss` = `https://<domain>/`), and no endpoint URL gets `//`.
import * as oauth from 'oauth4webapi';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { issueTicket } from '../../../src/admin/tickets.js';
import { startTestApp, type TestApp } from '../../support/app.js';
import { describeEachBackend } from '../../support/databases.js';
import { browser, newUser } from '../sign-in/fixtures.js';
import {
  endpoint,
  payloadOf,
  postForm,
  refreshForm,
  SPA_CALLBACK,
  type SpaClient,
  signIn,
  verifyIdToken,
} from './support.js';

/** True when a URL has `//` anywhere after its scheme's. */
const doubleSlash = (url: string) => url.replace(/^[a-z][a-z0-9+.-]*:\/\//i, '').includes('//');

describeEachBackend('spa: the issuer exactly as configured (issue #13 §1)', (backend) => {
  for (const issuer of ['https://sesame.test/', 'https://sesame.test']) {
    describe(`SESAME_ISSUER=${issuer}`, () => {
      let t: TestApp;
      let spa: SpaClient;
      let rs: { clientId: string; clientSecret: string };
      let audience: string;
      let creds: { email: string; password: string };

      beforeAll(async () => {
        t = await startTestApp(backend, { issuer });
        const app = await t.createApp({
          name: 'SPA',
          type: 'spa',
          callbacks: [SPA_CALLBACK],
          allowOfflineAccess: true,
        });
        spa = { clientId: app.clientId, redirectUri: SPA_CALLBACK };
        const api = await t.createApi();
        audience = api.identifier;
        rs = await t.createM2m(api);
        creds = (await newUser(t, { name: 'Ada Lovelace' })).creds;
      });
      afterAll(async () => t?.close());

      it('the test app runs with the issuer as written', () => {
        expect(t.issuer).toBe(issuer);
      });

      it.each(['/.well-known/openid-configuration', '/.well-known/oauth-authorization-server'])(
        '%s: `issuer` byte for byte, every endpoint URL on the issuer without `//`, each served',
        async (path) => {
          const res = await t.fetch(endpoint(t, path));
          expect(res.status).toBe(200);
          const doc = (await res.json()) as Record<string, unknown>;
          expect(doc.issuer).toBe(issuer);
          const urls = Object.entries(doc).filter(
            ([k, v]) => typeof v === 'string' && (k.endsWith('_endpoint') || k === 'jwks_uri'),
          ) as [string, string][];
          expect(urls.map(([k]) => k)).toEqual(
            expect.arrayContaining(['authorization_endpoint', 'token_endpoint', 'jwks_uri']),
          );
          const base = issuer.replace(/\/+$/, '');
          for (const [key, url] of urls) {
            expect(doubleSlash(url), `${key}: ${url}`).toBe(false);
            expect(url.startsWith(`${base}/`), `${key}: ${url}`).toBe(true);
            // Served where it says: any answer but 404 (GET on a POST endpoint is 405).
            const served = await t.fetch(url);
            expect(served.status, `${key}: GET ${url}`).not.toBe(404);
          }
        },
      );

      it('account links (password reset, email verification) start with the issuer without `//`, and open their page', async () => {
        const { user } = await newUser(t);
        for (const kind of ['password_reset', 'email_verification'] as const) {
          const link = await t.rt.storage.transaction((tx) =>
            issueTicket(tx, { clock: t.clock, config: t.rt.config }, kind, user),
          );
          expect(doubleSlash(link), link).toBe(false);
          expect(link.startsWith(`${issuer.replace(/\/+$/, '')}/u/`), link).toBe(true);
          const page = await t.fetch(link);
          expect(page.status, `${kind}: GET ${link}`).toBe(200);
        }
      });

      it('a sign-in: the response `iss`, the tokens’ `iss`, and again after each refresh', async () => {
        const { callback, tokens } = await signIn(t, browser(t, creds), spa, {
          scope: 'openid profile offline_access',
        });
        expect(callback.get('iss')).toBe(issuer);
        const at = tokens.body.access_token as string;
        const id = tokens.body.id_token as string;
        expect(payloadOf(at).iss).toBe(issuer);
        expect((await verifyIdToken(t, id, spa.clientId)).iss).toBe(issuer);
        // Without an audience the access token is for /userinfo, named without a double slash.
        const aud = [payloadOf(at).aud].flat() as string[];
        expect(aud).toContain(`${issuer.replace(/\/+$/, '')}/userinfo`);
        for (const a of aud) expect(doubleSlash(a), a).toBe(false);
        let refresh = tokens.body.refresh_token as string;
        for (let i = 0; i < 2; i++) {
          const next = await postForm(t, '/oauth/token', refreshForm(spa, refresh));
          expect(next.status, JSON.stringify(next.body)).toBe(200);
          expect(payloadOf(next.body.access_token as string).iss).toBe(issuer);
          const claims = await verifyIdToken(t, next.body.id_token as string, spa.clientId);
          expect(claims.iss).toBe(issuer);
          refresh = next.body.refresh_token as string;
        }
      });

      it('an error sent to the redirect_uri carries `iss` too (RFC 9207)', async () => {
        const res = await browser(t).get(
          `${endpoint(t, '/authorize')}?${new URLSearchParams({
            response_type: 'code',
            client_id: spa.clientId,
            redirect_uri: SPA_CALLBACK,
            scope: 'openid',
            state: 's1',
            prompt: 'none',
            code_challenge: 'x'.repeat(43),
            code_challenge_method: 'S256',
          })}`,
        );
        const loc = new URL(res.headers.get('location') as string);
        expect(loc.searchParams.get('error')).toBe('login_required');
        expect(loc.searchParams.get('iss')).toBe(issuer);
      });

      it('client_credentials: the access token’s `iss`', async () => {
        const res = await postForm(t, '/oauth/token', {
          grant_type: 'client_credentials',
          client_id: rs.clientId,
          client_secret: rs.clientSecret,
        });
        expect(res.status, JSON.stringify(res.body)).toBe(200);
        expect(payloadOf(res.body.access_token as string).iss).toBe(issuer);
      });

      it('introspection and userinfo accept the tokens (their `iss` checked against the issuer)', async () => {
        const { tokens } = await signIn(t, browser(t, creds), spa, { scope: 'openid profile' });
        const at = tokens.body.access_token as string;
        // introspection: a token for the API of `rs`, which may ask about its API's tokens (#14 §3)
        const forApi = await signIn(t, browser(t, creds), spa, { scope: 'openid', audience });
        const intro = await postForm(t, '/oauth/introspect', {
          token: forApi.tokens.body.access_token as string,
          client_id: rs.clientId,
          client_secret: rs.clientSecret,
        });
        expect(intro.status).toBe(200);
        expect(intro.body).toMatchObject({ active: true, client_id: spa.clientId, iss: issuer });
        const info = await t.fetch(endpoint(t, '/userinfo'), { headers: { authorization: `Bearer ${at}` } });
        expect(info.status).toBe(200);
        expect(await info.json()).toMatchObject({ sub: payloadOf(at).sub, name: 'Ada Lovelace' });
        const cc = await postForm(t, '/oauth/token', {
          grant_type: 'client_credentials',
          client_id: rs.clientId,
          client_secret: rs.clientSecret,
        });
        const ccIntro = await postForm(t, '/oauth/introspect', {
          token: cc.body.access_token as string,
          client_id: rs.clientId,
          client_secret: rs.clientSecret,
        });
        expect(ccIntro.body.active).toBe(true);
      });

      it('oauth4webapi (exact issuer comparison) discovers, validates the response and the ID token', async () => {
        const expected = new URL(issuer);
        const as = await oauth.processDiscoveryResponse(
          expected,
          await oauth.discoveryRequest(expected, { [oauth.customFetch]: t.fetch }),
        );
        expect(as.issuer).toBe(issuer);
        const c: oauth.Client = { client_id: spa.clientId };
        const verifier = oauth.generateRandomCodeVerifier();
        const nonce = oauth.generateRandomNonce();
        const url = new URL(as.authorization_endpoint as string);
        for (const [k, v] of Object.entries({
          response_type: 'code',
          client_id: spa.clientId,
          redirect_uri: SPA_CALLBACK,
          scope: 'openid',
          state: 'st',
          nonce,
          code_challenge: await oauth.calculatePKCECodeChallenge(verifier),
          code_challenge_method: 'S256',
        }))
          url.searchParams.set(k, v);
        const flow = await browser(t, creds).signIn(url);
        const params = oauth.validateAuthResponse(as, c, flow.location as URL, 'st');
        const response = await oauth.authorizationCodeGrantRequest(
          as,
          c,
          oauth.None(),
          params,
          SPA_CALLBACK,
          verifier,
          { [oauth.customFetch]: t.fetch },
        );
        const result = await oauth.processAuthorizationCodeResponse(as, c, response, {
          expectedNonce: nonce,
          requireIdToken: true,
        });
        await oauth.validateApplicationLevelSignature(as, response, { [oauth.customFetch]: t.fetch });
        expect(oauth.getValidatedIdTokenClaims(result)?.iss).toBe(issuer);
      });
    });
  }
});
