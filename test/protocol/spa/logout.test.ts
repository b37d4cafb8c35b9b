// Issue #13 §5 and §8: Auth0's GET /v2/logout (what its SDKs call), and /oidc/logout with
// client_id + post_logout_redirect_uri but no id_token_hint, and logout_hint.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { User } from '../../../src/storage/types.js';
import { startTestApp, type TestApp } from '../../support/app.js';
import { describeEachBackend } from '../../support/databases.js';
import { SESSION_COOKIE, type UserAgent, unescapeHtml } from '../sign-in/agent.js';
import { browser, CALLBACK, LOGOUT_CALLBACK, newUser } from '../sign-in/fixtures.js';
import { authorizeRequest, cspDirective, endpoint, eventsDuring, type SpaClient, signIn } from './support.js';

const OTHER_LOGOUT = 'https://other.example/bye';

/** The hidden fields of a page's form, by name. */
function hiddenFields(html: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const m of html.matchAll(/<input type="hidden" name="([^"]+)" value="([^"]*)"\/?>/g)) {
    out[unescapeHtml(m[1] as string)] = unescapeHtml(m[2] as string);
  }
  return out;
}

describeEachBackend(
  'spa: /v2/logout and /oidc/logout without id_token_hint (issue #13 §5, §8)',
  (backend) => {
    let t: TestApp;
    let web: SpaClient;
    let other: SpaClient;

    beforeAll(async () => {
      t = await startTestApp(backend);
      const w = await t.createApp({
        name: 'Web',
        type: 'web',
        callbacks: [CALLBACK],
        logoutCallbacks: [LOGOUT_CALLBACK],
      });
      web = { clientId: w.clientId, clientSecret: w.clientSecret as string, redirectUri: CALLBACK };
      const o = await t.createApp({
        name: 'Other',
        type: 'web',
        callbacks: [CALLBACK],
        logoutCallbacks: [OTHER_LOGOUT],
      });
      other = { clientId: o.clientId, clientSecret: o.clientSecret as string, redirectUri: CALLBACK };
    });
    afterAll(async () => t?.close());

    /** A browser signed in to `web`, its ID token and its person. */
    async function signedIn(): Promise<{ agent: UserAgent; idToken: string; user: User }> {
      const { user, creds } = await newUser(t);
      const agent = browser(t, creds);
      const { tokens } = await signIn(t, agent, web);
      return { agent, idToken: tokens.body.id_token as string, user };
    }

    /** Whether the agent's SSO session is alive: prompt=none gets a code, not login_required. */
    async function sessionAlive(agent: UserAgent): Promise<boolean> {
      const res = await agent.get(authorizeRequest(t, web, { prompt: 'none' }).url);
      const loc = new URL(res.headers.get('location') as string);
      if (loc.searchParams.get('code')) return true;
      expect(loc.searchParams.get('error')).toBe('login_required');
      return false;
    }

    const logoutUrl = (path: string, params: Record<string, string>) =>
      `${endpoint(t, path)}?${new URLSearchParams(params)}`;

    describe('GET /v2/logout', () => {
      it('a registered returnTo → 303 there, the session ended (log event slo)', async () => {
        const { agent, user } = await signedIn();
        expect(await sessionAlive(agent)).toBe(true);
        const [res, events] = await eventsDuring(t, () =>
          agent.get(logoutUrl('/v2/logout', { client_id: web.clientId, returnTo: LOGOUT_CALLBACK })),
        );
        expect(res.status).toBe(303);
        expect(res.headers.get('location')).toBe(LOGOUT_CALLBACK);
        expect(agent.cookies.has(SESSION_COOKIE)).toBe(false);
        expect(await sessionAlive(agent)).toBe(false);
        expect(events.filter((e) => e.type === 'slo').map((e) => e.userId)).toEqual([user.id]);
      });

      it.each([
        ['an unregistered returnTo', () => ({ client_id: web.clientId, returnTo: 'https://evil.example/x' })],
        ['another application’s logout URL', () => ({ client_id: web.clientId, returnTo: OTHER_LOGOUT })],
        [
          'a registered URL with more on it',
          () => ({ client_id: web.clientId, returnTo: `${LOGOUT_CALLBACK}?x=1` }),
        ],
        ['no client_id', () => ({ returnTo: LOGOUT_CALLBACK })],
        ['an unknown client', () => ({ client_id: 'no-such-client', returnTo: LOGOUT_CALLBACK })],
      ])('%s → a 400 page without the URL, no redirect, the session ended', async (_name, params) => {
        const { agent } = await signedIn();
        const p = params();
        const res = await agent.get(logoutUrl('/v2/logout', p));
        const html = await res.text();
        expect({ status: res.status, location: res.headers.get('location') }).toEqual({
          status: 400,
          location: null,
        });
        expect(res.headers.get('content-type')).toMatch(/^text\/html/);
        expect(html).toContain('You are signed out');
        expect(html).toContain('You were not sent back to the application');
        expect(html).not.toContain(new URL(p.returnTo).host);
        expect(await sessionAlive(agent)).toBe(false);
      });

      it('a returnTo off by a trailing slash is refused, and the page says that is the difference', async () => {
        const { agent } = await signedIn();
        const off = LOGOUT_CALLBACK.endsWith('/') ? LOGOUT_CALLBACK.slice(0, -1) : `${LOGOUT_CALLBACK}/`;
        const res = await agent.get(logoutUrl('/v2/logout', { client_id: web.clientId, returnTo: off }));
        expect(res.status).toBe(400);
        expect(await res.text()).toContain('only by a trailing slash');
        const other = await agent.get(
          logoutUrl('/v2/logout', { client_id: web.clientId, returnTo: OTHER_LOGOUT }),
        );
        expect(await other.text()).not.toContain('trailing slash');
      });

      it("no returnTo → 303 to the application's first logout URL (Auth0's rule), the session ended", async () => {
        const { agent } = await signedIn();
        const res = await agent.get(logoutUrl('/v2/logout', { client_id: web.clientId }));
        expect(res.status).toBe(303);
        expect(res.headers.get('location')).toBe(LOGOUT_CALLBACK);
        expect(await sessionAlive(agent)).toBe(false);
      });

      it('no returnTo, and an application without logout URLs or none named → the signed-out page (200)', async () => {
        const bare = await t.createApp({
          name: 'Bare',
          type: 'web',
          callbacks: [CALLBACK],
          logoutCallbacks: [],
        });
        for (const params of [{ client_id: bare.clientId }, {}] as Record<string, string>[]) {
          const { agent } = await signedIn();
          const res = await agent.get(logoutUrl('/v2/logout', params));
          expect(res.status).toBe(200);
          expect(res.headers.get('location')).toBeNull();
          expect(await res.text()).toContain('You are signed out');
          expect(await sessionAlive(agent)).toBe(false);
        }
      });

      it.each([{ federated: '' }, { federated: '1' }])('federated (%j) is ignored', async (federated) => {
        const { agent } = await signedIn();
        const res = await agent.get(
          logoutUrl('/v2/logout', { client_id: web.clientId, returnTo: LOGOUT_CALLBACK, ...federated }),
        );
        expect(res.status).toBe(303);
        expect(res.headers.get('location')).toBe(LOGOUT_CALLBACK);
        expect(await sessionAlive(agent)).toBe(false);
      });

      it('not signed in: a registered returnTo still → 303', async () => {
        const res = await browser(t).get(
          logoutUrl('/v2/logout', { client_id: web.clientId, returnTo: LOGOUT_CALLBACK }),
        );
        expect(res.status).toBe(303);
        expect(res.headers.get('location')).toBe(LOGOUT_CALLBACK);
      });
    });

    describe('/oidc/logout with client_id and no id_token_hint', () => {
      const asked = () => ({
        client_id: web.clientId,
        post_logout_redirect_uri: LOGOUT_CALLBACK,
        state: 'st "<&>',
      });

      it('signed in: a confirmation page carrying the fields; "Sign out" → 303 to the URI with state', async () => {
        const { agent } = await signedIn();
        const res = await agent.get(logoutUrl('/oidc/logout', asked()));
        const html = await res.text();
        expect(res.status).toBe(200);
        expect(res.headers.get('location')).toBeNull();
        const fields = hiddenFields(html);
        expect(fields).toMatchObject({ ...asked(), confirm: 'yes' });
        expect(fields.csrf).toEqual(expect.any(String));
        // The form's answer redirects to the application: the page's CSP must let the form go there.
        expect(cspDirective(res, 'form-action')).toContain(new URL(LOGOUT_CALLBACK).origin);
        expect(await sessionAlive(agent)).toBe(true);
        const done = await agent.post(endpoint(t, '/oidc/logout'), fields);
        expect(done.status).toBe(303);
        const loc = new URL(done.headers.get('location') as string);
        expect(`${loc.origin}${loc.pathname}`).toBe(LOGOUT_CALLBACK);
        expect(loc.searchParams.get('state')).toBe('st "<&>');
        expect(await sessionAlive(agent)).toBe(false);
      });

      it('"Stay signed in" (a link) keeps the session and goes back to the URI with state; without one, a page says so', async () => {
        const { agent } = await signedIn();
        const html = await (await agent.get(logoutUrl('/oidc/logout', asked()))).text();
        const href = /<a href="([^"]*)">Stay signed in<\/a>/.exec(html)?.[1];
        expect(href, html).toBeDefined();
        const stay = new URL(unescapeHtml(href as string), t.issuer);
        expect(stay.pathname).toBe('/oidc/logout');
        expect(Object.fromEntries(stay.searchParams)).toEqual({ ...asked(), confirm: 'no' });
        const back = await agent.get(stay.href);
        expect(back.status).toBe(303);
        const loc = new URL(back.headers.get('location') as string);
        expect(`${loc.origin}${loc.pathname}`).toBe(LOGOUT_CALLBACK);
        expect(loc.searchParams.get('state')).toBe('st "<&>');
        expect(await sessionAlive(agent)).toBe(true);
        // asked without an address to go back to
        const bare = await agent.get(logoutUrl('/oidc/logout', { client_id: web.clientId }));
        const link = /<a href="([^"]*)">Stay signed in<\/a>/.exec(await bare.text())?.[1] as string;
        const stayed = await agent.get(new URL(unescapeHtml(link), t.issuer).href);
        expect(stayed.status).toBe(200);
        expect(await stayed.text()).toContain('<h1>You are still signed in</h1>');
        expect(await sessionAlive(agent)).toBe(true);
        // never the ID token in the link's URL, though the confirmation was asked with one
        // (here another person's, so the page asks)
        const other = await signedIn();
        const hinted = await agent.get(
          logoutUrl('/oidc/logout', { ...asked(), id_token_hint: other.idToken }),
        );
        const withHint = /<a href="([^"]*)">Stay signed in<\/a>/.exec(await hinted.text())?.[1] as string;
        expect(Object.fromEntries(new URL(unescapeHtml(withHint), t.issuer).searchParams)).toEqual({
          ...asked(),
          confirm: 'no',
        });
        // not signed in (the session ended meanwhile, or a crafted link): never "still signed in"
        const nobody = await browser(t).get(new URL(unescapeHtml(link), t.issuer).href);
        expect(nobody.status).toBe(200);
        expect(await nobody.text()).toContain('<h1>You are signed out</h1>');
      });

      it('confirming without the CSRF token → 403, the session kept', async () => {
        const { agent } = await signedIn();
        const { csrf: _csrf, ...fields } = hiddenFields(
          await (await agent.get(logoutUrl('/oidc/logout', asked()))).text(),
        );
        const res = await agent.post(endpoint(t, '/oidc/logout'), fields);
        expect(res.status).toBe(403);
        expect(res.headers.get('location')).toBeNull();
        expect(await sessionAlive(agent)).toBe(true);
      });

      it('not signed in: the 303 at once, with state', async () => {
        const res = await browser(t).get(logoutUrl('/oidc/logout', asked()));
        expect(res.status).toBe(303);
        const loc = new URL(res.headers.get('location') as string);
        expect(`${loc.origin}${loc.pathname}`).toBe(LOGOUT_CALLBACK);
        expect(loc.searchParams.get('state')).toBe('st "<&>');
      });

      it('a post_logout_redirect_uri the named client did not register → 400 page, session kept', async () => {
        const { agent } = await signedIn();
        const res = await agent.get(
          logoutUrl('/oidc/logout', { client_id: web.clientId, post_logout_redirect_uri: OTHER_LOGOUT }),
        );
        expect({ status: res.status, location: res.headers.get('location') }).toEqual({
          status: 400,
          location: null,
        });
        expect(await res.text()).not.toContain('other.example');
        expect(await sessionAlive(agent)).toBe(true);
      });

      it('no client named at all: the post_logout_redirect_uri is ignored (no redirect)', async () => {
        const res = await browser(t).get(
          logoutUrl('/oidc/logout', { post_logout_redirect_uri: LOGOUT_CALLBACK }),
        );
        expect(res.status).toBe(200);
        expect(res.headers.get('location')).toBeNull();
      });
    });

    describe('/oidc/logout with id_token_hint', () => {
      it('a client_id that disagrees with the hint’s aud → 400 page, no redirect, session kept', async () => {
        const { agent, idToken } = await signedIn();
        const res = await agent.get(
          logoutUrl('/oidc/logout', {
            id_token_hint: idToken,
            client_id: other.clientId,
            post_logout_redirect_uri: OTHER_LOGOUT,
          }),
        );
        expect({ status: res.status, location: res.headers.get('location') }).toEqual({
          status: 400,
          location: null,
        });
        expect(await sessionAlive(agent)).toBe(true);
      });

      it('logout_hint naming another person → the confirmation page instead, session kept', async () => {
        const { agent, idToken } = await signedIn();
        const someoneElse = await newUser(t);
        for (const hint of [someoneElse.user.email, someoneElse.user.id]) {
          const res = await agent.get(
            logoutUrl('/oidc/logout', {
              id_token_hint: idToken,
              logout_hint: hint,
              post_logout_redirect_uri: LOGOUT_CALLBACK,
            }),
          );
          expect(res.status, hint).toBe(200);
          expect(res.headers.get('location')).toBeNull();
          expect(hiddenFields(await res.text())).toMatchObject({ confirm: 'yes', id_token_hint: idToken });
          expect(await sessionAlive(agent)).toBe(true);
        }
      });

      it.each([
        ['email', (u: User) => u.email],
        ['email in other case', (u: User) => u.email.toUpperCase()],
        ['user id', (u: User) => u.id],
      ])('logout_hint naming the person (%s) with a valid hint → signed out at once', async (_n, hintOf) => {
        const { agent, idToken, user } = await signedIn();
        const res = await agent.get(
          logoutUrl('/oidc/logout', {
            id_token_hint: idToken,
            client_id: web.clientId,
            logout_hint: hintOf(user),
            post_logout_redirect_uri: LOGOUT_CALLBACK,
            state: 'bye',
          }),
        );
        expect(res.status).toBe(303);
        expect(res.headers.get('location')).toBe(`${LOGOUT_CALLBACK}?state=bye`);
        expect(await sessionAlive(agent)).toBe(false);
      });
    });
  },
);
