import * as client from 'openid-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Api } from '../../../src/storage/types.js';
import { startTestApp, type TestApp } from '../../support/app.js';
import { describeEachBackend } from '../../support/databases.js';
import { csrfOf, type UserAgent } from './agent.js';
import {
  browser,
  CALLBACK,
  newUser,
  paramsOf,
  publicClient,
  publicSignIn,
  SPA_CALLBACK,
  webAuthorizationUrl,
  webConfig,
  webSignIn,
} from './fixtures.js';

type App = { clientId: string; clientSecret?: string };

/** The scope names listed on a consent page, in order. */
const listedScopes = (html: string) =>
  [...html.matchAll(/<span class="muted">\(([^)]+)\)<\/span>/g)].map((m) => m[1]);

describeEachBackend('sign-in: sessions and consent (OIDC Core §3.1.2.3–§3.1.2.4)', (backend) => {
  let t: TestApp;
  let api: Api;

  beforeAll(async () => {
    t = await startTestApp(backend);
    api = await t.createApi();
  });
  afterAll(async () => t?.close());

  const webApp = (extra: { skipConsent?: boolean } = {}): Promise<App> =>
    t.createApp({ name: 'Web App', type: 'web', callbacks: [CALLBACK], ...extra });

  async function signedInAgent(): Promise<UserAgent> {
    const { creds } = await newUser(t);
    return browser(t, creds);
  }

  describe('single sign-on', () => {
    it('a second application signs in without a password (consent only)', async () => {
      const agent = await signedInAgent();
      const first = await webSignIn(agent, await webConfig(t, await webApp()));
      expect(first.flow.pages).toEqual(['login', 'consent']);
      const second = await webSignIn(agent, await webConfig(t, await webApp()));
      expect(second.flow.pages).toEqual(['consent']);
      expect(second.claims.sub).toBe(first.claims.sub);
    });

    it('a second, public application signs in with no page at all when it skips consent', async () => {
      const agent = await signedInAgent();
      const first = await webSignIn(agent, await webConfig(t, await webApp()));
      const spa = await t.createApp({
        name: 'SPA',
        type: 'spa',
        callbacks: [SPA_CALLBACK],
        skipConsent: true,
      });
      const second = await publicSignIn(t, agent, await publicClient(t, spa.clientId, SPA_CALLBACK));
      expect(second.flow.pages).toEqual([]);
      expect(second.claims.sub).toBe(first.claims.sub);
    });

    it('another browser (no cookie) must log in', async () => {
      const agent = await signedInAgent();
      const app = await webApp();
      await webSignIn(agent, await webConfig(t, app));
      const fresh = browser(t, agent.credentials);
      const again = await webSignIn(fresh, await webConfig(t, app));
      expect(again.flow.pages).toEqual(['login']);
    });
  });

  describe('consent', () => {
    it('is remembered: the second authorization shows no page', async () => {
      const agent = await signedInAgent();
      const config = await webConfig(t, await webApp());
      const params = { scope: 'openid profile read:things', audience: api.identifier };
      expect((await webSignIn(agent, config, params)).flow.pages).toEqual(['login', 'consent']);
      expect((await webSignIn(agent, config, params)).flow.pages).toEqual([]);
    });

    it('a subset of the granted scopes needs no new consent', async () => {
      const agent = await signedInAgent();
      const config = await webConfig(t, await webApp());
      await webSignIn(agent, config, { scope: 'openid profile read:things', audience: api.identifier });
      const again = await webSignIn(agent, config, { scope: 'openid read:things', audience: api.identifier });
      expect(again.flow.pages).toEqual([]);
    });

    it('is asked again for a new scope, and the page lists only the new scope', async () => {
      const agent = await signedInAgent();
      const config = await webConfig(t, await webApp());
      const first = await webSignIn(agent, config, {
        scope: 'openid profile read:things',
        audience: api.identifier,
      });
      expect(listedScopes(first.flow.html.consent as string)).toEqual(['openid', 'profile', 'read:things']);
      const second = await webSignIn(agent, config, {
        scope: 'openid profile email read:things write:things',
        audience: api.identifier,
      });
      expect(second.flow.pages).toEqual(['consent']);
      const html = second.flow.html.consent as string;
      expect(listedScopes(html)).toEqual(['email', 'write:things']);
      expect(html).toContain('Write things');
      expect(html).not.toContain('Read things');
      expect(
        (await webSignIn(agent, config, { scope: 'openid email write:things', audience: api.identifier }))
          .flow.pages,
      ).toEqual([]);
    });

    it('names the application and the API on the page', async () => {
      const agent = await signedInAgent();
      const app = await t.createApp({ name: 'Photo Printer', type: 'web', callbacks: [CALLBACK] });
      const { flow } = await webSignIn(agent, await webConfig(t, app), {
        scope: 'openid read:things',
        audience: api.identifier,
      });
      expect(flow.html.consent).toContain('Photo Printer');
      expect(flow.html.consent).toContain(api.name);
    });

    it('a skipConsent application never shows the consent page, even for new scopes', async () => {
      const agent = await signedInAgent();
      const config = await webConfig(t, await webApp({ skipConsent: true }));
      const first = await webSignIn(agent, config, { scope: 'openid read:things', audience: api.identifier });
      expect(first.flow.pages).toEqual(['login']);
      const second = await webSignIn(agent, config, {
        scope: 'openid profile email read:things write:things',
        audience: api.identifier,
      });
      expect(second.flow.pages).toEqual([]);
      const forced = await webSignIn(agent, config, { scope: 'openid', prompt: 'consent' });
      expect(forced.flow.pages).toEqual([]);
    });

    it('Deny → access_denied redirect with state and iss, and nothing is remembered', async () => {
      const agent = await signedInAgent();
      const config = await webConfig(t, await webApp());
      const pending = await webAuthorizationUrl(config, { scope: 'openid profile', state: 'deny-me' });
      const flow = await agent.signIn(pending.url, { consent: 'deny' });
      expect(flow.pages).toEqual(['login', 'consent']);
      const loc = flow.location as URL;
      expect(`${loc.origin}${loc.pathname}`).toBe(CALLBACK);
      const p = paramsOf(loc.searchParams);
      expect(p).toMatchObject({ error: 'access_denied', state: 'deny-me', iss: t.issuer });
      expect(p.code).toBeUndefined();
      await expect(
        client.authorizationCodeGrant(config, loc, {
          pkceCodeVerifier: pending.verifier,
          expectedState: 'deny-me',
        }),
      ).rejects.toMatchObject({ error: 'access_denied' });
      const again = await agent.signIn((await webAuthorizationUrl(config, { scope: 'openid profile' })).url, {
        stopAt: 'consent',
      });
      expect(again.pages).toEqual(['consent']);
    });

    it('prompt=consent asks again for what was granted', async () => {
      const agent = await signedInAgent();
      const config = await webConfig(t, await webApp());
      await webSignIn(agent, config, { scope: 'openid profile' });
      const again = await webSignIn(agent, config, { scope: 'openid profile', prompt: 'consent' });
      expect(again.flow.pages).toEqual(['consent']);
      expect(listedScopes(again.flow.html.consent as string)).toEqual(['openid', 'profile']);
    });
  });

  describe('re-authentication', () => {
    it('prompt=login shows the login page despite the session, and auth_time moves', async () => {
      const agent = await signedInAgent();
      const config = await webConfig(t, await webApp());
      const first = await webSignIn(agent, config);
      t.clock.advance(20);
      const again = await webSignIn(agent, config, { prompt: 'login' });
      expect(again.flow.pages).toEqual(['login']);
      expect(again.claims.auth_time).toBe((first.claims.auth_time as number) + 20);
    });

    it('prompt=select_account offers to go on as whoever is signed in (no new login), or to use another account', async () => {
      const { creds } = await newUser(t);
      const agent = browser(t, creds);
      const config = await webConfig(t, await webApp());
      const first = await webSignIn(agent, config);
      t.clock.advance(30);
      // go on as the person signed in: a code for them, with the same auth_time
      const pending = await webAuthorizationUrl(config, { prompt: 'select_account' });
      const shown = await agent.signIn(pending.url, { stopAt: 'login' });
      const page = await shown.response.text();
      expect(page).toContain(`Continue as ${creds.email}`);
      expect(page).toContain('Or use another account');
      let res = await agent.post('/u/login', { csrf: csrfOf(page), continue: 'yes' });
      for (let hops = 0; hops < 5 && res.status === 303; hops++) {
        const to = new URL(res.headers.get('location') as string, t.issuer);
        if (to.origin !== new URL(t.issuer).origin) break;
        res = await agent.get(to);
      }
      const back = new URL(res.headers.get('location') as string);
      expect(back.searchParams.get('code')).toEqual(expect.any(String));
      const tokens = await client.authorizationCodeGrant(config, back, {
        pkceCodeVerifier: pending.verifier,
        expectedNonce: pending.nonce,
        expectedState: pending.state,
      });
      expect(tokens.claims()!.auth_time).toBe(first.claims.auth_time);
      // or sign in anew on the same page (another account, or the same one again)
      t.clock.advance(30);
      const again = await webSignIn(agent, config, { prompt: 'select_account' });
      expect(again.flow.pages).toEqual(['login']);
      expect(again.claims.auth_time).toBe((first.claims.auth_time as number) + 60);
      // a request that wants a new sign-in anyway (max_age passed) is not offered to go on
      t.clock.advance(5);
      const stale = await agent.signIn(
        (await webAuthorizationUrl(config, { prompt: 'select_account', max_age: '1' })).url,
        { stopAt: 'login' },
      );
      expect(await stale.response.text()).not.toContain('Continue as');
      // nobody signed in: the login page, with nothing to go on as
      const fresh = await browser(t, creds).signIn(
        (await webAuthorizationUrl(config, { prompt: 'select_account' })).url,
        { stopAt: 'login' },
      );
      expect(await fresh.response.text()).not.toContain('Continue as');
    });

    it('max_age=0 after some time forces the login page', async () => {
      const agent = await signedInAgent();
      const config = await webConfig(t, await webApp());
      const first = await webSignIn(agent, config);
      t.clock.advance(5);
      const again = await webSignIn(agent, config, { max_age: '0' });
      expect(again.flow.pages).toEqual(['login']);
      expect(again.claims.auth_time).toBe((first.claims.auth_time as number) + 5);
    });

    it('max_age=0 in the very second of the sign-in still forces the login page (it is prompt=login)', async () => {
      const agent = await signedInAgent();
      const config = await webConfig(t, await webApp());
      const first = await webSignIn(agent, config);
      const again = await webSignIn(agent, config, { max_age: '0' });
      expect(again.flow.pages).toEqual(['login']);
      expect(again.claims.auth_time).toBe(first.claims.auth_time);
      // and without a page to show, login_required
      const none = await agent.signIn(
        (await webAuthorizationUrl(config, { prompt: 'none', max_age: '0' })).url,
      );
      expect(none.location?.searchParams.get('error')).toBe('login_required');
    });

    it('max_age: the login of this request counts, however long the consent page then takes', async () => {
      const agent = await signedInAgent();
      const config = await webConfig(t, await webApp());
      const { url } = await webAuthorizationUrl(config, { max_age: '0' });
      const atConsent = await agent.signIn(url, { stopAt: 'consent' });
      expect(atConsent.pages).toEqual(['login', 'consent']);
      t.clock.advance(30);
      const csrf = csrfOf(atConsent.html.consent as string);
      let res = await agent.post('/u/consent', { csrf, decision: 'allow' });
      for (let hops = 0; hops < 5; hops++) {
        const next = new URL(res.headers.get('location') ?? '', t.issuer);
        expect(next.pathname, 'not sent to log in again').not.toBe('/u/login');
        if (`${next.origin}${next.pathname}` === CALLBACK) break;
        res = await agent.get(next);
      }
      const back = new URL(res.headers.get('location') ?? '', t.issuer);
      expect(`${back.origin}${back.pathname}`).toBe(CALLBACK);
      expect(back.searchParams.get('code')).toEqual(expect.any(String));
    });

    it('max_age longer than the session’s age needs no login', async () => {
      const agent = await signedInAgent();
      const config = await webConfig(t, await webApp());
      const first = await webSignIn(agent, config);
      t.clock.advance(5);
      const again = await webSignIn(agent, config, { max_age: '3600' });
      expect(again.flow.pages).toEqual([]);
      expect(again.claims.auth_time).toBe(first.claims.auth_time);
    });

    it('prompt=none with max_age exceeded → login_required', async () => {
      const agent = await signedInAgent();
      const config = await webConfig(t, await webApp());
      await webSignIn(agent, config);
      t.clock.advance(5);
      const flow = await agent.signIn(
        (await webAuthorizationUrl(config, { prompt: 'none', max_age: '1' })).url,
      );
      expect(flow.location?.searchParams.get('error')).toBe('login_required');
    });

    it('login_hint prefills the email field', async () => {
      const agent = await signedInAgent();
      const config = await webConfig(t, await webApp());
      const pending = await webAuthorizationUrl(config, { login_hint: 'hint.person@example.com' });
      const flow = await agent.signIn(pending.url, { stopAt: 'login' });
      expect(flow.html.login).toMatch(
        /<input id="email" name="email" type="text" inputmode="email"[^>]* value="hint.person@example.com"/,
      );
    });

    it('login_hint is escaped in the email field', async () => {
      const agent = await signedInAgent();
      const config = await webConfig(t, await webApp());
      const pending = await webAuthorizationUrl(config, { login_hint: '"><script>alert(1)</script>' });
      const flow = await agent.signIn(pending.url, { stopAt: 'login' });
      expect(flow.html.login).not.toContain('<script>alert(1)');
    });
  });
});
