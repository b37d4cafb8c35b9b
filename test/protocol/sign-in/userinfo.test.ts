import * as client from 'openid-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Api, User } from '../../../src/storage/types.js';
import { signJwt } from '../../../src/tokens/jwt.js';
import { startTestApp, type TestApp } from '../../support/app.js';
import { describeEachBackend } from '../../support/databases.js';
import { browser, CALLBACK, decodeJwt, newUser, tokenRequest, webConfig, webSignIn } from './fixtures.js';

const BEARER_INVALID = /^Bearer (.*, )?error="invalid_token"/;

describeEachBackend('sign-in: userinfo (OIDC Core §5.3, RFC 6750)', (backend) => {
  let t: TestApp;
  let api: Api;
  let user: User;
  let config: client.Configuration;
  /** An access token of a sign-in with scope openid profile email. */
  let token: string;

  beforeAll(async () => {
    t = await startTestApp(backend);
    api = await t.createApi();
    const web = await t.createApp({ name: 'Web', type: 'web', callbacks: [CALLBACK] });
    const u = await newUser(t, { name: 'Grace Hopper', email_verified: true });
    user = u.user;
    config = await webConfig(t, web);
    const { tokens } = await webSignIn(browser(t, u.creds), config, { scope: 'openid profile email' });
    token = tokens.access_token;
  });
  afterAll(async () => t?.close());

  const userinfo = (init: RequestInit = {}, query = '') => t.fetch(`${t.issuer}/userinfo${query}`, init);

  function expectInvalidToken(res: Response): void {
    expect(res.status).toBe(401);
    expect(res.headers.get('www-authenticate')).toMatch(BEARER_INVALID);
  }

  describe('the access token', () => {
    it('GET with Authorization: Bearer → the claims (openid-client fetchUserInfo checks sub)', async () => {
      const info = await client.fetchUserInfo(config, token, user.id);
      expect(info).toMatchObject({
        sub: user.id,
        name: 'Grace Hopper',
        email: user.email,
        email_verified: true,
      });
    });

    it('GET with Bearer answers JSON with Cache-Control: no-store', async () => {
      const res = await userinfo({ headers: { authorization: `Bearer ${token}` } });
      expect(res.status).toBe(200);
      expect(res.headers.get('content-type')).toMatch(/^application\/json/);
      expect(res.headers.get('cache-control')).toBe('no-store');
      expect(((await res.json()) as { sub: string }).sub).toBe(user.id);
    });

    it('POST with the form field access_token (RFC 6750 §2.2) → the claims', async () => {
      const res = await userinfo({
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({ access_token: token }),
      });
      expect(res.status).toBe(200);
      expect(await res.json()).toMatchObject({ sub: user.id, email: user.email });
    });

    it('POST with Authorization: Bearer → the claims', async () => {
      const res = await userinfo({ method: 'POST', headers: { authorization: `Bearer ${token}` } });
      expect(res.status).toBe(200);
    });

    it('?access_token= in the query is ignored (RFC 9700 §4.3.2) → 401', async () => {
      const res = await userinfo({}, `?${new URLSearchParams({ access_token: token })}`);
      expect(res.status).toBe(401);
      expect(res.headers.get('www-authenticate')).toMatch(/^Bearer /);
    });

    it('the token in the header and the body at once → 400 invalid_request', async () => {
      const res = await userinfo({
        method: 'POST',
        headers: { authorization: `Bearer ${token}`, 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({ access_token: token }),
      });
      expect(res.status).toBe(400);
      expect(res.headers.get('www-authenticate')).toMatch(/^Bearer (.*, )?error="invalid_request"/);
    });
  });

  describe('refused tokens → 401 with WWW-Authenticate: Bearer error="invalid_token"', () => {
    it('a garbage token', async () => {
      expectInvalidToken(await userinfo({ headers: { authorization: 'Bearer not-a-token' } }));
    });

    it('a token with a tampered payload', async () => {
      const [h, p, s] = token.split('.') as [string, string, string];
      const claims = JSON.parse(Buffer.from(p, 'base64url').toString());
      const forged = Buffer.from(JSON.stringify({ ...claims, sub: 'usr_someone_else' })).toString(
        'base64url',
      );
      expectInvalidToken(await userinfo({ headers: { authorization: `Bearer ${h}.${forged}.${s}` } }));
    });

    it('a client-credentials token (no openid, no user) → 403 insufficient_scope naming openid (RFC 6750 §3.1)', async () => {
      const m2m = await t.createM2m(api);
      const answer = await tokenRequest(t, {
        grant_type: 'client_credentials',
        client_id: m2m.clientId,
        client_secret: m2m.clientSecret,
        audience: api.identifier,
      });
      expect(answer.status).toBe(200);
      const res = await userinfo({
        headers: { authorization: `Bearer ${answer.body.access_token as string}` },
      });
      expect(res.status).toBe(403);
      expect(res.headers.get('www-authenticate')).toMatch(
        /^Bearer (.*, )?error="insufficient_scope", .*scope="openid"$/,
      );
      expect(await res.json()).toMatchObject({ error: 'insufficient_scope' });
    });

    it('a token revoked by its client (RFC 7009) → 401', async () => {
      const web = await t.createApp({
        name: 'Revoker',
        type: 'web',
        callbacks: [CALLBACK],
        skipConsent: true,
      });
      const u = await newUser(t);
      const cfg = await webConfig(t, web);
      const { tokens } = await webSignIn(browser(t, u.creds), cfg);
      await client.tokenRevocation(cfg, tokens.access_token);
      expectInvalidToken(await userinfo({ headers: { authorization: `Bearer ${tokens.access_token}` } }));
    });

    it('a token for an API that carries openid opens it (its audience names userinfo); one whose audience is only the API does not (RFC 9068 §4)', async () => {
      const web = await t.createApp({ name: 'API', type: 'web', callbacks: [CALLBACK], skipConsent: true });
      const u = await newUser(t);
      const cfg = await webConfig(t, web);
      const { tokens } = await webSignIn(browser(t, u.creds), cfg, {
        scope: 'openid read:things',
        audience: api.identifier,
      });
      const res = await userinfo({ headers: { authorization: `Bearer ${tokens.access_token}` } });
      expect(res.status).toBe(200);
      expect(((await res.json()) as { sub: string }).sub).toBe(u.user.id);
      // the same token with the API alone as its audience, signed by this server's key
      const claims = { ...decodeJwt(tokens.access_token).payload, aud: api.identifier, jti: 'only-the-api' };
      const onlyApi = signJwt(await t.rt.keys.signer('ES256'), claims, 'at+jwt');
      const refused = await userinfo({ headers: { authorization: `Bearer ${onlyApi}` } });
      expectInvalidToken(refused);
      expect(refused.headers.get('www-authenticate')).toContain('not for the userinfo endpoint');
    });

    it('an expired token → 401', async () => {
      const web = await t.createApp({
        name: 'Expiry',
        type: 'web',
        callbacks: [CALLBACK],
        skipConsent: true,
      });
      const u = await newUser(t);
      const { tokens } = await webSignIn(browser(t, u.creds), await webConfig(t, web));
      t.clock.advance(3601);
      expectInvalidToken(await userinfo({ headers: { authorization: `Bearer ${tokens.access_token}` } }));
    });

    it('no token at all, or another scheme → 401 with a Bearer challenge and no error code (RFC 6750 §3)', async () => {
      for (const headers of [{}, { authorization: 'Basic dXNlcjpwYXNz' }] as Record<string, string>[]) {
        const res = await userinfo({ headers });
        expect(res.status).toBe(401);
        expect(res.headers.get('www-authenticate')).toBe('Bearer realm="sesame"');
      }
    });

    it('a malformed Bearer credential → 401 invalid_token', async () => {
      for (const authorization of ['Bearer', 'Bearer ', 'Bearer a b', 'Bearer "quoted"']) {
        expectInvalidToken(await userinfo({ headers: { authorization } }));
      }
    });
  });
});
