// Issue #13 §2: response_mode=web_message (auth0-spa-js's silent authentication in an iframe and
// its popup flow): a page on Sesame's origin that posts the response to the redirect_uri's
// origin only, framable by the application's registered origins only.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from '../../support/app.js';
import { describeEachBackend } from '../../support/databases.js';
import type { UserAgent } from '../sign-in/agent.js';
import { browser, newUser } from '../sign-in/fixtures.js';
import {
  authorizeRequest,
  codeForm,
  cspDirective,
  endpoint,
  type Pending,
  postForm,
  SPA_CALLBACK,
  SPA_ORIGIN,
  type SpaClient,
  scriptsOf,
  signIn,
  WEB_ORIGIN,
  webMessageOf,
} from './support.js';

const LOCAL_CALLBACK = 'http://localhost:5173/cb';
const HOSTILE = `"'<>&</script><script>alert(1)</script>`;

describeEachBackend('spa: response_mode=web_message (issue #13 §2)', (backend) => {
  let t: TestApp;
  let spa: SpaClient;
  let other: SpaClient;
  let native: SpaClient;
  let creds: { email: string; password: string };
  /** A browser signed in to `spa` (consent given), not to `other`. */
  let agent: UserAgent;

  beforeAll(async () => {
    t = await startTestApp(backend);
    const a = await t.createApp({
      name: 'SPA',
      type: 'spa',
      callbacks: [SPA_CALLBACK, LOCAL_CALLBACK],
      webOrigins: [WEB_ORIGIN],
    });
    spa = { clientId: a.clientId, redirectUri: SPA_CALLBACK };
    const b = await t.createApp({ name: 'Other SPA', type: 'spa', callbacks: ['https://b.example/cb'] });
    other = { clientId: b.clientId, redirectUri: 'https://b.example/cb' };
    const n = await t.createApp({ name: 'Native', type: 'native', callbacks: ['com.example.app:/cb'] });
    native = { clientId: n.clientId, redirectUri: 'com.example.app:/cb' };
    creds = (await newUser(t)).creds;
    agent = browser(t, creds);
    await signIn(t, agent, spa);
  });
  afterAll(async () => t?.close());

  /** A web_message request through `ua`: the page and what the relying party kept. */
  async function webMessage(
    ua: UserAgent,
    c: SpaClient,
    params: Record<string, string> = {},
  ): Promise<{ res: Response; html: string; pending: Pending }> {
    const pending = authorizeRequest(t, c, { response_mode: 'web_message', ...params });
    const flow = await ua.signIn(pending.url);
    return { res: flow.response, html: await flow.response.text(), pending };
  }

  /** Asserts the headers every web_message page has, and returns its #response. */
  function page(res: Response, html: string) {
    expect({ status: res.status, location: res.headers.get('location') }, html).toEqual({
      status: 200,
      location: null,
    });
    expect(res.headers.get('content-type')).toMatch(/^text\/html/);
    expect(res.headers.get('cache-control')).toBe('no-store');
    const message = webMessageOf(html);
    expect(message.origin).not.toBe('*');
    return message;
  }

  it('silent authentication of a signed-in person: the code and state, for the redirect_uri’s origin', async () => {
    const { res, html, pending } = await webMessage(agent, spa, { prompt: 'none' });
    const { origin, response } = page(res, html);
    expect(origin).toBe(SPA_ORIGIN);
    expect(Object.keys(response).sort()).toEqual(['code', 'iss', 'state']);
    expect(response.state).toBe(pending.state);
    expect(response.iss).toBe(t.issuer);
    const tokens = await postForm(
      t,
      '/oauth/token',
      codeForm(spa, response.code as string, pending.verifier),
    );
    expect(tokens.status, JSON.stringify(tokens.body)).toBe(200);
    expect(tokens.body.id_token).toEqual(expect.any(String));
  });

  it('CSP frame-ancestors: exactly the web origins and callback origins; no X-Frame-Options', async () => {
    const { res } = await webMessage(agent, spa, { prompt: 'none' });
    expect(cspDirective(res, 'frame-ancestors')?.sort()).toEqual(
      [WEB_ORIGIN, SPA_ORIGIN, 'http://localhost:5173'].sort(),
    );
    expect(res.headers.get('x-frame-options')).toBeNull();
  });

  it('the target origin is that of the redirect_uri used (another registered callback)', async () => {
    const local = { ...spa, redirectUri: LOCAL_CALLBACK };
    const { res, html, pending } = await webMessage(agent, local, { prompt: 'none' });
    const { origin, response } = page(res, html);
    expect(origin).toBe('http://localhost:5173');
    const tokens = await postForm(
      t,
      '/oauth/token',
      codeForm(local, response.code as string, pending.verifier),
    );
    expect(tokens.status, JSON.stringify(tokens.body)).toBe(200);
  });

  it('the popup flow: a browser without a session signs in and consents, then gets the page', async () => {
    const ua = browser(t, creds);
    const pending = authorizeRequest(t, other, { response_mode: 'web_message' });
    const flow = await ua.signIn(pending.url);
    expect(flow.pages).toEqual(['login', 'consent']);
    const html = await flow.response.text();
    const { origin, response } = page(flow.response, html);
    expect(origin).toBe('https://b.example');
    expect(response.state).toBe(pending.state);
    expect(cspDirective(flow.response, 'frame-ancestors')).toEqual(['https://b.example']);
    const tokens = await postForm(
      t,
      '/oauth/token',
      codeForm(other, response.code as string, pending.verifier),
    );
    expect(tokens.status, JSON.stringify(tokens.body)).toBe(200);
  });

  it('prompt=none without a session → login_required in the message, no UI', async () => {
    const { res, html, pending } = await webMessage(browser(t), spa, { prompt: 'none' });
    const { origin, response } = page(res, html);
    expect(origin).toBe(SPA_ORIGIN);
    expect(response).toMatchObject({ error: 'login_required', state: pending.state, iss: t.issuer });
    expect(response.error_description).toEqual(expect.any(String));
    expect(response.code).toBeUndefined();
    expect(html).not.toMatch(/name="password"/);
  });

  it('prompt=none for an application the person has not consented to → consent_required', async () => {
    const ua = browser(t, (await newUser(t)).creds);
    await signIn(t, ua, spa);
    const { res, html, pending } = await webMessage(ua, other, { prompt: 'none' });
    const { origin, response } = page(res, html);
    expect(origin).toBe('https://b.example');
    expect(response).toMatchObject({ error: 'consent_required', state: pending.state });
    expect(response.code).toBeUndefined();
  });

  it('an application with no http(s) origin: frame-ancestors none and X-Frame-Options DENY', async () => {
    const { res, html } = await webMessage(browser(t), native, { prompt: 'none' });
    const { origin, response } = page(res, html);
    expect(response.error).toBe('login_required');
    expect(origin).not.toBe('*');
    expect(cspDirective(res, 'frame-ancestors')).toEqual(["'none'"]);
    expect(res.headers.get('x-frame-options')).toBe('DENY');
  });

  it.each(['/.well-known/openid-configuration', '/.well-known/oauth-authorization-server'])(
    '%s lists web_message in response_modes_supported',
    async (path) => {
      const doc = (await (await t.fetch(endpoint(t, path))).json()) as Record<string, string[]>;
      expect(doc.response_modes_supported).toContain('web_message');
    },
  );

  it.each(['web_msg', 'WEB_MESSAGE', 'web_message '])(
    'response_mode=%j is still invalid_request at the redirect_uri',
    async (mode) => {
      const pending = authorizeRequest(t, spa, { response_mode: mode, state: 'st-1' });
      const res = await agent.get(pending.url);
      expect(res.status).toBeGreaterThanOrEqual(300);
      expect(res.status).toBeLessThan(400);
      const loc = new URL(res.headers.get('location') as string);
      expect(`${loc.origin}${loc.pathname}`).toBe(SPA_CALLBACK);
      expect(loc.searchParams.get('error')).toBe('invalid_request');
      expect(loc.searchParams.get('error_description')).toMatch(/response_mode/);
      expect(loc.searchParams.get('state')).toBe('st-1');
    },
  );

  it('the script is fixed: nothing of the request inside <script>, the same for every answer', async () => {
    const ok = await webMessage(agent, spa, { prompt: 'none', state: HOSTILE, nonce: HOSTILE });
    const err = await webMessage(browser(t), native, { prompt: 'none', state: 'plain' });
    const scripts = scriptsOf(ok.html);
    expect(scripts).toHaveLength(1);
    expect(scriptsOf(err.html)).toEqual(scripts);
    const code = webMessageOf(ok.html).response.code as string;
    for (const piece of ['alert', code, SPA_ORIGIN, 'plain', t.issuer]) {
      expect(scripts[0], piece).not.toContain(piece);
    }
    expect(scripts[0]).toContain('postMessage');
    expect(ok.html).not.toContain('<script>alert(1)</script>');
  });

  it('a state with " \' < > & is attribute-escaped and comes back exactly', async () => {
    const { html } = await webMessage(agent, spa, { prompt: 'none', state: HOSTILE });
    const raw = /data-response="([^"]*)"/.exec(html)?.[1] as string;
    expect(raw).toBeDefined();
    expect(raw).not.toMatch(/[<>'"]/);
    expect(webMessageOf(html).response.state).toBe(HOSTILE);
    // The element is intact: the page still has exactly the one #response element.
    expect(html.match(/id="response"/g)).toHaveLength(1);
  });

  describe('consent and interaction pages are not framable', () => {
    it('the login page shown for a web_message popup keeps frame-ancestors none', async () => {
      const pending = authorizeRequest(t, spa, { response_mode: 'web_message' });
      const flow = await browser(t, creds).signIn(pending.url, { stopAt: 'login' });
      expect(cspDirective(flow.response, 'frame-ancestors')).toEqual(["'none'"]);
      expect(flow.response.headers.get('x-frame-options')).toBe('DENY');
    });
  });
});
