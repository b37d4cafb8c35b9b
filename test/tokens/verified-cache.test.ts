import { decodeProtectedHeader } from 'jose';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { keyContext, revokeKey } from '../../src/admin/keys.js';
import { startTestApp, type TestApp } from '../support/app.js';
import { describeEachBackend } from '../support/databases.js';

const basic = (id: string, secret: string) => `Basic ${Buffer.from(`${id}:${secret}`).toString('base64')}`;

/**
 * #16: an access token verified once is not verified again until it expires. The cache must
 * never outlive what made the token good: its expiry, its key, its revocation.
 */
describeEachBackend('verified access tokens', (backend) => {
  let t: TestApp;
  let m2m: { clientId: string; clientSecret: string };
  let audience: string;

  beforeAll(async () => {
    t = await startTestApp(backend);
    const api = await t.createApi({ signingAlg: 'ES256' });
    audience = api.identifier;
    m2m = await t.createM2m(api);
  });
  afterAll(async () => t?.close());

  const issue = async () => {
    const res = await t.fetch(`${t.issuer}/oauth/token`, {
      method: 'POST',
      headers: {
        'content-type': 'application/x-www-form-urlencoded',
        authorization: basic(m2m.clientId, m2m.clientSecret),
      },
      body: new URLSearchParams({ grant_type: 'client_credentials', audience }),
    });
    expect(res.status).toBe(200);
    return ((await res.json()) as { access_token: string }).access_token;
  };
  const active = async (token: string) => {
    const res = await t.fetch(`${t.issuer}/oauth/introspect`, {
      method: 'POST',
      headers: {
        'content-type': 'application/x-www-form-urlencoded',
        authorization: basic(m2m.clientId, m2m.clientSecret),
      },
      body: new URLSearchParams({ token }),
    });
    expect(res.status).toBe(200);
    return ((await res.json()) as { active: boolean }).active;
  };

  it('a verified token stops being active when it expires, is revoked, or its key is revoked', async () => {
    const expiring = await issue();
    expect(await active(expiring)).toBe(true);
    expect(await active(expiring)).toBe(true);
    t.clock.advance(86_400 + 1);
    expect(await active(expiring)).toBe(false);

    const revoked = await issue();
    expect(await active(revoked)).toBe(true);
    const res = await t.fetch(`${t.issuer}/oauth/revoke`, {
      method: 'POST',
      headers: {
        'content-type': 'application/x-www-form-urlencoded',
        authorization: basic(m2m.clientId, m2m.clientSecret),
      },
      body: new URLSearchParams({ token: revoked }),
    });
    expect(res.status).toBe(200);
    expect(await active(revoked)).toBe(false);

    const keyed = await issue();
    expect(await active(keyed)).toBe(true);
    await revokeKey(keyContext(t.rt), decodeProtectedHeader(keyed).kid!);
    expect(await active(keyed)).toBe(false);
    // a token of the key made in its place is fine
    expect(await active(await issue())).toBe(true);
  });

  it('a token changed by one character is verified on its own, not served from the cache', async () => {
    const token = await issue();
    expect(await active(token)).toBe(true);
    const [h, p, s] = token.split('.') as [string, string, string];
    const claims = JSON.parse(Buffer.from(p, 'base64url').toString());
    const forged = `${h}.${Buffer.from(JSON.stringify({ ...claims, scope: 'admin' })).toString('base64url')}.${s}`;
    expect(await active(forged)).toBe(false);
  });
});
