import { afterAll, beforeAll, expect, it } from 'vitest';
import { csrfOf } from '../protocol/sign-in/agent.js';
import { startTestApp, type TestApp } from '../support/app.js';
import { describeEachBackend } from '../support/databases.js';
import { open, signedInAdmin } from './support.js';

/** Try sign-in: the application's real flow, back to a callback of the console, the ID token shown. */
describeEachBackend('console: try sign-in', (backend) => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp(backend);
  });
  afterAll(async () => t?.close());

  it('adds the test callback, signs the admin in as the application and shows the verified ID token', async () => {
    const { agent } = await signedInAdmin(t);
    const app = await t.createApp({ name: 'Shop', type: 'web', callbacks: ['https://shop.example/cb'] });
    const page = await open(agent, `/console/applications/${app.clientId}/try`);
    expect(page.html).toContain('is not one of');
    const added = await agent.post(`/console/applications/${app.clientId}/try/callback`, {
      csrf: csrfOf(page.html),
    });
    expect(added.status).toBe(303);
    expect((await t.rt.storage.applications.get(app.clientId))?.callbacks).toContain(
      `${t.issuer}/console/try/callback`,
    );
    const form = await open(agent, `/console/applications/${app.clientId}/try`);
    const start = await agent.post(`/console/applications/${app.clientId}/try`, {
      csrf: csrfOf(form.html),
      client_secret: app.clientSecret!,
      scope: 'openid email',
    });
    expect(start.headers.get('location')).toMatch(/^\/authorize\?/);
    const flow = await agent.signIn(new URL(start.headers.get('location')!, t.issuer));
    const html = await flow.response.text();
    expect(flow.response.status, html).toBe(200);
    expect(flow.pages).toEqual(['consent']);
    expect(html).toMatch(/id="id-token-claims"/);
    expect(html).toContain(`&quot;aud&quot;: &quot;${app.clientId}&quot;`);

    const again = await open(agent, `/console/applications/${app.clientId}/try`);
    const wrong = await agent.post(`/console/applications/${app.clientId}/try`, {
      csrf: csrfOf(again.html),
      client_secret: 'not the secret',
    });
    const failed = await agent.signIn(new URL(wrong.headers.get('location')!, t.issuer));
    expect(await failed.response.text()).toContain('invalid_client');

    // a scope without openid: signed in, no ID token, said so, and the scope typed kept
    const third = await open(agent, `/console/applications/${app.clientId}/try`);
    const noOpenid = await agent.post(`/console/applications/${app.clientId}/try`, {
      csrf: csrfOf(third.html),
      client_secret: app.clientSecret!,
      scope: 'profile email',
    });
    const plain = await agent.signIn(new URL(noOpenid.headers.get('location')!, t.issuer));
    const said = await plain.response.text();
    expect(plain.response.status, said).toBe(200);
    expect(said).toContain('no ID token came back: it needs openid in the scope');
    expect(said).not.toContain('undefined');
    expect(said).toMatch(/<input id="scope" name="scope" value="profile email"/);
  });
});
