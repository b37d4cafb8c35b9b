import { afterAll, beforeAll, expect, it } from 'vitest';
import { assignUserRoles, createRole, removeRolePermissions } from '../../src/admin/roles.js';
import { csrfOf, type UserAgent } from '../protocol/sign-in/agent.js';
import { newUser } from '../protocol/sign-in/fixtures.js';
import { startTestApp, type TestApp } from '../support/app.js';
import { describeEachBackend } from '../support/databases.js';
import { open, signedInAdmin, signedInWith } from './support.js';

/** The permissions to read every section, and nothing to write. */
const READ_ONLY = [
  'read:clients',
  'read:client_grants',
  'read:resource_servers',
  'read:users',
  'read:roles',
  'read:sessions',
  'read:grants',
  'read:tenant_settings',
  'read:signing_keys',
];

/**
 * The forms of a page that would change something: every form but Sign out and the searches
 * (GET forms to a list), and the links to a confirmation step.
 */
function writeForms(html: string): string[] {
  const forms = [...html.matchAll(/<form[^>]*>/g)]
    .map((m) => m[0])
    .filter((f) => !f.includes('action="/console/logout"'))
    .filter((f) => !(f.includes('method="get"') && /action="\/console\/(users|logs)"/.test(f)));
  const steps = [...html.matchAll(/href="[^"]*\/(rotate-secret|delete|revoke|block|sign-out|remove)[^"]*"/g)];
  return [...forms, ...steps.map((m) => m[0])];
}

const note = (to: string, permission: string) => `${to} needs the permission <code>${permission}</code>.`;

