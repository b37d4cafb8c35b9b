import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from '../../support/app.js';
import { describeEachBackend } from '../../support/databases.js';
import { csrfOf, inInteraction } from './agent.js';
import {
  authorizationUrl,
  browser,
  CALLBACK,
  expectErrorPage,
  expectTokenError,
  newUser,
  paramsOf,
  publicClient,
  publicSignIn,
  s256,
  tokenRequest,
} from './fixtures.js';

const OTHER_CALLBACK = 'https://rp.example/other';
const LOOPBACK = 'http://127.0.0.1/cb';
const VERIFIER = 'v'.repeat(64);

describeEachBackend(
  'sign-in: client and redirect_uri (RFC 6749 §3.1.2, RFC 9700 §4.1, RFC 8252 §7.3)',
  (backend) => {
    let t: TestApp;
    let web: { clientId: string; clientSecret?: string };
    let twoCallbacks: { clientId: string; clientSecret?: string };
    let native: { clientId: string };
    let m2m: { clientId: string };

    beforeAll(async () => {
      t = await startTestApp(backend);
      web = await t.createApp({ name: 'Web', type: 'web', callbacks: [CALLBACK] });
      twoCallbacks = await t.createApp({ name: 'Two', type: 'web', callbacks: [CALLBACK, OTHER_CALLBACK] });
      native = await t.createApp({
        name: 'Native',
        type: 'native',
        callbacks: [LOOPBACK, 'com.example.app:/cb'],
      });
      m2m = await t.createM2m(await t.createApi());
    });
    afterAll(async () => t?.close());

    /** A GET /authorize with these parameters (a valid PKCE request unless overridden). */
    const authorize = (params: Record<string, string | undefined>, repeat: [string, string][] = []) => {
      const q = new URLSearchParams();
      const all: Record<string, string | undefined> = {
        response_type: 'code',
        scope: 'openid',
        state: 'st-1',
        code_challenge: s256(VERIFIER),
        code_challenge_method: 'S256',
        ...params,
      };
      for (const [k, v] of Object.entries(all)) if (v !== undefined) q.append(k, v);
      for (const [k, v] of repeat) q.append(k, v);
      return t.fetch(`${t.issuer}/authorize?${q}`, { redirect: 'manual' });
    };

    describe('client_id', () => {
      it('an unknown client_id gets a 400 error page, never a redirect', async () => {
        const html = await expectErrorPage(
          await authorize({ client_id: 'no-such-client', redirect_uri: CALLBACK }),
        );
        expect(html).toContain('Unknown application');
        expect(html).not.toContain(CALLBACK);
      });

      it('a missing client_id gets a 400 error page', async () => {
        const html = await expectErrorPage(await authorize({ redirect_uri: CALLBACK }));
        expect(html).toContain('The request has no client_id.');
      });

      it('an m2m client_id (no sign-in) gets a 400 error page', async () => {
        const html = await expectErrorPage(
          await authorize({ client_id: m2m.clientId, redirect_uri: CALLBACK }),
        );
        expect(html).toContain('Unknown application');
      });

      it('a repeated client_id gets a 400 error page', async () => {
        const res = await authorize({ client_id: web.clientId, redirect_uri: CALLBACK }, [
          ['client_id', web.clientId],
        ]);
        expect(await expectErrorPage(res)).toContain('The parameter client_id is repeated.');
        // an empty copy is a repeat too (RFC 6749 §3.1), whichever comes first
        for (const name of ['client_id', 'redirect_uri']) {
          const empty = await authorize({ client_id: web.clientId, redirect_uri: CALLBACK }, [[name, '']]);
          expect(await expectErrorPage(empty)).toContain(`The parameter ${name} is repeated.`);
        }
      });

      it('an unknown client_id with an invalid rest of the request still gets the page, not a redirect', async () => {
        const res = await authorize({
          client_id: 'nope',
          redirect_uri: CALLBACK,
          response_type: 'token',
          scope: 'x',
        });
        await expectErrorPage(res);
      });
    });

    describe('redirect_uri must equal a registered callback', () => {
      it.each([
        ['a trailing slash', `${CALLBACK}/`],
        ['another path', 'https://rp.example/cb2'],
        ['a path prefix', 'https://rp.example/c'],
        ['another host', 'https://evil.example/cb'],
        ['a subdomain', 'https://a.rp.example/cb'],
        ['an upper-case host', 'https://RP.EXAMPLE/cb'],
        ['an upper-case path', 'https://rp.example/CB'],
        ['an extra query', `${CALLBACK}?next=/admin`],
        ['a fragment', `${CALLBACK}#x`],
        ['http instead of https', 'http://rp.example/cb'],
        ['an explicit port', 'https://rp.example:443/cb'],
        ['a percent-encoded path', 'https://rp.example/%63b'],
      ])('%s → 400 error page, no Location', async (_, redirectUri) => {
        const html = await expectErrorPage(
          await authorize({ client_id: web.clientId, redirect_uri: redirectUri }),
        );
        expect(html).toContain('The redirect_uri is not registered for this application');
        // a slash more or less is named as the difference, the registered URL not repeated
        expect(html.includes('only by a trailing slash')).toBe(redirectUri === `${CALLBACK}/`);
      });

      it('a bad redirect_uri with another bad parameter still gets the page (errors never go to it)', async () => {
        const res = await authorize({
          client_id: web.clientId,
          redirect_uri: 'https://evil.example/cb',
          response_type: 'token',
        });
        await expectErrorPage(res);
      });

      it('a repeated redirect_uri gets a 400 error page', async () => {
        const res = await authorize({ client_id: web.clientId, redirect_uri: CALLBACK }, [
          ['redirect_uri', CALLBACK],
        ]);
        expect(await expectErrorPage(res)).toContain('The parameter redirect_uri is repeated.');
      });

      it('another application’s callback is refused', async () => {
        const res = await authorize({ client_id: web.clientId, redirect_uri: OTHER_CALLBACK });
        await expectErrorPage(res);
      });

      it('the exact registered callback is accepted (the request goes on to the login page)', async () => {
        const res = await authorize({ client_id: web.clientId, redirect_uri: CALLBACK });
        expect({ status: res.status, location: res.headers.get('location') }).toEqual({
          status: 303,
          location: inInteraction('/u/login'),
        });
      });
    });

    describe('redirect_uri omitted', () => {
      it('with exactly one registered callback, the response goes to it and the code exchange needs none', async () => {
        const { creds } = await newUser(t);
        const q = new URLSearchParams({
          response_type: 'code',
          client_id: web.clientId,
          scope: 'openid',
          state: 'one',
          code_challenge: s256(VERIFIER),
          code_challenge_method: 'S256',
        });
        const flow = await browser(t, creds).signIn(`/authorize?${q}`);
        expect(flow.location).not.toBeNull();
        const loc = flow.location as URL;
        expect(`${loc.origin}${loc.pathname}`).toBe(CALLBACK);
        expect(loc.searchParams.get('state')).toBe('one');
        const answer = await tokenRequest(t, {
          grant_type: 'authorization_code',
          code: loc.searchParams.get('code') as string,
          code_verifier: VERIFIER,
          client_id: web.clientId,
          client_secret: web.clientSecret as string,
        });
        expect(answer.status, JSON.stringify(answer.body)).toBe(200);
      });

      it('with exactly one registered callback, errors redirect to it', async () => {
        const res = await authorize({ client_id: web.clientId, scope: 'openid no-such-scope' });
        expect(res.status).toBe(303);
        const loc = new URL(res.headers.get('location') as string);
        expect(`${loc.origin}${loc.pathname}`).toBe(CALLBACK);
        expect(loc.searchParams.get('error')).toBe('invalid_scope');
      });

      it('with two registered callbacks → 400 error page, no Location', async () => {
        const html = await expectErrorPage(await authorize({ client_id: twoCallbacks.clientId }));
        expect(html).toContain('The request has no redirect_uri and the application has several.');
      });

      it('with two registered callbacks, each one is accepted when named', async () => {
        for (const redirectUri of [CALLBACK, OTHER_CALLBACK]) {
          const res = await authorize({ client_id: twoCallbacks.clientId, redirect_uri: redirectUri });
          expect({ redirectUri, status: res.status, location: res.headers.get('location') }).toEqual({
            redirectUri,
            status: 303,
            location: inInteraction('/u/login'),
          });
        }
      });
    });

    describe('loopback redirect for native apps (RFC 8252 §7.3)', () => {
      it.each([
        ['an ephemeral port', 'http://127.0.0.1:51234/cb'],
        ['another port', 'http://127.0.0.1:8080/cb'],
        ['no port', LOOPBACK],
      ])('%s on the registered 127.0.0.1 path signs in (oauth4webapi)', async (_, redirectUri) => {
        const { creds } = await newUser(t);
        const pc = await publicClient(t, native.clientId, redirectUri);
        const { flow, claims, result } = await publicSignIn(t, browser(t, creds), pc);
        const loc = flow.location as URL;
        expect(`${loc.origin}${loc.pathname}`).toBe(`${new URL(redirectUri).origin}/cb`);
        expect(loc.port).toBe(new URL(redirectUri).port);
        expect(claims.aud).toBe(native.clientId);
        expect(result.access_token).toEqual(expect.any(String));
      });

      it.each([
        ['localhost instead of 127.0.0.1', 'http://localhost:51234/cb'],
        ['localhost without a port', 'http://localhost/cb'],
        ['another path', 'http://127.0.0.1:51234/other'],
        ['a trailing slash', 'http://127.0.0.1:51234/cb/'],
        ['an extra query', 'http://127.0.0.1:51234/cb?x=1'],
        ['IPv6 loopback when 127.0.0.1 is registered', 'http://[::1]:51234/cb'],
        ['https on the loopback', 'https://127.0.0.1:51234/cb'],
        ['another 127/8 address', 'http://127.0.0.2:51234/cb'],
      ])('%s → 400 error page, no Location', async (_, redirectUri) => {
        const res = await authorize({ client_id: native.clientId, redirect_uri: redirectUri });
        expect(await expectErrorPage(res)).toContain(
          'The redirect_uri is not registered for this application.',
        );
      });

      it('port 0 → 400 error page', async () => {
        const res = await authorize({ client_id: native.clientId, redirect_uri: 'http://127.0.0.1:0/cb' });
        await expectErrorPage(res);
      });

      it('only for native apps: a web app registered on the loopback gets exactly its callback (RFC 9700 §2.1)', async () => {
        const loopWeb = await t.createApp({ name: 'Loopback web', type: 'web', callbacks: [LOOPBACK] });
        const loopSpa = await t.createApp({
          name: 'Loopback SPA',
          type: 'spa',
          callbacks: ['http://127.0.0.1:3000/cb'],
        });
        for (const [app, uri] of [
          [loopWeb, 'http://127.0.0.1:51234/cb'],
          [loopSpa, 'http://127.0.0.1:3001/cb'],
        ] as const) {
          const res = await authorize({ client_id: app.clientId, redirect_uri: uri });
          expect(await expectErrorPage(res)).toContain(
            'The redirect_uri is not registered for this application.',
          );
        }
      });

      it('a port out of range (70000) → 400 error page, not a server error', async () => {
        const res = await authorize({
          client_id: native.clientId,
          redirect_uri: 'http://127.0.0.1:70000/cb',
        });
        await expectErrorPage(res);
      });

      it('the code exchange must repeat the same port', async () => {
        const { creds } = await newUser(t);
        const redirectUri = 'http://127.0.0.1:40001/cb';
        const pc = await publicClient(t, native.clientId, redirectUri);
        const q = new URLSearchParams({
          response_type: 'code',
          client_id: native.clientId,
          redirect_uri: redirectUri,
          scope: 'openid',
          code_challenge: s256(VERIFIER),
          code_challenge_method: 'S256',
        });
        const flow = await browser(t, creds).signIn(`/authorize?${q}`);
        const code = (flow.location as URL).searchParams.get('code') as string;
        expect(paramsOf((flow.location as URL).searchParams)).toMatchObject({ iss: pc.as.issuer });
        const answer = await tokenRequest(t, {
          grant_type: 'authorization_code',
          code,
          redirect_uri: 'http://127.0.0.1:40002/cb',
          code_verifier: VERIFIER,
          client_id: native.clientId,
        });
        expectTokenError(answer, 400, 'invalid_grant');
      });
    });

    describe('a callback taken off the list while a sign-in waits', () => {
      const urlFor = (clientId: string, redirectUri: string) =>
        authorizationUrl(t, {
          client_id: clientId,
          redirect_uri: redirectUri,
          state: 'st-1',
          code_challenge: s256(VERIFIER),
          code_challenge_method: 'S256',
        });
      /** A new application with both callbacks, and a browser stopped at `page` of a request for OTHER_CALLBACK. */
      async function waitingAt(page: 'login' | 'consent') {
        const app = await t.createApp({
          name: 'Changing',
          type: 'web',
          callbacks: [CALLBACK, OTHER_CALLBACK],
        });
        const { creds } = await newUser(t);
        const agent = browser(t, creds);
        const url = urlFor(app.clientId, OTHER_CALLBACK);
        if (page === 'consent') {
          // signed in already (an earlier request), so this one stops at consent
          const first = await agent.signIn(urlFor(app.clientId, CALLBACK), {
            stopAt: 'consent',
          });
          expect(first.pages).toEqual(['login', 'consent']);
        }
        const flow = await agent.signIn(url, { stopAt: page });
        expect(flow.pages.at(-1)).toBe(page);
        await t.rt.storage.applications.update(app.clientId, { callbacks: [CALLBACK] }, t.clock.now());
        return { agent, creds, html: flow.html[page] as string };
      }

      it('signing in then gives an error page, no code to the removed callback', async () => {
        const { agent, creds, html } = await waitingAt('login');
        const login = await agent.post('/u/login', {
          csrf: csrfOf(html),
          email: creds.email,
          password: creds.password,
        });
        expect(login.status).toBe(303);
        const resume = await agent.get(new URL(login.headers.get('location') as string, t.issuer));
        expect(await expectErrorPage(resume)).toContain('no longer has this callback URL');
      });

      it('neither Allow nor Deny on the consent page sends anything to the removed callback', async () => {
        for (const decision of ['allow', 'deny']) {
          const { agent, html } = await waitingAt('consent');
          const answer = await agent.post('/u/consent', { csrf: csrfOf(html), decision });
          expect(await expectErrorPage(answer)).toContain('no longer has this callback URL');
        }
      });
    });
  },
);
