import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { rotateSecret } from '../../src/admin/applications.js';
import { startTestApp, type TestApp } from '../support/app.js';

const FORM = { 'content-type': 'application/x-www-form-urlencoded' };
const basic = (id: string, secret: string) => `Basic ${Buffer.from(`${id}:${secret}`).toString('base64')}`;

/**
 * A client's secret, once proven, is compared as text rather than hashed again (#16): that must
 * never let a wrong secret in, nor an old one after a rotation.
 */
describe('client secrets proven before', () => {
  let t: TestApp;
  let app: { clientId: string; clientSecret: string };
  let audience: string;

  beforeAll(async () => {
    t = await startTestApp('sqlite');
    const api = await t.createApi();
    audience = api.identifier;
    app = await t.createM2m(api);
  });
  afterAll(async () => t?.close());

  const token = async (secret: string) =>
    (
      await t.fetch(`${t.issuer}/oauth/token`, {
        method: 'POST',
        headers: { ...FORM, authorization: basic(app.clientId, secret) },
        body: new URLSearchParams({ grant_type: 'client_credentials', audience }),
      })
    ).status;

  it('a right secret twice, then wrong ones of every kind, then the right one again', async () => {
    expect(await token(app.clientSecret)).toBe(200);
    expect(await token(app.clientSecret)).toBe(200);
    const last = app.clientSecret.at(-1) === 'A' ? 'B' : 'A';
    for (const wrong of [
      `${app.clientSecret.slice(0, -1)}${last}`,
      `${app.clientSecret}x`,
      app.clientSecret.slice(1),
      '',
    ])
      expect(await token(wrong), JSON.stringify(wrong)).toBe(401);
    expect(await token(app.clientSecret)).toBe(200);
  });

  it('after a rotation, the old secret is refused at once and the new one works', async () => {
    expect(await token(app.clientSecret)).toBe(200);
    const fresh = await rotateSecret(t.rt.storage, t.rt.clock, app.clientId);
    expect(await token(app.clientSecret)).toBe(401);
    expect(await token(fresh)).toBe(200);
    app = { ...app, clientSecret: fresh };
  });
});