/** Which write forms the console offers, by the Management API permissions the admin holds. */
describeEachBackend('console: forms follow the write permissions', (backend) => {
  let t: TestApp;
  let full: UserAgent;
  beforeAll(async () => {
    t = await startTestApp(backend);
    ({ agent: full } = await signedInAdmin(t));
  });
  afterAll(async () => t?.close());

  it('an admin who may only read sees every section without a form that writes, each saying which permission it needs', async () => {
    const api = await t.createApi({ name: 'Orders' });
    const m2m = await t.createM2m(api);
    const web = await t.createApp({
      name: 'Read-only web',
      type: 'web',
      callbacks: ['https://r.example/cb'],
    });
    const role = await createRole(t.rt.storage, t.clock, {
      name: `Clerks ${Math.random()}`,
      description: 'Desk',
    });
    const { user: member } = await newUser(t);
    await assignUserRoles(t.rt.storage, t.clock, member.id, [role.id]);
    const { agent: reader, user: self } = await signedInWith(t, READ_ONLY);
    const kid = /\/console\/keys\/([^/"]+)\/revoke/.exec((await open(full, '/console/keys')).html)![1]!;

    const app = `/console/applications/${web.clientId}`;
    const apiPath = `/console/apis/${api.id}`;
    const rolePath = `/console/roles/${role.id}`;
    const selfPath = `/console/users/${self.id}`;
    const pages: [string, string[]][] = [
      ['/console/applications', [note('Creating an application', 'create:clients')]],
      ['/console/applications/new', [note('Creating an application', 'create:clients')]],
      [
        app,
        [
          note('Changing these settings', 'update:clients'),
          note('Rotating its secret', 'update:clients'),
          note('Deleting this application', 'delete:clients'),
          note('Allowing it another API', 'create:client_grants'),
          // its values still shown, read-only
          '<fieldset disabled="">',
          'value="Read-only web"',
          'https://r.example/cb',
        ],
      ],
      [`/console/applications/${m2m.clientId}`, [note('Removing one', 'delete:client_grants')]],
      [`${app}/rotate-secret`, [note('Rotating its secret', 'update:clients')]],
      [`${app}/delete`, [note('Deleting this application', 'delete:clients')]],
      [`${app}/try`, ['is not one of', note('Adding it', 'update:clients')]],
      ['/console/users', [note('Creating a user', 'create:users'), 'aria-label="Search users"']],
      [
        selfPath,
        [
          note('Changing the profile', 'update:users'),
          note('Setting a password', 'update:users'),
          note('Blocking them', 'update:users'),
          note('Deleting this user', 'delete:users'),
          'Removing a role needs the permission <code>update:users</code> or <code>delete:role_members</code>.',
          'Assigning a role needs the permission <code>update:users</code> or <code>create:role_members</code>.',
          note('Adding or removing a permission', 'update:users'),
          note('Signing them out', 'delete:sessions'),
          `value="${self.email}"`,
        ],
      ],
      [`${selfPath}/block`, [note('Blocking them', 'update:users')]],
      [`${selfPath}/delete`, [note('Deleting this user', 'delete:users')]],
      [`${selfPath}/sign-out`, [note('Signing them out', 'delete:sessions')]],
      ['/console/roles', [note('Creating a role', 'create:roles')]],
      [
        rolePath,
        [
          note('Changing this role', 'update:roles'),
          note('Adding or removing a permission', 'update:roles'),
          'Removing a member needs the permission <code>update:users</code> or <code>delete:role_members</code>.',
          'Adding a member needs the permissions <code>read:users</code> and <code>update:roles</code>, or <code>read:users</code> and <code>create:role_members</code>.',
          note('Deleting this role', 'delete:roles'),
          'value="Desk"',
          member.email,
        ],
      ],
      [`${rolePath}/delete`, [note('Deleting this role', 'delete:roles')]],
      ['/console/apis', [note('Creating an API', 'create:resource_servers')]],
      [apiPath, [note('Changing these settings', 'update:resource_servers'), 'value="Orders"']],
      [`${apiPath}/permissions`, [note('Adding or removing a permission', 'update:resource_servers')]],
      [
        `${apiPath}/permissions/remove?value=read%3Athings`,
        [note('Removing a permission', 'update:resource_servers')],
      ],
      [
        `${apiPath}/applications`,
        [
          'Changing machine-to-machine access needs the permission <code>create:client_grants</code>, <code>update:client_grants</code> or <code>delete:client_grants</code>.',
          m2m.clientId,
        ],
      ],
      [`${apiPath}/delete`, [note('Deleting this API', 'delete:resource_servers')]],
      ['/console/settings', [note('Changing these settings', 'update:tenant_settings')]],
      [
        '/console/keys',
        [note('Rotating them', 'create:signing_keys'), note('Revoking one', 'update:signing_keys'), kid],
      ],
      [`/console/keys/${kid}/revoke`, [note('Revoking it', 'update:signing_keys')]],
    ];
    for (const [path, shown] of pages) {
      const page = await open(reader, path);
      expect(page.status, `${path}\n${page.html}`).toBe(200);
      expect(writeForms(page.html), path).toEqual([]);
      for (const text of shown) expect(page.html, path).toContain(text);
    }

    // the admin holding every permission is offered every one of these forms, and no such note
    for (const [path] of pages) {
      const page = await open(full, path);
      expect(page.status, path).toBe(200);
      expect(page.html, path).not.toContain(' needs the permission');
      if (path !== `${app}/try`) expect(writeForms(page.html), path).not.toEqual([]);
    }
  });

  it('a refused write for a permission taken away since the page was shown comes back with what was typed', async () => {
    const permissions = ['read:tenant_settings', 'update:tenant_settings', 'read:resource_servers'];
    const { agent, role } = await signedInWith(t, [...permissions, 'create:resource_servers']);
    const settings = await open(agent, '/console/settings');
    expect(settings.html).toContain('action="/console/settings"');
    const apis = await open(agent, '/console/apis');
    expect(apis.html).toContain('action="/console/apis"');
    const audience = `${t.issuer}/api/v2/`;
    await removeRolePermissions(t.rt.storage, role.id, [
      { audience, permission: 'update:tenant_settings' },
      { audience, permission: 'create:resource_servers' },
    ]);

    const saved = await agent.post('/console/settings', {
      csrf: csrfOf(settings.html),
      friendly_name: 'Typed, not saved',
      support_email: 'help@typed.example',
    });
    const savedHtml = await saved.text();
    expect(saved.status).toBe(403);
    expect(savedHtml).toContain('This needs the permission update:tenant_settings.');
    expect(savedHtml).toContain('action="/console/settings"');
    expect(savedHtml).toContain('value="Typed, not saved"');
    expect(savedHtml).toContain('value="help@typed.example"');

    const created = await agent.post('/console/apis', {
      csrf: csrfOf(apis.html),
      name: 'Typed API',
      identifier: 'https://typed.example/api',
      scopes: 'read:typed Read typed',
    });
    const createdHtml = await created.text();
    expect(created.status).toBe(403);
    expect(createdHtml).toContain('This needs the permission create:resource_servers.');
    expect(createdHtml).toContain('value="Typed API"');
    expect(createdHtml).toContain('read:typed Read typed');

    // the next page, without a refusal to show, offers neither form
    expect(writeForms((await open(agent, '/console/settings')).html)).toEqual([]);
    expect((await open(agent, '/console/apis')).html).toContain(
      note('Creating an API', 'create:resource_servers'),
    );
  });
});
