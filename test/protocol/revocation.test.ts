import { decodeJwt } from 'jose';
import * as oauth from 'oauth4webapi';
import * as client from 'openid-client';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openRuntime } from '../../src/runtime.js';
import { createServer } from '../../src/server.js';
import type { Api } from '../../src/storage/types.js';
import { startTestApp, type TestApp } from '../support/app.js';
import { describeEachBackend } from '../support/databases.js';

const FORM = { 'content-type': 'application/x-www-form-urlencoded' };

const basic = (id: string, secret: string) =>
  `Basic ${Buffer.from(`${encodeURIComponent(id)}:${encodeURIComponent(secret)}`).toString('base64')}`;

interface Body {
  active?: boolean;
  error?: string;
  error_description?: string;
}

type Creds = { clientId: string; clientSecret: string };

describeEachBackend('token revocation (RFC 7009)', (backend) => {
  let t: TestApp;
  let api: Api;
  let m2m: Creds;
  let other: Creds;
  let rs: Creds;

  async function issue(c: Creds = m2m): Promise<string> {
    const res = await t.fetch(`${t.issuer}/oauth/token`, {
      method: 'POST',
      headers: FORM,
      body: new URLSearchParams({
        grant_type: 'client_credentials',
        client_id: c.clientId,
        client_secret: c.clientSecret,
        audience: api.identifier,
      }),
    });
    expect(res.status).toBe(200);
    return ((await res.json()) as { access_token: string }).access_token;
  }

  const revoke = (params: Record<string, string>, headers: Record<string, string> = {}) =>
    t.fetch(`${t.issuer}/oauth/revoke`, {
      method: 'POST',
      headers: { ...FORM, ...headers },
      body: new URLSearchParams(params),
    });

  /** Revokes as `c` with client_secret_basic. */
  const revokeAs = (c: Creds, token: string, extra: Record<string, string> = {}) =>
    revoke({ token, ...extra }, { authorization: basic(c.clientId, c.clientSecret) });

  async function isActive(token: string, fetch: TestApp['fetch'] = t.fetch): Promise<boolean> {
    const res = await fetch(`${t.issuer}/oauth/introspect`, {
      method: 'POST',
      headers: { ...FORM, authorization: basic(rs.clientId, rs.clientSecret) },
      body: new URLSearchParams({ token }),
    });
    expect(res.status).toBe(200);
    return ((await res.json()) as Body).active === true;
  }

  beforeAll(async () => {
    t = await startTestApp(backend);
    api = await t.createApi();
    m2m = await t.createM2m(api);
    other = await t.createM2m(api);
    rs = await t.createM2m(api);
  });
  afterAll(async () => t?.close());

  describe('the client the token was issued to', () => {
    it('revokes it with openid-client; introspection then says inactive', async () => {
      const token = await issue();
      const config = await client.discovery(
        new URL(t.issuer),
        m2m.clientId,
        undefined,
        client.ClientSecretBasic(m2m.clientSecret),
        { [client.customFetch]: t.fetch },
      );
      expect((await client.tokenIntrospection(config, token)).active).toBe(true);
      await client.tokenRevocation(config, token);
      expect(await client.tokenIntrospection(config, token)).toEqual({ active: false });
    });

    it('revokes it with oauth4webapi (client_secret_post)', async () => {
      const token = await issue();
      const as: oauth.AuthorizationServer = {
        issuer: t.issuer,
        revocation_endpoint: `${t.issuer}/oauth/revoke`,
      };
      const c: oauth.Client = { client_id: m2m.clientId };
      const response = await oauth.revocationRequest(as, c, oauth.ClientSecretPost(m2m.clientSecret), token, {
        [oauth.customFetch]: t.fetch,
      });
      expect(response.status).toBe(200);
      await oauth.processRevocationResponse(response);
      expect(await isActive(token)).toBe(false);
    });

    it('gets 200 with Cache-Control: no-store, and the revocation is of that token only', async () => {
      const token = await issue();
      const sibling = await issue();
      const res = await revokeAs(m2m, token);
      expect(res.status).toBe(200);
      expect(res.headers.get('cache-control')).toBe('no-store');
      expect(await isActive(token)).toBe(false);
      expect(await isActive(sibling)).toBe(true);
      expect(await isActive(await issue())).toBe(true);
    });

    it('gets 200 when revoking the same token twice', async () => {
      const token = await issue();
      expect((await revokeAs(m2m, token)).status).toBe(200);
      expect((await revokeAs(m2m, token)).status).toBe(200);
      expect(await isActive(token)).toBe(false);
    });

    it.each(['garbage', 'a.b.c', 'x'.repeat(500)])('gets 200 for an invalid token (%s)', async (token) => {
      const res = await revokeAs(m2m, token);
      expect(res.status).toBe(200);
      expect(await res.text()).toBe('');
    });

    it('gets 200 for a token that has already expired', async () => {
      const shortApi = await t.createApi({ tokenLifetime: 60 });
      const c = await t.createM2m(shortApi);
      const res = await t.fetch(`${t.issuer}/oauth/token`, {
        method: 'POST',
        headers: FORM,
        body: new URLSearchParams({
          grant_type: 'client_credentials',
          client_id: c.clientId,
          client_secret: c.clientSecret,
        }),
      });
      const token = ((await res.json()) as { access_token: string }).access_token;
      t.clock.advance(61);
      expect((await revokeAs(c, token)).status).toBe(200);
    });

    it.each(['access_token', 'refresh_token', 'no_such_type'])(
      'ignores token_type_hint=%s and revokes anyway',
      async (hint) => {
        const token = await issue();
        const res = await revokeAs(m2m, token, { token_type_hint: hint });
        expect(res.status).toBe(200);
        expect(await isActive(token)).toBe(false);
      },
    );

    it('stays revoked for every instance sharing the database (no state in memory)', async () => {
      const token = await issue();
      const rt2 = await openRuntime(t.rt.config, { clock: t.clock, logger: pino({ level: 'silent' }) });
      try {
        const app2 = createServer(rt2);
        const fetch2: TestApp['fetch'] = async (input, init) => app2.fetch(new Request(input, init));
        expect(await isActive(token, fetch2)).toBe(true);
        expect((await revokeAs(m2m, token)).status).toBe(200);
        expect(await isActive(token, fetch2)).toBe(false);
      } finally {
        await rt2.storage.close();
      }
    });
  });

  describe('another client', () => {
    it('gets the answer of an unknown token (200, nothing told), and the token stays active', async () => {
      const token = await issue(m2m);
      const res = await revokeAs(other, token);
      const unknown = await revokeAs(other, 'not-a-token-at-all');
      expect([res.status, await res.text()]).toEqual([unknown.status, await unknown.text()]);
      expect(res.status).toBe(200);
      expect(res.headers.get('cache-control')).toBe('no-store');
      expect(await isActive(token)).toBe(true);
    });

    it('succeeds through openid-client without revoking anything', async () => {
      const token = await issue(m2m);
      const config = await client.discovery(
        new URL(t.issuer),
        other.clientId,
        undefined,
        client.ClientSecretPost(other.clientSecret),
        { [client.customFetch]: t.fetch },
      );
      await client.tokenRevocation(config, token);
      expect(await isActive(token)).toBe(true);
    });

    it('a public client (client_id only) changes nothing either, and the token stays active', async () => {
      const token = await issue(m2m);
      const spa = await t.createApp({ name: 'SPA', type: 'spa', callbacks: ['https://spa.test/cb'] });
      const res = await revoke({ token, client_id: spa.clientId });
      expect(res.status).toBe(200);
      expect(await isActive(token)).toBe(true);
    });
  });

  describe('a bad request', () => {
    it('without client authentication gets 401 invalid_client; the token stays active', async () => {
      const token = await issue();
      const res = await revoke({ token });
      expect(res.status).toBe(401);
      expect(res.headers.get('www-authenticate')).toMatch(/^Basic /);
      expect(((await res.json()) as Body).error).toBe('invalid_client');
      expect(await isActive(token)).toBe(true);
    });

    it('with a wrong secret gets 401 invalid_client; the token stays active', async () => {
      const token = await issue();
      const res = await revoke({ token }, { authorization: basic(m2m.clientId, 'wrong') });
      expect(res.status).toBe(401);
      expect(((await res.json()) as Body).error).toBe('invalid_client');
      expect(await isActive(token)).toBe(true);
    });

    it('without a token gets invalid_request naming it', async () => {
      const res = await revoke({}, { authorization: basic(m2m.clientId, m2m.clientSecret) });
      expect(res.status).toBe(400);
      const body = (await res.json()) as Body;
      expect(body.error).toBe('invalid_request');
      expect(body.error_description).toMatch(/\btoken\b/);
    });

    it('by GET gets 405 with Allow: POST, OPTIONS', async () => {
      const res = await t.fetch(`${t.issuer}/oauth/revoke`);
      expect(res.status).toBe(405);
      expect(res.headers.get('allow')).toBe('POST, OPTIONS');
    });
  });

  it('keeps the revocation through a purge of expired revocations while the token lives', async () => {
    const token = await issue();
    expect((await revokeAs(m2m, token)).status).toBe(200);
    const exp = decodeJwt(token).exp!;
    await t.rt.storage.revocations.purgeExpired(exp - 1);
    expect(await isActive(token)).toBe(false);
    expect(await t.rt.storage.revocations.isRevoked(decodeJwt(token).jti!)).toBe(true);
  });
});

