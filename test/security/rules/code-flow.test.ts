import { createHash, randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { killAll } from '../../e2e/process.js';
import type { Credentials, UserAgent } from '../../protocol/sign-in/agent.js';
import { inInteraction } from '../../protocol/sign-in/agent.js';
import { describeEachBackend } from '../../support/databases.js';
import {
  authorizeUrl,
  type Client,
  codeFor,
  expectError,
  introspectActive,
  launch,
  newApp,
  newUser,
  postForm,
  type Sesame,
  s256,
  token,
  userinfoStatus,
} from './server.js';

// The authorization code flow against a running server:
// - PKCE (RFC 7636, RFC 9700 §2.1.1 / §4.8): S256 only, a 43-character base64url challenge,
//   required for public clients, checked at the token endpoint, no downgrade (a verifier for a
//   code issued without a challenge is refused), for public and confidential clients.
// - Codes (RFC 6749 §4.1.2 / §4.1.3 / §10.5, RFC 9700 §4.5): short-lived, used once (a second
//   use is refused and revokes what the first issued), bound to their client and redirect_uri.
// - Refresh tokens (RFC 6749 §6, RFC 9700 §4.14.2): bound to their client, rotated on use; a
//   rotated token used again after the reuse grace revokes its whole family; scope only narrows.
// The server runs with SESAME_CODE_LIFETIME=3 (expiry is seen after a 3-second wait, while every
// other code is redeemed well within it) and SESAME_REFRESH_REUSE_GRACE=1.

const CALLBACK = 'https://app.example/cb';
const CALLBACK2 = 'https://app.example/cb2';
const LIFETIME = 3;
const GRACE = 1;

const verifier = () => randomBytes(32).toString('base64url');

/** A verifier whose standard-Base64 SHA-256 has a '+' or '/' (so the wrong alphabet differs). */
function plusSlashVerifier(): string {
  for (;;) {
    const v = verifier();
    if (/[+/]/.test(createHash('sha256').update(v).digest('base64'))) return v;
  }
}

// every `sesame` this file started is gone at the end, even after a failed beforeAll
afterAll(() => killAll());

describeEachBackend('security rules: code flow — PKCE, codes, refresh tokens (running server)', (backend) => {
  let s: Sesame;
  /** A public client (spa). */
  let spa: Client;
  /** A confidential client (web) with two callbacks and offline access. */
  let a: Client;
  /** Another confidential client (introspection is for the token’s own client, a). */
  let b: Client;
  /** A confidential client allowed to go without PKCE (`--no-require-pkce`, for old libraries). */
  let legacy: Client;
  let creds: Credentials;

  beforeAll(async () => {
    s = await launch(backend, {
      env: { SESAME_CODE_LIFETIME: String(LIFETIME), SESAME_REFRESH_REUSE_GRACE: String(GRACE) },
    });
    [spa, a, b, legacy, creds] = await Promise.all([
      newApp(s, 'spa', ['--callback', CALLBACK]),
      newApp(s, 'web', ['--callback', CALLBACK, '--callback', CALLBACK2, '--allow-offline-access']),
      newApp(s, 'web', ['--callback', CALLBACK, '--allow-offline-access']),
      newApp(s, 'web', ['--callback', CALLBACK, '--no-require-pkce']),
      newUser(s),
    ]);
  });
  afterAll(async () => s?.stop());

  describe('PKCE', () => {
    let agent: UserAgent;
    beforeAll(() => {
      agent = s.agent(creds);
    });

    const kinds = () =>
      [
        ['public (spa)', spa],
        ['confidential (web)', a],
      ] as const;

    /** GET /authorize with `params` for `client`: where it sends the browser. */
    async function authorize(client: Client, params: Record<string, string | null>) {
      const res = await agent.get(
        authorizeUrl(s, { client_id: client.clientId, redirect_uri: CALLBACK, ...params }),
      );
      await res.arrayBuffer();
      return { status: res.status, location: res.headers.get('location') };
    }

    /** Asserts an invalid_request redirect to the callback (with state and iss), not a login or a code. */
    function expectInvalidRequest(r: { status: number; location: string | null }, what: string) {
      expect(r.status, what).toBe(303);
      const loc = new URL(r.location as string);
      expect(`${loc.origin}${loc.pathname}`, what).toBe(CALLBACK);
      expect(loc.searchParams.get('error'), what).toBe('invalid_request');
      expect(loc.searchParams.get('code'), what).toBeNull();
      expect(loc.searchParams.get('state'), what).toBe('st');
      expect(loc.searchParams.get('iss'), what).toBe(s.issuer);
    }

    describe('at /authorize, for a public and a confidential client alike', () => {
      const v = 'a-fixed-verifier-of-forty-three-characters-0123';
      const bad: [string, () => Record<string, string | null>][] = [
        ['code_challenge_method=plain', () => ({ code_challenge: v, code_challenge_method: 'plain' })],
        ['a challenge without a method (plain by default)', () => ({ code_challenge: s256(v) })],
        ['code_challenge_method=S257', () => ({ code_challenge: s256(v), code_challenge_method: 'S257' })],
        [
          'code_challenge_method=s256 (methods are case-sensitive)',
          () => ({
            code_challenge: s256(v),
            code_challenge_method: 's256',
          }),
        ],
        ['a method without a challenge', () => ({ code_challenge_method: 'S256' })],
        [
          'a 42-character challenge',
          () => ({ code_challenge: s256(v).slice(0, 42), code_challenge_method: 'S256' }),
        ],
        [
          'a 44-character challenge',
          () => ({ code_challenge: `${s256(v)}A`, code_challenge_method: 'S256' }),
        ],
        [
          'a 128-character challenge',
          () => ({ code_challenge: 'A'.repeat(128), code_challenge_method: 'S256' }),
        ],
        [
          'a 129-character challenge',
          () => ({ code_challenge: 'A'.repeat(129), code_challenge_method: 'S256' }),
        ],
        [
          'the +/= alphabet (standard Base64, padded)',
          () => ({
            code_challenge: createHash('sha256').update(plusSlashVerifier()).digest('base64'),
            code_challenge_method: 'S256',
          }),
        ],
        [
          'the +/ alphabet without padding (43 characters)',
          () => ({
            code_challenge: createHash('sha256').update(plusSlashVerifier()).digest('base64').slice(0, 43),
            code_challenge_method: 'S256',
          }),
        ],
      ];
      for (const [what, params] of bad) {
        it(`${what} → invalid_request to the callback, for both clients`, async () => {
          for (const [kind, client] of kinds()) {
            expectInvalidRequest(await authorize(client, { state: 'st', ...params() }), `${kind}: ${what}`);
          }
        });
      }

      it('a public client without code_challenge → invalid_request (PKCE is required)', async () => {
        expectInvalidRequest(await authorize(spa, { state: 'st' }), 'spa without PKCE');
      });

      it('a valid S256 challenge goes on to the login page (the control), for both clients', async () => {
        for (const [kind, client] of kinds()) {
          const r = await authorize(client, {
            code_challenge: s256(verifier()),
            code_challenge_method: 'S256',
          });
          expect({ kind, ...r }).toEqual({ kind, status: 303, location: inInteraction('/u/login') });
        }
      });
    });

    describe('at /oauth/token', () => {
      /** A code issued for `client` with `challenge` (or none). */
      const codeWith = (client: Client, challenge: string | null) =>
        codeFor(
          agent,
          authorizeUrl(s, {
            client_id: client.clientId,
            redirect_uri: CALLBACK,
            ...(challenge === null ? {} : { code_challenge: challenge, code_challenge_method: 'S256' }),
          }),
        );
      const exchange = (client: Client, code: string, codeVerifier: string | null) =>
        token(s, client, {
          grant_type: 'authorization_code',
          code,
          redirect_uri: CALLBACK,
          ...(codeVerifier === null ? {} : { code_verifier: codeVerifier }),
        });

      it('the right verifier → 200, for both clients (the control)', async () => {
        for (const [, client] of kinds()) {
          const v = verifier();
          const res = await exchange(client, await codeWith(client, s256(v)), v);
          expect(res.status, JSON.stringify(res.body)).toBe(200);
          expect(typeof res.body.access_token).toBe('string');
        }
      });

      const wrong: [string, (v: string) => string | null][] = [
        ['a wrong verifier', () => verifier()],
        ['no verifier', () => null],
        ['the challenge itself as the verifier', (v) => s256(v)],
        ['the verifier with one character changed', (v) => `${v.slice(0, -1)}${v.endsWith('A') ? 'B' : 'A'}`],
        ['the verifier in upper case', (v) => v.toUpperCase()],
      ];
      for (const [what, makeVerifier] of wrong) {
        it(`${what} → invalid_grant, and the right verifier afterwards too (the code is used up), for both clients`, async () => {
          for (const [kind, client] of kinds()) {
            const v = verifier();
            const code = await codeWith(client, s256(v));
            expectError(await exchange(client, code, makeVerifier(v)), 400, 'invalid_grant');
            const retry = await exchange(client, code, v);
            expect(retry.body.error, `${kind}: ${JSON.stringify(retry.body)}`).toBe('invalid_grant');
          }
        });
      }

      it('downgrade: a verifier for a code issued without a challenge → invalid_grant (confidential client allowed to go without PKCE)', async () => {
        const code = await codeWith(legacy, null);
        expectError(await exchange(legacy, code, verifier()), 400, 'invalid_grant');
        // and the code is gone: without the verifier it does not work either
        expectError(await exchange(legacy, code, null), 400, 'invalid_grant');
      });

      it('a code issued without a challenge to a client allowed to go without PKCE works without a verifier (the control)', async () => {
        const res = await exchange(legacy, await codeWith(legacy, null), null);
        expect(res.status, JSON.stringify(res.body)).toBe(200);
      });

      it('a confidential client gets no code without a challenge by default (OAuth 2.1), even signed in', async () => {
        await codeWith(a, s256(verifier()));
        expectInvalidRequest(await authorize(a, { state: 'st' }), 'web without PKCE, signed in');
      });

      it('downgrade: a public client gets no code without a challenge, even signed in, so it has nothing to downgrade', async () => {
        await codeWith(spa, s256(verifier())); // signed in and consented: only PKCE is missing below
        const r = await authorize(spa, { state: 'st' });
        expectInvalidRequest(r, 'spa without PKCE, signed in');
        // the same request with a challenge would have issued a code at once
        const ok = await authorize(spa, { code_challenge: s256(verifier()), code_challenge_method: 'S256' });
        expect(new URL(ok.location as string).searchParams.get('code')).toMatch(/.{20,}/);
      });

      it('a code issued with a challenge cannot be redeemed by the other client with the right verifier', async () => {
        const v = verifier();
        const code = await codeWith(spa, s256(v));
        expectError(await exchange(a, code, v), 400, 'invalid_grant');
      });
    });
  });

  describe('authorization codes', () => {
    let agent: UserAgent;
    beforeAll(() => {
      agent = s.agent(creds);
    });

    /** A fresh code for `client` at `redirectUri` with a PKCE challenge; its verifier. */
    async function issue(client: Client = a, redirectUri = CALLBACK, scope = 'openid offline_access') {
      const verifier = randomBytes(32).toString('base64url');
      const code = await codeFor(
        agent,
        authorizeUrl(s, {
          client_id: client.clientId,
          redirect_uri: redirectUri,
          scope,
          code_challenge: s256(verifier),
          code_challenge_method: 'S256',
        }),
      );
      return { code, verifier };
    }

    const exchange = (
      client: Client,
      c: { code: string; verifier: string },
      redirectUri: string | null = CALLBACK,
    ) =>
      token(s, client, {
        grant_type: 'authorization_code',
        code: c.code,
        code_verifier: c.verifier,
        ...(redirectUri === null ? {} : { redirect_uri: redirectUri }),
      });

    /** Whether the tokens of a token response still work: userinfo, introspection, refresh. */
    async function state(body: Record<string, unknown>) {
      const at = body.access_token as string;
      return {
        userinfo: await userinfoStatus(s, at),
        introspect: await introspectActive(s, a, at),
        refreshActive: await introspectActive(s, a, body.refresh_token as string),
      };
    }
    const ALIVE = { userinfo: 200, introspect: true, refreshActive: true };
    const DEAD = { userinfo: 401, introspect: false, refreshActive: false };

    it('a code is redeemed once by its client (the control): tokens that work', async () => {
      const first = await exchange(a, await issue());
      expect(first.status, JSON.stringify(first.body)).toBe(200);
      expect(typeof first.body.refresh_token).toBe('string');
      expect(await state(first.body)).toEqual(ALIVE);
    });

    describe('replay', () => {
      it('a second use → invalid_grant, and the first tokens stop working at /userinfo and /oauth/introspect', async () => {
        const c = await issue();
        const first = await exchange(a, c);
        expect(first.status).toBe(200);
        expect(await state(first.body)).toEqual(ALIVE);
        expectError(await exchange(a, c), 400, 'invalid_grant');
        expect(await state(first.body)).toEqual(DEAD);
        // the refresh token of the first exchange is refused too
        const refreshed = await token(s, a, {
          grant_type: 'refresh_token',
          refresh_token: first.body.refresh_token as string,
        });
        expectError(refreshed, 400, 'invalid_grant');
      });

      it('a replay with a bad client secret → 401 invalid_client, and nothing is revoked', async () => {
        const c = await issue();
        const first = await exchange(a, c);
        expect(first.status).toBe(200);
        const bad = await exchange({ clientId: a.clientId, clientSecret: `${a.clientSecret}x` }, c);
        expectError(bad, 401, 'invalid_client');
        expect(bad.headers.get('www-authenticate')).toMatch(/^Basic /);
        // with no secret at all, the same
        expectError(
          await postForm(s, '/oauth/token', {
            grant_type: 'authorization_code',
            code: c.code,
            client_id: a.clientId,
            code_verifier: c.verifier,
            redirect_uri: CALLBACK,
          }),
          401,
          'invalid_client',
        );
        expect(await state(first.body)).toEqual(ALIVE);
      });

      it('6 concurrent exchanges of one code → exactly one 200; the others are replays, so its tokens are revoked', async () => {
        const c = await issue();
        const answers = await Promise.all(Array.from({ length: 6 }, () => exchange(a, c)));
        const ok = answers.filter((x) => x.status === 200);
        expect(answers.map((x) => x.status).sort()).toEqual([200, 400, 400, 400, 400, 400]);
        for (const x of answers) if (x.status !== 200) expect(x.body.error).toBe('invalid_grant');
        expect(await state((ok[0] as (typeof answers)[number]).body)).toEqual(DEAD);
      });
    });

    describe('binding', () => {
      it('another client’s code → invalid_grant, even with the right verifier and redirect_uri', async () => {
        const c = await issue(a);
        expectError(await exchange(b, c), 400, 'invalid_grant');
      });

      it('a redirect_uri differing from the authorization request → invalid_grant (registered or not)', async () => {
        expectError(await exchange(a, await issue(a, CALLBACK), CALLBACK2), 400, 'invalid_grant');
        expectError(await exchange(a, await issue(a, CALLBACK2), CALLBACK), 400, 'invalid_grant');
        expectError(await exchange(a, await issue(a, CALLBACK), `${CALLBACK}/`), 400, 'invalid_grant');
        expectError(
          await exchange(a, await issue(a, CALLBACK), 'https://evil.example/cb'),
          400,
          'invalid_grant',
        );
      });

      it('a redirect_uri sent at /authorize but left out at /oauth/token → refused (RFC 6749 §4.1.3)', async () => {
        const res = await exchange(a, await issue(a, CALLBACK2), null);
        expect(res.status).toBe(400);
        expect(['invalid_request', 'invalid_grant']).toContain(res.body.error);
        expect(res.body.access_token).toBeUndefined();
      });

      it('the second callback’s code is redeemed at the second callback (the control)', async () => {
        const res = await exchange(a, await issue(a, CALLBACK2), CALLBACK2);
        expect(res.status, JSON.stringify(res.body)).toBe(200);
      });

      it('an unknown code → invalid_grant', async () => {
        const c = await issue();
        expectError(await exchange(a, { ...c, code: `${c.code.slice(0, -2)}xx` }), 400, 'invalid_grant');
      });
    });

    describe('lifetime', () => {
      it(`a code older than its lifetime (SESAME_CODE_LIFETIME=${LIFETIME}) → invalid_grant`, async () => {
        const c = await issue();
        await new Promise((r) => setTimeout(r, LIFETIME * 1000 + 200));
        const res = await exchange(a, c);
        expectError(res, 400, 'invalid_grant');
      }, 20_000);
    });
  });

  describe('refresh tokens', () => {
    let agent: UserAgent;
    beforeAll(() => {
      agent = s.agent(creds);
    });

    /** Signs in to `client` with offline_access and returns its first token response. */
    async function signIn(client: Client = a, scope = 'openid offline_access') {
      const verifier = randomBytes(32).toString('base64url');
      const code = await codeFor(
        agent,
        authorizeUrl(s, {
          client_id: client.clientId,
          redirect_uri: CALLBACK,
          scope,
          code_challenge: s256(verifier),
          code_challenge_method: 'S256',
        }),
      );
      const res = await token(s, client, {
        grant_type: 'authorization_code',
        code,
        redirect_uri: CALLBACK,
        code_verifier: verifier,
      });
      expect(res.status, JSON.stringify(res.body)).toBe(200);
      expect(typeof res.body.refresh_token).toBe('string');
      return res.body as { access_token: string; refresh_token: string; scope: string };
    }

    const refresh = (client: Client, refreshToken: string, extra: Record<string, string> = {}) =>
      token(s, client, { grant_type: 'refresh_token', refresh_token: refreshToken, ...extra });

    it('a refresh rotates the token (the control): a new, different refresh token that works', async () => {
      const first = await signIn();
      const next = await refresh(a, first.refresh_token);
      expect(next.status, JSON.stringify(next.body)).toBe(200);
      expect(next.body.refresh_token).not.toBe(first.refresh_token);
      expect((await refresh(a, next.body.refresh_token as string)).status).toBe(200);
    });

    describe('binding', () => {
      it('another client’s refresh token → invalid_grant, and the owner can still use it', async () => {
        const first = await signIn(a);
        expectError(await refresh(b, first.refresh_token), 400, 'invalid_grant');
        const owner = await refresh(a, first.refresh_token);
        expect(owner.status, JSON.stringify(owner.body)).toBe(200);
      });

      it('the owner’s id with another client’s secret → 401 invalid_client, and nothing is issued', async () => {
        const first = await signIn(a);
        const res = await refresh(
          { clientId: a.clientId, clientSecret: b.clientSecret as string },
          first.refresh_token,
        );
        expectError(res, 401, 'invalid_client');
        expect(res.body.access_token).toBeUndefined();
      });
    });

    describe('reuse after the grace period', () => {
      it('→ invalid_grant, and the whole family is revoked (the newest member too); another sign-in’s family is untouched', async () => {
        const other = await signIn();
        const first = await signIn();
        const second = await refresh(a, first.refresh_token);
        expect(second.status).toBe(200);
        const newest = second.body.refresh_token as string;
        expect(await introspectActive(s, a, newest)).toBe(true);
        await new Promise((r) => setTimeout(r, GRACE * 1000 + 1000));
        expectError(await refresh(a, first.refresh_token), 400, 'invalid_grant');
        expect(await introspectActive(s, a, newest)).toBe(false);
        expectError(await refresh(a, newest), 400, 'invalid_grant');
        expect(await introspectActive(s, a, other.refresh_token)).toBe(true);
        expect((await refresh(a, other.refresh_token)).status).toBe(200);
      }, 20_000);
    });

    describe('scope', () => {
      for (const wider of [
        'openid offline_access email',
        'openid offline_access profile',
        'openid offline_access admin',
      ]) {
        it(`asking for more than granted (${wider}) → invalid_scope, and nothing is issued`, async () => {
          const first = await signIn();
          const res = await refresh(a, first.refresh_token, { scope: wider });
          expectError(res, 400, 'invalid_scope');
          expect(res.body.access_token).toBeUndefined();
        });
      }

      it('a narrower scope works (the control)', async () => {
        const first = await signIn();
        const res = await refresh(a, first.refresh_token, { scope: 'openid' });
        expect(res.status, JSON.stringify(res.body)).toBe(200);
        expect(res.body.scope).toBe('openid');
      });
    });
  });
});
