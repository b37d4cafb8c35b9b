import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sha256 } from '../../../src/util/crypto.js';
import { inInteraction } from '../../protocol/sign-in/agent.js';
import { describeEachBackend } from '../../support/databases.js';
import {
  type Answer,
  buildWorld,
  CALLBACK,
  census,
  DEVICE_GRANT,
  expectShaped,
  hit,
  isHtml,
  isJson,
  LOGOUT_CALLBACK,
  type Param,
  redirectParams,
  send,
  show,
  TARGETS,
  type Target,
  targetById,
  verdict,
  type World,
} from './hostile.js';

/**
 * Injection: CR/LF in values that end up in headers (response splitting, CWE-113), markup in
 * values that end up in pages (XSS, CWE-79), SQL metacharacters in values that end up in queries
 * (CWE-89).
 */

const CRLF_STATE = 'st\r\nX-Injected: yes\r\nSet-Cookie: injected=1\r\n\r\n<html>';
const XSS = `"'><script>alert(1)</script><img src=x onerror=alert(2)>`;
const XSS_ESCAPED = '&quot;&#39;&gt;&lt;script&gt;alert(1)&lt;/script&gt;&lt;img src=x onerror=alert(2)&gt;';
const SQL = [`' OR 1=1 --`, `"; DROP TABLE users; --`, `x'); DELETE FROM applications; --`];

/** No header was injected, and no header value carries a line break. */
function expectNoInjectedHeader(a: Answer): void {
  expect(a.headers.get('x-injected'), show(a)).toBeNull();
  for (const cookie of a.headers.getSetCookie()) expect(cookie).not.toMatch(/injected/);
  for (const [name, value] of a.headers) expect(`${name}: ${value}`).not.toMatch(/[\r\n]/);
}

/** A page never carries the payload as markup; every script on it carries the page's CSP nonce. */
function expectNoMarkup(a: Answer): void {
  if (!isHtml(a)) {
    // Anything else is not HTML to a browser: JSON with nosniff, or no body.
    if (a.text !== '') expect(isJson(a), show(a)).toBe(true);
    expect(a.headers.get('x-content-type-options')).toBe('nosniff');
    return;
  }
  expect(a.text).not.toContain('<script>alert(1)');
  expect(a.text).not.toContain('<img src=x');
  expect(a.text).not.toMatch(/"'>/);
  const scripts = a.text.match(/<script\b[^>]*>/g) ?? [];
  const nonce = /'nonce-([^']+)'/.exec(a.headers.get('content-security-policy') ?? '')?.[1];
  for (const s of scripts) expect(s).toBe(`<script nonce="${nonce}">`);
}

