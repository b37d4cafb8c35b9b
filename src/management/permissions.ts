import { type OpenAPIHono, z } from '@hono/zod-openapi';
import type { PermissionRef, PermissionView } from '../admin/permissions.js';
import type { Deps } from '../http/context.js';
import type { ManagementEnv } from './auth.js';
import { confersOnlyHeld, managementScopesOf } from './delegation.js';
import { IdParam, jsonBody, operation } from './route.js';

/** A permission as Auth0 names it in request bodies. */
const PermissionRefBody = z.strictObject({
  resource_server_identifier: z.string().max(2048),
  permission_name: z.string().max(280),
});

/** `{permissions: [...]}`, the body of adding and removing permissions. */
export const PermissionsBody = z
  .strictObject({ permissions: z.array(PermissionRefBody).min(1).max(100) })
  .openapi('PermissionsBody');

export const Permission = z
  .object({
    resource_server_identifier: z.string(),
    permission_name: z.string(),
    resource_server_name: z.string(),
    description: z.string(),
  })
  .openapi('Permission');

export const PermissionSource = z
  .object({
    source_id: z.string().openapi({ description: 'The role id; empty for a direct permission.' }),
    source_name: z.string().openapi({ description: 'The role name; empty for a direct permission.' }),
    source_type: z.enum(['DIRECT', 'ROLE']),
  })
  .openapi('PermissionSource');

export const UserPermission = Permission.extend({ sources: z.array(PermissionSource) }).openapi(
  'UserPermission',
);

/** The body's permissions as the service layer names them. */
export const permissionRefs = (b: z.infer<typeof PermissionsBody>): PermissionRef[] =>
  b.permissions.map((p) => ({ audience: p.resource_server_identifier, permission: p.permission_name }));

/** A permission in Auth0's shape, with its sources when it has them. */
export function permissionView(p: PermissionView) {
  const view = {
    resource_server_identifier: p.audience,
    permission_name: p.permission,
    resource_server_name: p.apiName,
    description: p.description,
  };
  if (!p.sources) return view;
  return {
    ...view,
    sources: p.sources.map((s) =>
      s.type === 'DIRECT'
        ? { source_id: '', source_name: '', source_type: 'DIRECT' as const }
        : { source_id: s.roleId, source_name: s.roleName, source_type: 'ROLE' as const },
    ),
  };
}

/** How a holder of permissions (a role, a user) is given and relieved of them. */
interface PermissionWrites {
  path: '/roles/{id}/permissions' | '/users/{id}/permissions';
  tag: string;
  scope: string;
  /** Who holds them, for the summaries ("a role", "a user"). */
  holder: string;
  add(id: string, refs: PermissionRef[]): Promise<void>;
  remove(id: string, refs: PermissionRef[]): Promise<void>;
  /** Auth0's statuses: roles answer 201 and 200, users 201 and 204. */
  removed: 200 | 204;
  removeDescription: string;
}

/** POST and DELETE of `{permissions: [...]}` on a holder: each permission a scope of its API. */
export function permissionWriteRoutes(
  app: OpenAPIHono<ManagementEnv>,
  deps: Deps,
  w: PermissionWrites,
): void {
  const request = { params: IdParam, ...jsonBody(PermissionsBody) };
  app.openapi(
    operation({
      method: 'post',
      path: w.path,
      scope: w.scope,
      tag: w.tag,
      summary: `Give ${w.holder} permissions`,
      description:
        'Each permission must be a scope of its API. Permissions of the Management API only by a caller holding them.',
      request,
      status: 201,
    }),
    async (c) => {
      const refs = permissionRefs(c.req.valid('json'));
      confersOnlyHeld(c, await managementScopesOf(deps, refs));
      await w.add(c.req.valid('param').id, refs);
      return c.body(null, 201);
    },
  );
  app.openapi(
    operation({
      method: 'delete',
      path: w.path,
      scope: w.scope,
      tag: w.tag,
      summary: `Take permissions from ${w.holder}`,
      description: w.removeDescription,
      request,
      status: w.removed,
    }),
    async (c) => {
      const refs = permissionRefs(c.req.valid('json'));
      confersOnlyHeld(c, await managementScopesOf(deps, refs));
      await w.remove(c.req.valid('param').id, refs);
      return c.body(null, w.removed);
    },
  );
}
