import { type Kysely, sql } from 'kysely';
import type { Permission, PermissionRepository, PermissionSource, UserPermission } from '../../types.js';
import type { Database } from '../schema.js';

/** Whose permissions: a role's (role_permissions) or a user's own (user_permissions). */
type Holder =
  | { table: 'role_permissions'; column: 'role_id' }
  | { table: 'user_permissions'; column: 'user_id' };

export const ROLE: Holder = { table: 'role_permissions', column: 'role_id' };
const USER: Holder = { table: 'user_permissions', column: 'user_id' };

/** Adds the permissions the holder lacks (those it has are left alone). */
export async function addPermissions(
  db: Kysely<Database>,
  h: Holder,
  id: string,
  permissions: Permission[],
  now: number,
): Promise<void> {
  if (permissions.length === 0) return;
  const rows = permissions.map((p) => ({
    [h.column]: id,
    api_id: p.apiId,
    permission: p.permission,
    created_at: now,
  }));
  await db
    .insertInto(h.table)
    .values(rows as never)
    .onConflict((oc) => oc.doNothing())
    .execute();
}

/** Takes the permissions from the holder. */
export async function removePermissions(
  db: Kysely<Database>,
  h: Holder,
  id: string,
  permissions: Permission[],
): Promise<void> {
  for (const p of permissions) {
    await db
      .deleteFrom(h.table)
      .where(sql.ref(h.column), '=', id)
      .where('api_id', '=', p.apiId)
      .where('permission', '=', p.permission)
      .execute();
  }
}

/** Users' direct permissions, and their effective permissions through roles, in SQL. */
export function permissionRepository(db: Kysely<Database>): PermissionRepository {
  return {
    add: (userId, permissions, now) => addPermissions(db, USER, userId, permissions, now),
    remove: (userId, permissions) => removePermissions(db, USER, userId, permissions),
    async listOf(userId) {
      const direct = await db
        .selectFrom('user_permissions')
        .select(['api_id', 'permission'])
        .where('user_id', '=', userId)
        .execute();
      const viaRoles = await db
        .selectFrom('user_roles')
        .innerJoin('role_permissions', 'role_permissions.role_id', 'user_roles.role_id')
        .innerJoin('roles', 'roles.id', 'user_roles.role_id')
        .select(['role_permissions.api_id', 'role_permissions.permission', 'roles.id', 'roles.name'])
        .where('user_roles.user_id', '=', userId)
        .orderBy('roles.name')
        .execute();
      const byKey = new Map<string, UserPermission>();
      const add = (apiId: string, permission: string, source: PermissionSource) => {
        const key = `${apiId}\u0000${permission}`;
        const found = byKey.get(key) ?? { apiId, permission, sources: [] };
        found.sources.push(source);
        byKey.set(key, found);
      };
      for (const r of direct) add(r.api_id, r.permission, { type: 'DIRECT' });
      for (const r of viaRoles) add(r.api_id, r.permission, { type: 'ROLE', roleId: r.id, roleName: r.name });
      return [...byKey.values()].sort((a, b) =>
        a.apiId === b.apiId ? (a.permission < b.permission ? -1 : 1) : a.apiId < b.apiId ? -1 : 1,
      );
    },
    async effective(userId, apiId) {
      const rows = await db
        .selectFrom('user_permissions')
        .select('permission')
        .where('user_id', '=', userId)
        .where('api_id', '=', apiId)
        .union(
          db
            .selectFrom('user_roles')
            .innerJoin('role_permissions', 'role_permissions.role_id', 'user_roles.role_id')
            .select('role_permissions.permission')
            .where('user_roles.user_id', '=', userId)
            .where('role_permissions.api_id', '=', apiId),
        )
        .execute();
      return rows.map((r) => r.permission);
    },
    async removeScopes(apiId, names) {
      if (names.length === 0) return;
      for (const table of ['role_permissions', 'user_permissions'] as const) {
        await db.deleteFrom(table).where('api_id', '=', apiId).where('permission', 'in', names).execute();
      }
    },
  };
}
