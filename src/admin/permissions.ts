import type { Api, Permission, PermissionSource, Slice, Storage } from '../storage/types.js';
import type { Clock } from '../util/clock.js';
import { NotFoundError, ValidationError } from './errors.js';

/** A permission as callers name it: the API's identifier and one of its scopes. */
export interface PermissionRef {
  audience: string;
  permission: string;
}

/** A permission with its API's identifier and name and the scope's description. */
export interface PermissionView extends Permission {
  audience: string;
  apiName: string;
  description: string;
  sources?: PermissionSource[];
}

/**
 * The permissions named, each a scope of an existing API (a scope the API does not define is
 * refused, unless `known` is false: taking away what is no longer defined). When they are to be
 * given (`known`), call it in the transaction that adds them: each API's row is held there and
 * read again, so an update removing a scope waits, or is seen, and no permission outlives it.
 */
export async function resolvePermissions(
  storage: Storage,
  refs: PermissionRef[],
  opts: { known: boolean } = { known: true },
): Promise<Permission[]> {
  if (refs.length === 0) throw new ValidationError('permissions: name at least one');
  const apis = new Map<string, Api>();
  for (const audience of new Set(refs.map((r) => r.audience))) {
    const api = await storage.apis.getByIdentifier(audience);
    if (!api) throw new ValidationError(`resource_server_identifier: no API ${audience}`);
    apis.set(audience, api);
  }
  if (opts.known) {
    // Held in one order (by id), so two requests naming the same APIs cannot wait on each other.
    const byId = [...apis.entries()].sort(([, a], [, b]) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
    for (const [audience, api] of byId) {
      const fresh = (await storage.apis.hold(api.id)) ? await storage.apis.get(api.id) : null;
      if (!fresh) throw new ValidationError(`resource_server_identifier: no API ${audience}`);
      apis.set(audience, fresh);
    }
  }
  const out = new Map<string, Permission>();
  for (const ref of refs) {
    const api = apis.get(ref.audience)!;
    if (opts.known && !api.scopes.some((s) => s.name === ref.permission)) {
      throw new ValidationError(`permission_name: ${ref.permission} is not a scope of ${ref.audience}`);
    }
    out.set(`${api.id} ${ref.permission}`, { apiId: api.id, permission: ref.permission });
  }
  return [...out.values()];
}

/** Permissions with their APIs' identifiers, names and scope descriptions (each API read once). */
export async function describePermissions<P extends Permission>(
  storage: Storage,
  perms: P[],
): Promise<(P & PermissionView)[]> {
  const apis = new Map<string, Api | null>();
  for (const id of new Set(perms.map((p) => p.apiId))) apis.set(id, await storage.apis.get(id));
  return perms.flatMap((p) => {
    const api = apis.get(p.apiId);
    if (!api) return [];
    const description = api.scopes.find((s) => s.name === p.permission)?.description ?? '';
    return [{ ...p, audience: api.identifier, apiName: api.name, description }];
  });
}

/** A slice of a role's permissions, described, and how many it holds. */
export async function listRolePermissions(storage: Storage, roleId: string, slice?: Slice) {
  if (!(await storage.roles.get(roleId))) throw new NotFoundError(`role ${roleId} not found`);
  const perms = await storage.roles.listPermissions(roleId, slice);
  return {
    items: await describePermissions(storage, perms),
    total: () => storage.roles.countPermissions(roleId),
  };
}

async function userId(storage: Storage, id: string): Promise<string> {
  const user = await storage.users.get(id);
  if (!user) throw new NotFoundError(`user ${id} not found`);
  return user.id;
}

/** Gives a user permissions directly (besides what their roles give). */
export async function addUserPermissions(storage: Storage, clock: Clock, id: string, refs: PermissionRef[]) {
  const user = await userId(storage, id);
  await storage.transaction(async (tx) =>
    tx.permissions.add(user, await resolvePermissions(tx, refs), clock.now()),
  );
}

/** Takes directly held permissions from a user (what their roles give stays). */
export async function removeUserPermissions(storage: Storage, id: string, refs: PermissionRef[]) {
  const user = await userId(storage, id);
  await storage.permissions.remove(user, await resolvePermissions(storage, refs, { known: false }));
}

/** Everything a user holds, each permission with its sources (DIRECT, or the roles giving it). */
export async function listUserPermissions(storage: Storage, id: string) {
  const user = await userId(storage, id);
  return describePermissions(storage, await storage.permissions.listOf(user));
}
