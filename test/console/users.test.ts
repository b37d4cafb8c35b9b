import { afterAll, beforeAll, expect, it } from 'vitest';
import {
  addRolePermissions,
  assignUserRoles,
  createRole,
  removeRolePermissions,
} from '../../src/admin/roles.js';
import { createUser } from '../../src/admin/users.js';
import type { Api, Role } from '../../src/storage/types.js';
import type { UserAgent } from '../protocol/sign-in/agent.js';
import { browser, CALLBACK, newUser, PASSWORD, webConfig, webSignIn } from '../protocol/sign-in/fixtures.js';
import { startTestApp, type TestApp } from '../support/app.js';
import { describeEachBackend } from '../support/databases.js';
import { open, signedInAdmin, submit } from './support.js';

describeEachBackend('console: users', (backend) => {
  let t: TestApp;
  let agent: UserAgent;
  let page: string;
  let api: Api;
  let role: Role;
  let webApp: { clientId: string; clientSecret?: string };

  beforeAll(async () => {
    t = await startTestApp(backend);
    ({ agent, dashboard: page } = await signedInAdmin(t));
    api = await t.createApi({ name: 'Things API' });
    role = await createRole(t.rt.storage, t.clock, { name: 'Thing Reader', description: 'reads things' });
    await addRolePermissions(t.rt.storage, t.clock, role.id, [
      { audience: api.identifier, permission: 'read:things' },
    ]);
    webApp = await t.createApp({ name: 'Shop App', type: 'web', callbacks: [CALLBACK] });
  });
  afterAll(async () => t?.close());

  const path = (id: string, rest = '') => `/console/users/${id}${rest}`;
  const post = (action: string, fields: Record<string, string> = {}) => submit(agent, page, action, fields);
  const rows = (html: string) => html.match(/<a href="\/console\/users\/usr_/g)?.length ?? 0;

  it('search finds a user by part of the email; pages show totals with Previous and Next', async () => {
    const tag = `pager${Math.random().toString(36).slice(2, 8)}`;
    await Promise.all(
      Array.from({ length: 23 }, (_, i) =>
        createUser(t.rt.storage, t.clock, { email: `${tag}-${i}@example.com`, password: PASSWORD }),
      ),
    );
    const { user } = await newUser(t);
    const one = await open(agent, `/console/users?q=${encodeURIComponent(user.email.slice(0, 12))}`);
    expect(one.status).toBe(200);
    expect(one.html).toContain(user.email);
    expect(one.html).toMatch(/id="user-total">1 user matching/);

    const first = await open(agent, `/console/users?q=${tag}`);
    expect(first.html).toContain(`23 users matching “${tag}” · page 1 of 2`);
    expect(rows(first.html)).toBe(20);
    expect(first.html).toContain(`href="/console/users?q=${tag}&amp;page=1">Next</a>`);
    expect(first.html).toContain('<span class="muted">Previous</span>');
    const second = await open(agent, `/console/users?q=${tag}&page=1`);
    expect(second.html).toContain('page 2 of 2');
    expect(rows(second.html)).toBe(3);
    expect(second.html).toContain(`href="/console/users?q=${tag}&amp;page=0">Previous</a>`);
    expect(second.html).toContain('<strong aria-current="page">2</strong>');
    // past the end: said so, with the way back (not "page 100 of 2")
    const past = await open(agent, `/console/users?q=${tag}&page=99`);
    expect(past.html).not.toContain('page 100 of 2');
    expect(past.html).toContain(
      `This page is past the last one: <a href="/console/users?q=${tag}&amp;page=1">go to page 2</a>`,
    );
  });

  it('creates a user; a short password is refused next to the field, the email kept', async () => {
    const email = `created-${Math.random().toString(36).slice(2, 8)}@example.com`;
    const short = await post('/console/users', { email, name: 'New Person', password: 'short' });
    expect(short.status).toBe(400);
    expect(short.html).toMatch(
      /name="password"[^>]*>\s*<p class="field-error" id="password-error" role="alert">password: must be at least 8 characters/,
    );
    expect(short.html).toContain(`value="${email}"`);
    expect(short.html).toContain('value="New Person"');
    expect(short.html).not.toContain('value="short"');
    const made = await post('/console/users', { email, name: 'New Person', password: PASSWORD });
    expect(made.status).toBe(200);
    expect(made.html).toContain('User created.');
    expect(made.html).toContain('<h1>New Person</h1>');
    expect(await t.rt.storage.users.getByEmail(email)).toBeTruthy();
    const again = await post('/console/users', { email, password: PASSWORD });
    expect(again.status).toBe(409);
    expect(again.html).toMatch(/id="email-error" role="alert">email: a user with/);
  });

  it('edits the profile; a bad picture URL is refused with what was typed kept', async () => {
    const { user } = await newUser(t);
    const fields = {
      name: 'Ada Lovelace',
      given_name: 'Ada',
      family_name: 'Lovelace',
      nickname: 'ada',
      picture: 'https://img.example/ada.png',
      email: user.email,
      email_verified: 'true',
    };
    const saved = await post(path(user.id), fields);
    expect(saved.html).toContain('Profile saved.');
    for (const v of Object.values(fields)) expect(saved.html).toContain(`value="${v}"`);
    expect(saved.html).toMatch(/name="email_verified" value="true" checked/);
    const stored = await t.rt.storage.users.get(user.id);
    expect(stored?.claims).toMatchObject({ name: 'Ada Lovelace', nickname: 'ada', email_verified: true });

    const bad = await post(path(user.id), { ...fields, name: 'Ada B', picture: 'javascript:alert(1)' });
    expect(bad.status).toBe(400);
    expect(bad.html).toContain(
      'id="picture-error" role="alert">picture: must be an absolute http or https URL',
    );
    expect(bad.html).toContain('value="Ada B"');
    const cleared = await post(path(user.id), { email: user.email });
    expect(cleared.html).toContain('Profile saved.');
    expect((await t.rt.storage.users.get(user.id))?.claims).toEqual({ email_verified: false });
  });

  it('a new email saved with the verified box as it was shown is unverified; a ticked box keeps it verified', async () => {
    const { user } = await newUser(t, { email_verified: true });
    const page = await post(path(user.id), { email: user.email, email_verified: 'true' });
    expect(page.html).toMatch(/name="email_verified_was" value="true"/);
    const moved = `moved-${Date.now()}@example.com`;
    await post(path(user.id), { email: moved, email_verified: 'true', email_verified_was: 'true' });
    expect(await t.rt.storage.users.get(user.id)).toMatchObject({
      email: moved,
      claims: { email_verified: false },
    });
    const again = `again-${Date.now()}@example.com`;
    await post(path(user.id), { email: again, email_verified: 'true', email_verified_was: 'false' });
    expect((await t.rt.storage.users.get(user.id))?.claims.email_verified).toBe(true);
    await post(path(user.id), { email: again, email_verified_was: 'true' });
    expect((await t.rt.storage.users.get(user.id))?.claims.email_verified).toBe(false);
  });

  it('sets a password: the new one signs in, a short one is refused', async () => {
    const { user } = await newUser(t);
    const short = await post(path(user.id, '/password'), { password: 'short' });
    expect(short.status).toBe(400);
    expect(short.html).toContain('id="password-error" role="alert">password: must be at least 8 characters');
    const set = await post(path(user.id, '/password'), { password: 'a brand new passphrase' });
    expect(set.html).toContain('Password set.');
    const fresh = browser(t, { email: user.email, password: 'a brand new passphrase' });
    const signIn = await webSignIn(fresh, await webConfig(t, webApp));
    expect(signIn.claims.sub).toBe(user.id);
  });

  it('blocks after a confirmation page, and unblocks', async () => {
    const { user } = await newUser(t);
    const confirm = await open(agent, path(user.id, '/block'));
    expect(confirm.html).toContain('Block user');
    expect(confirm.html).toContain(`action="/console/users/${user.id}/block"`);
    const blocked = await post(path(user.id, '/block'));
    expect(blocked.html).toContain('User blocked.');
    expect((await t.rt.storage.users.get(user.id))?.blocked).toBe(true);
    const unblocked = await post(path(user.id, '/unblock'));
    expect(unblocked.html).toContain('User unblocked.');
    expect((await t.rt.storage.users.get(user.id))?.blocked).toBe(false);
  });

  it('assigns a role (its permissions shown with their source), adds a direct permission, removes both', async () => {
    const { user } = await newUser(t);
    const before = await open(agent, path(user.id));
    expect(before.html).toContain(`<option value="${role.id}">Thing Reader</option>`);
    const assigned = await post(path(user.id, '/roles'), { role: role.id });
    expect(assigned.html).toContain('Role assigned.');
    expect(assigned.html).toContain(`<a href="/console/roles/${role.id}">Thing Reader</a>`);
    expect(assigned.html).toMatch(/<code>read:things<\/code><\/td><td>Role: Thing Reader<\/td>/);

    const permission = JSON.stringify([api.identifier, 'write:things']);
    const added = await post(path(user.id, '/permissions'), { permission });
    expect(added.html).toContain('Permission added.');
    expect(added.html).toMatch(/<code>write:things<\/code><\/td><td>Direct<\/td>/);

    const removed = await post(path(user.id, '/roles/remove'), { role: role.id });
    expect(removed.html).toContain('Role removed.');
    expect(removed.html).not.toContain('Role: Thing Reader');
    expect(removed.html).not.toContain('<code>read:things</code>');
    const gone = await post(path(user.id, '/permissions/remove'), { permission });
    expect(gone.html).toContain('Permission removed.');
    expect(gone.html).toContain('No permissions.');
  });

  it("lists the user's sessions; Sign out ends one, Sign out everywhere ends all", async () => {
    const { user, creds } = await newUser(t);
    const person = browser(t, creds);
    const { claims } = await webSignIn(person, await webConfig(t, webApp));
    const shown = await open(agent, path(user.id));
    expect(shown.html).toContain(`action="/console/users/${user.id}/sessions/${claims.sid}/end"`);
    const ended = await post(path(user.id, `/sessions/${claims.sid}/end`));
    expect(ended.html).toContain('Session ended.');
    expect(ended.html).not.toContain(`${claims.sid}`);
    expect((await webSignIn(person, await webConfig(t, webApp))).flow.pages).toEqual(['login']);

    const confirm = await open(agent, path(user.id, '/sign-out'));
    expect(confirm.html).toContain('Every session of this person ends');
    const all = await post(path(user.id, '/sign-out'));
    expect(all.html).toContain('Signed out everywhere.');
    expect(all.html).toContain('No active sessions.');
  });

  it('lists consents under Connected applications; Revoke removes one', async () => {
    const { user, creds } = await newUser(t);
    const person = browser(t, creds);
    const config = await webConfig(t, webApp);
    const params = { scope: 'openid profile read:things', audience: api.identifier };
    expect((await webSignIn(person, config, params)).flow.pages).toEqual(['login', 'consent']);
    const shown = await open(agent, path(user.id));
    expect(shown.html).toContain('<td>Shop App</td>');
    expect(shown.html).toContain('openid profile read:things');
    const revoke = /action="(\/console\/users\/[^"]+\/grants\/[^"]+\/revoke)"/.exec(shown.html)?.[1];
    expect(revoke).toBeTruthy();
    const revoked = await post(revoke!);
    expect(revoked.html).toContain('Consent revoked.');
    expect(revoked.html).toContain('No consents.');
    expect((await webSignIn(person, config, params)).flow.pages).toEqual(['consent']);
  });

  it("shows the user's latest log events", async () => {
    const { user, creds } = await newUser(t);
    await webSignIn(browser(t, creds), await webConfig(t, webApp));
    await t.rt.events.flush();
    const shown = await open(agent, path(user.id));
    expect(shown.html).toMatch(/<code>s<\/code>/);
  });

  it('the logs page filters by a user given by email, says when there is none or the days are backwards, and pages both ways', async () => {
    const { user, creds } = await newUser(t);
    await webSignIn(browser(t, creds), await webConfig(t, webApp));
    await t.rt.events.flush();
    const byEmail = await open(agent, `/console/logs?user=${encodeURIComponent(user.email)}`);
    expect(byEmail.status).toBe(200);
    expect(byEmail.html).toMatch(/<code>s<\/code>/);
    expect(byEmail.html).not.toContain('0 events');
    // one event in full, its title in words
    const id = /href="\/console\/logs\/([^"]+)"/.exec(byEmail.html)?.[1] as string;
    const detail = await open(agent, `/console/logs/${id}`);
    expect(detail.status).toBe(200);
    expect(detail.html).toMatch(/<title>\w+: [^<]+ · Sesame Console<\/title>/);
    expect(detail.html).toContain(user.id);
    const nobody = await open(agent, '/console/logs?user=nobody-here%40example.com');
    expect(nobody.html).toContain('No user with the email nobody-here@example.com.');
    const backwards = await open(agent, '/console/logs?from=2026-10-02&to=2026-10-01');
    expect(backwards.html).toContain('From is after To');
    const second = await open(agent, '/console/logs?type=s&page=1');
    expect(second.html).toContain('href="/console/logs?type=s&amp;page=0">Newer events</a>');
  });

  it('shows when a user last signed in, from where and how often; "never" before', async () => {
    const { user, creds } = await newUser(t);
    const list = () => open(agent, `/console/users?q=${encodeURIComponent(user.email)}`);
    expect((await open(agent, path(user.id))).html).toContain('never signed in');
    expect((await list()).html).toMatch(/<td>Never<\/td>/);
    await webSignIn(browser(t, creds), await webConfig(t, webApp));
    const when = new Date(t.clock.now() * 1000).toISOString().replace('T', ' ').slice(0, 19);
    expect((await open(agent, path(user.id))).html).toContain(`last signed in ${when} (1 time in all)`);
    await t.rt.storage.users.recordLogin(user.id, t.clock.now(), '2001:db8::7');
    expect((await open(agent, path(user.id))).html).toContain(
      `last signed in ${when} from 2001:db8::7 (2 times in all)`,
    );
    expect((await list()).html).toContain(`<td>${when}</td>`);
    // found by when they last signed in, with Auth0's range syntax
    const day = when.slice(0, 10);
    const since = await open(agent, `/console/users?q=${encodeURIComponent(`last_login:[${day} TO *]`)}`);
    expect(since.html).toContain(user.email);
    const before = await open(
      agent,
      `/console/users?q=${encodeURIComponent(`last_login:{* TO ${day}T00:00:00Z}`)}`,
    );
    expect(before.html).not.toContain(user.email);
  });

  it('deletes after a confirmation page', async () => {
    const { user } = await newUser(t);
    const confirm = await open(agent, path(user.id, '/delete'));
    expect(confirm.html).toContain('This cannot be undone.');
    const deleted = await post(path(user.id, '/delete'));
    expect(deleted.html).toContain('User deleted.');
    expect(await t.rt.storage.users.get(user.id)).toBeFalsy();
    expect((await open(agent, path(user.id))).status).toBe(404);
  });

  it('renders a hostile name escaped, with no inline script or style', async () => {
    const { user } = await newUser(t, { name: '<script>alert(1)</script>' });
    for (const url of [`/console/users?q=${encodeURIComponent(user.email)}`, path(user.id)]) {
      const { html, status } = await open(agent, url);
      expect(status).toBe(200);
      expect(html).toContain('&lt;script&gt;alert(1)&lt;/script&gt;');
      expect(html).not.toContain('<script>alert(1)');
      expect(html).not.toMatch(/\sstyle=/);
      // only the console's own script files, nothing inline
      expect(html.match(/<script[^>]*>/g)).toEqual([
        '<script src="/console/assets/htmx.min.js" defer="">',
        '<script src="/console/assets/console.js" defer="">',
      ]);
    }
  });

  it('an admin holding only read:users sees the page; what they may not read or do says so', async () => {
    const helpdesk = await createRole(t.rt.storage, t.clock, { name: 'Helpdesk' });
    const mgmt = `${t.issuer}/api/v2/`;
    await addRolePermissions(t.rt.storage, t.clock, helpdesk.id, [
      { audience: mgmt, permission: 'read:users' },
    ]);
    const { user: helper, creds } = await newUser(t);
    await assignUserRoles(t.rt.storage, t.clock, helper.id, [helpdesk.id]);
    const limited = browser(t, creds);
    const { user } = await newUser(t);
    await limited.signIn(`${t.issuer}/console/login?return=${encodeURIComponent(path(user.id))}`);
    const shown = await open(limited, path(user.id));
    expect(shown.status).toBe(200);
    expect(shown.html).toContain(`value="${user.email}"`);
    // the section it may not read says which permission it needs, in the console's words
    expect(shown.html).toContain(
      'This needs the permissions read:users and read:roles, or read:role_members',
    );
    expect(shown.html).toContain('This needs the permission read:sessions.');
    expect(shown.html).not.toContain('Insufficient scope');
    expect(shown.html).toContain('No permissions.');
    expect(shown.html).not.toContain(`action="/console/users/${user.id}/permissions"`);
    const denied = await submit(limited, shown.html, path(user.id, '/block'), {});
    expect(denied.status).toBe(403);
    expect(denied.html).toContain('This needs the permission update:users');
    expect((await t.rt.storage.users.get(user.id))?.blocked).toBe(false);
  });

  it('the navigation offers the sections the admin may read; the dashboard shows what they may read, and says so when nothing', async () => {
    const mgmt = `${t.issuer}/api/v2/`;
    const navOf = (html: string) =>
      [
        ...(/<nav class="console" aria-label="Sections">([\s\S]*?)<\/nav>/.exec(html)?.[1] ?? '').matchAll(
          /href="([^"]+)"/g,
        ),
      ].map((m) => m[1]);
    const withRole = async (name: string, permissions: string[]) => {
      const role = await createRole(t.rt.storage, t.clock, { name });
      await addRolePermissions(
        t.rt.storage,
        t.clock,
        role.id,
        permissions.map((permission) => ({ audience: mgmt, permission })),
      );
      const { user: person, creds } = await newUser(t);
      await assignUserRoles(t.rt.storage, t.clock, person.id, [role.id]);
      const agent = browser(t, creds);
      const flow = await agent.signIn(`${t.issuer}/console`);
      return { role, person, agent, dashboard: await flow.response.text(), status: flow.response.status };
    };

    const users = await withRole('Users only', ['read:users', 'update:users']);
    expect(users.status, users.dashboard).toBe(200);
    expect(navOf(users.dashboard)).toEqual(['/console', '/console/users']);
    expect(users.dashboard).toContain('id="count-users"');
    expect(users.dashboard).not.toContain('id="count-applications"');
    expect(users.dashboard).not.toContain('Latest events');
    expect(users.dashboard).not.toContain('Not allowed');

    const logs = await withRole('Log reader', ['read:logs_users']);
    expect(navOf(logs.dashboard)).toEqual(['/console', '/console/logs']);
    expect(logs.dashboard).toContain('Latest events');
    expect(logs.dashboard).not.toContain('Last 30 days');
    expect((await open(logs.agent, '/console/logs')).status).toBe(200);

    // the chart is /stats/daily's: read:stats, and it counts this person's own sign-in
    const stats = await withRole('Stats reader', ['read:stats']);
    expect(navOf(stats.dashboard)).toEqual(['/console']);
    expect(stats.dashboard).not.toContain('Latest events');
    expect(stats.dashboard).toMatch(/Last 30 days: <strong>[1-9]\d*<\/strong> sign-ins/);
    expect(stats.dashboard).toContain('<svg');

    const writer = await withRole('Writer only', ['create:users']);
    expect(writer.status, writer.dashboard).toBe(200);
    expect(navOf(writer.dashboard)).toEqual(['/console']);
    expect(writer.dashboard).toContain('Your permissions do not include what this page shows');

    // a permission taken away counts at the next page
    await removeRolePermissions(t.rt.storage, users.role.id, [{ audience: mgmt, permission: 'read:users' }]);
    const after = await open(users.agent, '/console');
    expect(after.status).toBe(200);
    expect(navOf(after.html)).toEqual(['/console']);

    const full = await open(agent, '/console');
    expect(navOf(full.html)).toEqual([
      '/console',
      '/console/applications',
      '/console/apis',
      '/console/users',
      '/console/roles',
      '/console/logs',
      '/console/keys',
      '/console/settings',
    ]);
    expect(full.html).toContain('Latest events');
  });

  it('refuses a POST without the CSRF token (403) and changes nothing', async () => {
    const { user } = await newUser(t);
    const email = `nocsrf-${Math.random().toString(36).slice(2, 8)}@example.com`;
    expect((await agent.post('/console/users', { email, password: PASSWORD })).status).toBe(403);
    expect(await t.rt.storage.users.getByEmail(email)).toBeFalsy();
    expect((await agent.post(path(user.id, '/delete'), {})).status).toBe(403);
    expect((await agent.post(path(user.id, '/block'), { csrf: 'forged' })).status).toBe(403);
    expect(await t.rt.storage.users.get(user.id)).toMatchObject({ blocked: false });
  });
});
