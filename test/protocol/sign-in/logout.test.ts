import * as client from 'openid-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from '../../support/app.js';
import { describeEachBackend } from '../../support/databases.js';
import { csrfOf, SESSION_COOKIE, type UserAgent } from './agent.js';
import {
  browser,
  CALLBACK,
  LOGOUT_CALLBACK,
  newUser,
  sessionAlive,
  webConfig,
  webSignIn,
} from './fixtures.js';

/** A logout URL with a query of its own, which the redirect must keep byte for byte. */
const QUERIED = 'https://rp.example/bye?a=b%20c&d&e=%7E';

describeEachBackend('sign-in: RP-initiated logout (OpenID Connect RP-Initiated Logout 1.0)', (backend) => {
  let t: TestApp;
  let web: { clientId: string; clientSecret?: string };
  let other: { clientId: string; clientSecret?: string };
  let config: client.Configuration;

  beforeAll(async () => {
    t = await startTestApp(backend);
    web = await t.createApp({
      name: 'Web',
      type: 'web',
      callbacks: [CALLBACK],
      logoutCallbacks: [LOGOUT_CALLBACK, QUERIED],
    });
    other = await t.createApp({
      name: 'Other',
      type: 'web',
      callbacks: [CALLBACK],
      logoutCallbacks: ['https://other.example/bye'],
    });
    config = await webConfig(t, web);
  });
  afterAll(async () => t?.close());

  /** A browser signed in to `web`, and its ID token. */
  async function signedIn(): Promise<{ agent: UserAgent; idToken: string }> {
    const { creds } = await newUser(t);
    const agent = browser(t, creds);
    const { tokens } = await webSignIn(agent, config);
    return { agent, idToken: tokens.id_token as string };
  }

  it('with a valid id_token_hint and a registered post_logout_redirect_uri: redirect there with state, session ended', async () => {
    const { agent, idToken } = await signedIn();
    expect(await sessionAlive(agent, config)).toBe(true);
    const url = client.buildEndSessionUrl(config, {
      id_token_hint: idToken,
      post_logout_redirect_uri: LOGOUT_CALLBACK,
      state: 'bye state',
    });
    const res = await agent.get(url);
    expect(res.status).toBe(303);
    const loc = new URL(res.headers.get('location') as string);
    expect(`${loc.origin}${loc.pathname}`).toBe(LOGOUT_CALLBACK);
    expect(loc.searchParams.get('state')).toBe('bye state');
    expect(agent.cookies.has(SESSION_COOKIE)).toBe(false);
    expect(await sessionAlive(agent, config)).toBe(false);
    const next = await webSignIn(agent, config);
    expect(next.flow.pages).toEqual(['login']);
  });

  it('keeps the query of the registered address byte for byte, state after it (RFC 6749 §3.1.2)', async () => {
    for (const [state, expected] of [
      ['s t', `${QUERIED}&state=s+t`],
      [undefined, QUERIED],
    ] as const) {
      const { agent, idToken } = await signedIn();
      const url = client.buildEndSessionUrl(config, {
        id_token_hint: idToken,
        post_logout_redirect_uri: QUERIED,
        ...(state !== undefined ? { state } : {}),
      });
      const res = await agent.get(url);
      expect(res.status).toBe(303);
      expect(res.headers.get('location')).toBe(expected);
    }
  });

  it('ends the session on the server, not just the cookie (the old cookie no longer works)', async () => {
    const { agent, idToken } = await signedIn();
    const cookie = agent.cookies.get(SESSION_COOKIE) as string;
    await agent.get(
      client.buildEndSessionUrl(config, {
        id_token_hint: idToken,
        post_logout_redirect_uri: LOGOUT_CALLBACK,
      }),
    );
    const replay = browser(t);
    replay.cookies.set(SESSION_COOKIE, cookie);
    expect(await sessionAlive(replay, config)).toBe(false);
  });

  it('an unregistered post_logout_redirect_uri → no redirect (a page)', async () => {
    const { agent, idToken } = await signedIn();
    const res = await agent.get(
      client.buildEndSessionUrl(config, {
        id_token_hint: idToken,
        post_logout_redirect_uri: 'https://evil.example/',
      }),
    );
    expect(res.status).toBe(400);
    expect(res.headers.get('location')).toBeNull();
    expect(await res.text()).not.toContain('evil.example');
  });

  it('the callback (not logout) URI of the application is no post_logout_redirect_uri', async () => {
    const { agent, idToken } = await signedIn();
    const res = await agent.get(
      client.buildEndSessionUrl(config, { id_token_hint: idToken, post_logout_redirect_uri: CALLBACK }),
    );
    expect(res.headers.get('location')).toBeNull();
  });

  it('another application’s logout URI → no redirect', async () => {
    const { agent, idToken } = await signedIn();
    const res = await agent.get(
      client.buildEndSessionUrl(config, {
        id_token_hint: idToken,
        post_logout_redirect_uri: 'https://other.example/bye',
      }),
    );
    expect(res.headers.get('location')).toBeNull();
    const asOther = await agent.get(
      `${t.issuer}/oidc/logout?${new URLSearchParams({
        id_token_hint: idToken,
        client_id: other.clientId,
        post_logout_redirect_uri: 'https://other.example/bye',
      })}`,
    );
    expect(asOther.headers.get('location')).toBeNull();
  });

  it('a forged id_token_hint → no redirect even with client_id (§4): the person is asked, and after signing out stays here', async () => {
    const { agent, idToken } = await signedIn();
    const [h, p] = idToken.split('.') as [string, string];
    const forged = `${h}.${p}.${'A'.repeat(342)}`;
    for (const extra of [{}, { client_id: web.clientId, state: 's' }] as Record<string, string>[]) {
      const res = await agent.get(
        `${t.issuer}/oidc/logout?${new URLSearchParams({
          id_token_hint: forged,
          post_logout_redirect_uri: LOGOUT_CALLBACK,
          ...extra,
        })}`,
      );
      expect(res.status).toBe(200);
      expect(res.headers.get('location')).toBeNull();
      expect(await res.text()).toContain('name="confirm"');
      expect(await sessionAlive(agent, config)).toBe(true);
    }
    // confirmed (the form carries the forged hint back): signed out, and no redirect
    const ask = await agent.get(
      `${t.issuer}/oidc/logout?${new URLSearchParams({ id_token_hint: forged, client_id: web.clientId, post_logout_redirect_uri: LOGOUT_CALLBACK })}`,
    );
    const confirmed = await agent.post(`${t.issuer}/oidc/logout`, {
      confirm: 'yes',
      csrf: csrfOf(await ask.text()),
      id_token_hint: forged,
      client_id: web.clientId,
      post_logout_redirect_uri: LOGOUT_CALLBACK,
    });
    expect(confirmed.status).toBe(200);
    expect(confirmed.headers.get('location')).toBeNull();
    expect(await sessionAlive(agent, config)).toBe(false);
  });

  it('another user’s id_token_hint → no redirect, a confirmation page, this browser’s session kept', async () => {
    const mine = await signedIn();
    const theirs = await signedIn();
    const res = await mine.agent.get(
      client.buildEndSessionUrl(config, {
        id_token_hint: theirs.idToken,
        post_logout_redirect_uri: LOGOUT_CALLBACK,
      }),
    );
    expect(res.status).toBe(200);
    expect(res.headers.get('location')).toBeNull();
    expect(await sessionAlive(mine.agent, config)).toBe(true);
  });

  it('an expired id_token_hint is still accepted (RP-Initiated Logout §2)', async () => {
    const { agent, idToken } = await signedIn();
    t.clock.advance(7200);
    const res = await agent.get(
      client.buildEndSessionUrl(config, {
        id_token_hint: idToken,
        post_logout_redirect_uri: LOGOUT_CALLBACK,
      }),
    );
    expect(res.status).toBe(303);
    expect(new URL(res.headers.get('location') as string).origin).toBe(new URL(LOGOUT_CALLBACK).origin);
    expect(await sessionAlive(agent, config)).toBe(false);
  });

  describe('without id_token_hint', () => {
    it('a confirmation page with a CSRF-protected form; the session is kept until confirmed', async () => {
      const { agent } = await signedIn();
      const res = await agent.get(
        `${t.issuer}/oidc/logout?post_logout_redirect_uri=${encodeURIComponent(LOGOUT_CALLBACK)}`,
      );
      expect(res.status).toBe(200);
      expect(res.headers.get('location')).toBeNull();
      const html = await res.text();
      expect(html).toMatch(/<form method="post" action="\/oidc\/logout">/);
      expect(html).toContain('name="confirm" value="yes"');
      expect(csrfOf(html)).toBeTruthy();
      expect(await sessionAlive(agent, config)).toBe(true);
    });

    it('POSTing the confirmation without the CSRF token → 403, session kept', async () => {
      const { agent } = await signedIn();
      await agent.get('/oidc/logout');
      const res = await agent.post('/oidc/logout', { confirm: 'yes' });
      expect(res.status).toBe(403);
      expect(await sessionAlive(agent, config)).toBe(true);
    });

    it('POSTing the confirmation with a wrong CSRF token → 403, session kept', async () => {
      const { agent } = await signedIn();
      const other = await signedIn();
      const foreign = csrfOf(await (await other.agent.get('/oidc/logout')).text());
      const res = await agent.post('/oidc/logout', { confirm: 'yes', csrf: foreign });
      expect(res.status).toBe(403);
      expect(await sessionAlive(agent, config)).toBe(true);
    });

    it('a GET with confirm=yes and no CSRF token does not sign out (cross-site link)', async () => {
      const { agent } = await signedIn();
      const res = await agent.get('/oidc/logout?confirm=yes');
      expect(res.status).toBe(403);
      expect(await sessionAlive(agent, config)).toBe(true);
    });

    it('POSTing the confirmation with its CSRF token signs out', async () => {
      const { agent } = await signedIn();
      const csrf = csrfOf(await (await agent.get('/oidc/logout')).text());
      const res = await agent.post('/oidc/logout', { confirm: 'yes', csrf });
      expect(res.status).toBe(200);
      expect(res.headers.get('location')).toBeNull();
      expect(agent.cookies.has(SESSION_COOKIE)).toBe(false);
      expect(await sessionAlive(agent, config)).toBe(false);
    });
  });
});
