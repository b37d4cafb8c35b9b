// The device polls the token endpoint (RFC 8628 §3.4–§3.5): authorization_pending, slow_down
// with a growing interval, tokens exactly once after approval, access_denied, expired_token,
// and codes that belong to another client.
import * as oauth from 'oauth4webapi';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { purgeExpired } from '../../../src/storage/janitor.js';
import type { Api, User } from '../../../src/storage/types.js';
import { sha256 } from '../../../src/util/crypto.js';
import { startTestApp, type TestApp } from '../../support/app.js';
import { describeEachBackend } from '../../support/databases.js';
import { decodeJwt, discover, expectTokenError, newUser, tokenRequest } from '../sign-in/fixtures.js';
import {
  Activator,
  alertOf,
  type ClientCreds,
  DEVICE_GRANT,
  type DeviceGrant,
  INVALID_CODE,
  outcome,
  poll,
  startDevice,
  verifyWithJwks,
} from './device.js';

const TV_CALLBACK = 'com.example.tv:/cb';

describeEachBackend('device token polling (RFC 8628 §3.4–§3.5)', (backend) => {
  let t: TestApp;
  let api: Api;
  let closedApi: Api;
  let tv: ClientCreds;
  let kiosk: ClientCreds;
  let other: ClientCreds;
  let user: User;
  let person: Activator;
  let loginTime: number;

  beforeAll(async () => {
    // Wrong codes are not the subject here: keep the activation throttle out of the way.
    t = await startTestApp(backend, { login: { accountFailures: 1000, ipFailures: 1000 } });
    api = await t.createApi({ name: 'Things API', allowOfflineAccess: true });
    closedApi = await t.createApi({ name: 'Closed API', allowOfflineAccess: false });
    tv = await t.createApp({ name: 'TV', type: 'native', callbacks: [TV_CALLBACK] });
    other = await t.createApp({ name: 'Other TV', type: 'native', callbacks: ['com.example.other:/cb'] });
    kiosk = await t.createApp({
      name: 'Kiosk',
      type: 'web',
      callbacks: ['https://kiosk.example/cb'],
      grants: ['device_code'],
    });
    const u = await newUser(t, { name: 'Ada Lovelace' });
    user = u.user;
    loginTime = t.clock.now();
    person = await Activator.signIn(t, u.creds);
  });
  afterAll(async () => t?.close());

  /** A device of `client` asking for `scope` (and `audience`), polled once (pending) and approved. */
  async function approved(
    client: ClientCreds,
    params: Record<string, string>,
    decision: 'allow' | 'deny' = 'allow',
  ): Promise<DeviceGrant> {
    const d = await startDevice(t, client, params);
    expectTokenError(await poll(t, client, d.device_code), 400, 'authorization_pending');
    await person.approve(d.user_code, decision);
    t.clock.advance(d.interval);
    return d;
  }

  describe('before the person decides', () => {
    it('answers authorization_pending (400, no-store) to a device that waits its interval', async () => {
      const d = await startDevice(t, tv, { scope: 'openid' });
      for (let i = 0; i < 3; i++) {
        const a = await poll(t, tv, d.device_code);
        expectTokenError(a, 400, 'authorization_pending');
        expect(a.headers.get('cache-control')).toBe('no-store');
        expect(a.body.access_token).toBeUndefined();
        t.clock.advance(d.interval);
      }
    });

    it('answers slow_down to a device that polls too fast, and adds 5 s to its interval each time', async () => {
      const d = await startDevice(t, tv, { scope: 'openid' });
      const storedInterval = async () =>
        (await t.rt.storage.deviceCodes.get(sha256(d.device_code)))?.interval;
      const at = async (wait: number) => {
        t.clock.advance(wait);
        return poll(t, tv, d.device_code);
      };

      expectTokenError(await at(0), 400, 'authorization_pending'); // interval 5
      const first = await at(0);
      expectTokenError(first, 400, 'slow_down');
      expect(first.body.error_description).toContain('10 seconds');
      expect(await storedInterval()).toBe(10);

      // Waiting only the old interval is still too fast: slow_down again, now 15 s.
      const second = await at(5);
      expectTokenError(second, 400, 'slow_down');
      expect(second.body.error_description).toContain('15 seconds');
      expect(await storedInterval()).toBe(15);

      // One second short of the new interval: too fast; the interval becomes 20.
      expectTokenError(await at(14), 400, 'slow_down');
      expect(await storedInterval()).toBe(20);

      // Waiting the whole (grown) interval is fine, and the interval stays.
      expectTokenError(await at(20), 400, 'authorization_pending');
      expectTokenError(await at(20), 400, 'authorization_pending');
      expect(await storedInterval()).toBe(20);
      expectTokenError(await at(15), 400, 'slow_down');
      expectTokenError(await at(25), 400, 'authorization_pending');
    });

    it('counts the interval from the last poll (interval + 5 after a slow_down is enough)', async () => {
      const d = await startDevice(t, tv, { scope: 'openid' });
      expectTokenError(await poll(t, tv, d.device_code), 400, 'authorization_pending');
      t.clock.advance(d.interval - 1);
      expectTokenError(await poll(t, tv, d.device_code), 400, 'slow_down');
      t.clock.advance(d.interval);
      expectTokenError(await poll(t, tv, d.device_code), 400, 'slow_down');
      t.clock.advance(d.interval + 10);
      expectTokenError(await poll(t, tv, d.device_code), 400, 'authorization_pending');
    });

    it('does not decide one device when another is approved', async () => {
      const a = await startDevice(t, tv, { scope: 'openid' });
      const b = await startDevice(t, tv, { scope: 'openid' });
      await person.approve(a.user_code);
      expect(outcome(await poll(t, tv, a.device_code))).toBe('ok');
      expectTokenError(await poll(t, tv, b.device_code), 400, 'authorization_pending');
    });
  });

  describe('after approval', () => {
    it('issues an access token for the API, an ID token and a refresh token (oauth4webapi)', async () => {
      const d = await approved(tv, {
        scope: 'openid profile offline_access read:things',
        audience: api.identifier,
      });
      const as = await discover(t);
      const client: oauth.Client = { client_id: tv.clientId };
      const res = await oauth.deviceCodeGrantRequest(as, client, oauth.None(), d.device_code, {
        [oauth.customFetch]: t.fetch,
      });
      expect(res.headers.get('cache-control')).toBe('no-store');
      const tokens = await oauth.processDeviceCodeResponse(as, client, res);
      await oauth.validateApplicationLevelSignature(as, res, { [oauth.customFetch]: t.fetch });
      expect(tokens.token_type).toBe('bearer');
      expect(tokens.scope?.split(' ').sort()).toEqual(['offline_access', 'openid', 'profile', 'read:things']);
      expect(tokens.refresh_token).toMatch(/^[A-Za-z0-9_-]{43}$/);

      const at = await verifyWithJwks(t, tokens.access_token, { audience: api.identifier, typ: 'at+jwt' });
      expect(at).toMatchObject({
        sub: user.id,
        client_id: tv.clientId,
        aud: [api.identifier, `${t.issuer}/userinfo`],
      });
      expect((at.scope as string).split(' ')).toContain('read:things');
      expect(tokens.expires_in).toBe(api.tokenLifetime);

      const id = oauth.getValidatedIdTokenClaims(tokens);
      expect(id).toMatchObject({ iss: t.issuer, sub: user.id, aud: tv.clientId, name: 'Ada Lovelace' });
      expect(id?.auth_time).toBe(loginTime);
      const idVerified = await verifyWithJwks(t, tokens.id_token as string, { audience: tv.clientId });
      expect(idVerified.sub).toBe(user.id);
      expect(decodeJwt(tokens.id_token as string).payload.nonce).toBeUndefined();

      // The refresh token works for the same API.
      const refreshed = await tokenRequest(t, {
        grant_type: 'refresh_token',
        refresh_token: tokens.refresh_token as string,
        client_id: tv.clientId,
      });
      expect(refreshed.status, JSON.stringify(refreshed.body)).toBe(200);
      const again = await verifyWithJwks(t, refreshed.body.access_token as string, {
        audience: api.identifier,
      });
      expect(again.sub).toBe(user.id);
    });

    const cases: {
      what: string;
      client: () => ClientCreds;
      params: () => Record<string, string>;
      audience: () => string;
      id: boolean;
      refresh: boolean;
    }[] = [
      {
        what: 'openid for the API without offline_access: ID token, no refresh token',
        client: () => tv,
        params: () => ({ scope: 'openid read:things', audience: api.identifier }),
        audience: () => api.identifier,
        id: true,
        refresh: false,
      },
      {
        what: 'offline_access for an API that does not allow offline access: no refresh token',
        client: () => tv,
        params: () => ({ scope: 'openid offline_access read:things', audience: closedApi.identifier }),
        audience: () => closedApi.identifier,
        id: true,
        refresh: false,
      },
      {
        what: 'no openid: no ID token (refresh token for the offline API)',
        client: () => tv,
        params: () => ({ scope: 'offline_access read:things', audience: api.identifier }),
        audience: () => api.identifier,
        id: false,
        refresh: true,
      },
      {
        what: 'offline_access without an API, the app not allowing offline access: userinfo token only',
        client: () => tv,
        params: () => ({ scope: 'openid offline_access' }),
        audience: () => `${t.issuer}/userinfo`,
        id: true,
        refresh: false,
      },
      {
        what: 'a web app with only the device grant: no refresh token even for the offline API',
        client: () => kiosk,
        params: () => ({ scope: 'openid offline_access read:things', audience: api.identifier }),
        audience: () => api.identifier,
        id: true,
        refresh: false,
      },
    ];
    for (const c of cases) {
      it(`issues what was granted: ${c.what}`, async () => {
        const client = c.client();
        const d = await approved(client, c.params());
        const a = await poll(t, client, d.device_code);
        expect(a.status, JSON.stringify(a.body)).toBe(200);
        const at = await verifyWithJwks(t, a.body.access_token as string, { audience: c.audience() });
        expect(at).toMatchObject({ sub: user.id, client_id: client.clientId });
        expect({ id: a.body.id_token !== undefined, refresh: a.body.refresh_token !== undefined }).toEqual({
          id: c.id,
          refresh: c.refresh,
        });
        if (c.id) {
          const id = await verifyWithJwks(t, a.body.id_token as string, { audience: client.clientId });
          expect(id.sub).toBe(user.id);
        }
      });
    }

    it('gives a confidential client its tokens only with its secret', async () => {
      const d = await approved(kiosk, { scope: 'openid' });
      const wrong = await poll(t, { clientId: kiosk.clientId, clientSecret: 'wrong' }, d.device_code);
      expectTokenError(wrong, 401, 'invalid_client');
      const none = await poll(t, { clientId: kiosk.clientId }, d.device_code);
      expectTokenError(none, 401, 'invalid_client');
      const a = await poll(t, kiosk, d.device_code);
      expect(a.status, JSON.stringify(a.body)).toBe(200);
      const id = await verifyWithJwks(t, a.body.id_token as string, { audience: kiosk.clientId });
      expect(id.sub).toBe(user.id);
    });

    it('answers invalid_target to a poll naming another API, and the device code still works (RFC 8707)', async () => {
      const d = await approved(tv, { scope: 'openid', audience: api.identifier });
      expectTokenError(
        await poll(t, tv, d.device_code, { resource: 'https://another.example/api' }),
        400,
        'invalid_target',
      );
      const same = await poll(t, tv, d.device_code, { resource: api.identifier });
      expect(outcome(same)).toBe('ok');
    });

    it('answers invalid_grant to a device_code used again after success', async () => {
      const d = await approved(tv, { scope: 'openid' });
      expect(outcome(await poll(t, tv, d.device_code))).toBe('ok');
      const replay = await poll(t, tv, d.device_code);
      expectTokenError(replay, 400, 'invalid_grant');
      expect(replay.body.access_token).toBeUndefined();
      t.clock.advance(30);
      expectTokenError(await poll(t, tv, d.device_code), 400, 'invalid_grant');
    });

    it('issues tokens to exactly one of 10 concurrent polls (three rounds)', async () => {
      // Open enough database connections first, so that the ten polls really run side by side.
      const warm = await startDevice(t, tv);
      await Promise.all(Array.from({ length: 10 }, () => poll(t, tv, warm.device_code)));
      for (let round = 1; round <= 3; round++) {
        const d = await approved(tv, {
          scope: 'openid offline_access read:things',
          audience: api.identifier,
        });
        const answers = await Promise.all(Array.from({ length: 10 }, () => poll(t, tv, d.device_code)));
        expect({ round, outcomes: answers.map(outcome).sort() }).toEqual({
          round,
          outcomes: [...Array(9).fill('400 invalid_grant'), 'ok'],
        });
        expect(answers.filter((a) => a.body.refresh_token !== undefined)).toHaveLength(1);
      }
    });
  });

  describe('denial and expiry', () => {
    it('answers access_denied after the person pressed Deny, on every later poll', async () => {
      const d = await approved(tv, { scope: 'openid' }, 'deny');
      const a = await poll(t, tv, d.device_code);
      expectTokenError(a, 400, 'access_denied');
      expect(a.body.access_token).toBeUndefined();
      t.clock.advance(d.interval);
      expectTokenError(await poll(t, tv, d.device_code), 400, 'access_denied');
    });

    it('answers expired_token once expires_in has passed, and /activate refuses the code', async () => {
      const d = await startDevice(t, tv, { scope: 'openid' });
      expect(d.expires_in).toBe(600);
      t.clock.advance(599);
      expectTokenError(await poll(t, tv, d.device_code), 400, 'authorization_pending');
      t.clock.advance(2);
      const a = await poll(t, tv, d.device_code);
      expectTokenError(a, 400, 'expired_token');
      const page = await person.enter(d.user_code);
      expect(page.res.status).toBe(400);
      expect(alertOf(page.html)).toBe(INVALID_CODE);
      const late = await person.decide(d.user_code, 'allow');
      expect(late.res.status).toBe(400);
      t.clock.advance(d.interval);
      expectTokenError(await poll(t, tv, d.device_code), 400, 'expired_token');
    });

    it('answers expired_token to a device polling late, after the janitor ran; a day later the code is unknown', async () => {
      const d = await startDevice(t, tv, { scope: 'openid' });
      t.clock.advance(d.expires_in + 120);
      await purgeExpired(t.rt.storage, t.rt.config, t.clock.now());
      expectTokenError(await poll(t, tv, d.device_code), 400, 'expired_token');
      t.clock.advance(86_400);
      await purgeExpired(t.rt.storage, t.rt.config, t.clock.now());
      expectTokenError(await poll(t, tv, d.device_code), 400, 'invalid_grant');
    });

    it('answers expired_token for a code approved but not picked up in time', async () => {
      const d = await approved(tv, { scope: 'openid' });
      t.clock.advance(d.expires_in);
      expectTokenError(await poll(t, tv, d.device_code), 400, 'expired_token');
    });
  });

  describe('wrong requests', () => {
    it("answers invalid_grant to another client's device_code and leaves it to its owner", async () => {
      const d = await startDevice(t, tv, { scope: 'openid' });
      expectTokenError(await poll(t, other, d.device_code), 400, 'invalid_grant');
      expectTokenError(await poll(t, kiosk, d.device_code), 400, 'invalid_grant');
      await person.approve(d.user_code);
      expectTokenError(await poll(t, other, d.device_code), 400, 'invalid_grant');
      const a = await poll(t, tv, d.device_code);
      expect(a.status, JSON.stringify(a.body)).toBe(200);
      const id = await verifyWithJwks(t, a.body.id_token as string, { audience: tv.clientId });
      expect(id.aud).toBe(tv.clientId);
    });

    it('answers invalid_request naming device_code when it is missing', async () => {
      const a = await tokenRequest(t, { grant_type: DEVICE_GRANT, client_id: tv.clientId });
      expectTokenError(a, 400, 'invalid_request');
      expect(a.body.error_description).toContain('device_code');
    });

    it('answers invalid_grant to an unknown device_code, and to the user code in its place', async () => {
      const d = await startDevice(t, tv, { scope: 'openid' });
      expectTokenError(await poll(t, tv, 'A'.repeat(43)), 400, 'invalid_grant');
      expectTokenError(await poll(t, tv, d.user_code), 400, 'invalid_grant');
      expectTokenError(await poll(t, tv, sha256(d.device_code)), 400, 'invalid_grant');
    });
  });
});
