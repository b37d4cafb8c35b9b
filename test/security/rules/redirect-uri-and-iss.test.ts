import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { killAll } from '../../e2e/process.js';
import {
  type Credentials,
  inInteraction,
  type UserAgent,
  unescapeHtml,
} from '../../protocol/sign-in/agent.js';
import { describeEachBackend } from '../../support/databases.js';
import {
  authorizeUrl,
  type Client,
  jwtPayload,
  launch,
  newApp,
  newUser,
  postForm,
  type RawResponse,
  type Sesame,
  s256,
} from './server.js';

// The authorization endpoint against a running server:
// - redirect_uri (RFC 9700 §4.1.3, OAuth 2.1 §2.3.1): compared with the registered one as a
//   string, exactly; until it matches, every error is Sesame's own page, never a redirect (RFC
//   6749 §4.1.2.1). RFC 8252 §7.3: a loopback IP callback may use any port, nothing else may
//   differ. In every response mode.
// - mix-up (RFC 9207, RFC 9700 §4.4): every authorization response, errors included, carries
//   `iss`, so that a client talking to several servers can tell which one answered.
// - the Host header (RFC 9700 §4.1.5 and Sesame's own rule): the issuer, every metadata link and
//   every redirect come from configuration, never from Host or X-Forwarded-* headers.

const CALLBACK = 'https://app.example/cb';
const LOOPBACK = 'http://127.0.0.1/cb';
const DEVICE = 'urn:ietf:params:oauth:grant-type:device_code';
const MODES = ['query', 'fragment', 'form_post'] as const;

/** Every one of these differs from https://app.example/cb and must be refused. */
const NOT_THE_CALLBACK: [string, string][] = [
  ['trailing slash', 'https://app.example/cb/'],
  ['dot segments', 'https://app.example/cb/../x'],
  ['encoded slashes and dots', 'https://app.example/cb%2F..%2Fx'],
  ['path parameter', 'https://app.example/cb;x'],
  ['dot-dot-semicolon', 'https://app.example/cb..;/x'],
  ['added query', 'https://app.example/cb?x=1'],
  ['fragment', 'https://app.example/cb#f'],
  ['upper-case host', 'https://APP.example/cb'],
  ['upper-case path', 'https://app.example/CB'],
  ['explicit default port', 'https://app.example:443/cb'],
  ['trailing dot in the host', 'https://app.example./cb'],
  ['http instead of https', 'http://app.example/cb'],
  ['userinfo before another host', 'https://app.example@evil.example/cb'],
  ['backslash userinfo', 'https://app.example\\@evil.example'],
  ['subdomain of another host', 'https://app.example.evil.example/cb'],
  ['the callback in another URL’s query', 'https://evil.example/?https://app.example/cb'],
  ['a leading space', ' https://app.example/cb'],
  ['a trailing space', 'https://app.example/cb '],
  ['NUL inside the path', 'https://app.example/c\u0000b'],
  ['NUL at the end', 'https://app.example/cb\u0000'],
  ['TAB inside the path (URL parsers drop it)', 'https://app.example/c\tb'],
  ['TAB inside the host (URL parsers drop it)', 'https://app.ex\tample/cb'],
  ['a literal %00 inside', 'https://app.example/cb%00'],
  ['a literal %09 inside', 'https://app.example/c%09b'],
  ['Cyrillic а (U+0430) in the host', 'https://\u0430pp.example/cb'],
  ['the punycode of that host', 'https://xn--pp-6kc.example/cb'],
];

/** Loopback callbacks that differ from http://127.0.0.1/cb in more than the port. */
const NOT_THE_LOOPBACK: [string, string][] = [
  ['another path', 'http://127.0.0.1:4321/other'],
  ['a trailing slash', 'http://127.0.0.1:4321/cb/'],
  ['an added query', 'http://127.0.0.1:4321/cb?x=1'],
  ['localhost in its place', 'http://localhost:4321/cb'],
  ['localhost without a port', 'http://localhost/cb'],
  ['the IPv6 loopback in its place', 'http://[::1]:4321/cb'],
  ['https', 'https://127.0.0.1/cb'],
  ['https with a port', 'https://127.0.0.1:4321/cb'],
  ['a port over 65535', 'http://127.0.0.1:99999/cb'],
  ['an empty port', 'http://127.0.0.1:/cb'],
  ['userinfo before another host', 'http://127.0.0.1:4321@evil.example/cb'],
  ['another 127/8 address', 'http://127.0.0.2:4321/cb'],
];