describeEachBackend('hostile injection', (backend) => {
  let w: World;
  beforeAll(async () => {
    w = await buildWorld(backend);
  });
  afterAll(async () => w?.t.close());

  describe('CR/LF in state never splits the response', () => {
    it.each(TARGETS)('$id', async (target) => {
      const base = target.base(w);
      const redirecting = target.path === '/authorize' || target.path === '/oidc/logout';
      // prompt=none: /authorize answers the client at once (login_required, or a code).
      const extra: Param[] = target.path === '/authorize' ? [['prompt', 'none']] : [];
      if (target.path === '/oidc/logout') base.id_token_hint = w.logout.idToken;
      const a = await hit(w, target, [
        ...Object.entries(base).filter(([n]) => n !== 'state'),
        ...extra,
        ['state', CRLF_STATE],
      ]);
      expectShaped(w, target, a);
      expectNoInjectedHeader(a);
      if (redirecting) {
        expect(a.status, show(a)).toBe(303);
        const location = a.location as string;
        expect(location.startsWith(target.path === '/authorize' ? CALLBACK : LOGOUT_CALLBACK)).toBe(true);
        expect(location).toContain(
          'state=st%0D%0AX-Injected%3A+yes%0D%0ASet-Cookie%3A+injected%3D1%0D%0A%0D%0A%3Chtml%3E',
        );
        expect(redirectParams(location)?.get('state')).toBe(CRLF_STATE);
      }
    });
  });

  describe('CR/LF in any other parameter never splits the response', () => {
    it.each(TARGETS)('$id', async (target) => {
      const base = target.base(w);
      for (const name of target.names.filter((n) => n !== 'state')) {
        const a = await hit(w, target, [
          ...Object.entries(base).filter(([n]) => n !== name),
          [name, CRLF_STATE],
        ]);
        expectShaped(w, target, a);
        expectNoInjectedHeader(a);
        if (a.location) expect(a.location).not.toMatch(/[\s<>"]/);
      }
    });
  });

  describe('markup and quotes in any parameter never reach a page unescaped', () => {
    it.each(TARGETS)('$id', async (target) => {
      const base = target.base(w);
      for (const name of [...target.names, 'unknown']) {
        const others = Object.entries(base).filter(([n]) => n !== name);
        const modes: Param[][] = target.path === '/authorize' ? [[], [['response_mode', 'form_post']]] : [[]];
        for (const mode of modes) {
          if (name === 'response_mode' && mode.length > 0) continue;
          const a = await hit(w, target, [...others, ...mode, [name, XSS]]);
          expectShaped(w, target, a);
          expectNoMarkup(a);
          if (a.location) expect(a.location).not.toMatch(/[\s<>"']/);
        }
      }
    });
  });

  describe('values that are echoed into pages come back escaped', () => {
    const escapedIn = (a: Answer) => {
      expect(isHtml(a), show(a)).toBe(true);
      expectNoMarkup(a);
      expect(a.text).toContain(XSS_ESCAPED);
    };

    it('login_hint, on the login page', async () => {
      const started = await hit(w, targetById('GET /authorize'), [
        ...Object.entries(targetById('GET /authorize').base(w)),
        ['login_hint', XSS],
      ]);
      expect(started.location).toEqual(inInteraction('/u/login'));
      const cookie = started.headers
        .getSetCookie()
        .map((c) => c.split(';')[0])
        .join('; ');
      escapedIn(await send(w.t, { method: 'GET', path: '/u/login', headers: { cookie } }));
    });

    it('the email typed, on the login page after a failure', async () => {
      const target = targetById('POST /u/login');
      const a = await hit(w, target, [
        ['csrf', w.interaction.csrf],
        ['email', XSS],
        ['password', 'wrong'],
      ]);
      expect(a.status).toBe(400);
      escapedIn(a);
    });

    it('state, on the form_post page', async () => {
      const target = targetById('GET /authorize (session)');
      const base = Object.entries(target.base(w)).filter(([n]) => n !== 'state');
      const a = await hit(w, target, [...base, ['response_mode', 'form_post'], ['state', XSS]]);
      expect(a.status).toBe(200);
      escapedIn(a);
      expect(a.text).toContain('name="code"');
    });

    it.each(['prompt', 'response_type', 'audience', 'scope'])(
      'a refused %s, in error_description on the form_post page',
      async (name) => {
        const target = targetById('POST /authorize');
        const base = Object.entries(target.base(w)).filter(([n]) => n !== name);
        const a = await hit(w, target, [...base, ['response_mode', 'form_post'], [name, XSS]]);
        expect(a.status).toBe(200);
        expect(a.text).toContain('name="error"');
        expectNoMarkup(a);
        // Scope tokens may not hold spaces or quotes (RFC 6749 §3.3): "malformed", not echoed.
        // Echoed, the value has its `"` as `?` (RFC 6749 §5.2's characters), the rest escaped.
        if (name !== 'scope') expect(a.text).toContain('?&#39;&gt;&lt;script&gt;alert(1)&lt;/script&gt;');
      },
    );

    it('user_code, on the activation page', async () => {
      const a = await hit(w, targetById('GET /activate (session)'), [['user_code', XSS]]);
      expect(a.status).toBe(200);
      escapedIn(a);
    });

    it('user_code, in the redirect to the login page and back', async () => {
      const a = await hit(w, targetById('GET /activate'), [['user_code', XSS]]);
      expect(a.location).toEqual(inInteraction('/u/login'));
      const cookie = a.headers
        .getSetCookie()
        .map((c) => c.split(';')[0])
        .join('; ');
      const stored = await w.t.rt.storage.interactions.get(sha256(cookie.split('=')[1] as string));
      const returnTo = stored?.payload.returnTo;
      expect(returnTo).toBe(`/activate?user_code=${encodeURIComponent(XSS)}`);
    });

    it('OAuth error descriptions stay inside JSON', async () => {
      const target = targetById('POST /oauth/token');
      const a = await hit(w, target, [['grant_type', XSS]]);
      expect(a.status).toBe(400);
      expect(a.headers.get('content-type')).toBe('application/json; charset=utf-8');
      expect(a.headers.get('x-content-type-options')).toBe('nosniff');
      const { error_description } = JSON.parse(a.text) as { error_description: string };
      expect(error_description).toContain(XSS.replaceAll('"', '?'));
    });
  });

  /** Where each endpoint looks a value up in the database, and the request around it. */
  const sqlCases: {
    id: string;
    target: Target;
    name: string;
    with?: (w: World) => Record<string, string>;
  }[] = [
    { id: 'GET /authorize client_id', target: targetById('GET /authorize'), name: 'client_id' },
    { id: 'GET /authorize audience', target: targetById('GET /authorize'), name: 'audience' },
    { id: 'POST /authorize client_id', target: targetById('POST /authorize'), name: 'client_id' },
    { id: 'POST /oauth/token client_id', target: targetById('POST /oauth/token'), name: 'client_id' },
    { id: 'POST /oauth/token audience', target: targetById('POST /oauth/token'), name: 'audience' },
    {
      id: 'POST /oauth/token username (password grant)',
      target: targetById('POST /oauth/token'),
      name: 'username',
      with: (x) => ({
        grant_type: 'password',
        client_id: x.web.clientId,
        client_secret: x.web.clientSecret,
        password: x.creds.password,
      }),
    },
    {
      id: 'POST /oauth/token code',
      target: targetById('POST /oauth/token'),
      name: 'code',
      with: (x) => ({
        grant_type: 'authorization_code',
        client_id: x.web.clientId,
        client_secret: x.web.clientSecret,
        redirect_uri: CALLBACK,
      }),
    },
    {
      id: 'POST /oauth/token refresh_token',
      target: targetById('POST /oauth/token'),
      name: 'refresh_token',
      with: (x) => ({
        grant_type: 'refresh_token',
        client_id: x.web.clientId,
        client_secret: x.web.clientSecret,
      }),
    },
    {
      id: 'POST /oauth/token device_code',
      target: targetById('POST /oauth/token'),
      name: 'device_code',
      with: (x) => ({
        grant_type: DEVICE_GRANT,
        client_id: x.web.clientId,
        client_secret: x.web.clientSecret,
      }),
    },
    {
      id: 'POST /oauth/device/code client_id',
      target: targetById('POST /oauth/device/code'),
      name: 'client_id',
    },
    {
      id: 'GET /activate (session) user_code',
      target: targetById('GET /activate (session)'),
      name: 'user_code',
    },
    {
      id: 'POST /activate (session) user_code',
      target: targetById('POST /activate (session)'),
      name: 'user_code',
    },
    { id: 'POST /userinfo access_token', target: targetById('POST /userinfo'), name: 'access_token' },
    { id: 'POST /oauth/introspect token', target: targetById('POST /oauth/introspect'), name: 'token' },
    {
      id: 'POST /oauth/introspect client_id',
      target: targetById('POST /oauth/introspect'),
      name: 'client_id',
    },
    { id: 'GET /oidc/logout client_id', target: targetById('GET /oidc/logout'), name: 'client_id' },
    { id: 'POST /u/login email', target: targetById('POST /u/login'), name: 'email' },
    { id: 'POST /oauth/revoke token', target: targetById('POST /oauth/revoke'), name: 'token' },
    { id: 'POST /oauth/revoke client_id', target: targetById('POST /oauth/revoke'), name: 'client_id' },
  ];

  describe('SQL metacharacters get the answer any unknown value gets, and every table is intact', () => {
    it.each(sqlCases)('$id', async ({ target, name, with: around }) => {
      const before = await census(w);
      const base = Object.entries(around ? around(w) : target.base(w)).filter(([n]) => n !== name);
      const unknown = await hit(w, target, [...base, [name, 'unknown-value']]);
      for (const value of SQL) {
        const a = await hit(w, target, [...base, [name, value]]);
        expectShaped(w, target, a);
        expect(verdict(a), `${value}: ${show(a)}`).toBe(verdict(unknown));
      }
      expect(await census(w)).toEqual(before);
      expect(before).toMatchObject({ meIntact: true, webIntact: true });
      // Still served from those tables: the user's password grant works.
      const ok = await hit(w, targetById('POST /oauth/token'), [
        ['grant_type', 'password'],
        ['client_id', w.web.clientId],
        ['client_secret', w.web.clientSecret],
        ['username', w.creds.email],
        ['password', w.creds.password],
      ]);
      expect(ok.status, show(ok)).toBe(200);
    });
  });
});
