// ID tokens returned from /authorize (OIDC Core §3.2.2.10, §3.3.2.11, §5.4): verified by a real
// relying-party library (oauth4webapi's hybrid validation) and with jose against the JWKS;
// at_hash and c_hash computed here, independently of the server and the libraries.
import { createHash } from 'node:crypto';
import { createLocalJWKSet, type JSONWebKeySet, type JWTPayload, jwtVerify } from 'jose';
import * as oauth from 'oauth4webapi';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { User } from '../../../src/storage/types.js';
import { startTestApp, type TestApp } from '../../support/app.js';
import { describeEachBackend } from '../../support/databases.js';
import type { Credentials, SignInResult, UserAgent } from '../sign-in/agent.js';
import { authorizationUrl, browser, CALLBACK, discover, newUser, tokenRequest } from '../sign-in/fixtures.js';

const CLAIMS = { name: 'Ada Lovelace', given_name: 'Ada', family_name: 'Lovelace', email_verified: true };
const ID_TOKEN_TYPES = ['id_token', 'id_token token', 'code id_token', 'code id_token token'];

/** OIDC Core §3.1.3.6: base64url of the left half of the hash of the ASCII token (SHA-512 for EdDSA/Ed25519). */
function halfHash(value: string, alg: string): string {
  const digest = createHash(alg === 'EdDSA' ? 'sha512' : 'sha256')
    .update(Buffer.from(value, 'ascii'))
    .digest();
  return digest.subarray(0, digest.length / 2).toString('base64url');
}

type App = { clientId: string; clientSecret?: string };

