import { characters } from '../accounts/claims.js';
import type { Role, RoleFilter, Slice, Storage, User } from '../storage/types.js';
import type { Clock } from '../util/clock.js';
import { randomToken } from '../util/crypto.js';
import { checkName } from './checks.js';
import { ConflictError, ForbiddenError, NotFoundError, unique, ValidationError } from './errors.js';
import { type PermissionRef, resolvePermissions } from './permissions.js';
import { ADMIN_ROLE_ID, ADMIN_ROLE_NAME, keepAnAdmin, MANAGEMENT_API_ID } from './system.js';

/** What create and update may set. */
export interface RoleInput {
  name?: string;
  description?: string;
}

function checkDescription(value: string): string {
  if (characters(value) > 255) throw new ValidationError('description: must be at most 255 characters');
  return value;
}

/** The role, or NotFoundError. */
export async function getRole(storage: Storage, id: string): Promise<Role> {
  const role = await storage.roles.get(id);
  if (!role) throw new NotFoundError(`role ${id} not found`);
  return role;
}

/**
 * The role by id or by name (the CLI accepts either), or NotFoundError. When the text is one
 * role's id and another's name, neither is taken for granted (a delete could hit the wrong one).
 */
export async function findRole(storage: Storage, idOrName: string): Promise<Role> {
  const [byId, byName] = [await storage.roles.get(idOrName), await storage.roles.getByName(idOrName)];
  if (byId && byName && byId.id !== byName.id)
    throw new ValidationError(
      `role ${idOrName} is the id of "${byId.name}" and the name of ${byName.id}: name the first by its name, the second by its id`,
    );
  const role = byId ?? byName;
  if (!role) throw new NotFoundError(`role ${idOrName} not found`);
  return role;
}

/** Creates a role; names are unique. */
export async function createRole(
  storage: Storage,
  clock: Clock,
  input: RoleInput & { name: string },
): Promise<Role> {
  const name = checkName('name', input.name);
  const description = checkDescription(input.description ?? '');
  const taken = `name: a role named ${name} exists already`;
  if (await storage.roles.getByName(name)) throw new ConflictError(taken);
  const now = clock.now();
  const role: Role = {
    id: `rol_${randomToken(12)}`,
    name,
    description,
    isSystem: false,
    createdAt: now,
    updatedAt: now,
  };
  await unique(
    () => storage.roles.create(role),
    () => storage.roles.getByName(name),
    taken,
  );
  return role;
}

/** Renames or re-describes a role; Sesame Admin keeps its name. */
export async function updateRole(
  storage: Storage,
  clock: Clock,
  id: string,
  input: RoleInput,
): Promise<Role> {
  const role = await getRole(storage, id);
  const patch: Partial<Pick<Role, 'name' | 'description'>> = {};
  if (input.name !== undefined) {
    const name = checkName('name', input.name);
    if (name !== role.name) {
      if (role.isSystem) throw new ForbiddenError(`${role.name} is a system role: its name cannot change`);
      if (await storage.roles.getByName(name))
        throw new ConflictError(`name: a role named ${name} exists already`);
      patch.name = name;
    }
  }
  if (input.description !== undefined) patch.description = checkDescription(input.description);
  const now = clock.now();
  const rename = patch.name;
  await unique(
    () => storage.roles.update(role.id, patch, now),
    async () => {
      const holder = rename === undefined ? null : await storage.roles.getByName(rename);
      return holder !== null && holder.id !== role.id;
    },
    `name: a role named ${rename} exists already`,
  );
  return { ...role, ...patch, updatedAt: now };
}

/** Deletes a role: its holders lose its permissions from their next token on. */
export async function deleteRole(storage: Storage, id: string): Promise<void> {
  const role = await getRole(storage, id);
  if (role.isSystem) throw new ForbiddenError(`${role.name} is a system role and cannot be deleted`);
  await storage.roles.delete(role.id);
}

/** A slice of the roles by name, optionally those whose name contains `nameFilter`. */
export async function listRoles(storage: Storage, filter: RoleFilter, slice?: Slice) {
  return { items: await storage.roles.list(filter, slice), total: () => storage.roles.count(filter) };
}

