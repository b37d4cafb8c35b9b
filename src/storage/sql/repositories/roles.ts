import { type Kysely, type Selectable, sql } from 'kysely';
import { ROLE_USER_ORDER } from '../../list-orders.js';
import type { Permission, Role, RoleFilter, RoleRepository } from '../../types.js';
import type { Database } from '../schema.js';
import { addPermissions, ROLE, removePermissions } from './permissions.js';
import { containing, keyset, sliced } from './slice.js';
import { upsertSystemRow } from './system-rows.js';

export const toRole = (row: Selectable<Database['roles']>): Role => ({
  id: row.id,
  name: row.name,
  description: row.description,
  isSystem: Number(row.is_system) === 1,
  createdAt: Number(row.created_at),
  updatedAt: Number(row.updated_at),
});

const roleRow = (r: Role) => ({
  id: r.id,
  name: r.name,
  name_key: r.name.toLowerCase(),
  description: r.description,
  is_system: r.isSystem ? 1 : 0,
  created_at: r.createdAt,
  updated_at: r.updatedAt,
});

/** Roles, their permissions and their members in SQL. */
export function roleRepository(db: Kysely<Database>): RoleRepository {
  const filtered = (f: RoleFilter) => {
    let q = db.selectFrom('roles');
    if (f.nameFilter !== undefined) {
      const pattern = containing(f.nameFilter.toLowerCase());
      q = q.where(sql<boolean>`name_key like ${pattern} escape '\\'`);
    }
    return q;
  };
  return {
    async create(role) {
      await db.insertInto('roles').values(roleRow(role)).execute();
    },
    async ensureSystem(role) {
      const upsert = () =>
        db
          .insertInto('roles')
          .values(roleRow(role))
          .onConflict((oc) =>
            // the description is the admins' to change; the name and the mark are Sesame's
            oc.column('id').doUpdateSet({
              name: role.name,
              name_key: role.name.toLowerCase(),
              is_system: 1,
            }),
          )
          .execute();
      const exists = async () =>
        (await db.selectFrom('roles').select('id').where('id', '=', role.id).executeTakeFirst()) !==
        undefined;
      await upsertSystemRow(upsert, exists);
    },
    async hold(id) {
      const res = await db.updateTable('roles').set({ id: sql`id` }).where('id', '=', id).executeTakeFirst();
      return Number(res.numUpdatedRows) > 0;
    },
    async get(id) {
      const row = await db.selectFrom('roles').selectAll().where('id', '=', id).executeTakeFirst();
      return row ? toRole(row) : null;
    },
    async getByName(name) {
      const row = await db.selectFrom('roles').selectAll().where('name', '=', name).executeTakeFirst();
      return row ? toRole(row) : null;
    },
    async list(filter, slice) {
      const q = filtered(filter).selectAll().orderBy('name').orderBy('id');
      return (await sliced(q, slice).execute()).map(toRole);
    },
    async count(filter) {
      const row = await filtered(filter)
        .select((eb) => eb.fn.countAll().as('n'))
        .executeTakeFirstOrThrow();
      return Number(row.n);
    },
    async update(id, patch, now) {
      const res = await db
        .updateTable('roles')
        .set({
          ...patch,
          ...(patch.name !== undefined ? { name_key: patch.name.toLowerCase() } : {}),
          updated_at: now,
        })
        .where('id', '=', id)
        .executeTakeFirst();
      return Number(res.numUpdatedRows) > 0;
    },
    async delete(id) {
      const res = await db.deleteFrom('roles').where('id', '=', id).executeTakeFirst();
      return Number(res.numDeletedRows) > 0;
    },
    addPermissions: (roleId, permissions, now) => addPermissions(db, ROLE, roleId, permissions, now),
    removePermissions: (roleId, permissions) => removePermissions(db, ROLE, roleId, permissions),
    async listPermissions(roleId, slice) {
      const q = db
        .selectFrom('role_permissions')
        .select(['api_id', 'permission'])
        .where('role_id', '=', roleId)
        .orderBy('api_id')
        .orderBy('permission');
      const rows = await sliced(q, slice).execute();
      return rows.map((r): Permission => ({ apiId: r.api_id, permission: r.permission }));
    },
    async countPermissions(roleId) {
      const row = await db
        .selectFrom('role_permissions')
        .select((eb) => eb.fn.countAll().as('n'))
        .where('role_id', '=', roleId)
        .executeTakeFirstOrThrow();
      return Number(row.n);
    },
    async assign(userIds, roleIds, now) {
      const values = userIds.flatMap((user_id) =>
        roleIds.map((role_id) => ({ user_id, role_id, created_at: now })),
      );
      if (values.length === 0) return;
      await db
        .insertInto('user_roles')
        .values(values)
        .onConflict((oc) => oc.doNothing())
        .execute();
    },
    async unassign(userId, roleIds) {
      if (roleIds.length === 0) return;
      await db
        .deleteFrom('user_roles')
        .where('user_id', '=', userId)
        .where('role_id', 'in', roleIds)
        .execute();
    },
    async listUsers(roleId, slice) {
      const q = db.selectFrom('user_roles').select('user_id').where('role_id', '=', roleId);
      return (await keyset(q, ROLE_USER_ORDER.columns, slice).execute()).map((r) => r.user_id);
    },
    async countUsers(roleId) {
      const row = await db
        .selectFrom('user_roles')
        .select((eb) => eb.fn.countAll().as('n'))
        .where('role_id', '=', roleId)
        .executeTakeFirstOrThrow();
      return Number(row.n);
    },
    async rolesOf(userId, slice) {
      const q = db
        .selectFrom('user_roles')
        .innerJoin('roles', 'roles.id', 'user_roles.role_id')
        .selectAll('roles')
        .where('user_roles.user_id', '=', userId)
        .orderBy('roles.name')
        .orderBy('roles.id');
      return (await sliced(q, slice).execute()).map(toRole);
    },
    async countRolesOf(userId) {
      const row = await db
        .selectFrom('user_roles')
        .select((eb) => eb.fn.countAll().as('n'))
        .where('user_id', '=', userId)
        .executeTakeFirstOrThrow();
      return Number(row.n);
    },
  };
}
