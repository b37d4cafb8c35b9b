import type { Context } from 'hono';
import { ADMIN_ROLE_ID, MANAGEMENT_API_NAME } from '../../admin/system.js';
import type { AppEnv } from '../../http/context.js';
import { Csrf, consolePage, FieldError, FormError, flashOf, pageOf } from '../layout.js';
import { ApiError } from '../management.js';
import { type ConsoleRouter, seeOther } from '../router.js';
import type { Admin } from '../session.js';

interface Role {
  id: string;
  name: string;
  description: string;
}
interface Permission {
  resource_server_identifier: string;
  permission_name: string;
  resource_server_name: string;
  description: string;
}
interface Api {
  identifier: string;
  name: string;
  scopes: { value: string; description: string }[];
}
type Problem = { field?: string; message: string };

const problemOf = (err: unknown): Problem | null =>
  err instanceof ApiError && (err.status === 400 || err.status === 409)
    ? { message: err.message, ...(err.field ? { field: err.field } : {}) }
    : null;
const FLASH = new Map([
  ['created', 'Role created.'],
  ['saved', 'Role saved.'],
  ['permission-added', 'Permission added.'],
  ['permission-removed', 'Permission removed.'],
  ['member-added', 'The person now holds this role.'],
]);
/** Back to the role's page, with one of FLASH's messages. */
const back = (id: string, flash: string) => `/console/roles/${encodeURIComponent(id)}?flash=${flash}`;

function RoleFields(props: { role?: Partial<Role>; error?: Problem | undefined; submit: string }) {
  return (
    <>
      <FormError error={props.error} fields={['name', 'description']} />
      <label for="name">Name</label>
      <input id="name" name="name" required maxlength={255} value={props.role?.name ?? ''} />
      <FieldError error={props.error} name="name" />
      <label for="description">Description</label>
      <input id="description" name="description" maxlength={255} value={props.role?.description ?? ''} />
      <FieldError error={props.error} name="description" />
      <button type="submit">{props.submit}</button>
    </>
  );
}

const PER_PAGE = 50;

async function listPage(c: Context<AppEnv>, admin: Admin, typed?: Partial<Role>, error?: Problem) {
  const n = pageOf(c);
  const { roles, total } = await admin.api.get<{ roles: Role[]; total: number }>(
    `/roles?per_page=${PER_PAGE}&page=${n}&include_totals=true`,
  );
  return consolePage(
    c,
    {
      title: 'Roles',
      admin,
      section: '/console/roles',
      children: (
        <>
          <h1>Roles</h1>
          <table class="striped">
            <tbody>
              {roles.map((r) => (
                <tr>
                  <td>
                    <a href={`/console/roles/${encodeURIComponent(r.id)}`}>{r.name}</a>
                  </td>
                  <td>{r.description}</td>
                </tr>
              ))}
            </tbody>
          </table>
          <p class="muted">
            {total} roles.{' '}
            {n > 0 ? (
              <a href={`/console/roles?page=${Math.max(0, Math.min(n, Math.ceil(total / PER_PAGE)) - 1)}`}>
                Previous page
              </a>
            ) : null}{' '}
            {total > (n + 1) * PER_PAGE ? <a href={`/console/roles?page=${n + 1}`}>Next page</a> : null}
          </p>
          <h2>Create a role</h2>
          <form method="post" action="/console/roles">
            <Csrf admin={admin} />
            <RoleFields role={typed ?? {}} error={error} submit="Create role" />
          </form>
        </>
      ),
    },
    error ? 400 : 200,
  );
}

