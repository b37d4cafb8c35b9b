import { type OpenAPIHono, z } from '@hono/zod-openapi';
import { listRolePermissions } from '../admin/permissions.js';
import {
  addRolePermissions,
  assignRoleUsers,
  createRole,
  deleteRole,
  getRole,
  listRoles,
  listRoleUsers,
  removeRolePermissions,
  updateRole,
} from '../admin/roles.js';
import { localUserId } from '../admin/user-search.js';
import type { Deps } from '../http/context.js';
import { ROLE_USER_ORDER } from '../storage/list-orders.js';
import type { Role as RoleRecord, User } from '../storage/types.js';
import type { ManagementEnv } from './auth.js';
import { confersOnlyHeld, rolesManagementScopes } from './delegation.js';
import {
  checkpointBody,
  checkpointQuery,
  checkpointSlice,
  listAnswer,
  pageBody,
  pageQuery,
  pageSlice,
} from './paging.js';
import { Permission, permissionView, permissionWriteRoutes } from './permissions.js';
import { IdParam, jsonBody, operation } from './route.js';

export const Role = z.object({ id: z.string(), name: z.string(), description: z.string() }).openapi('Role');
const RoleInput = z.strictObject({ name: z.string().max(255), description: z.string().max(255) });
const RoleUser = z
  .object({
    user_id: z.string(),
    email: z.string(),
    name: z.string().optional(),
    picture: z.string().optional(),
  })
  .openapi('RoleUser');

export const roleView = (r: RoleRecord): z.infer<typeof Role> => ({
  id: r.id,
  name: r.name,
  description: r.description,
});

const roleUserView = (u: User): z.infer<typeof RoleUser> => ({
  user_id: u.id,
  email: u.email,
  ...(typeof u.claims.name === 'string' ? { name: u.claims.name } : {}),
  ...(typeof u.claims.picture === 'string' ? { picture: u.claims.picture } : {}),
});

const TAG = 'Roles';

