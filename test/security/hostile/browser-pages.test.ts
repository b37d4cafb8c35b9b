// The endpoints a browser is sent to or posts to (login, consent, the device's pages, logout,
// /authorize) answer a request they cannot read (a repeated field, a NUL, a body over the limit)
// with an HTML page of the same status, as the self-service forms do, never OAuth's JSON.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from '../../support/app.js';
import { describeEachBackend } from '../../support/databases.js';

const FORM = { 'content-type': 'application/x-www-form-urlencoded' };
const POSTED = ['/u/login', '/u/consent', '/activate', '/activate/confirm', '/oidc/logout', '/authorize'];

describeEachBackend('hostile input on the pages a browser meets', (backend) => {
  let t: TestApp;

  beforeAll(async () => {
    t = await startTestApp(backend);
  });
  afterAll(async () => t?.close());

  async function expectHtml(res: Response, status: number, says: string): Promise<void> {
    const html = await res.text();
    expect({ status: res.status, type: res.headers.get('content-type') }, html.slice(0, 500)).toEqual({
      status,
      type: expect.stringMatching(/^text\/html/),
    });
    expect(html).toContain(says);
  }

  const post = (path: string, body: string) =>
    t.fetch(`${t.issuer}${path}`, { method: 'POST', headers: FORM, body, redirect: 'manual' });

  describe.each(POSTED)('POST %s', (path) => {
    it('a NUL in a field → a 400 page naming the field', async () => {
      await expectHtml(await post(path, 'state=a%00b'), 400, 'contains a NUL character');
    });

    it('a body over the limit → a 413 page', async () => {
      await expectHtml(await post(path, `state=${'x'.repeat(70_000)}`), 413, 'larger than');
    });
  });

  it.each(POSTED.filter((p) => p !== '/authorize'))(
    'POST %s with a field twice → a 400 page',
    async (path) => {
      await expectHtml(await post(path, 'state=a&state=b'), 400, 'is repeated');
    },
  );

  it.each([
    ['/oidc/logout?state=a&state=b', 'is repeated'],
    ['/oidc/logout?client_id=%00', 'contains a NUL character'],
    ['/v2/logout?client_id=%00', 'contains a NUL character'],
    ['/authorize?client_id=x&state=a%00', 'contains a NUL character'],
  ])('GET %s → a 400 page', async (url, says) => {
    await expectHtml(await t.fetch(`${t.issuer}${url}`, { redirect: 'manual' }), 400, says);
  });
});