/** Header sets an attacker (or a misconfigured proxy) may send. */
const SPOOFS: [string, Record<string, string>][] = [
  ['Host', { host: 'evil.example' }],
  ['Host with a port', { host: 'evil.example:8443' }],
  [
    'X-Forwarded-Host and X-Forwarded-Proto',
    { 'x-forwarded-host': 'evil.example', 'x-forwarded-proto': 'https' },
  ],
  ['Forwarded (RFC 7239)', { forwarded: 'for=1.2.3.4;host=evil.example;proto=https' }],
  [
    'all of them, with X-Forwarded-Port and X-Original-Host',
    {
      host: 'evil.example',
      'x-forwarded-host': 'evil.example',
      'x-forwarded-proto': 'https',
      'x-forwarded-port': '8443',
      'x-original-host': 'evil.example',
      'x-host': 'evil.example',
      forwarded: 'host=evil.example;proto=https',
    },
  ],
];

/** The fields of an authorization response: from a 303's query or fragment, or a form_post page. */
function responseFields(status: number, location: string | null, body: string): URLSearchParams {
  if (status === 303 && location) {
    const url = new URL(location);
    return url.hash ? new URLSearchParams(url.hash.slice(1)) : url.searchParams;
  }
  if (status === 200 && body.includes('id="response"')) {
    const fields = new URLSearchParams();
    for (const m of body.matchAll(/<input type="hidden" name="([^"]+)" value="([^"]*)"/g)) {
      fields.append(unescapeHtml(m[1] as string), unescapeHtml(m[2] as string));
    }
    return fields;
  }
  throw new Error(`not an authorization response: ${status} ${location}\n${body.slice(0, 300)}`);
}

/** Asserts that nothing in a response (headers or body) names the spoofed host. */
function expectNoEvil(raw: { headers: unknown; body: string }, what: string): void {
  expect(JSON.stringify(raw.headers).toLowerCase(), what).not.toContain('evil');
  expect(raw.body.toLowerCase(), what).not.toContain('evil');
}

/** A PKCE pair: the verifier and the request parameters. */
function pkce() {
  const verifier = randomBytes(32).toString('base64url');
  return { verifier, params: { code_challenge: s256(verifier), code_challenge_method: 'S256' } };
}

// every `sesame` this file started is gone at the end, even after a failed beforeAll
afterAll(() => killAll());

