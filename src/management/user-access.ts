import { type OpenAPIHono, z } from '@hono/zod-openapi';
import { addUserPermissions, listUserPermissions, removeUserPermissions } from '../admin/permissions.js';
import { assignUserRoles, listUserRoles, removeUserRoles } from '../admin/roles.js';
import { localUserId } from '../admin/user-search.js';
import type { Deps } from '../http/context.js';
import type { ManagementEnv } from './auth.js';
import { confersOnlyHeld, rolesManagementScopes } from './delegation.js';
import { listAnswer, pageBody, pageQuery, pageSlice } from './paging.js';
import { permissionView, permissionWriteRoutes, UserPermission } from './permissions.js';
import { Role, roleView } from './roles.js';
import { IdParam, jsonBody, operation } from './route.js';

const RoleIds = z
  .strictObject({ roles: z.array(z.string().min(1).max(64)).min(1).max(50) })
  .openapi('UserRoles');
const TAG = 'Users';

/** /users/{id}/roles and /users/{id}/permissions: what a person holds (Auth0's RBAC). */
export function userAccessRoutes(app: OpenAPIHono<ManagementEnv>, deps: Deps): void {
  const { storage, clock } = deps;
  app.openapi(
    operation({
      method: 'get',
      path: '/users/{id}/roles',
      scope: [['read:users', 'read:roles'], ['read:role_members']],
      tag: TAG,
      summary: "List a user's roles",
      request: { params: IdParam, query: z.object(pageQuery) },
      status: 200,
      response: listAnswer('roles', Role),
    }),
    async (c) => {
      const q = c.req.valid('query');
      const slice = pageSlice(q);
      const { items, total } = await listUserRoles(storage, localUserId(c.req.valid('param').id), slice);
      return c.json(
        (await pageBody('roles', items.map(roleView), slice, q.include_totals, total)) as never,
        200,
      );
    },
  );
  app.openapi(
    operation({
      method: 'post',
      path: '/users/{id}/roles',
      scope: [['update:users'], ['create:role_members']],
      tag: TAG,
      summary: 'Give a user roles',
      request: { params: IdParam, ...jsonBody(RoleIds) },
      status: 204,
    }),
    async (c) => {
      const { roles } = c.req.valid('json');
      confersOnlyHeld(c, await rolesManagementScopes(deps, roles));
      await assignUserRoles(storage, clock, localUserId(c.req.valid('param').id), roles);
      return c.body(null, 204);
    },
  );
  app.openapi(
    operation({
      method: 'delete',
      path: '/users/{id}/roles',
      scope: [['update:users'], ['delete:role_members']],
      tag: TAG,
      summary: 'Take roles from a user',
      description: 'From the next token on, the user holds only what their other roles give.',
      request: { params: IdParam, ...jsonBody(RoleIds) },
      status: 204,
    }),
    async (c) => {
      confersOnlyHeld(c, await rolesManagementScopes(deps, c.req.valid('json').roles));
      await removeUserRoles(storage, localUserId(c.req.valid('param').id), c.req.valid('json').roles);
      return c.body(null, 204);
    },
  );
  app.openapi(
    operation({
      method: 'get',
      path: '/users/{id}/permissions',
      scope: 'read:users',
      tag: TAG,
      summary: "List a user's permissions",
      description: 'Direct ones and those of their roles; `sources` says which (DIRECT, or each ROLE).',
      request: { params: IdParam, query: z.object(pageQuery) },
      status: 200,
      response: listAnswer('permissions', UserPermission),
    }),
    async (c) => {
      const q = c.req.valid('query');
      const slice = pageSlice(q);
      const all = (await listUserPermissions(storage, localUserId(c.req.valid('param').id))).map(
        permissionView,
      );
      const items = all.slice(slice.offset, slice.offset + slice.limit);
      const body = await pageBody('permissions', items, slice, q.include_totals, async () => all.length);
      return c.json(body as never, 200);
    },
  );
  permissionWriteRoutes(app, deps, {
    path: '/users/{id}/permissions',
    tag: TAG,
    scope: 'update:users',
    holder: 'a user',
    add: (id, refs) => addUserPermissions(storage, clock, localUserId(id), refs),
    remove: (id, refs) => removeUserPermissions(storage, localUserId(id), refs),
    removed: 204,
    removeDescription: 'Only permissions held directly; what their roles give stays.',
  });
}
