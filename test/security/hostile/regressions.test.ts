import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { csrfOf } from '../../protocol/sign-in/agent.js';
import { authorizationUrl } from '../../protocol/sign-in/fixtures.js';
import { describeEachBackend } from '../../support/databases.js';
import {
  BODY_LIMIT,
  buildWorld,
  CALLBACK,
  DEVICE_GRANT,
  errorOf,
  expectShaped,
  hit,
  send,
  show,
  targetById,
  verdict,
  type World,
} from './hostile.js';

/**
 * Plain regression tests for what the hostile suite found, each the smallest request that
 * showed it (fast-check's shrunk counterexample where fuzzing found it).
 */

const form = { 'content-type': 'application/x-www-form-urlencoded' };

describeEachBackend('hostile regressions', (backend) => {
  let w: World;
  beforeAll(async () => {
    w = await buildWorld(backend);
  });
  afterAll(async () => w?.t.close());

  describe('HEAD is advertised in Allow, so it answers as GET does, without a body (RFC 9110 §9.3.2)', () => {
    // fast-check: [{"method":"HEAD","fromBase":false,"params":[],…}] → HEAD /authorize → 500
    it('HEAD /authorize with no parameters', async () => {
      const get = await send(w.t, { method: 'GET', path: '/authorize' });
      const head = await send(w.t, { method: 'HEAD', path: '/authorize' });
      expect({ status: head.status, body: head.text }, show(head)).toEqual({ status: get.status, body: '' });
    });

    it('HEAD /authorize with a well-formed request', async () => {
      const url = new URL(authorizationUrl(w.t, { client_id: w.web.clientId, redirect_uri: CALLBACK }));
      const path = `${url.pathname}${url.search}`;
      const get = await send(w.t, { method: 'GET', path });
      const head = await send(w.t, { method: 'HEAD', path });
      expect(head.status, show(head)).toBe(get.status);
    });

    // fast-check: [{"method":"HEAD","fromBase":false,"params":[],…,"cookie":"none"}] → HEAD /oidc/logout → 500
    it('HEAD /oidc/logout', async () => {
      const get = await send(w.t, { method: 'GET', path: '/oidc/logout' });
      const head = await send(w.t, { method: 'HEAD', path: '/oidc/logout' });
      expect({ status: head.status, body: head.text }, show(head)).toEqual({ status: get.status, body: '' });
    });
  });

  describe('POST /userinfo: a refused parameter name never breaks the WWW-Authenticate header', () => {
    // fast-check: [{"method":"POST","extras":[["\u0000Ā",""]],…}] → body %00%C4%80= → 500
    it.each([
      ['a NUL and a character above U+00FF in a name', '%00%C4%80='],
      ['a repeated name above U+00FF', '%C4%80=1&%C4%80=2'],
      ['a repeated name with CR/LF', '%0D%0AX-Injected:%20yes=1&%0D%0AX-Injected:%20yes=2'],
      ['a NUL and a euro sign', 'a%00%E2%82%AC='],
    ])('%s: 400 invalid_request with a Bearer challenge', async (_what, body) => {
      const a = await send(w.t, {
        method: 'POST',
        path: '/userinfo',
        headers: form,
        body: Buffer.from(body),
      });
      expect({ status: a.status, error: errorOf(a) }, show(a)).toEqual({
        status: 400,
        error: 'invalid_request',
      });
      expect(a.headers.get('www-authenticate')).toMatch(/^Bearer realm="sesame", error="invalid_request"/);
      expect(a.headers.get('x-injected')).toBeNull();
    });
  });

  describe('POST /userinfo honours bodyLimit like every other body (413, read no further)', () => {
    it('a form body over the cap, with a valid token in it', async () => {
      const body = new URLSearchParams({
        access_token: w.accessToken,
        padding: 'x'.repeat(BODY_LIMIT),
      }).toString();
      const a = await send(w.t, {
        method: 'POST',
        path: '/userinfo',
        headers: form,
        body: Buffer.from(body),
      });
      expect({ status: a.status, error: errorOf(a) }, show(a)).toEqual({
        status: 413,
        error: 'invalid_request',
      });
    });
  });

  describe('a NUL byte in a value that reaches the database is a 4xx, never a 5xx', () => {
    const cases: [string, string, (x: World) => Record<string, string>, string][] = [
      ['POST /oauth/token', 'client_id', () => ({ grant_type: 'client_credentials' }), 'a\u0000b'],
      [
        'POST /oauth/token',
        'audience',
        (x) => ({
          grant_type: 'client_credentials',
          client_id: x.web.clientId,
          client_secret: x.web.clientSecret,
        }),
        'a\u0000',
      ],
      [
        'POST /oauth/token',
        'username',
        (x) => ({
          grant_type: 'password',
          client_id: x.web.clientId,
          client_secret: x.web.clientSecret,
          password: 'x',
        }),
        'a\u0000b',
      ],
      [
        'POST /oauth/token',
        'device_code',
        (x) => ({ grant_type: DEVICE_GRANT, client_id: x.web.clientId, client_secret: x.web.clientSecret }),
        '\u0000',
      ],
      ['POST /oauth/device/code', 'client_id', () => ({ scope: 'openid' }), '\u0000'],
      [
        'POST /oauth/device/code',
        'audience',
        (x) => ({ client_id: x.web.clientId, client_secret: x.web.clientSecret }),
        '\u0000',
      ],
      ['POST /oauth/introspect', 'client_id', () => ({ token: 'x' }), '\u0000'],
      ['POST /oauth/revoke', 'client_id', () => ({ token: 'x' }), '\u0000'],
      ['GET /authorize', 'client_id', () => ({ response_type: 'code' }), 'a\u0000'],
      [
        'GET /authorize',
        'audience',
        (x) => ({ response_type: 'code', client_id: x.web.clientId, redirect_uri: CALLBACK }),
        '\u0000',
      ],
      [
        'POST /authorize',
        'login_hint',
        (x) => ({
          response_type: 'code',
          client_id: x.web.clientId,
          redirect_uri: CALLBACK,
          scope: 'openid',
        }),
        'a\u0000',
      ],
      ['POST /u/login', 'email', (x) => ({ csrf: x.interaction.csrf, password: 'x' }), 'a\u0000@b'],
      ['GET /oidc/logout', 'client_id', (x) => ({ id_token_hint: x.idToken }), '\u0000'],
    ];
    it.each(cases)('%s %s', async (id, name, around, value) => {
      const target = targetById(id);
      const a = await hit(w, target, [...Object.entries(around(w)), [name, value]]);
      expectShaped(w, target, a);
      expect(a.status, show(a)).toBeGreaterThanOrEqual(300);
    });
  });

  describe('a login name longer than any email (500 characters) is a wrong login, never a 5xx', () => {
    const long = `${'a'.repeat(500)}@example.com`;

    it('at the password grant', async () => {
      const a = await hit(w, targetById('POST /oauth/token'), [
        ['grant_type', 'password'],
        ['client_id', w.web.clientId],
        ['client_secret', w.web.clientSecret],
        ['username', long],
        ['password', 'x'],
      ]);
      expect(verdict(a), show(a)).toBe('400 invalid_grant');
    });

    it('at /u/login', async () => {
      const page = await send(w.t, {
        method: 'GET',
        path: '/u/login',
        headers: { cookie: w.interaction.cookie },
      });
      const a = await hit(w, targetById('POST /u/login'), [
        ['csrf', csrfOf(page.text)],
        ['email', long],
        ['password', 'x'],
      ]);
      expect(verdict(a), show(a)).toBe('400 page');
    });
  });
});
