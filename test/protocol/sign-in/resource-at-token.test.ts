// RFC 8707 §2.2 at the token endpoint: a code, refresh token or device code redeemed with
// `resource` (or Auth0's `audience`) gets tokens only for the API the grant was authorized for;
// another, an unknown or a malformed one is invalid_target, and a refused refresh token still works.
import { decodeJwt } from 'jose';
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { Api } from '../../../src/storage/types.js';
import { newApi } from '../../management/support.js';
import { startTestApp, type TestApp } from '../../support/app.js';
import { describeEachBackend } from '../../support/databases.js';
import {
  authorizationUrl,
  browser,
  CALLBACK,
  codeFor,
  expectTokenError,
  newUser,
  tokenRequest,
} from './fixtures.js';

describeEachBackend('resource at the token endpoint (RFC 8707 §2.2)', (backend) => {
  let t: TestApp;
  let orders: Api;
  let inventory: Api;
  let web: { clientId: string; clientSecret?: string };
  let agent: ReturnType<typeof browser>;

  beforeAll(async () => {
    t = await startTestApp(backend);
    orders = await newApi(t, { allowOfflineAccess: true });
    inventory = await newApi(t, { allowOfflineAccess: true });
    web = await t.createApp({ name: 'Resource web', type: 'web', requirePkce: false, callbacks: [CALLBACK] });
    agent = browser(t, (await newUser(t)).creds);
  });
  afterAll(() => t?.close());

  const secret = () => ({ client_id: web.clientId, client_secret: web.clientSecret as string });
  const code = (params: Record<string, string | null> = {}) =>
    codeFor(
      agent,
      authorizationUrl(t, {
        client_id: web.clientId,
        redirect_uri: CALLBACK,
        scope: 'openid offline_access',
        resource: orders.identifier,
        ...params,
      }),
    );
  const exchange = async (extra: Record<string, string>, params?: Record<string, string | null>) =>
    tokenRequest(t, {
      grant_type: 'authorization_code',
      code: await code(params),
      redirect_uri: CALLBACK,
      ...secret(),
      ...extra,
    });

  it('a code exchanged for the API it was authorized for, by resource or audience, gets that audience', async () => {
    const asks: Record<string, string>[] = [
      {},
      { resource: orders.identifier },
      { audience: orders.identifier },
    ];
    for (const extra of asks) {
      const answer = await exchange(extra);
      expect(answer.status, JSON.stringify(answer.body)).toBe(200);
      expect(decodeJwt(answer.body.access_token as string).aud).toContain(orders.identifier);
    }
  });

  it('a code exchanged for another API, an unknown or a malformed one is invalid_target', async () => {
    for (const resource of [inventory.identifier, 'https://not-registered.example/', 'not a uri']) {
      expectTokenError(await exchange({ resource }), 400, 'invalid_target');
    }
    expectTokenError(await exchange({ audience: inventory.identifier }), 400, 'invalid_target');
    // a code for no API (openid only) names none either
    expectTokenError(
      await exchange({ resource: orders.identifier }, { resource: null }),
      400,
      'invalid_target',
    );
  });

  it('a refresh for another API is invalid_target and leaves the refresh token working', async () => {
    const first = await exchange({});
    const refresh = first.body.refresh_token as string;
    expect(typeof refresh).toBe('string');
    const wrong = await tokenRequest(t, {
      grant_type: 'refresh_token',
      refresh_token: refresh,
      resource: inventory.identifier,
      ...secret(),
    });
    expectTokenError(wrong, 400, 'invalid_target');
    const right = await tokenRequest(t, {
      grant_type: 'refresh_token',
      refresh_token: refresh,
      audience: orders.identifier,
      ...secret(),
    });
    expect(right.status, JSON.stringify(right.body)).toBe(200);
    expect(decodeJwt(right.body.access_token as string).aud).toContain(orders.identifier);
  });
});
