import * as oauth from 'oauth4webapi';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from '../../support/app.js';
import { describeEachBackend } from '../../support/databases.js';
import type { UserAgent } from './agent.js';
import { inInteraction } from './agent.js';
import {
  authorizationUrl,
  browser,
  CALLBACK,
  codeFor,
  expectTokenError,
  newUser,
  paramsOf,
  SPA_CALLBACK,
  s256,
  tokenRequest,
} from './fixtures.js';

const VERIFIER = oauth.generateRandomCodeVerifier();
const OTHER_VERIFIER = oauth.generateRandomCodeVerifier();

describeEachBackend('sign-in: PKCE (RFC 7636, RFC 9700 §2.1.1)', (backend) => {
  let t: TestApp;
  let spa: { clientId: string };
  let web: { clientId: string; clientSecret?: string };
  let agent: UserAgent;

  beforeAll(async () => {
    t = await startTestApp(backend);
    spa = await t.createApp({ name: 'SPA', type: 'spa', callbacks: [SPA_CALLBACK] });
    web = await t.createApp({ name: 'Web', type: 'web', requirePkce: false, callbacks: [CALLBACK] });
    const { creds } = await newUser(t);
    agent = browser(t, creds);
  });
  afterAll(async () => t?.close());

  const spaUrl = (params: Record<string, string | null> = {}) =>
    authorizationUrl(t, {
      client_id: spa.clientId,
      redirect_uri: SPA_CALLBACK,
      state: 'pk',
      code_challenge: s256(VERIFIER),
      code_challenge_method: 'S256',
      ...params,
    });

  const webUrl = (params: Record<string, string | null> = {}) =>
    authorizationUrl(t, { client_id: web.clientId, redirect_uri: CALLBACK, state: 'pk', ...params });

  /** The error redirect of an authorization request that fails validation. */
  async function authorizeError(url: string): Promise<Record<string, string>> {
    const res = await t.fetch(url, { redirect: 'manual' });
    expect(res.status).toBe(303);
    const loc = new URL(res.headers.get('location') as string);
    expect(`${loc.origin}${loc.pathname}`).toBe(SPA_CALLBACK);
    return paramsOf(loc.searchParams);
  }

  const spaExchange = (code: string, verifier: string | null) =>
    tokenRequest(t, {
      grant_type: 'authorization_code',
      code,
      redirect_uri: SPA_CALLBACK,
      client_id: spa.clientId,
      ...(verifier === null ? {} : { code_verifier: verifier }),
    });

  const webExchange = (code: string, verifier: string | null) =>
    tokenRequest(t, {
      grant_type: 'authorization_code',
      code,
      redirect_uri: CALLBACK,
      client_id: web.clientId,
      client_secret: web.clientSecret as string,
      ...(verifier === null ? {} : { code_verifier: verifier }),
    });

  describe('at /authorize', () => {
    it('a public client without code_challenge → invalid_request (redirected with state and iss)', async () => {
      const p = await authorizeError(spaUrl({ code_challenge: null, code_challenge_method: null }));
      expect(p).toMatchObject({ error: 'invalid_request', state: 'pk', iss: t.issuer });
      expect(p.error_description).toContain('code_challenge');
    });

    it('code_challenge_method=plain → invalid_request', async () => {
      const p = await authorizeError(spaUrl({ code_challenge: VERIFIER, code_challenge_method: 'plain' }));
      expect(p).toMatchObject({ error: 'invalid_request', state: 'pk' });
      expect(p.error_description).toContain('S256');
    });

    it('a challenge without a method (plain by default) → invalid_request', async () => {
      const p = await authorizeError(spaUrl({ code_challenge_method: null }));
      expect(p.error).toBe('invalid_request');
    });

    it('an unknown method (S512) → invalid_request', async () => {
      const p = await authorizeError(spaUrl({ code_challenge_method: 'S512' }));
      expect(p.error).toBe('invalid_request');
    });

    it('a method without a challenge → invalid_request', async () => {
      const p = await authorizeError(spaUrl({ code_challenge: null }));
      expect(p.error).toBe('invalid_request');
    });

    it.each([
      ['42 characters', 'a'.repeat(42)],
      ['44 characters', 'a'.repeat(44)],
      ['128 characters (a verifier, not a hash)', 'a'.repeat(128)],
      ['"+" (base64, not base64url)', `${'a'.repeat(42)}+`],
      ['"/" (base64, not base64url)', `${'a'.repeat(42)}/`],
      ['"=" padding', `${'a'.repeat(42)}=`],
      ['"." (verifier alphabet, not base64url)', `${'a'.repeat(42)}.`],
      ['a space', `${'a'.repeat(21)} ${'a'.repeat(21)}`],
    ])('a challenge of %s → invalid_request', async (_, challenge) => {
      const p = await authorizeError(spaUrl({ code_challenge: challenge }));
      expect(p).toMatchObject({ error: 'invalid_request', state: 'pk' });
    });

    it('a confidential client may leave PKCE out (the request goes on)', async () => {
      const res = await t.fetch(webUrl(), { redirect: 'manual' });
      expect(res.status).toBe(303);
      expect(res.headers.get('location')).toEqual(inInteraction('/u/login'));
    });

    it('a confidential client sending plain is refused too', async () => {
      const res = await t.fetch(webUrl({ code_challenge: VERIFIER, code_challenge_method: 'plain' }), {
        redirect: 'manual',
      });
      const loc = new URL(res.headers.get('location') as string);
      expect(loc.searchParams.get('error')).toBe('invalid_request');
    });
  });

  describe('at /oauth/token', () => {
    it('the right verifier → 200 (public client, no secret)', async () => {
      const answer = await spaExchange(await codeFor(agent, spaUrl()), VERIFIER);
      expect(answer.status, JSON.stringify(answer.body)).toBe(200);
      expect(answer.body.access_token).toEqual(expect.any(String));
    });

    it('a wrong verifier → invalid_grant', async () => {
      const answer = await spaExchange(await codeFor(agent, spaUrl()), OTHER_VERIFIER);
      expectTokenError(answer, 400, 'invalid_grant');
    });

    it('the challenge itself as the verifier → invalid_grant', async () => {
      const answer = await spaExchange(await codeFor(agent, spaUrl()), s256(VERIFIER));
      expectTokenError(answer, 400, 'invalid_grant');
    });

    it('a malformed verifier (too short) → invalid_grant', async () => {
      const answer = await spaExchange(await codeFor(agent, spaUrl()), 'short');
      expectTokenError(answer, 400, 'invalid_grant');
    });

    it('a challenge was sent but no verifier → invalid_grant (public client)', async () => {
      const answer = await spaExchange(await codeFor(agent, spaUrl()), null);
      expectTokenError(answer, 400, 'invalid_grant');
    });

    it('a challenge was sent but no verifier → invalid_grant (confidential client)', async () => {
      const url = webUrl({ code_challenge: s256(VERIFIER), code_challenge_method: 'S256' });
      const answer = await webExchange(await codeFor(agent, url), null);
      expectTokenError(answer, 400, 'invalid_grant');
    });

    it('a verifier for a code issued without a challenge → invalid_grant (downgrade, RFC 9700 §4.8.2)', async () => {
      const answer = await webExchange(await codeFor(agent, webUrl()), VERIFIER);
      expectTokenError(answer, 400, 'invalid_grant');
    });

    it('no challenge and no verifier works for the confidential client', async () => {
      const answer = await webExchange(await codeFor(agent, webUrl()), null);
      expect(answer.status, JSON.stringify(answer.body)).toBe(200);
    });
  });
});
