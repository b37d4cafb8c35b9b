import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TestApp } from '../../support/app.js';
import { startTestApp } from '../../support/app.js';
import { describeEachBackend } from '../../support/databases.js';
import { authorizationUrl, browser, CALLBACK, newUser, webConfig, webSignIn } from './fixtures.js';

describeEachBackend('sign-in: id_token_hint at /authorize (OIDC Core §3.1.2.1)', (backend) => {
  let t: TestApp;
  let app: { clientId: string; clientSecret?: string };
  let other: { clientId: string; clientSecret?: string };
  beforeAll(async () => {
    t = await startTestApp(backend);
    app = await t.createApp({
      name: 'Hinted',
      type: 'web',
      requirePkce: false,
      callbacks: [CALLBACK],
      skipConsent: true,
    });
    other = await t.createApp({
      name: 'Other',
      type: 'web',
      requirePkce: false,
      callbacks: [CALLBACK],
      skipConsent: true,
    });
  });
  afterAll(async () => t?.close());

  async function signedInWithIdToken() {
    const { creds } = await newUser(t);
    const agent = browser(t, creds);
    const { tokens } = await webSignIn(agent, await webConfig(t, app));
    return { agent, idToken: tokens.id_token as string };
  }

  const url = (params: Record<string, string>) =>
    authorizationUrl(t, { client_id: app.clientId, redirect_uri: CALLBACK, state: 's', ...params });

  describe('with prompt=none', () => {
    it('the signed-in user named by the hint gets a code', async () => {
      const { agent, idToken } = await signedInWithIdToken();
      const flow = await agent.signIn(url({ prompt: 'none', id_token_hint: idToken }));
      expect(flow.location?.searchParams.get('code')).toEqual(expect.any(String));
    });

    it('a hint naming another user → login_required', async () => {
      const first = await signedInWithIdToken();
      const second = await signedInWithIdToken();
      const flow = await second.agent.signIn(url({ prompt: 'none', id_token_hint: first.idToken }));
      expect(flow.location?.searchParams.get('error')).toBe('login_required');
      expect(flow.location?.searchParams.get('code')).toBeNull();
    });
  });

  it('without prompt=none, a hint naming another user shows the login page', async () => {
    const first = await signedInWithIdToken();
    const second = await signedInWithIdToken();
    const flow = await second.agent.signIn(url({ id_token_hint: first.idToken }), { stopAt: 'login' });
    expect(flow.pages).toEqual(['login']);
  });

  it('signing in there as the person the hint names gets a code; as someone else, login_required', async () => {
    const first = await signedInWithIdToken();
    const second = await signedInWithIdToken();
    // second's browser, asked for first: first's credentials typed on the login page
    const named = await second.agent.signIn(url({ id_token_hint: first.idToken }), {
      credentials: first.agent.credentials!,
    });
    expect(named.location?.searchParams.get('code')).toEqual(expect.any(String));
    // a fresh browser asked for first, in which second signs in
    const third = browser(t, second.agent.credentials);
    const flow = await third.signIn(url({ id_token_hint: first.idToken }));
    expect(flow.pages).toEqual(['login']);
    expect(flow.location?.searchParams.get('error')).toBe('login_required');
    expect(flow.location?.searchParams.get('state')).toBe('s');
    expect(flow.location?.searchParams.get('code')).toBeNull();
  });

  it.each([
    ['garbage', () => 'not-a-jwt'],
    ['a tampered token', (idToken: string) => `${idToken.slice(0, -4)}AAAA`],
  ])('%s → invalid_request', async (_name, make) => {
    const { agent, idToken } = await signedInWithIdToken();
    const flow = await agent.signIn(url({ id_token_hint: make(idToken) }));
    expect(flow.location?.searchParams.get('error')).toBe('invalid_request');
    expect(flow.location?.searchParams.get('error_description')).toMatch(/id_token_hint/);
  });

  it("another client's ID token → invalid_request", async () => {
    const { creds } = await newUser(t);
    const agent = browser(t, creds);
    const { tokens } = await webSignIn(agent, await webConfig(t, other));
    const flow = await agent.signIn(url({ id_token_hint: tokens.id_token as string }));
    expect(flow.location?.searchParams.get('error')).toBe('invalid_request');
  });
});
