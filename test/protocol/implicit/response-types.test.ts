// The shape of implicit and hybrid authorization responses (OIDC Core §3.2.2.5, §3.3.2.5;
// OAuth 2.0 Multiple Response Types §2.1, §5; OAuth 2.0 Form Post Response Mode §2; RFC 9207),
// and the errors those response types have of their own. Every response type, every mode.
import { Script } from 'node:vm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Api } from '../../../src/storage/types.js';
import { startTestApp, type TestApp } from '../../support/app.js';
import { describeEachBackend } from '../../support/databases.js';
import { type SignInResult, type UserAgent, unescapeHtml } from '../sign-in/agent.js';
import { authorizationUrl, browser, CALLBACK, newUser } from '../sign-in/fixtures.js';

/** The six response types that return something from /authorize besides a bare code. */
const IMPLICIT_TYPES = [
  'id_token',
  'id_token token',
  'code id_token',
  'code token',
  'code id_token token',
  'token',
];
const ALL_TYPES = ['code', ...IMPLICIT_TYPES];

const ACCESS_FIELDS = ['access_token', 'token_type', 'expires_in', 'scope'];

/**
 * The parameters each response type returns, besides state and iss: code; access_token with
 * token_type, expires_in and scope (RFC 6749 §4.2.2); id_token.
 */
function expectedFields(responseType: string): string[] {
  const parts = responseType.split(' ');
  return [
    ...(parts.includes('code') ? ['code'] : []),
    ...(parts.includes('token') ? ACCESS_FIELDS : []),
    ...(parts.includes('id_token') ? ['id_token'] : []),
    'state',
    'iss',
  ].sort();
}

/** The hidden fields and action of a form_post page, entities decoded. */
function formPostOf(html: string): { action: string | null; fields: [string, string][] } {
  const action = /<form[^>]*\saction="([^"]*)"/.exec(html)?.[1];
  const fields: [string, string][] = [];
  for (const m of html.matchAll(/<input\b([^>]*)>/g)) {
    const attrs = m[1] ?? '';
    if (!/\stype="hidden"/.test(attrs)) continue;
    const name = /\sname="([^"]*)"/.exec(attrs)?.[1];
    const value = /\svalue="([^"]*)"/.exec(attrs)?.[1];
    if (name !== undefined) fields.push([unescapeHtml(name), unescapeHtml(value ?? '')]);
  }
  return { action: action === undefined ? null : unescapeHtml(action), fields };
}

/**
 * Runs a page script as a browser would (its raw text) against a stand-in document, and returns
 * the ids of the forms it submitted; a script that does not compile fails with its SyntaxError.
 */
function submittedFormIds(script: string): string[] {
  const submitted: string[] = [];
  const document = { getElementById: (id: string) => ({ submit: () => submitted.push(id) }) };
  new Script(script, { filename: 'form-post-page-script.js' }).runInNewContext({ document });
  return submitted;
}

/** The fragment parameters of a redirect to the client, and its query (which must stay empty). */
function fragmentOf(flow: SignInResult): { fragment: URLSearchParams; query: URLSearchParams; base: string } {
  const loc = flow.location;
  if (!loc) throw new Error(`no redirect to the client (status ${flow.response.status})`);
  return {
    fragment: new URLSearchParams(loc.hash.slice(1)),
    query: loc.searchParams,
    base: `${loc.origin}${loc.pathname}`,
  };
}

