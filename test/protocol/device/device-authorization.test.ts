// POST /oauth/device/code (RFC 8628 §3.1–§3.2): which clients may ask, how they authenticate,
// what the answer holds, and the errors for a bad scope or audience. Discovery (§4).
import * as oauth from 'oauth4webapi';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Api } from '../../../src/storage/types.js';
import { sha256 } from '../../../src/util/crypto.js';
import { startTestApp, type TestApp } from '../../support/app.js';
import { describeEachBackend } from '../../support/databases.js';
import { discover, expectTokenError } from '../sign-in/fixtures.js';
import { type ClientCreds, DEVICE_GRANT, deviceRequest, startDevice, USER_CODE } from './device.js';

const TV_CALLBACK = 'com.example.tv:/cb';

describeEachBackend('device authorization endpoint (RFC 8628 §3.1–§3.2)', (backend) => {
  let t: TestApp;
  let api: Api;
  let tv: ClientCreds;
  let webDevice: ClientCreds;
  let webPlain: ClientCreds;
  let spa: ClientCreds;
  let m2m: ClientCreds;

  beforeAll(async () => {
    t = await startTestApp(backend);
    api = await t.createApi({ allowOfflineAccess: true });
    tv = await t.createApp({ name: 'TV', type: 'native', callbacks: [TV_CALLBACK] });
    // What `sesame apps create --type web --grant device_code` registers.
    webDevice = await t.createApp({
      name: 'Kiosk',
      type: 'web',
      callbacks: ['https://kiosk.example/cb'],
      grants: ['device_code'],
    });
    webPlain = await t.createApp({ name: 'Web', type: 'web', callbacks: ['https://web.example/cb'] });
    spa = await t.createApp({ name: 'SPA', type: 'spa', callbacks: ['https://spa.example/cb'] });
    m2m = await t.createM2m(api);
  });
  afterAll(async () => t?.close());

  describe('registration defaults', () => {
    it('gives native apps the device grant by default, and web apps only with --grant device_code', async () => {
      const grantsOf = async (c: ClientCreds) =>
        (await t.rt.storage.applications.get(c.clientId))?.grantTypes;
      expect(await grantsOf(tv)).toContain(DEVICE_GRANT);
      expect(await grantsOf(webDevice)).toEqual([DEVICE_GRANT]);
      expect(await grantsOf(webPlain)).not.toContain(DEVICE_GRANT);
    });
  });

  describe('a public native client by client_id', () => {
    it('gets a device code, a user code and where to enter it, with no-store', async () => {
      const answer = await deviceRequest(t, { client_id: tv.clientId, scope: 'openid' });
      expect(answer.status, JSON.stringify(answer.body)).toBe(200);
      expect(answer.headers.get('content-type')).toMatch(/^application\/json/);
      expect(answer.headers.get('cache-control')).toBe('no-store');
      const b = answer.body;
      expect(Object.keys(b).sort()).toEqual(
        [
          'device_code',
          'expires_in',
          'interval',
          'user_code',
          'verification_uri',
          'verification_uri_complete',
        ].sort(),
      );
      expect(b.device_code).toMatch(/^[A-Za-z0-9_-]{43}$/); // 256 bits, base64url
      expect(b.user_code).toMatch(USER_CODE);
      expect(b.verification_uri).toBe('https://sesame.test/activate');
      expect(b.verification_uri_complete).toBe(`https://sesame.test/activate?user_code=${b.user_code}`);
      expect(new URL(b.verification_uri_complete as string).searchParams.get('user_code')).toBe(b.user_code);
      expect(b.expires_in).toBe(600);
      expect(b.interval).toBe(5);
    });

    it('is accepted by oauth4webapi as a device authorization response', async () => {
      const as = await discover(t);
      const res = await oauth.deviceAuthorizationRequest(
        as,
        { client_id: tv.clientId },
        oauth.None(),
        { scope: 'openid offline_access read:things', audience: api.identifier },
        { [oauth.customFetch]: t.fetch },
      );
      const parsed = await oauth.processDeviceAuthorizationResponse(as, { client_id: tv.clientId }, res);
      expect(parsed.user_code).toMatch(USER_CODE);
      expect(parsed.expires_in).toBe(600);
      expect(parsed.interval).toBe(5);
    });

    it('stores only the hash of the device code, with the client, scopes and audience', async () => {
      const d = await startDevice(t, tv, { scope: 'openid read:things', audience: api.identifier });
      const stored = await t.rt.storage.deviceCodes.get(sha256(d.device_code));
      expect(stored).toMatchObject({
        userCode: d.user_code.replace('-', ''),
        clientId: tv.clientId,
        status: 'pending',
        payload: { scopes: ['openid', 'read:things'], audience: api.identifier },
        interval: 5,
        expiresAt: t.clock.now() + 600,
      });
      expect(await t.rt.storage.deviceCodes.get(d.device_code)).toBeNull();
    });

    it('hands out a new device code and user code on every request', async () => {
      const answers = await Promise.all(Array.from({ length: 5 }, () => startDevice(t, tv)));
      expect(new Set(answers.map((a) => a.device_code)).size).toBe(5);
      expect(new Set(answers.map((a) => a.user_code)).size).toBe(5);
    });

    it('accepts resource (RFC 8707) as the audience', async () => {
      const d = await startDevice(t, tv, { scope: 'read:things', resource: api.identifier });
      const stored = await t.rt.storage.deviceCodes.get(sha256(d.device_code));
      expect(stored?.payload).toEqual({ scopes: ['read:things'], audience: api.identifier });
    });

    it('resource may repeat (RFC 8707 §2): the same API twice goes on, two APIs → invalid_target', async () => {
      const pairs = (other: string): [string, string][] => [
        ['client_id', tv.clientId],
        ['scope', 'read:things'],
        ['resource', api.identifier],
        ['resource', other],
      ];
      const same = await deviceRequest(t, pairs(api.identifier));
      expect(same.status, JSON.stringify(same.body)).toBe(200);
      expectTokenError(await deviceRequest(t, pairs('https://other.example/api')), 400, 'invalid_target');
      // any other parameter still may not
      const twice = await deviceRequest(t, [
        ['client_id', tv.clientId],
        ['scope', 'openid'],
        ['scope', 'openid'],
      ]);
      expectTokenError(twice, 400, 'invalid_request');
    });

    it('refuses a public client that sends a secret (invalid_client)', async () => {
      const answer = await deviceRequest(t, { client_id: tv.clientId, client_secret: 'nope' });
      expectTokenError(answer, 401, 'invalid_client');
    });

    it('refuses an unknown client_id and a request without one (invalid_client)', async () => {
      expectTokenError(await deviceRequest(t, { client_id: 'x'.repeat(32) }), 401, 'invalid_client');
      const none = await deviceRequest(t, { scope: 'openid' });
      expectTokenError(none, 401, 'invalid_client');
      expect(none.body.error_description).toContain('client_id');
    });
  });

  describe('a confidential web app with --grant device_code', () => {
    it('authenticates with client_secret_post', async () => {
      const d = await startDevice(t, webDevice, { scope: 'openid' });
      expect(d.user_code).toMatch(USER_CODE);
      const stored = await t.rt.storage.deviceCodes.get(sha256(d.device_code));
      expect(stored?.clientId).toBe(webDevice.clientId);
    });

    it('authenticates with client_secret_basic', async () => {
      const basic = Buffer.from(
        `${encodeURIComponent(webDevice.clientId)}:${encodeURIComponent(webDevice.clientSecret as string)}`,
      ).toString('base64');
      const answer = await deviceRequest(t, { scope: 'openid' }, { authorization: `Basic ${basic}` });
      expect(answer.status, JSON.stringify(answer.body)).toBe(200);
      expect(answer.body.user_code).toMatch(USER_CODE);
    });

    it('gets 401 invalid_client with a wrong secret, and with none', async () => {
      const wrong = await deviceRequest(t, {
        client_id: webDevice.clientId,
        client_secret: `${webDevice.clientSecret}x`,
      });
      expectTokenError(wrong, 401, 'invalid_client');
      expect(wrong.body.device_code).toBeUndefined();
      const basic = Buffer.from(`${webDevice.clientId}:wrong`).toString('base64');
      const wrongBasic = await deviceRequest(t, {}, { authorization: `Basic ${basic}` });
      expectTokenError(wrongBasic, 401, 'invalid_client');
      expect(wrongBasic.headers.get('www-authenticate')).toMatch(/^Basic/i);
      expectTokenError(await deviceRequest(t, { client_id: webDevice.clientId }), 401, 'invalid_client');
    });
  });

  describe('clients without the device grant', () => {
    it('gets unauthorized_client for a web app with the default grants, a SPA and an m2m app', async () => {
      for (const [what, client] of [
        ['web', webPlain],
        ['spa', spa],
        ['m2m', m2m],
      ] as const) {
        const params: Record<string, string> = { client_id: client.clientId };
        if (client.clientSecret) params.client_secret = client.clientSecret;
        const answer = await deviceRequest(t, params);
        expect({ what, status: answer.status, error: answer.body.error }).toEqual({
          what,
          status: 400,
          error: 'unauthorized_client',
        });
        expect(answer.body.device_code).toBeUndefined();
      }
    });

    it('is also refused at the token endpoint (unauthorized_client)', async () => {
      const d = await startDevice(t, tv);
      const res = await t.fetch(`${t.issuer}/oauth/token`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({
          grant_type: DEVICE_GRANT,
          device_code: d.device_code,
          client_id: webPlain.clientId,
          client_secret: webPlain.clientSecret as string,
        }),
      });
      const body = (await res.json()) as { error: string };
      expect({ status: res.status, error: body.error }).toEqual({
        status: 400,
        error: 'unauthorized_client',
      });
    });
  });

  describe('scope and audience', () => {
    it('refuses an unknown scope with invalid_scope naming it', async () => {
      const answer = await deviceRequest(t, { client_id: tv.clientId, scope: 'openid launch:missiles' });
      expectTokenError(answer, 400, 'invalid_scope');
      expect(answer.body.error_description).toContain('launch:missiles');
    });

    it("refuses an API's scope without the API's audience (invalid_scope)", async () => {
      const answer = await deviceRequest(t, { client_id: tv.clientId, scope: 'openid read:things' });
      expectTokenError(answer, 400, 'invalid_scope');
      expect(answer.body.error_description).toContain('read:things');
    });

    it('refuses an unknown audience with invalid_target naming it', async () => {
      const answer = await deviceRequest(t, {
        client_id: tv.clientId,
        scope: 'openid',
        audience: 'https://api.test/unknown',
      });
      expectTokenError(answer, 400, 'invalid_target');
      expect(answer.body.error_description).toContain('https://api.test/unknown');
    });
  });

  describe('the endpoint', () => {
    it('answers GET with 405 and Allow: POST', async () => {
      const res = await t.fetch(`${t.issuer}/oauth/device/code?client_id=${tv.clientId}`);
      expect(res.status).toBe(405);
      expect(res.headers.get('allow')).toBe('POST');
    });

    it('refuses a repeated parameter (invalid_request, RFC 6749 §3.1)', async () => {
      const res = await t.fetch(`${t.issuer}/oauth/device/code`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: `client_id=${tv.clientId}&scope=openid&scope=profile`,
      });
      const body = (await res.json()) as { error: string; error_description: string };
      expect({ status: res.status, error: body.error }).toEqual({ status: 400, error: 'invalid_request' });
      expect(body.error_description).toContain('scope');
    });

    it('refuses a body that is not a form (invalid_request)', async () => {
      const res = await t.fetch(`${t.issuer}/oauth/device/code`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ client_id: tv.clientId }),
      });
      expect(res.status).toBe(400);
      expect(((await res.json()) as { error: string }).error).toBe('invalid_request');
    });
  });

  describe('discovery (RFC 8628 §4)', () => {
    for (const doc of ['openid-configuration', 'oauth-authorization-server']) {
      it(`lists device_authorization_endpoint and the device grant in ${doc}`, async () => {
        const res = await t.fetch(`${t.issuer}/.well-known/${doc}`);
        expect(res.status).toBe(200);
        const meta = (await res.json()) as Record<string, unknown>;
        expect(meta.device_authorization_endpoint).toBe('https://sesame.test/oauth/device/code');
        expect(meta.grant_types_supported).toContain(DEVICE_GRANT);
      });
    }
  });
});

describeEachBackend('device authorization: configured lifetime and interval', (backend) => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp(backend, { device: { codeLifetime: 120, interval: 7 } });
  });
  afterAll(async () => t?.close());

  it('answers with device.codeLifetime and device.interval', async () => {
    const tv = await t.createApp({ name: 'TV', type: 'native', callbacks: [TV_CALLBACK] });
    const d = await startDevice(t, tv);
    expect({ expires_in: d.expires_in, interval: d.interval }).toEqual({ expires_in: 120, interval: 7 });
    const stored = await t.rt.storage.deviceCodes.get(sha256(d.device_code));
    expect(stored?.expiresAt).toBe(t.clock.now() + 120);
  });
});
