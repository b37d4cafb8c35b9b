import { beforeAll, describe, expect, it } from 'vitest';
import type { Api } from '../../src/storage/types.js';
import { decodeJwt, isActive } from '../protocol/sign-in/fixtures.js';
import type { TestApp } from '../support/app.js';
import { describeEachBackend } from '../support/databases.js';
import { ok, resourcesApp } from './resources-fixture.js';
import { type Call, expectError, ISO_TIME, newApi, scopes } from './support.js';

describeEachBackend('Management API: resources (tenant settings, signing keys)', (backend) => {
  const env = resourcesApp(backend);
  const { clientCredentials } = env;
  let t: TestApp;
  let call: Call;
  /** An ordinary API with read:things and write:things, refresh tokens allowed. */
  let api: Api;

  beforeAll(() => {
    ({ t, call, api } = env);
  });

  describe('tenant settings', () => {
    it('reads and updates; null resets a field', async () => {
      ok(await call('GET', '/tenants/settings'));
      const updated = ok(
        await call('PATCH', '/tenants/settings', {
          body: {
            friendly_name: 'Acme',
            support_email: 'help@acme.example',
            support_url: 'https://acme.example/help',
            picture_url: 'https://acme.example/logo.png',
            session_lifetime: 48,
            idle_session_lifetime_in_minutes: 90,
            signup_enabled: true,
          },
        }),
      );
      expect(updated).toMatchObject({
        friendly_name: 'Acme',
        support_email: 'help@acme.example',
        support_url: 'https://acme.example/help',
        picture_url: 'https://acme.example/logo.png',
        session_lifetime: 48,
        idle_session_lifetime: 1.5,
        signup_enabled: true,
      });
      expect(ok(await call('GET', '/tenants/settings'))).toMatchObject(updated);
      const reset = ok(await call('PATCH', '/tenants/settings', { body: { friendly_name: null } }));
      expect(reset).not.toHaveProperty('friendly_name');
      expect(reset.support_email).toBe('help@acme.example');
      const bad = await call('PATCH', '/tenants/settings', { body: { support_email: 'not an email' } });
      expectError(bad, 400, 'invalid_body');
      expect(bad.body.message).toContain('support_email');
    });

    it('refuses a friendly_name with line separators or bidirectional overrides, like every other name', async () => {
      const before = ok(await call('GET', '/tenants/settings'));
      for (const name of ['Acme \u202Egnp.exe', 'Acme\u2028Support', 'Acme\u2066x', 'Acme\nSupport', '  ']) {
        const answer = await call('PATCH', '/tenants/settings', { body: { friendly_name: name } });
        expectError(answer, 400, 'invalid_body');
        expect(answer.body.message, JSON.stringify(name)).toMatch(/^friendly_name: must/);
      }
      expect(ok(await call('GET', '/tenants/settings'))).toEqual(before);
    });

    it('refuses a lifetime given both in hours and in minutes, and changes nothing', async () => {
      const before = ok(await call('GET', '/tenants/settings'));
      for (const key of ['session_lifetime', 'idle_session_lifetime']) {
        const answer = await call('PATCH', '/tenants/settings', {
          body: { [key]: 1, [`${key}_in_minutes`]: 30 },
        });
        expectError(answer, 400, 'invalid_body');
        expect(answer.body.message).toContain(`${key} and ${key}_in_minutes: give one of them`);
        // minutes are whole (Auth0's integers), and an out-of-range value is named as sent
        for (const minutes of [1.5, 0, -5, 8760 * 60 + 1]) {
          const odd = await call('PATCH', '/tenants/settings', { body: { [`${key}_in_minutes`]: minutes } });
          expectError(odd, 400, 'invalid_body');
          expect(odd.body.message, String(minutes)).toMatch(
            new RegExp(
              `(^|: )${key}_in_minutes: must be (a whole number of minutes|from 1 to 525600 minutes)`,
            ),
          );
        }
      }
      // an idle lifetime longer than the whole session's, sent or left from before
      for (const body of [{ idle_session_lifetime: 72 }, { session_lifetime: 1 }]) {
        const longer = await call('PATCH', '/tenants/settings', { body });
        expectError(longer, 400, 'invalid_body');
        expect(longer.body.message).toContain('idle_session_lifetime: at most session_lifetime');
      }
      expect(ok(await call('GET', '/tenants/settings'))).toEqual(before);
    });

    it('an idle lifetime may not pass the configured session.lifetime either, when no session_lifetime is stored', async () => {
      const before = ok(await call('GET', '/tenants/settings'));
      // session.lifetime: 604800 s, 168 hours
      const longer = await call('PATCH', '/tenants/settings', {
        body: { session_lifetime: null, idle_session_lifetime: 169 },
      });
      expectError(longer, 400, 'invalid_body');
      expect(longer.body.message).toContain(
        'idle_session_lifetime: at most session_lifetime (168 hours, the default: session.lifetime)',
      );
      expect(ok(await call('GET', '/tenants/settings'))).toEqual(before);
      const fits = ok(
        await call('PATCH', '/tenants/settings', {
          body: { session_lifetime: null, idle_session_lifetime: 168 },
        }),
      );
      expect(fits).toMatchObject({ session_lifetime: 168, idle_session_lifetime: 168 }); // the default shown
      const keys = ['session_lifetime', 'idle_session_lifetime'] as const;
      ok(
        await call('PATCH', '/tenants/settings', {
          body: Object.fromEntries(keys.map((k) => [k, before[k] ?? null])),
        }),
      );
    });

    it('refuses a default_audience that is no API', async () => {
      const answer = await call('PATCH', '/tenants/settings', {
        body: { default_audience: 'https://no-such-api.example/' },
      });
      expectError(answer, 400, 'invalid_body');
      expect(answer.body.message).toContain('default_audience');
    });

    it('honours default_audience at the token endpoint when no audience is named', async () => {
      const api2 = await newApi(t, { scopes: scopes('read:two') });
      const m2m = ok(
        await call('POST', '/clients', { body: { name: 'Two APIs', app_type: 'non_interactive' } }),
        201,
      );
      for (const [audience, scope] of [
        [api.identifier, ['read:things']],
        [api2.identifier, ['read:two']],
      ] as const) {
        ok(
          await call('POST', '/client-grants', { body: { client_id: m2m.client_id, audience, scope } }),
          201,
        );
      }
      const creds = { clientId: m2m.client_id, clientSecret: m2m.client_secret };
      const ambiguous = await clientCredentials(creds);
      expect(ambiguous.status).toBe(400);
      expect(ambiguous.body.error).toBe('invalid_request');
      try {
        ok(await call('PATCH', '/tenants/settings', { body: { default_audience: api2.identifier } }));
        expect(ok(await call('GET', '/tenants/settings')).default_audience).toBe(api2.identifier);
        const chosen = await clientCredentials(creds);
        expect(chosen.status, JSON.stringify(chosen.body)).toBe(200);
        expect(chosen.body.scope).toBe('read:two');
        expect(decodeJwt(chosen.body.access_token!).payload.aud).toBe(api2.identifier);
        // a named audience still wins
        const named = await clientCredentials(creds, { audience: api.identifier });
        expect(decodeJwt(named.body.access_token!).payload.aud).toBe(api.identifier);
      } finally {
        ok(await call('PATCH', '/tenants/settings', { body: { default_audience: null } }));
      }
      expect((await clientCredentials(creds)).status).toBe(400);
    });
  });

  // Last: rotation moves the clock forward and revocation replaces a key.
  describe('signing keys', () => {
    const ALGS = ['ES256', 'RS256', 'PS256', 'EdDSA'];

    const jwksKids = async () => {
      const res = await t.fetch(`${t.issuer}/.well-known/jwks.json`);
      expect(res.status).toBe(200);
      return ((await res.json()) as { keys: { kid: string }[] }).keys.map((k) => k.kid);
    };

    it('lists public keys only, one current per algorithm', async () => {
      const answer = await call('GET', '/keys/signing');
      const keys = ok(answer);
      expect(Array.isArray(keys)).toBe(true);
      for (const alg of ALGS) {
        expect(
          keys.filter((k: { alg: string; current: boolean }) => k.alg === alg && k.current),
          alg,
        ).toHaveLength(1);
      }
      for (const k of keys) {
        expect(k).toMatchObject({
          kid: expect.any(String),
          alg: expect.any(String),
          current: expect.any(Boolean),
          next: expect.any(Boolean),
          previous: expect.any(Boolean),
          revoked: expect.any(Boolean),
          thumbprint: expect.any(String),
          fingerprint: expect.any(String),
        });
        expect(k.public_key).toMatch(/^-----BEGIN PUBLIC KEY-----/);
        expect(k.jwk.kid).toBe(k.kid);
        for (const priv of ['d', 'p', 'q', 'dp', 'dq', 'qi']) expect(k.jwk).not.toHaveProperty(priv);
      }
      expect(answer.text).not.toMatch(/PRIVATE KEY|privateKey|private_key/);
      const current = keys.find((k: { alg: string; current: boolean }) => k.alg === 'ES256' && k.current);
      expect(current.current_since).toMatch(ISO_TIME);
      expect(ok(await call('GET', `/keys/signing/${current.kid}`))).toEqual(current);
      expectError(await call('GET', '/keys/signing/no-such-kid'), 404, 'inexistent_resource');
    });

    it('rotates: the new key is listed as next and published, and signs after the activation delay', async () => {
      const rotated = ok(await call('POST', '/keys/signing/rotate'), 201);
      expect(rotated.kid).toEqual(expect.any(String));
      expect(Array.isArray(rotated.keys)).toBe(true);
      const keys = ok(await call('GET', '/keys/signing'));
      const next = keys.find((k: { kid: string }) => k.kid === rotated.kid);
      expect(next).toMatchObject({ next: true, current: false, revoked: false });
      expect(await jwksKids()).toContain(rotated.kid);

      const m2m = await t.createM2m(await newApi(t, { signingAlg: next.alg }));
      const kidNow = decodeJwt((await clientCredentials(m2m)).body.access_token!).header.kid;
      expect(kidNow).not.toBe(rotated.kid);
      t.clock.advance(t.rt.config.keys.activationDelay + t.rt.config.keys.cacheTtl + 1);
      const kidLater = decodeJwt((await clientCredentials(m2m)).body.access_token!).header.kid;
      expect(kidLater).toBe(rotated.kid);
      const after = ok(await call('GET', '/keys/signing'));
      expect(after.find((k: { kid: string }) => k.kid === rotated.kid)).toMatchObject({
        current: true,
        next: false,
      });
      expect(after.find((k: { kid: string }) => k.kid === kidNow)).toMatchObject({
        current: false,
        previous: true,
      });
    });

    it('revokes a key: it leaves the JWKS at once and its tokens stop at /oauth/introspect', async () => {
      const rsApi = await newApi(t, { signingAlg: 'RS256' });
      const m2m = await t.createM2m(rsApi);
      const issued = await clientCredentials(m2m);
      expect(issued.status).toBe(200);
      const token = issued.body.access_token!;
      const kid = decodeJwt(token).header.kid as string;
      expect(await isActive(t, m2m, token)).toBe(true);
      expect(await jwksKids()).toContain(kid);

      const revoked = ok(await call('PUT', `/keys/signing/${kid}/revoke`));
      expect(revoked.kid).toBe(kid);
      expect(await jwksKids()).not.toContain(kid);
      expect(await isActive(t, m2m, token)).toBe(false);
      const shown = ok(await call('GET', `/keys/signing/${kid}`));
      expect(shown).toMatchObject({ kid, revoked: true, current: false });
      expect(shown.revoked_at).toMatch(ISO_TIME);

      // a new key signs in its place
      const again = await clientCredentials(m2m);
      expect(again.status, JSON.stringify(again.body)).toBe(200);
      expect(decodeJwt(again.body.access_token!).header.kid).not.toBe(kid);
      expect(await isActive(t, m2m, again.body.access_token!)).toBe(true);
      expect(
        ok(await call('GET', '/keys/signing')).filter(
          (k: { alg: string; current: boolean }) => k.alg === 'RS256' && k.current,
        ),
      ).toHaveLength(1);

      const twice = await call('PUT', `/keys/signing/${kid}/revoke`);
      expect(twice.status).toBeGreaterThanOrEqual(400);
      expect(twice.status).toBeLessThan(500);
    });
  });
});
