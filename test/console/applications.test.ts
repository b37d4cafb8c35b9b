import { afterAll, beforeAll, expect, it } from 'vitest';
import { CONSOLE_CLIENT_ID } from '../../src/admin/console.js';
import { addRolePermissions, assignUserRoles, createRole } from '../../src/admin/roles.js';
import { DEVICE_CODE } from '../../src/protocol/grant-types.js';
import { csrfOf, type UserAgent, unescapeHtml } from '../protocol/sign-in/agent.js';
import { browser, newUser } from '../protocol/sign-in/fixtures.js';
import { startTestApp, type TestApp } from '../support/app.js';
import { describeEachBackend } from '../support/databases.js';
import { open, signedInAdmin, submit } from './support.js';

const HOSTILE = '<script>alert(1)</script>';
const secretOf = (html: string) => /id="client-secret" value="([^"]+)"/.exec(html)?.[1];
const clientIdOf = (html: string) => /id="client-id"[^>]*value="([^"]+)"/.exec(html)![1]!;
const fieldError = (html: string, name: string) =>
  unescapeHtml(new RegExp(`id="${name}-error" role="alert">([^<]*)<`).exec(html)?.[1] ?? '');

/** POSTs a console form whose fields may repeat (checkboxes), with the page's CSRF token; follows a 303. */
async function post(agent: UserAgent, pageHtml: string, action: string, fields: [string, string][]) {
  const res = await agent.request(action, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams([['csrf', csrfOf(pageHtml)], ...fields]).toString(),
  });
  if (res.status === 303) return open(agent, res.headers.get('location')!);
  return { status: res.status, html: await res.text(), location: res.headers.get('location') };
}

