import { afterAll, beforeAll, expect, it } from 'vitest';
import { type Call, caller, expectStatus, managementToken, unique } from '../management/support.js';
import { csrfOf, type UserAgent, unescapeHtml } from '../protocol/sign-in/agent.js';
import { startTestApp, type TestApp } from '../support/app.js';
import { describeEachBackend } from '../support/databases.js';
import { open, signedInAdmin, submit } from './support.js';

describeEachBackend('console: APIs', (backend) => {
  let t: TestApp;
  let agent: UserAgent;
  let page: string;
  let call: Call;

  beforeAll(async () => {
    t = await startTestApp(backend);
    ({ agent, dashboard: page } = await signedInAdmin(t));
    call = caller(t, (await managementToken(t)).token);
  });
  afterAll(async () => t?.close());

  /** The selects of the settings form, as a browser always sends them. */
  const SELECTS = { signing_alg: 'ES256', token_dialect: 'access_token', user_policy: 'allow_all' };
  const at = (id: string, tab = '') => `/console/apis/${encodeURIComponent(id)}${tab}`;
  const post = (action: string, fields: Record<string, string> = {}) => submit(agent, page, action, fields);
  /** Posts a form whose fields repeat (checkboxes), with the CSRF token, following the redirect. */
  const postPairs = async (action: string, pairs: [string, string][]) => {
    const body = new URLSearchParams([['csrf', csrfOf(page)], ...pairs]);
    const res = await agent.request(action, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: body.toString(),
    });
    if (res.status === 303) return open(agent, res.headers.get('location')!);
    return { status: res.status, html: await res.text(), location: null };
  };
  const resourceServer = async (idOrIdentifier: string) => {
    const answer = await call('GET', `/resource-servers/${encodeURIComponent(idOrIdentifier)}`);
    expectStatus(answer, 200);
    return answer.body;
  };
  const m2mApp = async () => {
    const answer = await call('POST', '/clients', {
      body: { name: unique('Robot '), app_type: 'non_interactive' },
    });
    expectStatus(answer, 201);
    return { clientId: answer.body.client_id as string, secret: answer.body.client_secret as string };
  };
  const grantsOf = async (audience: string, clientId: string) => {
    const answer = await call('GET', '/client-grants', { query: { audience, client_id: clientId } });
    expectStatus(answer, 200);
    return answer.body as { id: string; scope: string[] }[];
  };

  it('lists APIs with the system badge and creates one with permissions', async () => {
    const list = await open(agent, '/console/apis');
    expect(list.status).toBe(200);
    expect(list.html).toContain('Sesame Management API');
    expect(list.html).toContain('<mark>System</mark>');
    const identifier = `https://api.example/${unique('orders')}`;
    const created = await post('/console/apis', {
      name: 'Orders',
      identifier,
      scopes: 'read:orders Read the orders\r\nship:orders\r\n',
    });
    expect(created.status, created.html).toBe(200);
    expect(created.html).toContain('<h1>Orders ');
    const api = await resourceServer(identifier);
    expect(api.name).toBe('Orders');
    expect(api.scopes).toEqual([
      { value: 'read:orders', description: 'Read the orders' },
      { value: 'ship:orders', description: 'ship:orders' },
    ]);
    expect((await open(agent, '/console/apis')).html).toContain(identifier);
  });

  it('a bad identifier is refused next to its field, the typed values kept', async () => {
    const bad = await post('/console/apis', {
      name: 'Typed name',
      identifier: 'not a uri',
      scopes: 'read:x Read x',
    });
    expect(bad.status).toBe(400);
    expect(bad.html).toMatch(/id="identifier-error" role="alert">identifier: must be an absolute URI/);
    expect(bad.html).toContain('value="Typed name"');
    expect(bad.html).toContain('value="not a uri"');
    expect(bad.html).toContain('read:x Read x</textarea>');
    const api = await t.createApi();
    const taken = await post('/console/apis', { name: 'Again', identifier: api.identifier });
    expect(taken.status).toBe(409);
    expect(taken.html).toMatch(/id="identifier-error" role="alert">identifier: an API with identifier/);
  });

  it('settings, RBAC switches and user policy round-trip through the Management API', async () => {
    const api = await t.createApi();
    const form = await open(agent, at(api.id));
    expect(form.html).toContain('<option value="rfc9068_profile_authz">');
    const saved = await post(at(api.id), {
      name: 'Renamed',
      token_lifetime: '7200',
      signing_alg: 'RS256',
      allow_offline_access: 'on',
      enforce_policies: 'on',
      token_dialect: 'rfc9068_profile_authz',
      user_policy: 'require_client_grant',
    });
    expect(saved.status, saved.html).toBe(200);
    expect(saved.html).toContain('Saved.');
    expect(saved.html).toContain('<option value="rfc9068_profile_authz" selected="">');
    expect(await resourceServer(api.id)).toMatchObject({
      name: 'Renamed',
      token_lifetime: 7200,
      signing_alg: 'RS256',
      allow_offline_access: true,
      skip_consent_for_verifiable_first_party_clients: false,
      enforce_policies: true,
      token_dialect: 'rfc9068_profile_authz',
      subject_type_authorization: { user: { policy: 'require_client_grant' } },
    });
    const bad = await post(at(api.id), { ...SELECTS, name: 'Renamed', token_lifetime: '5' });
    expect(bad.status).toBe(400);
    expect(bad.html).toMatch(/id="token_lifetime-error" role="alert">token_lifetime: /);
    expect(bad.html).toContain('value="5"');
    expect((await resourceServer(api.id)).token_lifetime).toBe(7200);
  });

  it('sets the lifetime for implicit and hybrid flows only when changed from what it showed; empty is the default', async () => {
    const api = await t.createApi({ tokenLifetime: 7200 });
    const form = await open(agent, at(api.id));
    expect(form.html).toMatch(
      /<input id="token_lifetime_for_web" name="token_lifetime_for_web"[^>]* value="900"/,
    );
    expect(form.html).toContain('<input type="hidden" name="token_lifetime_for_web_was" value="900"');
    const save = (token: string, web: string, was: string) =>
      post(at(api.id), {
        ...SELECTS,
        name: api.name,
        token_lifetime: token,
        token_lifetime_for_web: web,
        token_lifetime_for_web_was: was,
      });
    const stored = async () => {
      const { token_lifetime, token_lifetime_for_web } = await resourceServer(api.id);
      return [token_lifetime, token_lifetime_for_web];
    };
    // left as shown: not sent, so a lower token lifetime takes it down with it, and it follows
    // the default again when the token lifetime goes back up
    const lowered = await save('600', '900', '900');
    expect(lowered.status, lowered.html).toBe(200);
    expect(await stored()).toEqual([600, 600]);
    expect((await save('7200', '600', '600')).status).toBe(200);
    expect(await stored()).toEqual([7200, 900]);
    // typed, even as the default it showed before: stored
    const saved = await save('7200', '3600', '900');
    expect(saved.status, saved.html).toBe(200);
    expect(await stored()).toEqual([7200, 3600]);
    const bad = await save('7200', '9000', '3600');
    expect(bad.status).toBe(400);
    expect(bad.html).toMatch(
      /id="token_lifetime_for_web-error" role="alert">token_lifetime_for_web: must not be larger than token_lifetime \(7200\)/,
    );
    // shown again as posted, with what the form had shown first
    expect(bad.html).toContain('<input type="hidden" name="token_lifetime_for_web_was" value="3600"');
    expect(await stored()).toEqual([7200, 3600]);
    expect((await save('86400', '', '3600')).status).toBe(200);
    expect(await stored()).toEqual([86400, 900]);
  });

  it('adds a permission and removes one after a confirmation', async () => {
    const api = await t.createApi();
    const added = await post(at(api.id, '/permissions'), {
      value: 'delete:things',
      description: 'Delete things',
    });
    expect(added.status, added.html).toBe(200);
    expect(added.html).toContain('<code>delete:things</code> Delete things');
    expect((await resourceServer(api.id)).scopes.map((s: { value: string }) => s.value)).toEqual([
      'read:things',
      'write:things',
      'delete:things',
    ]);
    const invalid = await post(at(api.id, '/permissions'), { value: 'bad scope', description: 'x' });
    expect(invalid.status).toBe(400);
    expect(invalid.html).toContain('not a valid scope token');
    expect(invalid.html).toContain('value="bad scope"');

    const confirm = await open(agent, at(api.id, '/permissions/remove?value=read%3Athings'));
    expect(confirm.html).toContain('Remove the permission <code>read:things</code>?');
    expect((await resourceServer(api.id)).scopes).toHaveLength(3);
    const removed = await post(at(api.id, '/permissions/remove?value=read%3Athings'));
    expect(removed.status).toBe(200);
    expect((await resourceServer(api.id)).scopes.map((s: { value: string }) => s.value)).toEqual([
      'write:things',
      'delete:things',
    ]);
  });

  it('authorizes an m2m application for two permissions, then for one, then not at all', async () => {
    const api = await t.createApi();
    const app = await m2mApp();
    const tab = await open(agent, at(api.id, '/applications'));
    expect(tab.html).toContain(`name="authorized:${app.clientId}"`);
    const both = await postPairs(at(api.id, '/applications'), [
      ['apps', app.clientId],
      [`authorized:${app.clientId}`, 'on'],
      [`scope:${app.clientId}`, 'read:things'],
      [`scope:${app.clientId}`, 'write:things'],
    ]);
    expect(both.status, both.html).toBe(200);
    expect((await grantsOf(api.identifier, app.clientId)).map((g) => g.scope.sort())).toEqual([
      ['read:things', 'write:things'],
    ]);
    expect(both.html).toMatch(new RegExp(`name="scope:${app.clientId}" value="write:things" checked`));
    const one = await postPairs(at(api.id, '/applications'), [
      ['apps', app.clientId],
      [`authorized:${app.clientId}`, 'on'],
      [`scope:${app.clientId}`, 'read:things'],
    ]);
    expect(one.status).toBe(200);
    expect((await grantsOf(api.identifier, app.clientId)).map((g) => g.scope)).toEqual([['read:things']]);
    await postPairs(at(api.id, '/applications'), [['apps', app.clientId]]);
    expect(await grantsOf(api.identifier, app.clientId)).toEqual([]);
  });

  it('the Test tab shows curl and gets a verified token with the secret; a wrong secret shows invalid_client', async () => {
    const api = await t.createApi();
    const app = await m2mApp();
    await postPairs(at(api.id, '/applications'), [
      ['apps', app.clientId],
      [`authorized:${app.clientId}`, 'on'],
      [`scope:${app.clientId}`, 'read:things'],
      [`scope:${app.clientId}`, 'write:things'],
    ]);
    const tab = unescapeHtml((await open(agent, at(api.id, '/test'))).html);
    expect(tab).toContain(`curl -s -u '${app.clientId}':"$CLIENT_SECRET"`);
    expect(tab).toContain(`audience='${api.identifier}' '${t.issuer}/oauth/token'`);
    const ok = await post(at(api.id, '/test'), { client_id: app.clientId, client_secret: app.secret });
    expect(ok.status).toBe(200);
    const html = unescapeHtml(ok.html);
    expect(html).toContain('Token issued: signature verified');
    expect(html).toContain(`"aud": "${api.identifier}"`);
    expect(html).toContain('"scope": "read:things write:things"');
    expect(html).toContain('"typ": "at+jwt"');
    expect(html).not.toContain(app.secret);
    const wrong = await post(at(api.id, '/test'), { client_id: app.clientId, client_secret: 'wrong' });
    expect(wrong.html).toContain('The token endpoint answered invalid_client');
    expect(wrong.html).not.toContain('signature verified');
  });

  it('deletes an API after a confirmation', async () => {
    const api = await t.createApi({ name: 'Doomed' });
    const confirm = await open(agent, at(api.id, '/delete'));
    expect(confirm.html).toContain('Delete the API Doomed?');
    expect((await call('GET', `/resource-servers/${api.id}`)).status).toBe(200);
    const gone = await post(at(api.id, '/delete'));
    expect(gone.status).toBe(200);
    expect(gone.html).toContain('The API was deleted.');
    expect((await call('GET', `/resource-servers/${api.id}`)).status).toBe(404);
  });

  it('the system API keeps its name (403 shown) and cannot be deleted', async () => {
    const list = (await call('GET', '/resource-servers')).body as { id: string; is_system: boolean }[];
    const system = list.find((a) => a.is_system)!;
    const form = await open(agent, at(system.id));
    expect(form.html).toContain('<mark>System API</mark>');
    expect(form.html).toMatch(/name="name" required="" value="Sesame Management API" readonly/);
    // no application but the console gets people's tokens for it without a client grant
    expect(form.html).not.toContain('value="allow_all"');
    expect(form.html).toMatch(/value="require_client_grant" selected/);
    const fields = { ...SELECTS, token_lifetime: '3600', enforce_policies: 'on' };
    const open403 = await post(at(system.id), { ...fields, name: 'Sesame Management API' });
    expect(open403.status).toBe(403);
    expect(open403.html).toContain('only applications given a client grant for people');
    fields.user_policy = 'require_client_grant';
    const same = await post(at(system.id), { ...fields, name: 'Sesame Management API' });
    expect(same.status, same.html).toBe(200);
    const renamed = await post(at(system.id), { ...fields, name: 'Mine now' });
    expect(renamed.status).toBe(403);
    expect(renamed.html).toContain('is a system API: its name and scopes cannot be changed');
    expect(renamed.html).toContain('value="Mine now"');
    expect((await resourceServer(system.id)).name).toBe('Sesame Management API');
    expect((await open(agent, at(system.id, '/permissions'))).html).not.toContain('Add a permission');
    const del = await post(at(system.id, '/delete'));
    expect(del.status).toBe(403);
    expect(del.html).toContain('is a system API and cannot be deleted');
  });

  it('renders names from the API escaped', async () => {
    const api = await t.createApi({ name: '<script>alert(1)</script>' });
    for (const path of ['/console/apis', at(api.id), at(api.id, '/delete')]) {
      const { html } = await open(agent, path);
      expect(html).toContain('&lt;script&gt;alert(1)&lt;/script&gt;');
      expect(html).not.toContain('<script>alert(1)');
    }
  });

  it('a POST without the CSRF token is refused and changes nothing', async () => {
    const identifier = `https://api.example/${unique('csrf')}`;
    const res = await agent.post('/console/apis', { name: 'No csrf', identifier });
    expect(res.status).toBe(403);
    expect((await call('GET', `/resource-servers/${encodeURIComponent(identifier)}`)).status).toBe(404);
    const api = await t.createApi();
    expect((await agent.post(at(api.id, '/delete'), {})).status).toBe(403);
    expect((await call('GET', `/resource-servers/${api.id}`)).status).toBe(200);
  });
});
