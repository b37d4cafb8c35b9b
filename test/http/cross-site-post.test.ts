import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from '../support/app.js';

/** The 303 that sends another site's form POST to /authorize or /oidc/logout back as a GET. */
describe('forms POSTed from another site', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp('sqlite');
  });
  afterAll(async () => t?.close());

  const post = (path: string, body: string, headers: Record<string, string> = {}) =>
    t.fetch(`${t.issuer}${path}`, {
      method: 'POST',
      redirect: 'manual',
      headers: { 'content-type': 'application/x-www-form-urlencoded', ...headers },
      body,
    });
  const crossSite = { 'sec-fetch-site': 'cross-site' };

  it('come back as the same GET, every parameter kept (repeated ones too), relative to the address', async () => {
    for (const [path, body, location] of [
      [
        '/authorize',
        'client_id=abc&state=a%20b&resource=r1&resource=r2&empty=',
        '?client_id=abc&state=a+b&resource=r1&resource=r2',
      ],
      ['/oidc/logout', 'client_id=abc&state=a%20b&empty=', '?client_id=abc&state=a+b'],
    ]) {
      const res = await post(path!, body!, crossSite);
      expect(res.status, path).toBe(303);
      expect(res.headers.get('location')).toBe(location);
      expect(res.headers.get('cache-control')).toBe('no-store');
    }
  });

  it('not when the browser says the form is its own site, nor from callers that do not say, nor when too large', async () => {
    for (const headers of [
      { 'sec-fetch-site': 'same-origin' },
      { 'sec-fetch-site': 'same-site' },
      {},
    ] as Record<string, string>[]) {
      const res = await post('/authorize', 'client_id=abc', headers);
      expect(res.headers.get('location') ?? '').not.toMatch(/^\?/);
    }
    const large = await post('/authorize', `client_id=abc&state=${'x'.repeat(9000)}`, crossSite);
    expect(large.headers.get('location') ?? '').not.toMatch(/^\?/);
  });

  it('not when the session cookie came with it (a browser that sends it anyway)', async () => {
    const res = await post('/oidc/logout', 'state=s', {
      ...crossSite,
      cookie: '__Host-sesame_session=whatever',
    });
    expect(res.headers.get('location') ?? '').not.toMatch(/^\?/);
  });
});