/** Gives a role permissions (each a scope of its API). */
export async function addRolePermissions(
  storage: Storage,
  clock: Clock,
  id: string,
  refs: PermissionRef[],
): Promise<void> {
  const role = await getRole(storage, id);
  await storage.transaction(async (tx) =>
    tx.roles.addPermissions(role.id, await resolvePermissions(tx, refs), clock.now()),
  );
}

/** Takes permissions from a role; Sesame Admin keeps every permission of the Management API. */
export async function removeRolePermissions(
  storage: Storage,
  id: string,
  refs: PermissionRef[],
): Promise<void> {
  const role = await getRole(storage, id);
  const perms = await resolvePermissions(storage, refs, { known: false });
  if (role.isSystem && perms.some((p) => p.apiId === MANAGEMENT_API_ID))
    throw new ForbiddenError(
      `${role.name} is a system role: its Management API permissions cannot be removed`,
    );
  await storage.roles.removePermissions(role.id, perms);
}

/** Every user id named must exist; the users, in order. */
async function existingUsers(storage: Storage, ids: string[]): Promise<User[]> {
  const users: User[] = [];
  for (const id of new Set(ids)) {
    const user = await storage.users.get(id);
    if (!user) throw new ValidationError(`users: no user ${id}`);
    users.push(user);
  }
  return users;
}

/** Every role id named must exist. */
async function existingRoles(storage: Storage, ids: string[]): Promise<Role[]> {
  const roles: Role[] = [];
  for (const id of new Set(ids)) {
    const role = await storage.roles.get(id);
    if (!role) throw new ValidationError(`roles: no role ${id}`);
    roles.push(role);
  }
  return roles;
}

/** Gives the role to these users (those who hold it already keep it). */
export async function assignRoleUsers(storage: Storage, clock: Clock, id: string, userIds: string[]) {
  const role = await getRole(storage, id);
  const users = await existingUsers(storage, userIds);
  await storage.roles.assign(
    users.map((u) => u.id),
    [role.id],
    clock.now(),
  );
}

/** A slice of the role's users, in id order, and how many there are. */
export async function listRoleUsers(storage: Storage, id: string, slice?: Slice) {
  const role = await getRole(storage, id);
  const ids = await storage.roles.listUsers(role.id, slice);
  // A member deleted since the ids were read is left out; the page still ends where they were.
  const users = (await Promise.all(ids.map((u) => storage.users.get(u)))).filter(
    (u): u is User => u !== null,
  );
  return { items: users, read: ids, total: () => storage.roles.countUsers(role.id) };
}

/** Gives a user roles. */
export async function assignUserRoles(storage: Storage, clock: Clock, userId: string, roleIds: string[]) {
  const user = await storage.users.get(userId);
  if (!user) throw new NotFoundError(`user ${userId} not found`);
  const roles = await existingRoles(storage, roleIds);
  await storage.roles.assign(
    [user.id],
    roles.map((r) => r.id),
    clock.now(),
  );
}

/** Takes roles from a user (roles they do not hold are ignored). */
export async function removeUserRoles(storage: Storage, userId: string, roleIds: string[]): Promise<void> {
  const user = await storage.users.get(userId);
  if (!user) throw new NotFoundError(`user ${userId} not found`);
  const ids = [...new Set(roleIds)];
  if (!ids.includes(ADMIN_ROLE_ID)) return storage.roles.unassign(user.id, ids);
  await storage.transaction(async (tx) => {
    await keepAnAdmin(tx, user.id, `roles: ${ADMIN_ROLE_NAME}`);
    await tx.roles.unassign(user.id, ids);
  });
}

/** A slice of a user's roles by name, and how many they hold. */
export async function listUserRoles(storage: Storage, userId: string, slice?: Slice) {
  const user = await storage.users.get(userId);
  if (!user) throw new NotFoundError(`user ${userId} not found`);
  return {
    items: await storage.roles.rolesOf(user.id, slice),
    total: () => storage.roles.countRolesOf(user.id),
  };
}