/** /roles: roles, their permissions (API scopes) and their members (Auth0's RBAC). */
export function roleRoutes(app: OpenAPIHono<ManagementEnv>, deps: Deps): void {
  const { storage, clock } = deps;
  app.openapi(
    operation({
      method: 'get',
      path: '/roles',
      scope: 'read:roles',
      tag: TAG,
      summary: 'List roles',
      request: {
        query: z.object({
          ...pageQuery,
          name_filter: z.string().max(255).optional().openapi({ description: 'Part of the name, any case.' }),
        }),
      },
      status: 200,
      response: listAnswer('roles', Role),
    }),
    async (c) => {
      const q = c.req.valid('query');
      const slice = pageSlice(q);
      const filter = q.name_filter !== undefined ? { nameFilter: q.name_filter } : {};
      const { items, total } = await listRoles(storage, filter, slice);
      return c.json(
        (await pageBody('roles', items.map(roleView), slice, q.include_totals, total)) as never,
        200,
      );
    },
  );
  app.openapi(
    operation({
      method: 'post',
      path: '/roles',
      scope: 'create:roles',
      tag: TAG,
      summary: 'Create a role',
      description: 'Names are unique (409 for a second role of the same name).',
      request: jsonBody(RoleInput.partial({ description: true }).openapi('RoleCreate')),
      status: 200,
      response: Role,
    }),
    async (c) => c.json(roleView(await createRole(storage, clock, c.req.valid('json'))), 200),
  );
  app.openapi(
    operation({
      method: 'get',
      path: '/roles/{id}',
      scope: 'read:roles',
      tag: TAG,
      summary: 'Get a role',
      request: { params: IdParam },
      status: 200,
      response: Role,
    }),
    async (c) => c.json(roleView(await getRole(storage, c.req.valid('param').id)), 200),
  );
  app.openapi(
    operation({
      method: 'patch',
      path: '/roles/{id}',
      scope: 'update:roles',
      tag: TAG,
      summary: 'Update a role',
      description: 'Sesame Admin keeps its name.',
      request: { params: IdParam, ...jsonBody(RoleInput.partial().openapi('RoleUpdate')) },
      status: 200,
      response: Role,
    }),
    async (c) => {
      const role = await updateRole(storage, clock, c.req.valid('param').id, c.req.valid('json'));
      return c.json(roleView(role), 200);
    },
  );
  app.openapi(
    operation({
      method: 'delete',
      path: '/roles/{id}',
      scope: 'delete:roles',
      tag: TAG,
      summary: 'Delete a role',
      description:
        'Its holders lose its permissions from their next token on. Sesame Admin cannot be deleted.',
      request: { params: IdParam },
      status: 200,
    }),
    async (c) => {
      confersOnlyHeld(c, await rolesManagementScopes(deps, [c.req.valid('param').id]));
      await deleteRole(storage, c.req.valid('param').id);
      return c.body(null, 200);
    },
  );
  app.openapi(
    operation({
      method: 'get',
      path: '/roles/{id}/permissions',
      scope: 'read:roles',
      tag: TAG,
      summary: "List a role's permissions",
      request: { params: IdParam, query: z.object(pageQuery) },
      status: 200,
      response: listAnswer('permissions', Permission),
    }),
    async (c) => {
      const q = c.req.valid('query');
      const slice = pageSlice(q);
      const { items, total } = await listRolePermissions(storage, c.req.valid('param').id, slice);
      const body = await pageBody('permissions', items.map(permissionView), slice, q.include_totals, total);
      return c.json(body as never, 200);
    },
  );
  permissionWriteRoutes(app, deps, {
    path: '/roles/{id}/permissions',
    tag: TAG,
    scope: 'update:roles',
    holder: 'a role',
    add: (id, refs) => addRolePermissions(storage, clock, id, refs),
    remove: (id, refs) => removeRolePermissions(storage, id, refs),
    removed: 200,
    removeDescription: 'Sesame Admin keeps every permission of the Management API.',
  });
  app.openapi(
    operation({
      method: 'get',
      path: '/roles/{id}/users',
      scope: [['read:users', 'read:roles'], ['read:role_members']],
      tag: TAG,
      summary: "List a role's users",
      description:
        'Paged by page/per_page, or by checkpoint with from/take (then the answer is {users, next}).',
      request: {
        params: IdParam,
        query: z.object({ ...pageQuery, from: checkpointQuery.from, take: pageQuery.per_page }),
      },
      status: 200,
      response: listAnswer('users', RoleUser, 'checkpoint'),
    }),
    async (c) => {
      const q = c.req.valid('query');
      const id = c.req.valid('param').id;
      if (q.from !== undefined || q.take !== undefined) {
        const slice = checkpointSlice(q, ROLE_USER_ORDER);
        const { items, read } = await listRoleUsers(storage, id, slice);
        const last = read.at(-1);
        return c.json(
          checkpointBody(
            'users',
            items.map(roleUserView),
            slice,
            last === undefined ? undefined : ROLE_USER_ORDER.of({ id: last }),
            read.length === slice.limit,
          ) as never,
          200,
        );
      }
      const slice = pageSlice(q);
      const { items, total } = await listRoleUsers(storage, id, slice);
      return c.json(
        (await pageBody('users', items.map(roleUserView), slice, q.include_totals, total)) as never,
        200,
      );
    },
  );
  app.openapi(
    operation({
      method: 'post',
      path: '/roles/{id}/users',
      scope: [['update:roles'], ['create:role_members']],
      tag: TAG,
      summary: 'Give users a role',
      request: {
        params: IdParam,
        ...jsonBody(
          z.strictObject({ users: z.array(z.string().max(64)).min(1).max(100) }).openapi('RoleUsers'),
        ),
      },
      status: 200,
    }),
    async (c) => {
      confersOnlyHeld(c, await rolesManagementScopes(deps, [c.req.valid('param').id]));
      await assignRoleUsers(
        storage,
        clock,
        c.req.valid('param').id,
        c.req.valid('json').users.map(localUserId),
      );
      return c.body(null, 200);
    },
  );
}
