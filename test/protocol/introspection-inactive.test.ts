import { generateKeyPairSync } from 'node:crypto';
import { decodeJwt, decodeProtectedHeader } from 'jose';
import * as client from 'openid-client';
import { beforeAll, describe, expect, it } from 'vitest';
import { signJwt } from '../../src/tokens/jwt.js';
import type { TestApp } from '../support/app.js';
import { describeEachBackend } from '../support/databases.js';
import {
  type Body,
  b64,
  basic,
  FORM,
  type IntrospectionApp,
  introspectionApp,
} from './introspection-fixture.js';

// Token introspection (RFC 7662 §2.2): every token that is not active is answered exactly
// {"active":false}.
describeEachBackend('token introspection (RFC 7662): inactive tokens', (backend) => {
  const { app, issue, introspect, ask, expectInactive } = introspectionApp(backend);
  let t: TestApp;
  let m2m: IntrospectionApp['m2m'];
  let rs: IntrospectionApp['rs'];
  beforeAll(() => {
    ({ t, m2m, rs } = app);
  });

  describe('an inactive token is exactly {"active":false}', () => {
    it.each([
      ['garbage', 'garbage'],
      ['three dots', 'a.b.c'],
      ['a JWT-shaped string with bad base64', 'eyJ!.eyJ!.sig'],
      ['an opaque random value', 'x'.repeat(43)],
      ['alg none', `${b64({ alg: 'none', typ: 'at+jwt' })}.${b64({ iss: 'https://sesame.test' })}.`],
    ])('%s', async (_name, token) => {
      await expectInactive(token);
    });

    it('an unknown token (openid-client)', async () => {
      const config = await client.discovery(
        new URL(t.issuer),
        rs.clientId,
        undefined,
        client.ClientSecretPost(rs.clientSecret),
        { [client.customFetch]: t.fetch },
      );
      expect(await client.tokenIntrospection(config, 'not-a-token-we-issued')).toEqual({ active: false });
    });

    it('a token whose payload was altered', async () => {
      const [h, p, s] = (await issue()).split('.') as [string, string, string];
      const payload = JSON.parse(Buffer.from(p, 'base64url').toString()) as Record<string, unknown>;
      payload.scope = 'read:things write:things admin';
      await expectInactive(`${h}.${b64(payload)}.${s}`);
    });

    // Its jti is read before the token is verified (to look the revocation up with the caller's
    // application): one PostgreSQL cannot store (NUL) or an overlong one must change nothing.
    it('a forged token whose jti holds a NUL or is overlong (and a wrong secret is still 401)', async () => {
      const [h, p, s] = (await issue()).split('.') as [string, string, string];
      const payload = JSON.parse(Buffer.from(p, 'base64url').toString()) as Record<string, unknown>;
      for (const jti of ['a\u0000b', 'x'.repeat(40_000)]) {
        const forged = `${h}.${b64({ ...payload, jti })}.${s}`;
        await t.createApi(); // empties the read cache: the caller's application is read with the jti
        await expectInactive(forged);
        await t.createApi();
        const wrong = await introspect({ token: forged }, { authorization: basic(rs.clientId, 'wrong') });
        expect(wrong.status).toBe(401);
        expect(((await wrong.json()) as Body).error).toBe('invalid_client');
      }
    });

    it('a token signed by a foreign key that claims a published kid', async () => {
      const genuine = await issue();
      const { kid } = decodeProtectedHeader(genuine);
      const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
      const forged = signJwt({ kid: kid!, alg: 'ES256', key: privateKey }, decodeJwt(genuine), 'at+jwt');
      await expectInactive(forged);
    });

    it('a token with an unknown kid', async () => {
      const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
      const claims = decodeJwt(await issue());
      await expectInactive(signJwt({ kid: 'unknown-kid', alg: 'ES256', key: privateKey }, claims, 'at+jwt'));
    });

    it('a token signed by our key but not typed at+jwt', async () => {
      const signer = await t.rt.keys.signer('ES256');
      const claims = decodeJwt(await issue());
      await expectInactive(signJwt(signer, claims, 'JWT'));
      // the same claims typed at+jwt are active, so only typ made the difference
      expect(((await (await ask(signJwt(signer, claims, 'at+jwt'))).json()) as Body).active).toBe(true);
    });

    it('a token signed by our key for another issuer', async () => {
      const signer = await t.rt.keys.signer('ES256');
      const claims = { ...decodeJwt(await issue()), iss: 'https://evil.test' };
      await expectInactive(signJwt(signer, claims, 'at+jwt'));
    });

    it('a token whose header alg is not its key’s alg', async () => {
      const genuine = await issue();
      const [, p, s] = genuine.split('.') as [string, string, string];
      const header = { ...decodeProtectedHeader(genuine), alg: 'RS256' };
      await expectInactive(`${b64(header)}.${p}.${s}`);
    });

    it('an expired token: active until exp, inactive from exp on', async () => {
      const shortApi = await t.createApi({ tokenLifetime: 60 });
      const c = await t.createM2m(shortApi);
      const token = await issue(c, shortApi.identifier);
      const exp = decodeJwt(token).exp!;
      const asOwner = async () =>
        (
          (await (
            await introspect({ token }, { authorization: basic(c.clientId, c.clientSecret) })
          ).json()) as Body
        ).active;
      t.clock.advance(exp - 1 - t.clock.now());
      expect(await asOwner()).toBe(true);
      t.clock.advance(1);
      expect(t.clock.now()).toBe(exp);
      expect(await asOwner()).toBe(false);
      t.clock.advance(3600);
      expect(await asOwner()).toBe(false);
    });

    it('a revoked token', async () => {
      const token = await issue();
      expect(((await (await ask(token)).json()) as Body).active).toBe(true);
      const res = await t.fetch(`${t.issuer}/oauth/revoke`, {
        method: 'POST',
        headers: { ...FORM, authorization: basic(m2m.clientId, m2m.clientSecret) },
        body: new URLSearchParams({ token }),
      });
      expect(res.status).toBe(200);
      await expectInactive(token);
    });
  });
});