describeEachBackend('revocation on another instance, for a key made on first use', (backend) => {
  let t: TestApp;

  beforeAll(async () => {
    t = await startTestApp(backend, { keys: { algorithms: ['ES256'] } });
  });
  afterAll(async () => t?.close());

  // Instance 1 creates the PS256 key on first use and signs with it at once (activatesAt = now, no
  // keys.activationDelay). Instance 2 loaded its keys earlier in the same second, and
  // Keystore.prepare() looks again for an unknown kid only once a second: so instance 2 calls the
  // fresh token inactive and "revokes" it with 200 without recording anything.
  it('is not lost: the token is inactive everywhere after instance 2 answers 200', async () => {
    const rt2 = await openRuntime(t.rt.config, { clock: t.clock, logger: pino({ level: 'silent' }) });
    try {
      const app2 = createServer(rt2);
      const fetch2: TestApp['fetch'] = async (input, init) => app2.fetch(new Request(input, init));
      expect((await fetch2(`${t.issuer}/.well-known/jwks.json`)).status).toBe(200); // instance 2 is warm

      const api = await t.createApi({ signingAlg: 'PS256' });
      const m2m = await t.createM2m(api);
      const auth = { ...FORM, authorization: basic(m2m.clientId, m2m.clientSecret) };
      const issued = await t.fetch(`${t.issuer}/oauth/token`, {
        method: 'POST',
        headers: auth,
        body: new URLSearchParams({ grant_type: 'client_credentials' }),
      });
      expect(issued.status).toBe(200);
      const { access_token: token } = (await issued.json()) as { access_token: string };

      const revoked = await fetch2(`${t.issuer}/oauth/revoke`, {
        method: 'POST',
        headers: auth,
        body: new URLSearchParams({ token }),
      });
      expect(revoked.status).toBe(200);
      const after = await t.fetch(`${t.issuer}/oauth/introspect`, {
        method: 'POST',
        headers: auth,
        body: new URLSearchParams({ token }),
      });
      expect(await after.text()).toBe('{"active":false}');
    } finally {
      await rt2.storage.close();
    }
  });
});