describeEachBackend(
  'implicit and hybrid: ID tokens from /authorize (OIDC Core §3.2.2.10, §3.3.2.11)',
  (backend) => {
    let t: TestApp;
    let user: User;
    let creds: Credentials;
    const apps: Record<string, App> = {};

    beforeAll(async () => {
      t = await startTestApp(backend);
      const grants = ['authorization_code', 'refresh_token', 'implicit'];
      apps.default = await t.createApp({
        name: 'Default alg',
        type: 'web',
        requirePkce: false,
        callbacks: [CALLBACK],
        grants,
      });
      for (const alg of ['RS256', 'ES256', 'PS256', 'EdDSA']) {
        apps[alg] = await t.createApp({
          name: `ID tokens ${alg}`,
          type: 'web',
          requirePkce: false,
          callbacks: [CALLBACK],
          grants,
          idTokenSigningAlg: alg,
        });
      }
      ({ user, creds } = await newUser(t, CLAIMS));
    });
    afterAll(async () => t?.close());

    const jwks = async () =>
      createLocalJWKSet((await (await t.fetch(`${t.issuer}/.well-known/jwks.json`)).json()) as JSONWebKeySet);

    /** Verifies an ID token with jose: signature by a published key with exactly `alg`, iss, aud, at the test clock. */
    async function verifyIdToken(idToken: string, app: App, alg: string) {
      const { payload, protectedHeader } = await jwtVerify(idToken, await jwks(), {
        issuer: t.issuer,
        audience: app.clientId,
        algorithms: [alg],
        currentDate: new Date(t.clock.now() * 1000),
      });
      return { payload: payload as JWTPayload & Record<string, unknown>, header: protectedHeader };
    }

    /** Signs in through `agent` with `responseType` and returns the fragment. */
    async function authorize(
      agent: UserAgent,
      app: App,
      responseType: string,
      extra: Record<string, string> = {},
    ): Promise<{ flow: SignInResult; fragment: URLSearchParams; nonce: string; state: string }> {
      const nonce = oauth.generateRandomNonce();
      const state = oauth.generateRandomState();
      const flow = await agent.signIn(
        authorizationUrl(t, {
          response_type: responseType,
          client_id: app.clientId,
          redirect_uri: CALLBACK,
          scope: 'openid',
          nonce,
          state,
          ...extra,
        }),
      );
      if (!flow.location) throw new Error(`no redirect to the client (status ${flow.response.status})`);
      const fragment = new URLSearchParams(flow.location.hash.slice(1));
      if (fragment.has('error')) throw new Error(`authorization error: ${fragment}`);
      return { flow, fragment, nonce, state };
    }

    describe('claims of every response type that returns an ID token (RS256 by default)', () => {
      for (const responseType of ID_TOKEN_TYPES) {
        it(`response_type=${responseType}: iss, aud, sub, nonce, auth_time, sid, and at_hash/c_hash exactly when due`, async () => {
          const loginTime = t.clock.now();
          const { fragment, nonce } = await authorize(browser(t, creds), apps.default!, responseType);
          const idToken = fragment.get('id_token') as string;
          const { payload, header } = await verifyIdToken(idToken, apps.default!, 'RS256');
          expect(header.alg).toBe('RS256');
          expect(header.kid).toEqual(expect.any(String));
          expect(payload).toMatchObject({
            iss: t.issuer,
            aud: apps.default!.clientId,
            sub: user.id,
            nonce,
            auth_time: loginTime,
            iat: t.clock.now(),
            exp: t.clock.now() + 3600,
          });
          expect(payload.sid).toMatch(/^\S{16,}$/);
          const parts = responseType.split(' ');
          if (parts.includes('token')) {
            expect(payload.at_hash).toBe(halfHash(fragment.get('access_token') as string, 'RS256'));
          } else {
            expect(payload).not.toHaveProperty('at_hash');
          }
          if (parts.includes('code')) {
            expect(payload.c_hash).toBe(halfHash(fragment.get('code') as string, 'RS256'));
          } else {
            expect(payload).not.toHaveProperty('c_hash');
          }
        });
      }

      it('auth_time stays the time of the login on a later SSO request; sid stays the session', async () => {
        const agent = browser(t, creds);
        const loginTime = t.clock.now();
        const first = await authorize(agent, apps.default!, 'id_token');
        t.clock.advance(120);
        const second = await authorize(agent, apps.default!, 'id_token token');
        expect(second.flow.pages).toEqual([]);
        const a = (await verifyIdToken(first.fragment.get('id_token') as string, apps.default!, 'RS256'))
          .payload;
        const b = (await verifyIdToken(second.fragment.get('id_token') as string, apps.default!, 'RS256'))
          .payload;
        expect(a.auth_time).toBe(loginTime);
        expect(b.auth_time).toBe(loginTime);
        expect(b.iat).toBe(loginTime + 120);
        expect(b.sid).toBe(a.sid);
        expect(b.nonce).toBe(second.nonce);
        expect(b.jti).not.toBe(a.jti);
      });
    });

    describe('hybrid responses validated by oauth4webapi (validateCodeIdTokenResponse)', () => {
      /** oauth4webapi's view of `app`, requiring ID tokens signed with exactly `alg`. */
      const clientFor = (app: App, alg: string): oauth.Client => ({
        client_id: app.clientId,
        id_token_signed_response_alg: alg,
      });

      for (const responseType of ['code id_token', 'code id_token token']) {
        it(`response_type=${responseType} in the fragment: ID token signature, iss, aud, nonce, c_hash, state, iss parameter`, async () => {
          const as = await discover(t);
          const { flow, nonce, state } = await authorize(browser(t, creds), apps.default!, responseType);
          const params = await oauth.validateCodeIdTokenResponse(
            as,
            clientFor(apps.default!, 'RS256'),
            flow.location as URL,
            nonce,
            state,
            oauth.skipAuthTimeCheck,
            { [oauth.customFetch]: t.fetch },
          );
          expect(params.get('code')).toEqual(expect.any(String));
          // the same validation refuses a response meant for another nonce or state
          await expect(
            oauth.validateCodeIdTokenResponse(
              as,
              clientFor(apps.default!, 'RS256'),
              flow.location as URL,
              'x',
              state,
              oauth.skipAuthTimeCheck,
              {
                [oauth.customFetch]: t.fetch,
              },
            ),
          ).rejects.toThrow(/nonce/);
        });
      }

      it('response_type=code id_token token by form_post: the posted form validates the same way', async () => {
        const as = await discover(t);
        const nonce = oauth.generateRandomNonce();
        const state = oauth.generateRandomState();
        const flow = await browser(t, creds).signIn(
          authorizationUrl(t, {
            response_type: 'code id_token token',
            response_mode: 'form_post',
            client_id: apps.default!.clientId,
            redirect_uri: CALLBACK,
            scope: 'openid',
            nonce,
            state,
          }),
        );
        const html = await flow.response.text();
        const body = new URLSearchParams();
        for (const m of html.matchAll(/<input type="hidden" name="([^"]+)" value="([^"]*)"/g)) {
          body.append(m[1] as string, (m[2] as string).replace(/&amp;/g, '&'));
        }
        expect([...body.keys()].sort()).toEqual(
          ['access_token', 'code', 'expires_in', 'id_token', 'iss', 'scope', 'state', 'token_type'].sort(),
        );
        const posted = new Request(CALLBACK, {
          method: 'POST',
          headers: { 'content-type': 'application/x-www-form-urlencoded' },
          body,
        });
        const params = await oauth.validateCodeIdTokenResponse(
          as,
          { client_id: apps.default!.clientId, id_token_signed_response_alg: 'RS256' },
          posted,
          nonce,
          state,
          oauth.skipAuthTimeCheck,
          { [oauth.customFetch]: t.fetch },
        );
        expect(params.get('code')).toBe(body.get('code'));
        const { payload } = await verifyIdToken(body.get('id_token') as string, apps.default!, 'RS256');
        expect(payload.at_hash).toBe(halfHash(body.get('access_token') as string, 'RS256'));
      });

      for (const alg of ['RS256', 'ES256', 'PS256', 'EdDSA']) {
        it(`an application with idTokenSigningAlg ${alg}: ID token signed with ${alg}, at_hash and c_hash with its hash`, async () => {
          const app = apps[alg]!;
          const as = await discover(t);
          const { flow, fragment, nonce, state } = await authorize(
            browser(t, creds),
            app,
            'code id_token token',
          );
          await oauth.validateCodeIdTokenResponse(
            as,
            clientFor(app, alg),
            flow.location as URL,
            nonce,
            state,
            oauth.skipAuthTimeCheck,
            { [oauth.customFetch]: t.fetch },
          );
          const { payload, header } = await verifyIdToken(fragment.get('id_token') as string, app, alg);
          expect(header.alg).toBe(alg);
          expect(payload.nonce).toBe(nonce);
          expect(payload.at_hash).toBe(halfHash(fragment.get('access_token') as string, alg));
          expect(payload.c_hash).toBe(halfHash(fragment.get('code') as string, alg));
          // SHA-512 for EdDSA gives a 32-byte half (43 characters), SHA-256 a 16-byte half (22).
          expect((payload.c_hash as string).length).toBe(alg === 'EdDSA' ? 43 : 22);
        });
      }

      it('an application with idTokenSigningAlg EdDSA: response_type=id_token token also uses EdDSA and SHA-512', async () => {
        const app = apps.EdDSA!;
        const { fragment } = await authorize(browser(t, creds), app, 'id_token token');
        const { payload, header } = await verifyIdToken(fragment.get('id_token') as string, app, 'EdDSA');
        expect(header.alg).toBe('EdDSA');
        expect(payload.at_hash).toBe(halfHash(fragment.get('access_token') as string, 'EdDSA'));
        expect(payload.at_hash).not.toBe(halfHash(fragment.get('access_token') as string, 'RS256'));
      });
    });

    describe('claims of the granted scopes (OIDC Core §5.4)', () => {
      it('response_type=id_token alone: the profile and email claims are in the ID token', async () => {
        const { fragment } = await authorize(browser(t, creds), apps.default!, 'id_token', {
          scope: 'openid profile email',
        });
        const { payload } = await verifyIdToken(fragment.get('id_token') as string, apps.default!, 'RS256');
        expect(payload).toMatchObject({
          sub: user.id,
          name: 'Ada Lovelace',
          given_name: 'Ada',
          family_name: 'Lovelace',
          email: user.email,
          email_verified: true,
          updated_at: user.updatedAt,
        });
      });

      it('response_type=id_token with scope openid profile: profile claims but no email', async () => {
        const { fragment } = await authorize(browser(t, creds), apps.default!, 'id_token', {
          scope: 'openid profile',
        });
        const { payload } = await verifyIdToken(fragment.get('id_token') as string, apps.default!, 'RS256');
        expect(payload.name).toBe('Ada Lovelace');
        expect(payload).not.toHaveProperty('email');
        expect(payload).not.toHaveProperty('email_verified');
      });

      it('response_type=id_token with scope openid only: no profile or email claims', async () => {
        const { fragment } = await authorize(browser(t, creds), apps.default!, 'id_token');
        const { payload } = await verifyIdToken(fragment.get('id_token') as string, apps.default!, 'RS256');
        for (const claim of ['name', 'given_name', 'family_name', 'email', 'email_verified', 'updated_at']) {
          expect(payload, claim).not.toHaveProperty(claim);
        }
      });

      it('response_type=id_token token: the claims come from /userinfo with the access token instead', async () => {
        const { fragment } = await authorize(browser(t, creds), apps.default!, 'id_token token', {
          scope: 'openid profile email',
        });
        const { payload } = await verifyIdToken(fragment.get('id_token') as string, apps.default!, 'RS256');
        expect(payload).not.toHaveProperty('name');
        expect(payload).not.toHaveProperty('email');
        const res = await t.fetch(`${t.issuer}/userinfo`, {
          headers: { authorization: `Bearer ${fragment.get('access_token')}` },
        });
        expect(res.status).toBe(200);
        expect(await res.json()).toMatchObject({ sub: user.id, name: 'Ada Lovelace', email: user.email });
      });
    });

    describe('the code of a hybrid response at the token endpoint', () => {
      it('gives an ID token for the same person, session, nonce and auth_time', async () => {
        const loginTime = t.clock.now();
        const app = apps.default!;
        const { fragment, nonce } = await authorize(browser(t, creds), app, 'code id_token');
        const front = (await verifyIdToken(fragment.get('id_token') as string, app, 'RS256')).payload;
        t.clock.advance(5);
        const answer = await tokenRequest(t, {
          grant_type: 'authorization_code',
          code: fragment.get('code') as string,
          redirect_uri: CALLBACK,
          client_id: app.clientId,
          client_secret: app.clientSecret as string,
        });
        expect(answer.status, JSON.stringify(answer.body)).toBe(200);
        const back = (await verifyIdToken(answer.body.id_token as string, app, 'RS256')).payload;
        expect(back).toMatchObject({ sub: front.sub, sid: front.sid, nonce, auth_time: loginTime });
        expect(back.at_hash).toBe(halfHash(answer.body.access_token as string, 'RS256'));
      });
    });
  },
);