async function rolePage(
  c: Context<AppEnv>,
  admin: Admin,
  id: string,
  error?: Problem,
  member?: { email: string; message: string },
  /** What the admin typed into the role's fields, shown again beside the error. */
  typed?: Partial<Role>,
) {
  const path = `/roles/${encodeURIComponent(id)}`;
  // Members come 100 at a time; `members_from` is the checkpoint of the next hundred.
  const membersFrom = c.req.query('members_from');
  const [role, perms, members, apis] = await Promise.all([
    admin.api.get<Role>(path),
    admin.api.all<Permission>(`${path}/permissions`),
    admin.api.get<{ users: { user_id: string; email: string; name?: string }[]; next?: string }>(
      `${path}/users?${new URLSearchParams({ take: '100', ...(membersFrom ? { from: membersFrom } : {}) })}`,
    ),
    admin.api.all<Api>('/resource-servers'),
  ]);
  const permissionValue = (identifier: string, permission: string) => `${identifier} ${permission}`;
  const held = new Set(perms.map((p) => permissionValue(p.resource_server_identifier, p.permission_name)));
  const options = apis.flatMap((a) =>
    a.scopes
      .map((s) => ({ value: permissionValue(a.identifier, s.value), label: `${a.name}: ${s.value}` }))
      .filter((o) => !held.has(o.value)),
  );
  // Sesame Admin keeps its name and its Management API permissions, and cannot be deleted.
  const system = role.id === ADMIN_ROLE_ID;
  const kept = (p: Permission) => system && p.resource_server_name === MANAGEMENT_API_NAME;
  return consolePage(
    c,
    {
      title: role.name,
      admin,
      section: '/console/roles',
      ...flashOf(c, FLASH),
      children: (
        <>
          <h1>{role.name}</h1>
          {system ? (
            <p class="muted">
              Sesame's own role: whoever holds it administers this tenant. Its name and its Management API
              permissions stay; it cannot be deleted.
            </p>
          ) : (
            <form method="post" action={`/console${path}`}>
              <Csrf admin={admin} />
              <RoleFields role={typed ?? role} error={error} submit="Save" />
            </form>
          )}
          <h2>Permissions</h2>
          <table class="striped">
            <tbody>
              {perms.map((p) => (
                <tr>
                  <td>{p.resource_server_name}</td>
                  <td>
                    <code>{p.permission_name}</code> <span class="muted">{p.description}</span>
                  </td>
                  <td>
                    {kept(p) ? null : (
                      <form method="post" action={`/console${path}/permissions/remove`} class="inline">
                        <Csrf admin={admin} />
                        <input
                          type="hidden"
                          name="permission"
                          value={`${p.resource_server_identifier} ${p.permission_name}`}
                        />
                        <button type="submit" class="secondary">
                          Remove
                        </button>
                      </form>
                    )}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
          <form method="post" action={`/console${path}/permissions`}>
            <Csrf admin={admin} />
            <label for="permission">Add a permission</label>
            <select id="permission" name="permission" required>
              {options.map((o) => (
                <option value={o.value}>{o.label}</option>
              ))}
            </select>
            <button type="submit">Add permission</button>
          </form>
          <h2 id="members">Members</h2>
          <ul>
            {members.users.map((u) => (
              <li>
                <a href={`/console/users/${encodeURIComponent(u.user_id)}`}>{u.email}</a> {u.name ?? ''}
              </li>
            ))}
          </ul>
          {members.next ? (
            <p>
              <a href={`/console${path}?${new URLSearchParams({ members_from: members.next })}#members`}>
                More members
              </a>
            </p>
          ) : null}
          <form method="post" action={`/console${path}/members`}>
            <Csrf admin={admin} />
            <label for="email">Give this role to (email)</label>
            <input id="email" name="email" type="email" required value={member?.email ?? ''} />
            <FieldError
              error={member ? { field: 'email', message: member.message } : undefined}
              name="email"
            />
            <button type="submit">Add member</button>
          </form>
          {system ? null : (
            <>
              <h2>Delete</h2>
              <form method="get" action={`/console${path}/delete`}>
                <button type="submit" class="secondary">
                  Delete this role…
                </button>
              </form>
            </>
          )}
        </>
      ),
    },
    error || member ? 400 : 200,
  );
}

/** A permission chosen in a form: "<api identifier> <permission>". */
function permissionOf(value: string | null) {
  const at = (value ?? '').lastIndexOf(' ');
  return {
    resource_server_identifier: (value ?? '').slice(0, at),
    permission_name: (value ?? '').slice(at + 1),
  };
}

/** /console/roles: roles, their permissions and their members. */
export function rolePages(router: ConsoleRouter): void {
  router.get('/roles', (c, admin) => listPage(c, admin));
  router.post('/roles', async (c, admin, form) => {
    const input = { name: form.get('name') ?? '', description: form.get('description') ?? '' };
    try {
      const role = await admin.api.post<Role>('/roles', input);
      return seeOther(c, back(role.id, 'created'));
    } catch (err) {
      const problem = problemOf(err);
      if (!problem) throw err;
      return listPage(c, admin, input, problem);
    }
  });
  router.get('/roles/:id', (c, admin) => rolePage(c, admin, c.req.param('id') ?? ''));
  router.post('/roles/:id', async (c, admin, form) => {
    const id = c.req.param('id') ?? '';
    const typed = { name: form.get('name') ?? '', description: form.get('description') ?? '' };
    try {
      await admin.api.patch(`/roles/${encodeURIComponent(id)}`, typed);
    } catch (err) {
      const problem = problemOf(err);
      if (!problem) throw err;
      return rolePage(c, admin, id, problem, undefined, typed);
    }
    return seeOther(c, back(id, 'saved'));
  });
  router.post('/roles/:id/permissions', async (c, admin, form) => {
    const id = c.req.param('id') ?? '';
    const body = { permissions: [permissionOf(form.get('permission'))] };
    await admin.api.post(`/roles/${encodeURIComponent(id)}/permissions`, body);
    return seeOther(c, back(id, 'permission-added'));
  });
  router.post('/roles/:id/permissions/remove', async (c, admin, form) => {
    const id = c.req.param('id') ?? '';
    const body = { permissions: [permissionOf(form.get('permission'))] };
    await admin.api.delete(`/roles/${encodeURIComponent(id)}/permissions`, body);
    return seeOther(c, back(id, 'permission-removed'));
  });
  router.post('/roles/:id/members', async (c, admin, form) => {
    const id = c.req.param('id') ?? '';
    const email = (form.get('email') ?? '').trim();
    const found = await admin.api.get<{ user_id: string }[]>(
      `/users-by-email?email=${encodeURIComponent(email)}`,
    );
    if (found.length === 0)
      return rolePage(c, admin, id, undefined, { email, message: `No user with the email ${email}` });
    await admin.api.post(`/roles/${encodeURIComponent(id)}/users`, { users: [found[0]!.user_id] });
    return seeOther(c, back(id, 'member-added'));
  });
  router.get('/roles/:id/delete', async (c, admin) => {
    const role = await admin.api.get<Role>(`/roles/${encodeURIComponent(c.req.param('id') ?? '')}`);
    return consolePage(c, {
      title: `Delete ${role.name}`,
      admin,
      section: '/console/roles',
      children: (
        <article>
          <h1>Delete the role {role.name}?</h1>
          <p>Its members lose its permissions from their next token on.</p>
          <form method="post" action={`/console/roles/${encodeURIComponent(role.id)}/delete`}>
            <Csrf admin={admin} />
            <button type="submit" class="secondary">
              Delete the role
            </button>{' '}
            <a href={`/console/roles/${encodeURIComponent(role.id)}`}>Cancel</a>
          </form>
        </article>
      ),
    });
  });
  router.post('/roles/:id/delete', async (c, admin) => {
    await admin.api.delete(`/roles/${encodeURIComponent(c.req.param('id') ?? '')}`);
    return seeOther(c, '/console/roles');
  });
}
