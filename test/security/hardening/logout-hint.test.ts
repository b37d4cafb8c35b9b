// Issue #14 §6: logout accepted any Sesame-signed JWT as id_token_hint (an access token worked)
// and signed the person out of a session the hint's sid did not name, without asking. Now only
// an ID token of one of our applications counts, and only for the session it names.
import type * as client from 'openid-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { UserAgent } from '../../protocol/sign-in/agent.js';
import {
  browser,
  CALLBACK,
  LOGOUT_CALLBACK,
  newUser,
  sessionAlive,
  webAuthorizationUrl,
  webConfig,
  webSignIn,
} from '../../protocol/sign-in/fixtures.js';
import { startTestApp, type TestApp } from '../../support/app.js';
import { describeEachBackend } from '../../support/databases.js';

const payloadOf = (jwt: string) =>
  JSON.parse(Buffer.from(jwt.split('.')[1] as string, 'base64url').toString()) as Record<string, unknown>;

describeEachBackend(
  'hardening: id_token_hint at logout is an ID token for this session (#14 §6)',
  (backend) => {
    let t: TestApp;
    let web: { clientId: string; clientSecret?: string };
    let config: client.Configuration;

    beforeAll(async () => {
      t = await startTestApp(backend);
      web = await t.createApp({
        name: 'Web',
        type: 'web',
        callbacks: [CALLBACK],
        logoutCallbacks: [LOGOUT_CALLBACK],
      });
      config = await webConfig(t, web);
    });
    afterAll(async () => t?.close());

    const logout = (agent: UserAgent, hint: string) =>
      agent.get(
        `${t.issuer}/oidc/logout?${new URLSearchParams({
          id_token_hint: hint,
          client_id: web.clientId,
          post_logout_redirect_uri: LOGOUT_CALLBACK,
        })}`,
      );

    it('an ID token of this session signs out at once (the control case)', async () => {
      const { creds } = await newUser(t);
      const agent = browser(t, creds);
      const { tokens } = await webSignIn(agent, config);
      const res = await logout(agent, tokens.id_token as string);
      expect(res.status).toBe(303);
      expect(await sessionAlive(agent, config)).toBe(false);
    });

    it('an access token as id_token_hint is no hint: a confirmation page, the session kept', async () => {
      const { creds } = await newUser(t);
      const agent = browser(t, creds);
      const { tokens } = await webSignIn(agent, config);
      // Same signer, same issuer, same subject: only its type (at+jwt) says it is no ID token.
      expect(payloadOf(tokens.access_token).sub).toBe(payloadOf(tokens.id_token as string).sub);
      const res = await logout(agent, tokens.access_token);
      expect(res.status).toBe(200);
      expect(res.headers.get('location')).toBeNull();
      expect(await res.text()).toContain('name="confirm"');
      expect(await sessionAlive(agent, config)).toBe(true);
    });

    it('an ID token of another session of the same person: a confirmation page, this session kept', async () => {
      const { creds } = await newUser(t);
      const laptop = browser(t, creds);
      const phone = browser(t, creds);
      const fromLaptop = (await webSignIn(laptop, config)).tokens.id_token as string;
      const fromPhone = (await webSignIn(phone, config)).tokens.id_token as string;
      expect(payloadOf(fromLaptop).sid).not.toBe(payloadOf(fromPhone).sid);
      const res = await logout(phone, fromLaptop);
      expect(res.status).toBe(200);
      expect(await res.text()).toContain('name="confirm"');
      expect(await sessionAlive(phone, config)).toBe(true);
      expect(await sessionAlive(laptop, config)).toBe(true);
    });

    describe('at /authorize', () => {
      it('an access token as id_token_hint is invalid_request, not a hint', async () => {
        const { creds } = await newUser(t);
        const agent = browser(t, creds);
        const { tokens } = await webSignIn(agent, config);
        const { url } = await webAuthorizationUrl(config, { id_token_hint: tokens.access_token });
        const res = await agent.get(url);
        const loc = new URL(res.headers.get('location') as string);
        expect(loc.searchParams.get('error')).toBe('invalid_request');
        expect(loc.searchParams.get('error_description')).toMatch(/id_token_hint/);
      });
    });
  },
);
