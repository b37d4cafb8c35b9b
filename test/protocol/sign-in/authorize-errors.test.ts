import * as client from 'openid-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Api } from '../../../src/storage/types.js';
import { startTestApp, type TestApp } from '../../support/app.js';
import { describeEachBackend } from '../../support/databases.js';
import { inInteraction, type UserAgent, unescapeHtml } from './agent.js';
import {
  browser,
  CALLBACK,
  newUser,
  paramsOf,
  publicAuthorizationUrl,
  publicClient,
  publicExchange,
  SPA_CALLBACK,
  s256,
  webAuthorizationUrl,
  webConfig,
  webSignIn,
} from './fixtures.js';

const VERIFIER = 'x'.repeat(50);
const ODD_STATE = `a b  "quoted" 'single' é 日本 🍣 &amp;=+%20/?#`;
const XSS_STATE = `"><script>alert(1)</script>`;

describeEachBackend('sign-in: authorization errors and responses (RFC 6749 §4.1.2, RFC 9207)', (backend) => {
  let t: TestApp;
  let api: Api;
  let web: { clientId: string; clientSecret?: string };
  let spa: { clientId: string };

  beforeAll(async () => {
    t = await startTestApp(backend);
    api = await t.createApi();
    web = await t.createApp({ name: 'Web', type: 'web', callbacks: [CALLBACK] });
    spa = await t.createApp({ name: 'SPA', type: 'spa', callbacks: [SPA_CALLBACK] });
  });
  afterAll(async () => t?.close());

  const base = (): Record<string, string> => ({
    response_type: 'code',
    client_id: web.clientId,
    redirect_uri: CALLBACK,
    scope: 'openid',
    state: 'st-42',
    code_challenge: s256(VERIFIER),
    code_challenge_method: 'S256',
  });

  /** GET /authorize with `params` (over the base request), plus repeated pairs, as `agent` or cookie-less. */
  async function authorize(
    params: Record<string, string | null>,
    opts: { repeat?: [string, string][]; agent?: UserAgent } = {},
  ): Promise<Response> {
    const q = new URLSearchParams();
    for (const [k, v] of Object.entries({ ...base(), ...params })) if (v !== null) q.append(k, v);
    for (const [k, v] of opts.repeat ?? []) q.append(k, v);
    const url = `${t.issuer}/authorize?${q}`;
    return opts.agent ? opts.agent.get(url) : t.fetch(url, { redirect: 'manual' });
  }

  /** The error redirect's parameters, after checking it goes to the callback with iss. */
  function errorRedirect(res: Response, callback = CALLBACK): Record<string, string> {
    expect(res.status).toBe(303);
    const loc = new URL(res.headers.get('location') as string);
    expect(`${loc.origin}${loc.pathname}`).toBe(callback);
    const p = paramsOf(loc.searchParams);
    expect(p.iss).toBe(t.issuer);
    expect(p.error_description).toEqual(expect.any(String));
    expect(p.code).toBeUndefined();
    return p;
  }

  describe('once redirect_uri is trusted, errors redirect with error, error_description, state and iss', () => {
    it('response_type=id_token token for an app without the implicit grant → unauthorized_client, in the fragment', async () => {
      const res = await authorize({ response_type: 'id_token token', nonce: 'n-1' });
      expect(res.status).toBe(303);
      const loc = new URL(res.headers.get('location') as string);
      expect(loc.search).toBe('');
      const p = paramsOf(new URLSearchParams(loc.hash.slice(1)));
      expect(p).toMatchObject({ error: 'unauthorized_client', state: 'st-42', iss: t.issuer });
      expect(p.access_token).toBeUndefined();
    });

    it('response_type=code id_token (hybrid) without the implicit grant → unauthorized_client', async () => {
      const res = await authorize({ response_type: 'code id_token', nonce: 'n-1' });
      const loc = new URL(res.headers.get('location') as string);
      expect(paramsOf(new URLSearchParams(loc.hash.slice(1))).error).toBe('unauthorized_client');
    });

    it('an unknown response_type → unsupported_response_type', async () => {
      const p = errorRedirect(await authorize({ response_type: 'code code_token' }));
      expect(p).toEqual({
        error: 'unsupported_response_type',
        error_description: 'response_type code code_token is not supported',
        state: 'st-42',
        iss: t.issuer,
      });
    });

    it('no response_type → invalid_request', async () => {
      const p = errorRedirect(await authorize({ response_type: null }));
      expect([p.error, p.state]).toEqual(['invalid_request', 'st-42']);
    });

    it('an unknown scope → invalid_scope naming it', async () => {
      const p = errorRedirect(await authorize({ scope: 'openid launch:rockets' }));
      expect(p).toMatchObject({ error: 'invalid_scope', state: 'st-42' });
      expect(p.error_description).toContain('launch:rockets');
    });

    it('an API scope without the API’s audience → invalid_scope', async () => {
      const p = errorRedirect(await authorize({ scope: 'openid read:things' }));
      expect(p.error).toBe('invalid_scope');
    });

    it('a scope of the API with its audience is accepted (goes on to login)', async () => {
      const res = await authorize({ scope: 'openid read:things', audience: api.identifier });
      expect([res.status, res.headers.get('location')]).toEqual([303, inInteraction('/u/login')]);
    });

    it('an unknown audience → invalid_target', async () => {
      const p = errorRedirect(await authorize({ audience: 'https://unknown.example/api' }));
      expect(p).toMatchObject({ error: 'invalid_target', state: 'st-42' });
    });

    it('an unknown resource (RFC 8707) → invalid_target', async () => {
      const p = errorRedirect(await authorize({ resource: 'https://unknown.example/api' }));
      expect(p.error).toBe('invalid_target');
    });

    it('resource may repeat (RFC 8707 §2): the same API twice goes on; two APIs → invalid_target', async () => {
      const same = await authorize({ resource: api.identifier }, { repeat: [['resource', api.identifier]] });
      expect([same.status, same.headers.get('location')]).toEqual([303, inInteraction('/u/login')]);
      const two = await authorize(
        { resource: api.identifier },
        { repeat: [['resource', 'https://other.example/api']] },
      );
      expect(errorRedirect(two)).toMatchObject({ error: 'invalid_target', state: 'st-42' });
    });

    it.each([
      ['request', 'request_not_supported', 'eyJhbGciOiJub25lIn0.eyJzY29wZSI6Im9wZW5pZCJ9.'],
      ['request_uri', 'request_uri_not_supported', 'https://rp.example/request.jwt'],
      ['registration', 'registration_not_supported', '{"logo_uri":"https://rp.example/logo.png"}'],
    ])('%s (OIDC Core §3.1.2.6) → %s, no code', async (name, error, value) => {
      const p = errorRedirect(await authorize({ [name]: value }));
      expect(p).toMatchObject({ error, state: 'st-42' });
    });

    it('scope sent twice → invalid_request naming scope, state still echoed', async () => {
      const p = errorRedirect(await authorize({}, { repeat: [['scope', 'openid']] }));
      expect(p).toMatchObject({ error: 'invalid_request', state: 'st-42' });
      expect(p.error_description).toContain('scope');
    });

    it.each(['response_type', 'nonce', 'code_challenge', 'prompt'])(
      '%s sent twice → invalid_request',
      async (name) => {
        const p = errorRedirect(await authorize({ prompt: 'login', nonce: 'n' }, { repeat: [[name, 'x']] }));
        expect(p.error).toBe('invalid_request');
        expect(p.error_description).toContain(name);
      },
    );

    it.each(['code_challenge', 'state', 'nonce'])(
      '%s sent again empty → invalid_request (a repeat, though an empty value counts as omitted)',
      async (name) => {
        const p = errorRedirect(await authorize({ nonce: 'n' }, { repeat: [[name, '']] }));
        expect(p.error).toBe('invalid_request');
        expect(p.error_description).toContain(`parameter ${name} is repeated`);
      },
    );

    it('state sent twice → invalid_request, and neither state is echoed', async () => {
      const p = errorRedirect(await authorize({}, { repeat: [['state', 'other']] }));
      expect(p.error).toBe('invalid_request');
      expect(p.state).toBeUndefined();
    });

    it('an unknown response_mode → invalid_request, with the state echoed', async () => {
      const p = errorRedirect(await authorize({ response_mode: 'jwt' }));
      expect(p).toMatchObject({ error: 'invalid_request', state: 'st-42' });
    });

    it('an unknown response_mode with tokens asked of /authorize → the error in the fragment', async () => {
      const res = await authorize({ response_type: 'id_token token', nonce: 'n-1', response_mode: 'bogus' });
      expect(res.status).toBe(303);
      const loc = new URL(res.headers.get('location') as string);
      expect(loc.search).toBe('');
      expect(paramsOf(new URLSearchParams(loc.hash.slice(1)))).toMatchObject({
        error: 'invalid_request',
        state: 'st-42',
      });
    });

    it('a parameter that cannot be read (a NUL) → an HTML error page, not JSON', async () => {
      const res = await authorize({ state: 'a\u0000b' });
      expect(res.status).toBe(400);
      expect(res.headers.get('content-type')).toMatch(/^text\/html/);
      expect(await res.text()).toContain('NUL');
    });

    it('a malformed max_age → invalid_request', async () => {
      const p = errorRedirect(await authorize({ max_age: '-1' }));
      expect(p.error).toBe('invalid_request');
    });

    it('prompt=none combined with login → invalid_request', async () => {
      const p = errorRedirect(await authorize({ prompt: 'none login' }));
      expect(p.error).toBe('invalid_request');
    });

    it('without a state, the error carries none', async () => {
      const p = errorRedirect(await authorize({ state: null, scope: 'openid nope' }));
      expect(Object.keys(p).sort()).toEqual(['error', 'error_description', 'iss']);
    });
  });

  describe('prompt=none (OIDC Core §3.1.2.6)', () => {
    it('without a session → login_required', async () => {
      const p = errorRedirect(await authorize({ prompt: 'none' }));
      expect(p).toMatchObject({ error: 'login_required', state: 'st-42' });
    });

    it('with a session but no consent for this application → consent_required', async () => {
      const { creds } = await newUser(t);
      const agent = browser(t, creds);
      const other = await t.createApp({ name: 'Other', type: 'web', callbacks: [CALLBACK] });
      await webSignIn(agent, await webConfig(t, other));
      const p = errorRedirect(await authorize({ prompt: 'none' }, { agent }));
      expect(p).toMatchObject({ error: 'consent_required', state: 'st-42' });
    });

    it('with a session and consent → a code, no page', async () => {
      const { creds } = await newUser(t);
      const agent = browser(t, creds);
      const config = await webConfig(t, web);
      await webSignIn(agent, config);
      const pending = await webAuthorizationUrl(config, { prompt: 'none' });
      const flow = await agent.signIn(pending.url);
      expect(flow.pages).toEqual([]);
      const tokens = await client.authorizationCodeGrant(config, flow.location as URL, {
        pkceCodeVerifier: pending.verifier,
        expectedNonce: pending.nonce,
        expectedState: pending.state,
      });
      expect(tokens.claims()?.aud).toBe(web.clientId);
    });
  });

  describe('a successful response', () => {
    it('carries code, state and iss, and the state comes back exactly (spaces, quotes, unicode)', async () => {
      const { creds } = await newUser(t);
      const config = await webConfig(t, web);
      const pending = await webAuthorizationUrl(config, { state: ODD_STATE });
      const flow = await browser(t, creds).signIn(pending.url);
      const loc = flow.location as URL;
      expect(`${loc.origin}${loc.pathname}`).toBe(CALLBACK);
      expect(Object.keys(paramsOf(loc.searchParams)).sort()).toEqual(['code', 'iss', 'state']);
      expect(loc.searchParams.get('state')).toBe(ODD_STATE);
      expect(loc.searchParams.get('iss')).toBe(t.issuer);
      const tokens = await client.authorizationCodeGrant(config, loc, {
        pkceCodeVerifier: pending.verifier,
        expectedNonce: pending.nonce,
        expectedState: ODD_STATE,
      });
      expect(tokens.access_token).toEqual(expect.any(String));
    });

    it('an error carries the odd state back exactly too', async () => {
      const p = errorRedirect(await authorize({ state: ODD_STATE, scope: 'openid nope' }));
      expect(p.state).toBe(ODD_STATE);
    });

    it('keeps the registered callback’s own query parameters', async () => {
      const withQuery = 'https://rp.example/cb?tenant=a%20b';
      const app = await t.createApp({ name: 'Q', type: 'web', callbacks: [withQuery] });
      const res = await authorize({ client_id: app.clientId, redirect_uri: withQuery, scope: 'nope' });
      const loc = new URL(res.headers.get('location') as string);
      expect(loc.searchParams.get('tenant')).toBe('a b');
      expect(loc.searchParams.get('error')).toBe('invalid_scope');
    });

    it('keeps the registered query byte for byte, the parameters added after it (RFC 6749 §3.1.2)', async () => {
      const withQuery = 'https://rp.example/cb?x=a%20b&flag&y=~%7E';
      const app = await t.createApp({ name: 'Q2', type: 'web', callbacks: [withQuery] });
      const res = await authorize({ client_id: app.clientId, redirect_uri: withQuery, scope: 'nope' });
      const location = res.headers.get('location') as string;
      expect(location.startsWith(`${withQuery}&error=invalid_scope&`)).toBe(true);
    });
  });

  describe('response_mode=fragment', () => {
    it('puts code, state and iss in the fragment, nothing in the query (oauth4webapi exchanges it)', async () => {
      const { creds } = await newUser(t);
      const pc = await publicClient(t, spa.clientId, SPA_CALLBACK);
      const pending = await publicAuthorizationUrl(pc, { response_mode: 'fragment', state: ODD_STATE });
      const flow = await browser(t, creds).signIn(pending.url);
      const loc = flow.location as URL;
      expect(`${loc.origin}${loc.pathname}`).toBe(SPA_CALLBACK);
      expect(loc.search).toBe('');
      const fragment = new URLSearchParams(loc.hash.slice(1));
      expect(Object.keys(paramsOf(fragment)).sort()).toEqual(['code', 'iss', 'state']);
      expect(fragment.get('state')).toBe(ODD_STATE);
      expect(fragment.get('iss')).toBe(t.issuer);
      const { claims } = await publicExchange(t, pc, fragment, pending);
      expect(claims.aud).toBe(spa.clientId);
    });

    it('puts errors in the fragment', async () => {
      const res = await authorize({ response_mode: 'fragment', scope: 'nope' });
      expect(res.status).toBe(303);
      const loc = new URL(res.headers.get('location') as string);
      expect(loc.search).toBe('');
      expect(paramsOf(new URLSearchParams(loc.hash.slice(1)))).toMatchObject({
        error: 'invalid_scope',
        state: 'st-42',
        iss: t.issuer,
      });
    });
  });

  describe('response_mode=form_post', () => {
    /** The form of a form_post page: its action and hidden fields (entities decoded). */
    function formOf(html: string): { action: string; fields: Record<string, string> } {
      const action = /<form[^>]*action="([^"]*)"/.exec(html)?.[1];
      const fields: Record<string, string> = {};
      for (const m of html.matchAll(/<input type="hidden" name="([^"]*)" value="([^"]*)"/g)) {
        fields[unescapeHtml(m[1] as string)] = unescapeHtml(m[2] as string);
      }
      return { action: unescapeHtml(action ?? ''), fields };
    }

    it('answers with an auto-submitting form to the redirect_uri, values escaped (openid-client exchanges it)', async () => {
      const { creds } = await newUser(t);
      const config = await webConfig(t, web);
      const pending = await webAuthorizationUrl(config, { response_mode: 'form_post', state: XSS_STATE });
      const flow = await browser(t, creds).signIn(pending.url);
      expect(flow.location).toBeNull();
      const res = flow.response;
      expect(res.status).toBe(200);
      expect(res.headers.get('location')).toBeNull();
      expect(res.headers.get('content-type')).toMatch(/^text\/html/);
      const html = await res.text();
      expect(html).not.toContain(XSS_STATE);
      expect(html).not.toContain('<script>alert(1)');
      const form = formOf(html);
      expect(form.action).toBe(CALLBACK);
      expect(Object.keys(form.fields).sort()).toEqual(['code', 'iss', 'state']);
      expect(form.fields.state).toBe(XSS_STATE);
      expect(form.fields.iss).toBe(t.issuer);
      // the auto-submit script runs under the page's CSP nonce
      const nonce = /script-src 'nonce-([^']+)'/.exec(res.headers.get('content-security-policy') ?? '')?.[1];
      expect(nonce).toBeTruthy();
      expect(html).toMatch(new RegExp(`<script nonce="${nonce}">[^<]*submit\\(\\)`));
      expect(res.headers.get('content-security-policy')).toContain('form-action https://rp.example');
      const post = new Request(CALLBACK, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams(form.fields),
      });
      const tokens = await client.authorizationCodeGrant(config, post, {
        pkceCodeVerifier: pending.verifier,
        expectedNonce: pending.nonce,
        expectedState: XSS_STATE,
      });
      expect(tokens.claims()?.aud).toBe(web.clientId);
    });

    it('posts errors the same way, escaped', async () => {
      const res = await authorize({ response_mode: 'form_post', scope: 'nope', state: XSS_STATE });
      expect(res.status).toBe(200);
      expect(res.headers.get('location')).toBeNull();
      const html = await res.text();
      expect(html).not.toContain(XSS_STATE);
      const form = formOf(html);
      expect(form.action).toBe(CALLBACK);
      expect(form.fields).toMatchObject({ error: 'invalid_scope', state: XSS_STATE, iss: t.issuer });
    });
  });
});
