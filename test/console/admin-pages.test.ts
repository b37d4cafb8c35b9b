import { afterAll, beforeAll, expect, it } from 'vitest';
import { newApi } from '../management/support.js';
import { csrfOf } from '../protocol/sign-in/agent.js';
import { newUser } from '../protocol/sign-in/fixtures.js';
import { user } from '../storage/contract-records.js';
import { startTestApp, type TestApp } from '../support/app.js';
import { describeEachBackend } from '../support/databases.js';
import { open, signedInAdmin, submit } from './support.js';

/** The console's roles, signing keys and settings pages, in-process. */
describeEachBackend('console: roles, signing keys, settings', (backend) => {
  let t: TestApp;
  let agent: Awaited<ReturnType<typeof signedInAdmin>>['agent'];
  let adminEmail: string;
  beforeAll(async () => {
    t = await startTestApp(backend);
    ({ agent, email: adminEmail } = await signedInAdmin(t));
  });
  afterAll(async () => t?.close());

  it('creates a role, gives it a permission and a member, and deletes it after confirming', async () => {
    const api = await newApi(t, { name: 'Orders' });
    const member = await newUser(t);
    const list = await open(agent, '/console/roles');
    expect(list.html).toContain('Sesame Admin');
    const dup = await submit(agent, list.html, '/console/roles', { name: 'Sesame Admin', description: '' });
    expect(dup.status).toBe(400);
    expect(dup.html).toMatch(/exists already/);
    const created = await submit(agent, list.html, '/console/roles', {
      name: '<script>alert(1)</script>',
      description: 'Clerks',
    });
    expect(created.status).toBe(200);
    expect(created.html).toContain('&lt;script&gt;alert(1)&lt;/script&gt;');
    expect(created.html).not.toContain('<script>alert(1)');
    const id = /\/console\/roles\/(rol_[\w-]+)\/permissions/.exec(created.html)![1]!;
    // a rename refused: what was typed stays in the fields, beside the reason
    const clash = await submit(agent, created.html, `/console/roles/${id}`, {
      name: 'Sesame Admin',
      description: 'Typed, not saved',
    });
    expect(clash.status).toBe(400);
    expect(clash.html).toMatch(/exists already/);
    expect(clash.html).toContain('value="Sesame Admin"');
    expect(clash.html).toContain('value="Typed, not saved"');
    const added = await submit(agent, created.html, `/console/roles/${id}/permissions`, {
      permission: `${api.identifier} read:things`,
    });
    expect(added.html).toContain('read:things');
    const withMember = await submit(agent, added.html, `/console/roles/${id}/members`, {
      email: member.user.email,
    });
    expect(withMember.html).toContain(member.user.email);
    const nobody = await submit(agent, added.html, `/console/roles/${id}/members`, {
      email: 'nobody@example.com',
    });
    expect(nobody.status).toBe(400);
    expect(nobody.html).toContain(
      '<p class="field-error" id="email-error" role="alert">No user with the email',
    );
    expect(nobody.html).toContain('value="nobody@example.com"');
    expect((await t.rt.storage.permissions.effective(member.user.id, api.id)).sort()).toEqual([
      'read:things',
    ]);
    const removed = await submit(agent, withMember.html, `/console/roles/${id}/permissions/remove`, {
      permission: `${api.identifier} read:things`,
    });
    expect(await t.rt.storage.permissions.effective(member.user.id, api.id)).toEqual([]);
    // a member taken off from the role's page
    expect(removed.html).toContain(`aria-label="Remove ${member.user.email} from this role"`);
    const off = await submit(agent, removed.html, `/console/roles/${id}/members/remove`, {
      user_id: member.user.id,
    });
    expect(off.status).toBe(200);
    expect(off.html).toContain('The person no longer holds this role.');
    expect(off.html).not.toContain(member.user.email);
    expect(await t.rt.storage.roles.rolesOf(member.user.id)).toEqual([]);
    const confirm = await open(agent, `/console/roles/${id}/delete`);
    expect(confirm.html).toContain('Delete the role');
    const gone = await submit(agent, removed.html, `/console/roles/${id}/delete`, {});
    expect(gone.html).toContain('Role deleted.');
    expect(await t.rt.storage.roles.get(id)).toBeNull();
  });

  it('a write to a role deleted meanwhile says so on the role list; Remove buttons name what they remove', async () => {
    const api = await newApi(t, { name: 'Ledger' });
    const member = await newUser(t);
    const list = await open(agent, '/console/roles');
    const created = await submit(agent, list.html, '/console/roles', { name: 'Auditors', description: '' });
    const id = /\/console\/roles\/(rol_[\w-]+)\/permissions/.exec(created.html)![1]!;
    const csrf = csrfOf(created.html);
    // each write returns to the part of the page it changed
    const added = await agent.post(`/console/roles/${id}/permissions`, {
      csrf,
      permission: `${api.identifier} read:things`,
    });
    expect(added.headers.get('location')).toBe(`/console/roles/${id}?flash=permission-added#permissions`);
    const joined = await agent.post(`/console/roles/${id}/members`, { csrf, email: member.user.email });
    expect(joined.headers.get('location')).toBe(`/console/roles/${id}?flash=member-added#members`);
    const page = await open(agent, `/console/roles/${id}`);
    expect(page.html).toContain('<h2 id="permissions">');
    expect(page.html).toContain('aria-label="Remove read:things (Ledger) from this role"');
    const person = await open(agent, `/console/users/${encodeURIComponent(member.user.id)}`);
    expect(person.html).toContain('aria-label="Remove the role Auditors"');

    // another admin deletes the role; this page's forms are still open
    expect((await agent.post(`/console/roles/${id}/delete`, { csrf })).status).toBe(303);
    const writes: [string, Record<string, string>][] = [
      ['/members/remove', { user_id: member.user.id }],
      ['/permissions/remove', { permission: `${api.identifier} read:things` }],
      ['/permissions', { permission: `${api.identifier} read:things` }],
      ['/members', { email: member.user.email }],
      ['', { name: 'Renamed', description: '' }],
      ['/delete', {}],
    ];
    for (const [rest, fields] of writes) {
      const res = await agent.post(`/console/roles/${id}${rest}`, { csrf, ...fields });
      expect(res.status, rest).toBe(303);
      expect(res.headers.get('location'), rest).toBe('/console/roles?flash=gone');
    }
    const told = await open(agent, '/console/roles?flash=gone');
    expect(told.html).toContain(
      'That role no longer exists: it was deleted meanwhile, so nothing was changed.',
    );
    // a write that fails for another reason is not dressed up as a deleted role
    const other = await agent.post('/console/roles/rol_sesame_admin/members/remove', {
      csrf,
      user_id: 'auth0|nope',
    });
    expect(other.status).toBe(404);
  });

  it("Sesame Admin's page offers nothing that would be refused: no rename, no delete, no removing its Management API permissions", async () => {
    const page = await open(agent, '/console/roles/rol_sesame_admin');
    expect(page.status).toBe(200);
    expect(page.html).toContain('own role: whoever holds it administers this tenant');
    expect(page.html).not.toContain('Delete this role');
    expect(page.html).not.toContain('id="name"');
    expect(page.html).not.toContain('/permissions/remove');
    // nor does it offer to add what the role holds already
    expect(page.html).not.toMatch(/<option value="[^"]*\/api\/v2\/ read:users">/);
    // nor to take the signed-in admin out of it in one click
    expect(page.html).toContain('(you)');
    expect(page.html).not.toContain(`aria-label="Remove ${adminEmail} from this role"`);
    // its delete step, opened by URL, says why instead of offering a button the API refuses
    const step = await open(agent, '/console/roles/rol_sesame_admin/delete');
    expect(step.status).toBe(200);
    expect(step.html).toContain('it cannot be deleted');
    expect(step.html).not.toContain('action="/console/roles/rol_sesame_admin/delete"');
  });

  it('a role with more than 100 members: the page links to the next hundred', async () => {
    const list = await open(agent, '/console/roles');
    const created = await submit(agent, list.html, '/console/roles', { name: 'Crowd', description: '' });
    const id = /\/console\/roles\/(rol_[\w-]+)\/permissions/.exec(created.html)![1]!;
    const people = Array.from({ length: 101 }, () => user());
    for (const p of people) await t.rt.storage.users.create(p);
    await t.rt.storage.roles.assign(
      people.map((p) => p.id),
      [id],
      t.clock.now(),
    );
    const first = await open(agent, `/console/roles/${id}`);
    const shown = (html: string) => [...html.matchAll(/href="\/console\/users\/([^"]+)"/g)].map((m) => m[1]);
    expect(shown(first.html)).toHaveLength(100);
    const more = /href="([^"]*members_from=[^"]*)"/.exec(first.html)?.[1]?.replaceAll('&amp;', '&');
    expect(more, 'a link to the next members').toBeDefined();
    const second = await open(agent, more!);
    expect(shown(second.html)).toHaveLength(1);
    expect(new Set([...shown(first.html), ...shown(second.html)]).size).toBe(101);
  });

  it('rotates keys, and revokes one only after a warning that says what breaks', async () => {
    const before = await t.rt.storage.signingKeys.listAll();
    const page = await open(agent, '/console/keys');
    expect(page.html).toContain('current');
    const rotated = await submit(agent, page.html, '/console/keys/rotate', {});
    expect(rotated.html).toContain('New keys published');
    expect((await t.rt.storage.signingKeys.listAll()).length).toBeGreaterThan(before.length);
    // (not ES256: that key signed this admin's own Management API token, which would stop working)
    const kid = before.find((k) => k.alg === 'PS256')!.kid;
    const warning = await open(agent, `/console/keys/${kid}/revoke`);
    expect(warning.html).toMatch(/stops verifying at once/);
    await submit(agent, warning.html, `/console/keys/${kid}/revoke`, {});
    expect((await t.rt.storage.signingKeys.get(kid))?.revokedAt).not.toBeNull();
  });

  it('the status box shows only the console’s own messages, never text from the link', async () => {
    const lure = 'Your keys are compromised: call 555-0100 now';
    for (const path of [
      '/console/keys',
      '/console/settings',
      '/console/applications',
      '/console/roles/rol_sesame_admin',
    ]) {
      const page = await open(agent, `${path}?flash=${encodeURIComponent(lure)}`);
      expect(page.html, path).not.toContain('555-0100');
    }
    expect((await open(agent, '/console/keys?flash=revoked')).html).toContain('The key was revoked.');
    expect((await open(agent, '/console/keys?flash=__proto__')).status).toBe(200);
  });

  it('saves tenant settings and shows the API message next to the field it names', async () => {
    const page = await open(agent, '/console/settings');
    const bad = await submit(agent, page.html, '/console/settings', {
      friendly_name: 'Acme',
      picture_url: 'not a url',
    });
    expect(bad.status).toBe(400);
    expect(bad.html).toMatch(/id="picture_url-error"/);
    expect(bad.html).toContain('value="Acme"');
    const ok = await submit(agent, page.html, '/console/settings', {
      friendly_name: 'Acme',
      support_email: 'help@acme.example',
      session_lifetime: '24',
    });
    expect(ok.html).toContain('Settings saved');
    expect(await t.rt.storage.settings.get('tenant')).toMatchObject({
      friendly_name: 'Acme',
      session_lifetime: 24,
    });
  });

  it('a lifetime that is not a number is refused naming the field, and nothing is reset', async () => {
    await t.rt.storage.settings.put('tenant', { session_lifetime: 48 }, t.clock.now());
    const page = await open(agent, '/console/settings');
    for (const [name, value] of [
      ['session_lifetime', 'abc'],
      ['idle_session_lifetime', '1e400'],
      ['session_lifetime', '-5'],
    ] as const) {
      const bad = await submit(agent, page.html, '/console/settings', { [name]: value });
      expect(bad.status, `${name}=${value}`).toBe(400);
      expect(bad.html).toMatch(new RegExp(`id="${name}-error"`));
      expect(bad.html).toContain(`value="${value}"`);
    }
    expect(await t.rt.storage.settings.get('tenant')).toEqual({ session_lifetime: 48 });
  });

  it('a save that changes only the name stores the name: the defaults it showed stay defaults', async () => {
    await t.rt.storage.settings.put('tenant', {}, t.clock.now());
    const page = await open(agent, '/console/settings');
    // what a browser sends: every input as shown, the ticked boxes, the name changed
    const shown: Record<string, string> = {};
    for (const m of page.html.matchAll(/<input([^>]*)>/g)) {
      const attrs = m[1]!;
      const name = /name="([^"]+)"/.exec(attrs)?.[1];
      if (!name || name === 'csrf') continue;
      if (attrs.includes('type="checkbox"') && !/\bchecked\b/.test(attrs)) continue;
      shown[name] = /value="([^"]*)"/.exec(attrs)?.[1] ?? '';
    }
    expect(Number(shown.session_lifetime)).toBeGreaterThan(0); // the default, shown
    expect(shown.password_reset_ends_sessions).toBe('true');
    const saved = await submit(agent, page.html, '/console/settings', { ...shown, friendly_name: 'Renamed' });
    expect(saved.html).toContain('Settings saved');
    expect(await t.rt.storage.settings.get('tenant')).toEqual({ friendly_name: 'Renamed' });
  });

  it("forms offer every API beyond the first 100: the default audience, a role's and a person's permissions; a save keeps the default", async () => {
    const many = [];
    for (let i = 0; i < 101; i++)
      many.push(
        await newApi(t, { name: `Many ${i}`, scopes: [{ name: `scope:${i}`, description: `Scope ${i}` }] }),
      );
    const last = many.at(-1)!;
    await t.rt.storage.settings.put('tenant', { default_audience: last.identifier }, t.clock.now());
    const page = await open(agent, '/console/settings');
    const select = /<select[^>]*name="default_audience"[^>]*>([\s\S]*?)<\/select>/.exec(page.html)?.[1] ?? '';
    for (const a of many) expect(select).toContain(`value="${a.identifier}"`);
    // what a browser sends: the option shown as selected
    const chosen = /<option value="([^"]*)" selected/.exec(select)?.[1] ?? '';
    expect(chosen).toBe(last.identifier);
    const saved = await submit(agent, page.html, '/console/settings', {
      default_audience: chosen,
      friendly_name: 'Kept',
    });
    expect(saved.html).toContain('Settings saved');
    expect(await t.rt.storage.settings.get('tenant')).toMatchObject({ default_audience: last.identifier });

    const list = await open(agent, '/console/roles');
    const role = await submit(agent, list.html, '/console/roles', { name: 'Wide', description: '' });
    expect(role.html).toContain(`value="${last.identifier} scope:100"`);
    const { user: person } = await newUser(t);
    const userPage = await open(agent, `/console/users/${encodeURIComponent(person.id)}`);
    expect(userPage.status).toBe(200);
    expect(userPage.html).toContain(`${last.name}: scope:100`);
  });

  it('the roles list comes 50 at a time, with links to the next and previous pages', async () => {
    const before = (await t.rt.storage.roles.count({})) as number;
    for (let i = 0; i < 60; i++) {
      const now = t.clock.now();
      await t.rt.storage.roles.create({
        id: `rol_page${i}${Math.random().toString(36).slice(2, 8)}`,
        name: `Paged ${String(i).padStart(2, '0')}`,
        description: '',
        isSystem: false,
        createdAt: now,
        updatedAt: now,
      });
    }
    const total = before + 60;
    const shown = (html: string) =>
      [...html.matchAll(/href="\/console\/roles\/(rol_[^"/]+)"/g)].map((m) => m[1]);
    const first = await open(agent, '/console/roles');
    expect(first.status).toBe(200);
    expect(shown(first.html)).toHaveLength(50);
    expect(first.html).toContain(`${total} roles.`);
    expect(first.html).toContain('href="/console/roles?page=1"');
    expect(first.html).not.toContain('Previous page');
    const seen = new Set(shown(first.html));
    for (let n = 1; n * 50 < total; n++) {
      const next = await open(agent, `/console/roles?page=${n}`);
      for (const id of shown(next.html)) seen.add(id);
      expect(next.html).toContain(`href="/console/roles?page=${n - 1}"`);
    }
    expect(seen.size).toBe(total);
    for (const list of ['roles', 'applications', 'users', 'logs'])
      for (const odd of ['-3', 'x', '1.5', '1e400', '99999999'])
        expect((await open(agent, `/console/${list}?page=${odd}`)).status, `${list} ${odd}`).toBe(200);
  });

  it('refuses a form without the CSRF token', async () => {
    expect((await agent.post('/console/keys/rotate', {})).status).toBe(403);
    expect((await agent.post('/console/roles', { name: 'x' })).status).toBe(403);
  });
});
