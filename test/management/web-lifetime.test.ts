// Auth0's `token_lifetime_for_web` on an API: the lifetime of access tokens issued at /authorize
// (implicit and hybrid flows), at most `token_lifetime`; unset, accessToken.implicitLifetime
// (900 s here). The code flow's token endpoint keeps `token_lifetime`.
import { beforeAll, expect, it } from 'vitest';
import type { Credentials } from '../protocol/sign-in/agent.js';
import { authorizationUrl, browser, CALLBACK, newUser, tokenRequest } from '../protocol/sign-in/fixtures.js';
import type { TestApp } from '../support/app.js';
import { describeEachBackend } from '../support/databases.js';
import { ok, resourcesApp } from './resources-fixture.js';
import { type Call, expectError } from './support.js';

describeEachBackend('Management API: token_lifetime_for_web', (backend) => {
  const env = resourcesApp(backend);
  let t: TestApp;
  let call: Call;
  let web: { clientId: string; clientSecret?: string };
  let creds: Credentials;

  beforeAll(async () => {
    ({ t, call } = env);
    web = await t.createApp({
      name: 'Hybrid Web',
      type: 'web',
      requirePkce: false,
      callbacks: [CALLBACK],
      grants: ['authorization_code', 'implicit'],
    });
    ({ creds } = await newUser(t));
  });

  const newServer = async (body: Record<string, unknown>) =>
    ok(
      await call('POST', '/resource-servers', {
        body: {
          name: 'Web lifetime',
          identifier: `https://web-${Math.random().toString(36).slice(2)}.example/`,
          ...body,
        },
      }),
      201,
    );

  /** The fragment of a hybrid sign-in (`code token`) for `audience`. */
  async function fragment(audience: string): Promise<Record<string, string>> {
    const flow = await browser(t, creds).signIn(
      authorizationUrl(t, {
        client_id: web.clientId,
        redirect_uri: CALLBACK,
        response_type: 'code token',
        scope: 'openid',
        nonce: 'n-1',
        state: 'st',
        audience,
      }),
    );
    if (!flow.location) throw new Error(`no redirect to the client (status ${flow.response.status})`);
    return Object.fromEntries(new URLSearchParams(flow.location.hash.slice(1)));
  }

  it('shows the default, the configured 900 s or the token lifetime when that is shorter', async () => {
    expect((await newServer({ token_lifetime: 86400 })).token_lifetime_for_web).toBe(900);
    expect((await newServer({ token_lifetime: 600 })).token_lifetime_for_web).toBe(600);
  });

  it('sets the lifetime of tokens from /authorize; the code still exchanges for token_lifetime', async () => {
    const api = await newServer({ token_lifetime: 86400, token_lifetime_for_web: 3600 });
    expect(api.token_lifetime_for_web).toBe(3600);
    expect(ok(await call('GET', `/resource-servers/${api.id}`)).token_lifetime_for_web).toBe(3600);
    const f = await fragment(api.identifier);
    expect(f.expires_in).toBe('3600');
    const [, claims] = (f.access_token as string).split('.');
    const payload = JSON.parse(Buffer.from(claims as string, 'base64url').toString());
    expect(payload.exp - payload.iat).toBe(3600);
    const answer = await tokenRequest(t, {
      grant_type: 'authorization_code',
      code: f.code as string,
      redirect_uri: CALLBACK,
      client_id: web.clientId,
      client_secret: web.clientSecret as string,
    });
    expect(answer.status, JSON.stringify(answer.body)).toBe(200);
    expect(answer.body.expires_in).toBe(86400);
  });

  it('is refused above token_lifetime, below 60 s or not a whole number (400, naming the field)', async () => {
    const over = await call('POST', '/resource-servers', {
      body: {
        name: 'Over',
        identifier: 'https://over.example/',
        token_lifetime: 600,
        token_lifetime_for_web: 601,
      },
    });
    expectError(over, 400);
    expect(over.body.message).toMatch(
      /token_lifetime_for_web: must not be larger than token_lifetime \(600\)/,
    );
    const api = await newServer({ token_lifetime: 7200 });
    const path = `/resource-servers/${api.id}`;
    expectError(await call('PATCH', path, { body: { token_lifetime_for_web: 7201 } }), 400);
    expectError(await call('PATCH', path, { body: { token_lifetime_for_web: 59 } }), 400);
    expectError(await call('PATCH', path, { body: { token_lifetime_for_web: 90.5 } }), 400);
    expectError(await call('PATCH', path, { body: { token_lifetime_for_web: '900' } }), 400);
    expect(ok(await call('GET', path)).token_lifetime_for_web).toBe(900);
    // both in one request: checked against the new token lifetime
    const both = ok(
      await call('PATCH', path, { body: { token_lifetime: 10000, token_lifetime_for_web: 9000 } }),
    );
    expect(both).toMatchObject({ token_lifetime: 10000, token_lifetime_for_web: 9000 });
  });

  it('follows a token lifetime lowered below it, and stays there when the token lifetime grows again', async () => {
    const api = await newServer({ token_lifetime: 86400, token_lifetime_for_web: 7200 });
    const path = `/resource-servers/${api.id}`;
    const lowered = ok(await call('PATCH', path, { body: { token_lifetime: 1800 } }));
    expect(lowered).toMatchObject({ token_lifetime: 1800, token_lifetime_for_web: 1800 });
    expect((await fragment(api.identifier)).expires_in).toBe('1800');
    const raised = ok(await call('PATCH', path, { body: { token_lifetime: 86400 } }));
    expect(raised).toMatchObject({ token_lifetime: 86400, token_lifetime_for_web: 1800 });
    // another field's change leaves it alone
    expect(ok(await call('PATCH', path, { body: { name: 'Renamed' } })).token_lifetime_for_web).toBe(1800);
    // null: the default again
    expect(
      ok(await call('PATCH', path, { body: { token_lifetime_for_web: null } })).token_lifetime_for_web,
    ).toBe(900);
    expect((await fragment(api.identifier)).expires_in).toBe('900');
  });

  it('may be set on the Management API itself, like its token lifetime', async () => {
    const path = '/resource-servers/api_sesame_management';
    const set = ok(await call('PATCH', path, { body: { token_lifetime_for_web: 600 } }));
    expect(set).toMatchObject({ is_system: true, token_lifetime_for_web: 600 });
    const back = ok(await call('PATCH', path, { body: { token_lifetime_for_web: null } }));
    expect(back.token_lifetime_for_web).toBe(900);
  });
});
