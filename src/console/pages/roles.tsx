import type { Context } from 'hono';
import { ADMIN_ROLE_ID } from '../../admin/system.js';
import type { AppEnv } from '../../http/context.js';
import { Csrf, consolePage, flashOf, mayWrite, NeedsPermission, Permitted, pageOf } from '../layout.js';
import { ApiError } from '../management.js';
import { type ConsoleRouter, type PageHandler, seeOther } from '../router.js';
import type { Admin } from '../session.js';
import { back, type Problem, problemOf, ROLE_NEEDS, type Role, RoleFields, rolePage } from './role.js';

const PER_PAGE = 50;
const DELETED = new Map([
  ['deleted', 'Role deleted.'],
  ['gone', 'That role no longer exists: it was deleted meanwhile, so nothing was changed.'],
]);

/**
 * A write to one role: when another admin has deleted the role meanwhile, the role list says so
 * (not the console's 404 page, which reads as if the address were wrong).
 */
const onRole =
  (handler: PageHandler): PageHandler =>
  async (c, admin, form) => {
    try {
      return await handler(c, admin, form);
    } catch (err) {
      if (!(err instanceof ApiError) || err.status !== 404) throw err;
      const role = `/roles/${encodeURIComponent(c.req.param('id') ?? '')}`;
      const gone = await admin.api.get(role).then(
        () => false,
        (e: unknown) => e instanceof ApiError && e.status === 404,
      );
      if (gone) return seeOther(c, '/console/roles?flash=gone');
      throw err;
    }
  };

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
      ...flashOf(c, DELETED),
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
            {total} {total === 1 ? 'role' : 'roles'}.{' '}
            {n > 0 ? (
              <a href={`/console/roles?page=${Math.max(0, Math.min(n, Math.ceil(total / PER_PAGE)) - 1)}`}>
                Previous page
              </a>
            ) : null}{' '}
            {total > (n + 1) * PER_PAGE ? <a href={`/console/roles?page=${n + 1}`}>Next page</a> : null}
          </p>
          <h2>Create a role</h2>
          <Permitted admin={admin} needs={ROLE_NEEDS.create} to="Creating a role" kept={error !== undefined}>
            <form method="post" action="/console/roles">
              <Csrf admin={admin} />
              <RoleFields role={typed ?? {}} error={error} submit="Create role" />
            </form>
          </Permitted>
        </>
      ),
    },
    error ? (error.status ?? 400) : 200,
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
  router.post(
    '/roles/:id',
    onRole(async (c, admin, form) => {
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
    }),
  );
  router.post(
    '/roles/:id/permissions',
    onRole(async (c, admin, form) => {
      const id = c.req.param('id') ?? '';
      const body = { permissions: [permissionOf(form.get('permission'))] };
      await admin.api.post(`/roles/${encodeURIComponent(id)}/permissions`, body);
      return seeOther(c, back(id, 'permission-added'));
    }),
  );
  router.post(
    '/roles/:id/permissions/remove',
    onRole(async (c, admin, form) => {
      const id = c.req.param('id') ?? '';
      const body = { permissions: [permissionOf(form.get('permission'))] };
      await admin.api.delete(`/roles/${encodeURIComponent(id)}/permissions`, body);
      return seeOther(c, back(id, 'permission-removed'));
    }),
  );
  router.post(
    '/roles/:id/members',
    onRole(async (c, admin, form) => {
      const id = c.req.param('id') ?? '';
      const email = (form.get('email') ?? '').trim();
      const found = await admin.api.get<{ user_id: string }[]>(
        `/users-by-email?email=${encodeURIComponent(email)}`,
      );
      if (found.length === 0)
        return rolePage(c, admin, id, undefined, {
          email,
          message:
            email === ''
              ? 'Enter the email of the person to give this role to.'
              : `No user with the email ${email}`,
        });
      try {
        await admin.api.post(`/roles/${encodeURIComponent(id)}/users`, { users: [found[0]!.user_id] });
      } catch (err) {
        // refused for a permission (taken away meanwhile, or one the role confers): the email stays
        if (!(err instanceof ApiError) || err.status !== 403) throw err;
        return rolePage(c, admin, id, undefined, { email, message: err.message, status: 403 });
      }
      return seeOther(c, back(id, 'member-added'));
    }),
  );
  router.post(
    '/roles/:id/members/remove',
    onRole(async (c, admin, form) => {
      const id = c.req.param('id') ?? '';
      const user = form.get('user_id') ?? '';
      // taking a role away that no longer exists succeeds (nothing is held): ask for the role first
      await admin.api.get(`/roles/${encodeURIComponent(id)}`);
      await admin.api.delete(`/users/${encodeURIComponent(user)}/roles`, { roles: [id] });
      return seeOther(c, back(id, 'member-removed'));
    }),
  );
  router.get('/roles/:id/delete', async (c, admin) => {
    const role = await admin.api.get<Role>(`/roles/${encodeURIComponent(c.req.param('id') ?? '')}`);
    // Sesame's own role, or an admin who may not delete roles: the page says so, with no button
    const cannot =
      role.id === ADMIN_ROLE_ID ? (
        <p>This role is part of Sesame (it makes administrators): it cannot be deleted.</p>
      ) : mayWrite(admin, ROLE_NEEDS.delete) ? null : (
        <NeedsPermission to="Deleting this role" needs={ROLE_NEEDS.delete} />
      );
    if (cannot)
      return consolePage(c, {
        title: role.name,
        admin,
        section: '/console/roles',
        children: (
          <article>
            <h1>{role.name}</h1>
            {cannot}
            <a href={`/console/roles/${encodeURIComponent(role.id)}`}>Back to the role</a>
          </article>
        ),
      });
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
  router.post(
    '/roles/:id/delete',
    onRole(async (c, admin) => {
      await admin.api.delete(`/roles/${encodeURIComponent(c.req.param('id') ?? '')}`);
      return seeOther(c, '/console/roles?flash=deleted');
    }),
  );
}
