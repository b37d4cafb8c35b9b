import * as client from 'openid-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from '../../support/app.js';
import { describeEachBackend } from '../../support/databases.js';
import { browser, CALLBACK, newUser } from './fixtures.js';

describeEachBackend('sign-in: discovery (OpenID Connect Discovery 1.0 §3, RFC 8414, RFC 9207)', (backend) => {
  let t: TestApp;
  let doc: Record<string, unknown>;

  beforeAll(async () => {
    t = await startTestApp(backend);
    const res = await t.fetch(`${t.issuer}/.well-known/openid-configuration`);
    expect(res.status).toBe(200);
    doc = (await res.json()) as Record<string, unknown>;
  });
  afterAll(async () => t?.close());

  it('lists authorization_endpoint', () => {
    expect(doc.authorization_endpoint).toBe(`${t.issuer}/authorize`);
  });

  it('lists userinfo_endpoint', () => {
    expect(doc.userinfo_endpoint).toBe(`${t.issuer}/userinfo`);
  });

  it('lists end_session_endpoint', () => {
    expect(doc.end_session_endpoint).toBe(`${t.issuer}/oidc/logout`);
  });

  it('lists code_challenge_methods_supported ["S256"] only', () => {
    expect(doc.code_challenge_methods_supported).toEqual(['S256']);
  });

  it('says authorization_response_iss_parameter_supported: true', () => {
    expect(doc.authorization_response_iss_parameter_supported).toBe(true);
  });

  it('lists id_token_signing_alg_values_supported including RS256 (required, OIDC Discovery §3)', () => {
    expect(doc.id_token_signing_alg_values_supported).toEqual(expect.arrayContaining(['RS256']));
  });

  it('lists the grant types and response modes used for sign-in', () => {
    expect(doc.grant_types_supported).toEqual(
      expect.arrayContaining(['authorization_code', 'refresh_token']),
    );
    expect(doc.response_types_supported).toEqual([
      'code',
      'id_token',
      'id_token token',
      'code id_token',
      'code token',
      'code id_token token',
      'token',
    ]);
    expect(doc.response_modes_supported).toEqual(expect.arrayContaining(['query', 'fragment', 'form_post']));
    expect(doc.scopes_supported).toEqual(expect.arrayContaining(['openid', 'offline_access']));
  });

  it('every sign-in endpoint it lists is served (not 404)', async () => {
    const listed = ['authorization_endpoint', 'userinfo_endpoint', 'end_session_endpoint'].filter(
      (name) => typeof doc[name] === 'string',
    );
    expect(listed).toContain('authorization_endpoint');
    for (const name of listed) {
      const res = await t.fetch(doc[name] as string, { redirect: 'manual' });
      expect({ name, status: res.status }).not.toEqual({ name, status: 404 });
    }
  });

  describe('as a relying party uses it, with nothing filled in by hand', () => {
    it('openid-client signs in and validates the ID token with the discovered algorithms', async () => {
      const app = await t.createApp({ name: 'Web', type: 'web', callbacks: [CALLBACK] });
      const config = await client.discovery(new URL(t.issuer), app.clientId, app.clientSecret, undefined, {
        [client.customFetch]: t.fetch,
      });
      const verifier = client.randomPKCECodeVerifier();
      const nonce = client.randomNonce();
      const url = client.buildAuthorizationUrl(config, {
        redirect_uri: CALLBACK,
        scope: 'openid email',
        nonce,
        code_challenge: await client.calculatePKCECodeChallenge(verifier),
        code_challenge_method: 'S256',
      });
      const { user, creds } = await newUser(t);
      const flow = await browser(t, creds).signIn(url);
      const tokens = await client.authorizationCodeGrant(config, flow.location as URL, {
        pkceCodeVerifier: verifier,
        expectedNonce: nonce,
      });
      expect(tokens.claims()?.sub).toBe(user.id);
      const info = await client.fetchUserInfo(config, tokens.access_token, user.id);
      expect(info.email).toBe(creds.email);
      expect(client.buildEndSessionUrl(config).href).toBe(
        `${t.issuer}/oidc/logout?client_id=${app.clientId}`,
      );
    });
  });
});
