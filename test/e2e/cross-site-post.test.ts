// A relying party on another site POSTs its forms to /authorize and /oidc/logout (OpenID Connect
// Core §3.1.2.1, RP-Initiated Logout §2: both methods must work). Sesame's session cookie is
// SameSite=Lax, so a real browser leaves it out of such a POST: Sesame must still see that the
// person is signed in, and sign them out for real. Sesame on 127.0.0.1, the RP on localhost:
// two sites for Chromium.
import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { launchChromium } from './browser.js';
import { assertBuilt, freePort, runCliJson, type SesameProcess, startSesame } from './process.js';

const EMAIL = 'ada@example.com';
const PASSWORD = 'correct horse battery staple';
const VERIFIER = 'dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk';
const CHALLENGE = createHash('sha256').update(VERIFIER).digest('base64url');

describe('forms POSTed by another site to /authorize and /oidc/logout (real Chromium)', () => {
  let dir: string;
  let sesame: SesameProcess | undefined;
  let rp: Server | undefined;
  let browser: Browser | undefined;
  let page: Page;
  let op: string;
  let rpUrl: string;
  let app: { client_id: string; client_secret: string };
  let idToken = '';

  const authorizeParams = (extra: Record<string, string> = {}) => ({
    response_type: 'code',
    client_id: app.client_id,
    redirect_uri: `${rpUrl}/cb`,
    scope: 'openid',
    state: 'st',
    nonce: 'n',
    code_challenge: CHALLENGE,
    code_challenge_method: 'S256',
    ...extra,
  });
  const esc = (s: string) => s.replaceAll('&', '&amp;').replaceAll('"', '&quot;').replaceAll('<', '&lt;');
  /** The RP's page that POSTs `fields` to `action` as soon as it loads. */
  const autoPost = (action: string, fields: Record<string, string>) =>
    `<!doctype html><form method="post" action="${esc(action)}">${Object.entries(fields)
      .map(([k, v]) => `<input type="hidden" name="${esc(k)}" value="${esc(v)}">`)
      .join('')}</form><script>document.forms[0].submit()</script>`;
  const pending = new Map<string, Record<string, string>>();

  beforeAll(async () => {
    assertBuilt();
    dir = mkdtempSync(join(tmpdir(), 'sesame-xsite-'));
    const [port, rpPort] = [await freePort(), await freePort()];
    op = `http://127.0.0.1:${port}`;
    rpUrl = `http://localhost:${rpPort}`;
    const env = {
      SESAME_PORT: String(port),
      SESAME_HOST: '127.0.0.1',
      SESAME_ISSUER: op,
      SESAME_DATA_DIR: join(dir, 'data'),
      SESAME_LOG_LEVEL: 'warn',
    };
    sesame = startSesame(env);
    await sesame.waitReady(`${op}/readyz`);
    await runCliJson(['users', 'create', '--email', EMAIL, '--password', PASSWORD], env);
    app = await runCliJson(
      [
        'apps',
        'create',
        '--name',
        'Other site',
        '--type',
        'web',
        '--callback',
        `${rpUrl}/cb`,
        '--logout-callback',
        `${rpUrl}/bye`,
      ],
      env,
    );
    rp = createServer(async (req, res) => {
      const url = new URL(req.url ?? '/', rpUrl);
      const code = url.searchParams.get('code');
      if (url.pathname === '/cb' && code) {
        const answer = await fetch(`${op}/oauth/token`, {
          method: 'POST',
          headers: { authorization: `Basic ${btoa(`${app.client_id}:${app.client_secret}`)}` },
          body: new URLSearchParams({
            grant_type: 'authorization_code',
            code,
            redirect_uri: `${rpUrl}/cb`,
            code_verifier: VERIFIER,
          }),
        });
        idToken = ((await answer.json()) as { id_token?: string }).id_token ?? '';
      }
      const post = pending.get(url.pathname);
      res.setHeader('content-type', 'text/html');
      if (post) res.end(autoPost(post.action!, Object.fromEntries(Object.entries(post).slice(1))));
      else res.end(`<!doctype html><p>${esc(url.pathname)}</p>`);
    });
    await new Promise<void>((r) => rp!.listen(rpPort, 'localhost', r));
    browser = await launchChromium();
    page = await (await browser.newContext()).newPage();
    // signed in once, by GET
    await page.goto(`${op}/authorize?${new URLSearchParams(authorizeParams())}`);
    await page.fill('#email', EMAIL);
    await page.fill('#password', PASSWORD);
    await page.click('button[type=submit]');
    await page.waitForURL(`${op}/u/consent**`);
    await page.click('button[value=allow]');
    await page.waitForURL(`${rpUrl}/cb**`).catch(async (err) => {
      throw new Error(`${err}\nat ${page.url()}: ${(await page.content()).slice(0, 3000)}`);
    });
    expect(idToken).not.toBe('');
  }, 60_000);

  afterAll(async () => {
    await browser?.close();
    rp?.close();
    await sesame?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  /** Where the browser ends up after the RP's page at `path` POSTs `fields` to `action`. */
  async function postFromRp(path: string, action: string, fields: Record<string, string>, until: string) {
    pending.set(path, { action, ...fields });
    await page.goto(`${rpUrl}${path}`);
    await page.waitForURL(`${rpUrl}${until}**`);
    return new URL(page.url());
  }

  it('POST /authorize with prompt=none: the signed-in person gets a code, as by GET', async () => {
    const landed = await postFromRp(
      '/post-authorize',
      `${op}/authorize`,
      authorizeParams({ prompt: 'none' }),
      '/cb',
    );
    expect(landed.searchParams.get('error')).toBeNull();
    expect(landed.searchParams.get('code')).toMatch(/.+/);
    expect(landed.searchParams.get('state')).toBe('st');
  }, 60_000);

  it('POST /oidc/logout with an id_token_hint: back at the RP with state, and signed out for real', async () => {
    const cookie = (await page.context().cookies(op)).find((c) => c.name === 'sesame_session');
    expect(cookie).toBeDefined();
    const landed = await postFromRp(
      '/post-logout',
      `${op}/oidc/logout`,
      { id_token_hint: idToken, post_logout_redirect_uri: `${rpUrl}/bye`, state: 'bye' },
      '/bye',
    );
    expect(landed.searchParams.get('state')).toBe('bye');
    // the session ended on the server: even its old cookie, put back, no longer signs in
    await page.context().addCookies([cookie!]);
    await page.goto(`${op}/authorize?${new URLSearchParams(authorizeParams({ prompt: 'none' }))}`);
    await page.waitForURL(`${rpUrl}/cb**`);
    expect(new URL(page.url()).searchParams.get('error')).toBe('login_required');
  }, 60_000);
});