describeEachBackend('console: applications', (backend) => {
  let t: TestApp;
  let agent: UserAgent;
  beforeAll(async () => {
    t = await startTestApp(backend);
    ({ agent } = await signedInAdmin(t));
  });
  afterAll(async () => t?.close());

  /** Creates an application through the console; the answer page and the new client id. */
  async function create(name: string, type: string) {
    const form = await open(agent, '/console/applications/new');
    expect(form.status).toBe(200);
    const sent = await agent.post('/console/applications/new', { csrf: csrfOf(form.html), name, type });
    expect(sent.status, await sent.clone().text()).toBe(303);
    const answer = sent.headers.get('location')!;
    expect(answer).toMatch(/^\/console\/applications\/[^/?]+\?flash=created$/);
    const created = await open(agent, answer);
    expect(created.status, created.html).toBe(200);
    expect(created.html).toContain('Application created.');
    return { ...created, answer, id: clientIdOf(created.html), path: answer.split('?')[0]! };
  }

  /** A client-credentials token request (client_secret_basic). */
  const token = (id: string, secret: string, audience: string) =>
    t.fetch(`${t.issuer}/oauth/token`, {
      method: 'POST',
      headers: {
        authorization: `Basic ${Buffer.from(`${id}:${secret}`).toString('base64')}`,
        'content-type': 'application/x-www-form-urlencoded',
      },
      body: new URLSearchParams({ grant_type: 'client_credentials', audience }).toString(),
    });

  it('creates each type and shows a quick start with the real client id and the secret only once', async () => {
    const cases = [
      ['web', 'web', 'client.buildAuthorizationUrl', true],
      ['spa', 'spa', 'new UserManager', false],
      ['native', 'native', '/oauth/device/code', false],
      ['m2m', 'm2m', 'grant_type=client_credentials', true],
    ] as const;
    for (const [type, stored, marker, confidential] of cases) {
      const app = await create(`Quick ${type}`, type);
      expect(app.html).toContain('Quick start');
      expect(unescapeHtml(app.html)).toContain(marker);
      expect(app.html).toContain(`${t.issuer}/.well-known/openid-configuration`);
      expect(unescapeHtml(app.html).match(new RegExp(app.id, 'g'))!.length).toBeGreaterThanOrEqual(2);
      expect((await t.rt.storage.applications.get(app.id))?.type).toBe(stored);
      const secret = secretOf(app.html);
      expect(Boolean(secret)).toBe(confidential);
      const later = await open(agent, app.path);
      expect(later.status).toBe(200);
      expect(later.html).not.toContain('Quick start');
      expect(later.html).not.toContain('id="client-secret"');
      if (secret) expect(later.html).not.toContain(secret);
      // a reload of the answer is a GET: nothing made again, the secret not shown again
      const reloaded = await open(agent, app.answer);
      expect(reloaded.html).toContain('Quick start');
      expect(reloaded.html).not.toContain('id="client-secret"');
      expect(reloaded.html.includes('id="secret-shown"')).toBe(confidential);
      if (secret) expect(reloaded.html).not.toContain(secret);
      const list = await open(agent, '/console/applications');
      expect(list.html).toContain(`Quick ${type}`);
      expect(list.html).toContain(app.id);
      if (secret) expect(list.html).not.toContain(secret);
    }
    expect(unescapeHtml((await create('Quick web 2', 'web')).html)).toContain(
      `client.discovery(new URL('${t.issuer}')`,
    );
  });

  it('a missing name is the API message next to the name field, with the type kept', async () => {
    const form = await open(agent, '/console/applications/new');
    const res = await submit(agent, form.html, '/console/applications/new', { name: '  ', type: 'spa' });
    expect(res.status).toBe(400);
    expect(fieldError(res.html, 'name')).toBe('name: must be 1 to 255 characters');
    expect(res.html).toMatch(/value="spa" checked/);
  });

  it('settings round-trip through the API; the page and storage show them', async () => {
    const app = await create('Settings app', 'web');
    const page = await open(agent, app.path);
    const saved = await post(agent, page.html, app.path, [
      ['name', 'Renamed app'],
      ['callbacks', 'https://app.example/cb\r\nhttp://localhost:4000/cb\r\n'],
      ['allowed_logout_urls', 'https://app.example/bye'],
      ['web_origins', 'https://app.example'],
      ['grant_types', 'authorization_code'],
      ['grant_types', 'refresh_token'],
      ['grant_types', DEVICE_CODE],
      ['is_first_party', 'on'],
      ['allow_offline_access', 'on'],
      ['alg', 'ES256'],
    ]);
    expect(saved.status).toBe(200);
    expect(saved.html).toContain('Saved.');
    expect(saved.html).toContain('value="Renamed app"');
    expect(saved.html).toContain('https://app.example/cb\nhttp://localhost:4000/cb</textarea>');
    expect(saved.html).toMatch(new RegExp(`value="${DEVICE_CODE}" checked`));
    expect(saved.html).toMatch(/name="is_first_party" value="on" checked/);
    expect(saved.html).toMatch(/<option selected="">ES256/);
    const stored = (await t.rt.storage.applications.get(app.id))!;
    expect(stored.name).toBe('Renamed app');
    expect(stored.callbacks).toEqual(['https://app.example/cb', 'http://localhost:4000/cb']);
    expect(stored.logoutCallbacks).toEqual(['https://app.example/bye']);
    expect(stored.grantTypes).toEqual(['authorization_code', 'refresh_token', DEVICE_CODE]);
    expect(stored.settings).toMatchObject({
      webOrigins: ['https://app.example'],
      skipConsent: true,
      allowOfflineAccess: true,
      idTokenSigningAlg: 'ES256',
    });
    const cleared = await post(agent, saved.html, app.path, [
      ['name', 'Renamed app'],
      ['grant_types', 'authorization_code'],
      ['alg', 'ES256'],
    ]);
    expect(cleared.status).toBe(200);
    const after = (await t.rt.storage.applications.get(app.id))!;
    expect(after.callbacks).toEqual([]);
    expect(after.settings.skipConsent).toBeUndefined();
    expect(after.settings.allowOfflineAccess).toBeUndefined();
  });

  it('a bad callback URL shows the API message next to callbacks, status 400, typed values kept', async () => {
    const app = await create('Callback app', 'web');
    const page = await open(agent, app.path);
    const res = await post(agent, page.html, app.path, [
      ['name', 'Typed name'],
      ['callbacks', 'https://ok.example/cb\nftp://nope.example/cb'],
      ['grant_types', 'authorization_code'],
    ]);
    expect(res.status).toBe(400);
    expect(fieldError(res.html, 'callbacks')).toMatch(
      /^callbacks "ftp:\/\/nope\.example\/cb": must use https/,
    );
    const [textarea, error, next] = [
      'name="callbacks"',
      'id="callbacks-error"',
      'name="allowed_logout_urls"',
    ];
    expect(res.html.indexOf(textarea)).toBeLessThan(res.html.indexOf(error));
    expect(res.html.indexOf(error)).toBeLessThan(res.html.indexOf(next));
    expect(res.html).toMatch(/name="callbacks"[^>]*aria-invalid="true"/);
    expect(res.html).toContain('https://ok.example/cb\nftp://nope.example/cb</textarea>');
    expect(res.html).toContain('value="Typed name"');
    expect((await t.rt.storage.applications.get(app.id))?.name).toBe('Callback app');
  });

  it('an m2m application has no sign-in settings', async () => {
    const app = await create('Worker', 'm2m');
    expect(app.html).not.toContain('name="callbacks"');
    expect(app.html).not.toContain('name="is_first_party"');
    const saved = await post(agent, app.html, app.path, [
      ['name', 'Worker 2'],
      ['grant_types', 'client_credentials'],
    ]);
    expect(saved.html).toContain('Saved.');
    expect((await t.rt.storage.applications.get(app.id))?.name).toBe('Worker 2');
  });

  it('client grants: add with scopes, refused twice, remove; tokens follow', async () => {
    const api = await t.createApi({ name: 'Orders API' });
    const app = await create('Grant worker', 'm2m');
    const secret = secretOf(app.html)!;
    expect((await token(app.id, secret, api.identifier)).status).not.toBe(200);
    expect(app.html).toContain('Allow Orders API');
    const fields: [string, string][] = [
      ['audience', api.identifier],
      ['subject_type', 'client'],
      ['scope', 'read:things'],
    ];
    const added = await post(agent, app.html, `${app.path}/grants`, fields);
    expect(added.status).toBe(200);
    expect(added.html).toContain('API allowed.');
    expect(added.html).toContain(
      `<strong>Orders API</strong> <code>${api.identifier}</code></span><span>read:things</span>`,
    );
    const res = await token(app.id, secret, api.identifier);
    expect(res.status).toBe(200);
    expect(((await res.json()) as { scope: string }).scope).toBe('read:things');
    const twice = await post(agent, app.html, `${app.path}/grants`, fields);
    expect(twice.status).toBe(409);
    expect(twice.html).toContain('exists already');
    const unknown = await post(agent, app.html, `${app.path}/grants`, [...fields, ['scope', 'nope']]);
    expect(unknown.status).toBe(400);
    expect(unknown.html).toContain(`scope nope: not defined by ${api.identifier}`);
    const grant = /action="([^"]+\/grants\/[^"]+\/remove)"/.exec(added.html)![1]!;
    const other = await create('Other worker', 'm2m');
    const wrongApp = await post(agent, added.html, grant.replace(app.id, other.id), []);
    expect(wrongApp.status).toBe(404);
    const removed = await post(agent, added.html, grant, []);
    expect(removed.html).toContain('API removed.');
    expect(removed.html).not.toContain('<strong>Orders API</strong>');
    expect((await token(app.id, secret, api.identifier)).status).not.toBe(200);
  });

  it('rotating the secret needs a confirmation; then the old secret stops working', async () => {
    const api = await t.createApi();
    const app = await create('Rotating worker', 'm2m');
    const old = secretOf(app.html)!;
    await post(agent, app.html, `${app.path}/grants`, [
      ['audience', api.identifier],
      ['scope', 'read:things'],
    ]);
    expect((await token(app.id, old, api.identifier)).status).toBe(200);
    expect(app.html).toContain(`href="${app.path}/rotate-secret"`);
    const confirm = await open(agent, `${app.path}/rotate-secret`);
    expect(confirm.status).toBe(200);
    expect(confirm.html).toContain(`action="${app.path}/rotate-secret"`);
    expect((await token(app.id, old, api.identifier)).status).toBe(200);
    expect((await agent.post(`${app.path}/rotate-secret`, {})).status).toBe(403);
    const sent = await agent.post(`${app.path}/rotate-secret`, { csrf: csrfOf(confirm.html) });
    expect(sent.status).toBe(303);
    expect(sent.headers.get('location')).toBe(`${app.path}?flash=rotated`);
    const rotated = await open(agent, `${app.path}?flash=rotated`);
    expect(rotated.status).toBe(200);
    expect(rotated.html).toContain('Secret rotated');
    const fresh = secretOf(rotated.html)!;
    expect(fresh).toBeTruthy();
    expect(fresh).not.toBe(old);
    expect((await token(app.id, old, api.identifier)).status).toBe(401);
    expect((await token(app.id, fresh, api.identifier)).status).toBe(200);
    expect((await open(agent, app.path)).html).not.toContain(fresh);
    const reloaded = await open(agent, `${app.path}?flash=rotated`);
    expect(reloaded.html).not.toContain(fresh);
    expect(reloaded.html).toContain('id="secret-shown"');
    expect((await token(app.id, fresh, api.identifier)).status, 'a reload rotates nothing').toBe(200);
    const spa = await create('Public app', 'spa');
    expect(spa.html).not.toContain('rotate-secret');
    const refused = await submit(agent, spa.html, `${spa.path}/rotate-secret`, {});
    expect(refused.status).toBe(400);
    expect(refused.html).toContain('is public and has no secret');
  });

  it('deleting needs a confirmation; a system application is refused with 403', async () => {
    const app = await create('Doomed app', 'spa');
    expect(app.html).toContain(`action="${app.path}/delete"`);
    const confirm = await open(agent, `${app.path}/delete`);
    expect(confirm.status).toBe(200);
    expect(confirm.html).toContain('Doomed app');
    expect(await t.rt.storage.applications.get(app.id)).toBeTruthy();
    const deleted = await submit(agent, confirm.html, `${app.path}/delete`, {});
    expect(deleted.status).toBe(200);
    expect(deleted.html).toContain('Application deleted.');
    expect(deleted.html).not.toContain('Doomed app');
    expect(await t.rt.storage.applications.get(app.id)).toBeFalsy();
    expect((await open(agent, app.path)).status).toBe(404);
    const system = `/console/applications/${CONSOLE_CLIENT_ID}`;
    const page = await open(agent, system);
    expect(page.html).toContain('part of Sesame');
    expect(page.html).not.toContain(`${system}/delete`);
    expect(page.html).toMatch(/<fieldset disabled="">/);
    const refused = await submit(agent, page.html, `${system}/delete`, {});
    expect(refused.status).toBe(403);
    expect(refused.html).toContain('cannot be deleted');
    expect(await t.rt.storage.applications.get(CONSOLE_CLIENT_ID)).toBeTruthy();
    // its confirmation steps, opened by URL, offer nothing that would be refused
    for (const step of ['delete', 'rotate-secret']) {
      const offered = await open(agent, `${system}/${step}`);
      expect(offered.status).toBe(200);
      expect(offered.html).toContain('cannot be changed or deleted');
      expect(offered.html).not.toContain(`action="${system}/${step}"`);
    }
  });

  it("a page after a redirect offers no rotation for an application without one (public, or Sesame's own)", async () => {
    const spa = await create('Public after reload', 'spa');
    for (const after of ['created', 'rotated']) {
      expect((await open(agent, `${spa.path}?flash=${after}`)).html).not.toContain('id="secret-shown"');
      expect(
        (await open(agent, `/console/applications/${CONSOLE_CLIENT_ID}?flash=${after}`)).html,
      ).not.toContain('id="secret-shown"');
    }
  });

  it('a hostile application name is refused, shown as typed; one stored before is rendered as text everywhere', async () => {
    const form = await open(agent, '/console/applications/new');
    const sent = await agent.post('/console/applications/new', {
      csrf: csrfOf(form.html),
      name: HOSTILE,
      type: 'web',
    });
    const refused = await sent.text();
    expect(sent.status).toBe(400);
    expect(fieldError(refused, 'name')).toBe('name: must not contain < or >');
    // a name stored before Auth0's rule was kept (older versions took it)
    const app = await create('Soon hostile', 'web');
    await t.rt.storage.applications.update(app.id, { name: HOSTILE }, t.clock.now());
    const pages = [
      refused,
      (await open(agent, app.path)).html,
      (await open(agent, '/console/applications')).html,
      (await open(agent, `${app.path}/delete`)).html,
      (await open(agent, `${app.path}/rotate-secret`)).html,
    ];
    for (const html of pages) {
      expect(html).toContain('&lt;script&gt;alert(1)&lt;/script&gt;');
      expect(html).not.toContain('<script>alert');
    }
  });

  it('a new secret waits for the next page in a cookie sealed to this console session and application', async () => {
    const form = await open(agent, '/console/applications/new');
    const sent = await agent.post('/console/applications/new', {
      csrf: csrfOf(form.html),
      name: 'Sealed',
      type: 'm2m',
    });
    const answer = sent.headers.get('location')!;
    const sealed = agent.cookies.get('__Host-sesame_console_once');
    expect(sealed).toMatch(/^v1\./);
    const other = (await signedInAdmin(t)).agent;
    other.cookies.set('__Host-sesame_console_once', sealed!);
    const stolen = await open(other, answer);
    expect(stolen.status).toBe(200);
    expect(stolen.html).not.toContain('id="client-secret"');
    expect(other.cookies.has('__Host-sesame_console_once'), 'taken even when it does not open').toBe(false);
    // another application's page does not show it either, and takes it
    const elsewhere = (await create('Elsewhere', 'web')).path;
    agent.cookies.set('__Host-sesame_console_once', sealed!);
    expect((await open(agent, `${elsewhere}?flash=created`)).html).not.toContain('id="client-secret"');
    agent.cookies.set('__Host-sesame_console_once', sealed!);
    const own = await open(agent, answer);
    expect(secretOf(own.html)).toMatch(/^[\w-]{43}$/);
    // a copy kept past its five minutes opens nothing
    agent.cookies.set('__Host-sesame_console_once', sealed!);
    t.clock.advance(301);
    expect((await open(agent, answer)).html).not.toContain('id="client-secret"');
  });

  it('a POST without the CSRF token is refused with 403 and changes nothing', async () => {
    const before = await t.rt.storage.applications.count({});
    const res = await agent.post('/console/applications/new', { name: 'No csrf', type: 'web' });
    expect(res.status).toBe(403);
    const forged = await agent.post('/console/applications/new', { csrf: 'forged', name: 'x', type: 'web' });
    expect(forged.status).toBe(403);
    expect(await t.rt.storage.applications.count({})).toBe(before);
  });

  it('an admin who may read applications but not client grants or APIs sees the page, each part saying which permission it needs', async () => {
    const role = await createRole(t.rt.storage, t.clock, { name: `Readers ${Math.random()}` });
    await addRolePermissions(t.rt.storage, t.clock, role.id, [
      { audience: `${t.issuer}/api/v2/`, permission: 'read:clients' },
    ]);
    const { user, creds } = await newUser(t);
    await assignUserRoles(t.rt.storage, t.clock, user.id, [role.id]);
    const reader = browser(t, creds);
    const app = await t.createApp({ name: 'Readable', type: 'web', callbacks: ['https://r.example/cb'] });
    const path = `/console/applications/${app.clientId}`;
    await reader.signIn(`${t.issuer}/console/login?return=${encodeURIComponent(path)}`);
    const page = await open(reader, path);
    expect(page.status).toBe(200);
    expect(page.html).toContain('<h1>Readable</h1>');
    expect(page.html).toContain('Reading them needs the permission <code>read:client_grants</code>');
    expect(page.html).not.toContain('Insufficient scope');
  });
});