describeEachBackend('security rules: redirect_uri, iss and the Host header (running server)', (backend) => {
  let s: Sesame;
  /** A confidential web app with https://app.example/cb (and the device grant). */
  let web: Client;
  /** A native (public) app with http://127.0.0.1/cb. */
  let native: Client;
  let creds: Credentials;

  beforeAll(async () => {
    s = await launch(backend);
    [web, native, creds] = await Promise.all([
      newApp(s, 'web', ['--callback', CALLBACK, '--grant', 'authorization_code', '--grant', DEVICE]),
      newApp(s, 'native', ['--callback', LOOPBACK]),
      newUser(s),
    ]);
  });
  afterAll(async () => s?.stop());
  /** Every client sends PKCE by default (#14 §11), the web app too. */
  const webPkce = pkce().params;

  describe('redirect_uri is matched exactly', () => {
    /** GET /authorize: status, Location and body. */
    async function authorize(params: Record<string, string | null>) {
      const res = await s.raw(authorizeUrl(s, params));
      return {
        status: res.status,
        location: res.headers.location ?? null,
        body: res.body,
        headers: res.headers,
      };
    }

    /**
     * Asserts a 400 with no Location and no form that posts anywhere: Sesame's HTML error page
     * ("Invalid redirect_uri"), or — for a NUL byte, which the parameter parser refuses before
     * any client lookup — the page that says redirect_uri cannot be read.
     */
    function expectErrorPage(r: Awaited<ReturnType<typeof authorize>>, what: string) {
      expect({ status: r.status, location: r.location }, `${what}\n${r.body.slice(0, 300)}`).toEqual({
        status: 400,
        location: null,
      });
      expect(r.body, what).not.toContain('<form');
      expect(r.headers['content-type'], what).toMatch(/^text\/html/);
      if (what.includes('\u0000')) expect(r.body, what).toContain('redirect_uri contains a NUL character');
      else expect(r.body, what).toContain('Invalid redirect_uri');
    }

    const loopbackPkce = pkce().params;

    describe('a confidential web app with https://app.example/cb registered', () => {
      it('the registered callback itself is accepted in every response mode (the control)', async () => {
        for (const mode of MODES) {
          const r = await authorize({
            client_id: web.clientId,
            redirect_uri: CALLBACK,
            response_mode: mode,
            ...webPkce,
          });
          expect({ mode, status: r.status, location: r.location }).toEqual({
            mode,
            status: 303,
            location: inInteraction('/u/login'),
          });
          // an error that redirects goes to exactly the registered callback, in that mode
          const e = await authorize({
            client_id: web.clientId,
            ...webPkce,
            redirect_uri: CALLBACK,
            response_mode: mode,
            prompt: 'none',
            state: 's1',
          });
          if (mode === 'form_post') {
            expect(e.status).toBe(200);
            expect(e.body).toContain(`action="${CALLBACK}"`);
            expect(e.body).toContain('value="login_required"');
          } else {
            expect(e.status).toBe(303);
            const loc = new URL(e.location as string);
            expect(`${loc.origin}${loc.pathname}`).toBe(CALLBACK);
            const fields = new URLSearchParams(mode === 'query' ? loc.search : loc.hash.slice(1));
            expect(fields.get('error')).toBe('login_required');
            expect(fields.get('state')).toBe('s1');
          }
        }
      });

      for (const [what, uri] of NOT_THE_CALLBACK) {
        it(`${what} (${JSON.stringify(uri)}) → 400 error page, no Location, in query, fragment and form_post`, async () => {
          for (const mode of MODES) {
            // alone, and with an error (prompt=none without a session) that would otherwise redirect
            for (const extra of [{}, { prompt: 'none', state: 'x' }] as Record<string, string>[]) {
              const r = await authorize({
                client_id: web.clientId,
                redirect_uri: uri,
                response_mode: mode,
                ...extra,
              });
              expectErrorPage(r, `${uri} ${mode} ${JSON.stringify(extra)}`);
            }
          }
        });
      }

      it('no redirect_uri at all uses the one registered callback (RFC 6749 §3.1.2.3), and no other', async () => {
        const r = await authorize({ client_id: web.clientId, redirect_uri: null, prompt: 'none' });
        expect(r.status).toBe(303);
        expect((r.location as string).startsWith(`${CALLBACK}?`)).toBe(true);
      });
    });

    describe('a native app with http://127.0.0.1/cb registered (RFC 8252 §7.3)', () => {
      for (const port of ['', ':4321', ':65535']) {
        const uri = `http://127.0.0.1${port}/cb`;
        it(`${uri} is accepted, and a response goes to exactly that port, in every mode`, async () => {
          for (const mode of MODES) {
            const ok = await authorize({
              client_id: native.clientId,
              redirect_uri: uri,
              response_mode: mode,
              ...loopbackPkce,
            });
            expect({ mode, status: ok.status, location: ok.location }).toEqual({
              mode,
              status: 303,
              location: inInteraction('/u/login'),
            });
            const e = await authorize({
              client_id: native.clientId,
              redirect_uri: uri,
              response_mode: mode,
              prompt: 'none',
              ...loopbackPkce,
            });
            if (mode === 'form_post') {
              expect(e.status).toBe(200);
              expect(e.body).toContain(`action="${uri}"`);
            } else {
              expect(e.status).toBe(303);
              const loc = new URL(e.location as string);
              expect(`${loc.protocol}//${loc.host}${loc.pathname}`).toBe(uri);
            }
          }
        });
      }

      for (const [what, uri] of NOT_THE_LOOPBACK) {
        it(`${what} (${uri}) → 400 error page, no Location, in every mode`, async () => {
          for (const mode of MODES) {
            for (const extra of [{}, { prompt: 'none' }] as Record<string, string>[]) {
              const r = await authorize({
                client_id: native.clientId,
                redirect_uri: uri,
                response_mode: mode,
                ...loopbackPkce,
                ...extra,
              });
              expectErrorPage(r, `${uri} ${mode} ${JSON.stringify(extra)}`);
            }
          }
        });
      }
    });

    it('a callback registered for one application is refused for another', async () => {
      const r = await authorize({ client_id: native.clientId, redirect_uri: CALLBACK, ...loopbackPkce });
      expectErrorPage(r, 'web callback on the native app');
    });
  });

  describe('iss on every authorization response (RFC 9207)', () => {
    let signedIn: UserAgent | undefined;

    /** Runs one authorization request through `agent` to the client; its response fields. */
    async function respond(
      agent: UserAgent,
      params: Record<string, string | null>,
      consent: 'allow' | 'deny' = 'allow',
    ) {
      const flow = await agent.signIn(
        authorizeUrl(s, { client_id: web.clientId, redirect_uri: CALLBACK, ...params }),
        { consent },
      );
      const body = flow.location ? '' : await flow.response.text();
      return responseFields(
        flow.location ? 303 : flow.response.status,
        flow.location?.toString() ?? null,
        body,
      );
    }

    const cases: [string, Record<string, string | null>, 'allow' | 'deny', string | null][] = [
      ['a code in the query', {}, 'allow', null],
      ['a code in the fragment', { response_mode: 'fragment' }, 'allow', null],
      ['a code by form_post', { response_mode: 'form_post' }, 'allow', null],
      ['access_denied (consent refused)', { prompt: 'consent' }, 'deny', 'access_denied'],
      [
        'access_denied by form_post',
        { prompt: 'consent', response_mode: 'form_post' },
        'deny',
        'access_denied',
      ],
      ['invalid_scope', { scope: 'openid no-such-scope' }, 'allow', 'invalid_scope'],
      ['unsupported_response_type', { response_type: 'code bogus' }, 'allow', 'unsupported_response_type'],
      ['invalid_request (PKCE plain)', { code_challenge_method: 'plain' }, 'allow', 'invalid_request'],
      [
        'invalid_request in the fragment',
        { code_challenge_method: 'plain', response_mode: 'fragment' },
        'allow',
        'invalid_request',
      ],
      [
        'invalid_request by form_post',
        { code_challenge_method: 'plain', response_mode: 'form_post' },
        'allow',
        'invalid_request',
      ],
    ];
    for (const [what, params, consent, error] of cases) {
      it(`${what}: exactly one iss, the configured issuer`, async () => {
        signedIn ??= s.agent(creds);
        const fields = await respond(signedIn, { state: 'st', ...pkce().params, ...params }, consent);
        expect(fields.getAll('iss')).toEqual([s.issuer]);
        expect(fields.get('state')).toBe('st');
        if (error === null) expect(fields.get('code')).toMatch(/.{20,}/);
        else expect(fields.get('error')).toBe(error);
      });
    }

    for (const mode of MODES) {
      it(`login_required (prompt=none, not signed in), ${mode}: exactly one iss, the configured issuer`, async () => {
        const fields = await respond(s.agent(), {
          prompt: 'none',
          response_mode: mode,
          state: 'st',
          ...pkce().params,
        });
        expect(fields.get('error')).toBe('login_required');
        expect(fields.getAll('iss')).toEqual([s.issuer]);
      });
    }

    it('an iss sent by the client in the request is not echoed in place of the issuer', async () => {
      const fields = await respond(signedIn ?? s.agent(creds), {
        iss: 'https://evil.example',
        ...pkce().params,
      });
      expect(fields.getAll('iss')).toEqual([s.issuer]);
    });
  });

  describe('spoofed Host and X-Forwarded-* headers change nothing', () => {
    for (const [what, headers] of SPOOFS) {
      describe(what, () => {
        it('discovery: the same issuer, every endpoint under it', async () => {
          for (const doc of ['openid-configuration', 'oauth-authorization-server']) {
            const plain = await s.raw(`/.well-known/${doc}`);
            const spoofed = await s.raw(`/.well-known/${doc}`, { headers });
            expect(spoofed.status).toBe(200);
            expect(spoofed.body).toBe(plain.body);
            const meta = JSON.parse(spoofed.body) as Record<string, unknown>;
            expect(meta.issuer).toBe(s.issuer);
            for (const [k, v] of Object.entries(meta)) {
              if (k !== 'issuer' && typeof v === 'string' && /^https?:/.test(v)) {
                expect(v.startsWith(`${s.issuer}/`), `${k}: ${v}`).toBe(true);
              }
            }
            expectNoEvil(spoofed, doc);
          }
        });

        it('/authorize: the redirect to the login page stays on Sesame; an error redirect carries the configured iss', async () => {
          const login = await s.raw(
            authorizeUrl(s, { client_id: web.clientId, redirect_uri: CALLBACK, ...webPkce }),
            {
              headers,
            },
          );
          expect(login.status).toBe(303);
          expect(new URL(login.headers.location as string, s.issuer).origin).toBe(new URL(s.issuer).origin);
          expectNoEvil(login, 'authorize');
          const err = await s.raw(
            authorizeUrl(s, { client_id: web.clientId, redirect_uri: CALLBACK, prompt: 'none', ...webPkce }),
            { headers },
          );
          expect(err.status).toBe(303);
          expect(new URL(err.headers.location as string).searchParams.get('iss')).toBe(s.issuer);
          expectNoEvil(err, 'authorize error');
        });

        it('a whole sign-in: the code redirect, the tokens’ iss, and no page or header names the spoofed host', async () => {
          const seen: RawResponse[] = [];
          const agent = s.agent(creds, { headers });
          const original = agent.t.fetch;
          (agent.t as { fetch: typeof original }).fetch = async (input, init) => {
            const res = await original(input, init);
            const copy = res.clone();
            const hs: Record<string, string> = {};
            copy.headers.forEach((v, k) => {
              hs[k] = v;
            });
            seen.push({ status: res.status, headers: hs, body: await copy.text() });
            return res;
          };
          const { verifier, params } = pkce();
          const flow = await agent.signIn(
            authorizeUrl(s, { client_id: web.clientId, redirect_uri: CALLBACK, ...params }),
          );
          expect(seen.length).toBeGreaterThan(2);
          for (const r of seen) expectNoEvil(r, `a sign-in page (${r.status})`);
          expect(flow.location?.searchParams.get('iss')).toBe(s.issuer);
          const res = await postForm(
            s,
            '/oauth/token',
            {
              grant_type: 'authorization_code',
              code: flow.location?.searchParams.get('code') as string,
              redirect_uri: CALLBACK,
              code_verifier: verifier,
              client_id: web.clientId,
              client_secret: web.clientSecret as string,
            },
            { headers },
          );
          expect(res.status, JSON.stringify(res.body)).toBe(200);
          expect(jwtPayload(res.body.id_token as string).iss).toBe(s.issuer);
          expect(jwtPayload(res.body.access_token as string).iss).toBe(s.issuer);
          expect(JSON.stringify(res.body)).not.toContain('evil');
        });

        it('device authorization: verification_uri under the configured issuer; /activate stays on Sesame', async () => {
          const res = await postForm(
            s,
            '/oauth/device/code',
            { client_id: web.clientId, client_secret: web.clientSecret as string, scope: 'openid' },
            { headers },
          );
          expect(res.status, JSON.stringify(res.body)).toBe(200);
          expect(res.body.verification_uri).toBe(`${s.issuer}/activate`);
          expect(String(res.body.verification_uri_complete).startsWith(`${s.issuer}/activate?`)).toBe(true);
          const activate = await s.raw('/activate', { headers });
          expect(activate.status).toBe(303);
          expectNoEvil(activate, '/activate');
        });
      });
    }

    it('an absolute-form request target naming another host changes nothing either', async () => {
      const res = await s.raw('/.well-known/openid-configuration', {
        target: 'http://evil.example/.well-known/openid-configuration',
        headers: { host: 'evil.example' },
      });
      expect(res.status).toBe(200);
      expect(JSON.parse(res.body).issuer).toBe(s.issuer);
      expectNoEvil(res, 'absolute-form discovery');
    });
  });
});
