import type { Context } from 'hono';
import type { ClientGrantCheck } from '../admin/client-grants.js';
import { MANAGEMENT_API_ID } from '../admin/system.js';
import type { Deps } from '../http/context.js';
import type { ManagementEnv } from './auth.js';
import { ManagementError } from './errors.js';

/*
 * Nobody gives more of the Management API than they hold (Keycloak's rule for its admin roles).
 * A caller confers or takes away, through a role, a permission or a client grant, only Management
 * API permissions its own token holds now; and takes over (a password, an email, a block, a deletion,
 * a password-change ticket, a sign-out; an application's secret, callbacks or any other setting) only a
 * person or an application holding no more of them than it does. Without it, `create:role_members` alone made its holder a Sesame Admin.
 * The CLI, run by the operator, is not limited.
 */

type Ctx = Context<ManagementEnv>;

const heldBy = (c: Ctx) => new Set(String(c.get('token').scope ?? '').split(' '));

/** The `scopes` (Management API permissions) the caller does not hold itself, sorted. */
function beyondCaller(c: Ctx, scopes: Iterable<string>): string[] {
  const held = heldBy(c);
  return [...new Set(scopes)].filter((s) => !held.has(s)).sort();
}

const refuse = (message: string) => new ManagementError(403, message, 'insufficient_scope');

/** 403 unless the caller holds every one of `scopes` (Management API permissions) itself. */
export function confersOnlyHeld(c: Ctx, scopes: Iterable<string>): void {
  const beyond = beyondCaller(c, scopes);
  if (beyond.length > 0)
    throw refuse(
      `Only Management API permissions you hold can be given or taken away; you do not hold: ${beyond.join(', ')}`,
    );
}

/**
 * The check of a change to a client grant (admin/client-grants.ts runs it on the grant as its
 * transaction holds it): of the Management API's grants, the caller must hold what the change
 * adds and what it takes away (all of it for a deletion), not what it keeps.
 */
export const grantChangesOnlyHeld =
  (c: Ctx): ClientGrantCheck =>
  (held, scopes) => {
    if (held.apiId !== MANAGEMENT_API_ID) return;
    confersOnlyHeld(c, [
      ...scopes.filter((s) => !held.scopes.includes(s)),
      ...held.scopes.filter((s) => !scopes.includes(s)),
    ]);
  };

/**
 * The Management API permissions among `refs` (permissions named by API identifier): the API is
 * found as the write will find it, by its stored identifier, not compared with the issuer's.
 */
export async function managementScopesOf(
  deps: Deps,
  refs: { audience: string; permission: string }[],
): Promise<string[]> {
  const scopes: string[] = [];
  for (const audience of new Set(refs.map((r) => r.audience))) {
    if ((await deps.storage.apis.getByIdentifier(audience))?.id !== MANAGEMENT_API_ID) continue;
    for (const r of refs) if (r.audience === audience) scopes.push(r.permission);
  }
  return scopes;
}

/** The Management API permissions that holding these roles gives (unknown ids give none). */
export async function rolesManagementScopes(deps: Deps, roleIds: string[]): Promise<string[]> {
  const scopes: string[] = [];
  for (const id of new Set(roleIds)) {
    for (const p of await deps.storage.roles.listPermissions(id))
      if (p.apiId === MANAGEMENT_API_ID) scopes.push(p.permission);
  }
  return scopes;
}

/** 403 unless the person (none: nothing to check) holds no Management API permission the caller lacks. */
export async function actsOnPeer(c: Ctx, deps: Deps, userId: string | undefined): Promise<void> {
  if (userId === undefined) return;
  const beyond = beyondCaller(c, await deps.storage.permissions.effective(userId, MANAGEMENT_API_ID));
  if (beyond.length > 0)
    throw refuse(
      `This user holds Management API permissions you do not (${beyond.join(', ')}): only a caller holding them all may change their password, email or access, sign them out or delete them`,
    );
}

/** 403 unless the application's Management API grant holds nothing the caller lacks. */
export async function actsOnPeerApplication(c: Ctx, deps: Deps, clientId: string): Promise<void> {
  // its own tokens (client) and those it may ask for people (user)
  const grants = await Promise.all(
    (['client', 'user'] as const).map((type) =>
      deps.storage.clientGrants.get(clientId, MANAGEMENT_API_ID, type),
    ),
  );
  const beyond = beyondCaller(
    c,
    grants.flatMap((g) => g?.scopes ?? []),
  );
  if (beyond.length > 0)
    throw refuse(
      `This application holds Management API permissions you do not (${beyond.join(', ')}): only a caller holding them all may change it, rotate its secret or delete it`,
    );
}