describeEachBackend('implicit and hybrid: response types and modes (OIDC Core §3.2, §3.3)', (backend) => {
  let t: TestApp;
  let api: Api;
  let web: { clientId: string; clientSecret?: string };
  let codeOnly: { clientId: string; clientSecret?: string };
  let agent: UserAgent;

  beforeAll(async () => {
    t = await startTestApp(backend);
    api = await t.createApi({ allowOfflineAccess: true });
    web = await t.createApp({
      name: 'Implicit Web',
      type: 'web',
      requirePkce: false,
      callbacks: [CALLBACK],
      grants: ['authorization_code', 'refresh_token', 'implicit'],
    });
    codeOnly = await t.createApp({
      name: 'Code Only',
      type: 'web',
      requirePkce: false,
      callbacks: [CALLBACK],
    });
    const { creds } = await newUser(t, { name: 'Ada Lovelace' });
    agent = browser(t, creds);
  });
  afterAll(async () => t?.close());

  /** An authorization request of `responseType`: OIDC types with openid and a nonce, `token` alone OAuth-only. */
  const requestFor = (responseType: string, extra: Record<string, string | null> = {}) =>
    authorizationUrl(t, {
      response_type: responseType,
      client_id: web.clientId,
      redirect_uri: CALLBACK,
      ...(responseType === 'token'
        ? { scope: 'read:things', audience: api.identifier }
        : { scope: 'openid profile', nonce: 'n-0S6_WzA2Mj' }),
      state: `state-${responseType.replace(/ /g, '-')}`,
      ...extra,
    });

  describe('fragment, the default response mode', () => {
    for (const responseType of IMPLICIT_TYPES) {
      it(`response_type=${responseType}: exactly its fields in the fragment, nothing in the query`, async () => {
        const flow = await agent.signIn(requestFor(responseType));
        expect(flow.response.status).toBe(303);
        expect(flow.response.headers.get('cache-control')).toBe('no-store');
        const { fragment, query, base } = fragmentOf(flow);
        expect(base).toBe(CALLBACK);
        expect([...query.keys()]).toEqual([]);
        expect([...fragment.keys()].sort()).toEqual(expectedFields(responseType));
        for (const name of fragment.keys()) expect(fragment.getAll(name), name).toHaveLength(1);
        expect(fragment.get('state')).toBe(`state-${responseType.replace(/ /g, '-')}`);
        expect(fragment.get('iss')).toBe(t.issuer);
        const parts = responseType.split(' ');
        if (parts.includes('token')) {
          expect(fragment.get('token_type')).toBe('Bearer');
          expect(fragment.get('expires_in')).toMatch(/^[1-9]\d*$/);
          expect(fragment.get('access_token')?.split('.')).toHaveLength(3);
          expect(fragment.get('scope')).toBe(responseType === 'token' ? 'read:things' : 'openid profile');
        }
        if (parts.includes('code')) expect(fragment.get('code')).toMatch(/^[A-Za-z0-9_-]{43}$/);
        if (parts.includes('id_token')) expect(fragment.get('id_token')?.split('.')).toHaveLength(3);
      });
    }

    it('response_type=code alone still answers in the query (the default mode follows the type)', async () => {
      const flow = await agent.signIn(requestFor('code', { nonce: 'n' }));
      const loc = flow.location as URL;
      expect(loc.hash).toBe('');
      expect([...loc.searchParams.keys()].sort()).toEqual(['code', 'iss', 'state']);
    });

    it('response_mode=fragment sent explicitly gives the same fragment response', async () => {
      const flow = await agent.signIn(requestFor('code id_token token', { response_mode: 'fragment' }));
      const { fragment, query } = fragmentOf(flow);
      expect([...query.keys()]).toEqual([]);
      expect([...fragment.keys()].sort()).toEqual(expectedFields('code id_token token'));
    });

    it('returns no refresh_token even with offline_access granted on an API that allows it', async () => {
      for (const responseType of ['code id_token token', 'code token', 'token', 'id_token token']) {
        const scope =
          responseType === 'token' ? 'offline_access read:things' : 'openid offline_access read:things';
        const flow = await agent.signIn(requestFor(responseType, { scope, audience: api.identifier }));
        const { fragment, query } = fragmentOf(flow);
        expect(fragment.get('access_token'), responseType).toEqual(expect.any(String));
        expect(fragment.has('refresh_token'), responseType).toBe(false);
        expect(query.has('refresh_token'), responseType).toBe(false);
        expect(flow.location?.toString()).not.toContain('refresh_token');
      }
    });
  });

  describe('form_post (OAuth 2.0 Form Post Response Mode §2)', () => {
    for (const responseType of IMPLICIT_TYPES) {
      it(`response_type=${responseType}: an auto-submitting form to the callback with exactly its fields`, async () => {
        const flow = await agent.signIn(requestFor(responseType, { response_mode: 'form_post' }));
        expect(flow.location).toBeNull();
        const res = flow.response;
        expect(res.status).toBe(200);
        expect(res.headers.get('location')).toBeNull();
        expect(res.headers.get('content-type')).toMatch(/^text\/html/);
        expect(res.headers.get('cache-control')).toBe('no-store');
        const csp = res.headers.get('content-security-policy') ?? '';
        expect(csp).toContain('form-action https://rp.example');
        const html = await res.text();
        const { action, fields } = formPostOf(html);
        expect(action).toBe(CALLBACK);
        expect(/<form[^>]*\smethod="post"/.test(html)).toBe(true);
        expect(fields.map(([n]) => n).sort()).toEqual(expectedFields(responseType));
        const byName = Object.fromEntries(fields);
        expect(byName.state).toBe(`state-${responseType.replace(/ /g, '-')}`);
        expect(byName.iss).toBe(t.issuer);
        if (responseType.split(' ').includes('token')) expect(byName.token_type).toBe('Bearer');
      });
    }

    it('submits itself: its one script is allowed by the CSP nonce and, run as JavaScript, submits the form', async () => {
      const flow = await agent.signIn(requestFor('code id_token token', { response_mode: 'form_post' }));
      const csp = flow.response.headers.get('content-security-policy') ?? '';
      expect(csp).toContain("default-src 'none'");
      const html = await flow.response.text();
      const nonce = /script-src 'nonce-([^']+)'/.exec(csp)?.[1];
      expect(nonce).toEqual(expect.any(String));
      const scripts = [...html.matchAll(/<script\b([^>]*)>([\s\S]*?)<\/script>/g)];
      expect(scripts).toHaveLength(1);
      expect(scripts[0]?.[1]).toBe(` nonce="${nonce}"`);
      const formId = /<form\b[^>]*\sid="([^"]+)"/.exec(html)?.[1];
      expect(formId).toEqual(expect.any(String));
      // What a browser runs is the raw text of the element (no entity decoding inside <script>).
      expect(submittedFormIds(scripts[0]?.[2] ?? '')).toEqual([formId]);
    });

    it('escapes the values it writes into the form (state with quotes, angle brackets, ampersands)', async () => {
      const state = `"><script>alert(1)</script>&amp;'x`;
      const flow = await agent.signIn(requestFor('id_token token', { response_mode: 'form_post', state }));
      const html = await flow.response.text();
      expect(html).not.toContain('<script>alert(1)</script>');
      expect(html).not.toContain(`"><script>`);
      const { fields } = formPostOf(html);
      expect(Object.fromEntries(fields).state).toBe(state);
      // Exactly one script on the page: the submitting one.
      expect(html.match(/<script\b/g)).toHaveLength(1);
    });

    it('delivers errors of a form_post request by form_post too (nonce missing)', async () => {
      const flow = await agent.signIn(
        requestFor('id_token token', { response_mode: 'form_post', nonce: null }),
      );
      expect(flow.response.status).toBe(200);
      const { action, fields } = formPostOf(await flow.response.text());
      expect(action).toBe(CALLBACK);
      expect(Object.fromEntries(fields)).toEqual({
        error: 'invalid_request',
        error_description: 'nonce is required when an ID token is returned',
        state: 'state-id_token-token',
        iss: t.issuer,
      });
    });
  });

  describe('response_mode=query is refused for tokens (Multiple Response Types §5, RFC 9700 §2.1.2)', () => {
    for (const responseType of IMPLICIT_TYPES) {
      it(`response_type=${responseType}: invalid_request in the fragment, nothing in the query`, async () => {
        const res = await agent.get(requestFor(responseType, { response_mode: 'query' }));
        expect(res.status).toBe(303);
        const loc = new URL(res.headers.get('location') as string);
        expect(`${loc.origin}${loc.pathname}`).toBe(CALLBACK);
        for (const name of ['access_token', 'id_token', 'code']) {
          expect(loc.searchParams.has(name), name).toBe(false);
          expect(new URLSearchParams(loc.hash.slice(1)).has(name), name).toBe(false);
        }
        // The error goes where this response type's responses go: the fragment.
        expect(Object.fromEntries(new URLSearchParams(loc.hash.slice(1)))).toEqual({
          error: 'invalid_request',
          error_description: `response_mode query is not allowed with response_type ${responseType}`,
          state: `state-${responseType.replace(/ /g, '-')}`,
          iss: t.issuer,
        });
        expect([...loc.searchParams.keys()]).toEqual([]);
      });
    }
  });

  describe('errors of their own, in the fragment', () => {
    /** GET /authorize (no session needed: these are refused before login) → the fragment as an object. */
    async function fragmentError(url: string): Promise<Record<string, string>> {
      const res = await t.fetch(url, { redirect: 'manual' });
      expect(res.status).toBe(303);
      const loc = new URL(res.headers.get('location') as string);
      expect(`${loc.origin}${loc.pathname}`).toBe(CALLBACK);
      expect([...loc.searchParams.keys()], 'nothing in the query').toEqual([]);
      return Object.fromEntries(new URLSearchParams(loc.hash.slice(1)));
    }

    for (const responseType of IMPLICIT_TYPES.filter((r) => r.includes('id_token'))) {
      it(`response_type=${responseType} without nonce: invalid_request (OIDC Core §3.2.2.1)`, async () => {
        expect(await fragmentError(requestFor(responseType, { nonce: null }))).toEqual({
          error: 'invalid_request',
          error_description: 'nonce is required when an ID token is returned',
          state: `state-${responseType.replace(/ /g, '-')}`,
          iss: t.issuer,
        });
      });

      it(`response_type=${responseType} without openid in scope: invalid_request`, async () => {
        expect(
          await fragmentError(
            requestFor(responseType, { scope: 'profile read:things', audience: api.identifier }),
          ),
        ).toEqual({
          error: 'invalid_request',
          error_description: 'scope must include openid for an id_token response',
          state: `state-${responseType.replace(/ /g, '-')}`,
          iss: t.issuer,
        });
      });
    }

    it('code token and token need no nonce (only an ID token does)', async () => {
      for (const responseType of ['code token', 'token']) {
        const flow = await agent.signIn(requestFor(responseType, { nonce: null }));
        const { fragment } = fragmentOf(flow);
        expect(fragment.get('error'), responseType).toBeNull();
        expect(fragment.get('access_token'), responseType).toEqual(expect.any(String));
      }
    });

    for (const responseType of IMPLICIT_TYPES) {
      it(`response_type=${responseType} for an application without the implicit grant: unauthorized_client`, async () => {
        const url = requestFor(responseType, { client_id: codeOnly.clientId });
        expect(await fragmentError(url)).toEqual({
          error: 'unauthorized_client',
          error_description: `client is not allowed to use response_type ${responseType}`,
          state: `state-${responseType.replace(/ /g, '-')}`,
          iss: t.issuer,
        });
      });
    }

    it('an application without the implicit grant still gets codes in the query', async () => {
      const flow = await agent.signIn(requestFor('code', { client_id: codeOnly.clientId }));
      expect(flow.location?.searchParams.get('code')).toEqual(expect.any(String));
      expect(flow.location?.hash).toBe('');
    });

    it('prompt=none without a session: login_required in the fragment', async () => {
      expect(await fragmentError(requestFor('id_token token', { prompt: 'none' }))).toEqual({
        error: 'login_required',
        error_description: 'the user is not signed in',
        state: 'state-id_token-token',
        iss: t.issuer,
      });
    });

    it('Deny on the consent page: access_denied in the fragment', async () => {
      const { creds } = await newUser(t);
      const flow = await browser(t, creds).signIn(requestFor('code id_token token'), { consent: 'deny' });
      expect(flow.pages).toEqual(['login', 'consent']);
      const { fragment, query } = fragmentOf(flow);
      expect([...query.keys()]).toEqual([]);
      expect(Object.fromEntries(fragment)).toEqual({
        error: 'access_denied',
        error_description: 'the user denied the request',
        state: 'state-code-id_token-token',
        iss: t.issuer,
      });
    });

    it('an unknown response_type combination: unsupported_response_type', async () => {
      const res = await t.fetch(requestFor('id_token code none'), { redirect: 'manual' });
      expect(res.status).toBe(303);
      const loc = new URL(res.headers.get('location') as string);
      const all = {
        ...Object.fromEntries(loc.searchParams),
        ...Object.fromEntries(new URLSearchParams(loc.hash.slice(1))),
      };
      expect(all.error).toBe('unsupported_response_type');
      expect(all.access_token).toBeUndefined();
    });
  });

  describe('discovery', () => {
    for (const doc of ['openid-configuration', 'oauth-authorization-server']) {
      it(`/.well-known/${doc} lists all seven response types, and fragment and form_post`, async () => {
        const meta = (await (await t.fetch(`${t.issuer}/.well-known/${doc}`)).json()) as Record<
          string,
          unknown
        >;
        expect([...(meta.response_types_supported as string[])].sort()).toEqual([...ALL_TYPES].sort());
        expect(meta.response_types_supported).toHaveLength(7);
        expect(meta.response_modes_supported).toEqual(
          expect.arrayContaining(['query', 'fragment', 'form_post']),
        );
        expect(meta.grant_types_supported).toEqual(
          expect.arrayContaining(['authorization_code', 'implicit']),
        );
      });
    }
  });
});
