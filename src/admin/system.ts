import { endpointUrl } from '../protocol/issuer.js';
import type { Api, Storage } from '../storage/types.js';
import type { Clock } from '../util/clock.js';
import { ConflictError } from './errors.js';

/** The Management API's row id: fixed, so that every instance ensures the same one. */
export const MANAGEMENT_API_ID = 'api_sesame_management';

/** The Management API's scopes (Auth0's names) and what each allows. */
export const MANAGEMENT_SCOPES: Readonly<Record<string, string>> = {
  'read:clients': 'Read applications',
  'create:clients': 'Create applications',
  'update:clients': 'Update applications and rotate their secrets',
  'delete:clients': 'Delete applications',
  'read:client_keys': 'Read client secrets when they are issued',
  'read:resource_servers': 'Read APIs',
  'create:resource_servers': 'Create APIs',
  'update:resource_servers': 'Update APIs',
  'delete:resource_servers': 'Delete APIs',
  'read:client_grants': 'Read client grants',
  'create:client_grants': 'Create client grants',
  'update:client_grants': 'Update client grants',
  'delete:client_grants': 'Delete client grants',
  'read:users': 'Read users',
  'create:users': 'Create users',
  'update:users': 'Update users',
  'delete:users': 'Delete users',
  'create:user_tickets': 'Create password-change and email-verification links',
  'read:grants': "Read people's consents",
  'delete:grants': "Revoke people's consents",
  'read:sessions': 'Read SSO sessions',
  'delete:sessions': 'End SSO sessions',
  'read:refresh_tokens': 'Read refresh tokens',
  'delete:refresh_tokens': 'Revoke refresh tokens',
  'read:signing_keys': 'Read signing keys',
  'create:signing_keys': 'Rotate signing keys',
  'update:signing_keys': 'Revoke signing keys',
  'read:tenant_settings': 'Read tenant settings',
  'update:tenant_settings': 'Update tenant settings',
  'read:roles': 'Read roles and their permissions',
  'create:roles': 'Create roles',
  'update:roles': 'Update roles and their permissions',
  'delete:roles': 'Delete roles',
  'read:role_members': 'Read who holds a role',
  'create:role_members': 'Give people roles',
  'delete:role_members': 'Take roles from people',
  'read:logs': 'Read log events',
  'read:logs_users': "Read users' log events",
  'read:stats': 'Read daily sign-in counts and active users',
  'read:connections': 'Read connections',
};

/** The Management API's name (put back at every start). */
export const MANAGEMENT_API_NAME = 'Sesame Management API';

/** The built-in role that holds every permission of the Management API. */
export const ADMIN_ROLE_ID = 'rol_sesame_admin';
export const ADMIN_ROLE_NAME = 'Sesame Admin';

/** The Management API's identifier: `<issuer>/api/v2/`, with no double slash. */
export const managementIdentifier = (issuer: string): string => endpointUrl(issuer, '/api/v2/');

/**
 * Registers the Management API as a system API, or brings its name and scopes up to date, and
 * (for the server, `follow`) its identifier, which follows the issuer; its other settings are
 * left as they are.
 */
export async function ensureManagementApi(
  storage: Storage,
  clock: Clock,
  issuer: string,
  follow: boolean,
): Promise<Api> {
  const now = clock.now();
  const api: Api = {
    id: MANAGEMENT_API_ID,
    identifier: managementIdentifier(issuer),
    name: MANAGEMENT_API_NAME,
    scopes: Object.entries(MANAGEMENT_SCOPES).map(([name, description]) => ({ name, description })),
    tokenLifetime: 86400,
    signingAlg: 'ES256',
    allowOfflineAccess: false,
    options: {},
    isSystem: true,
    createdAt: now,
    updatedAt: now,
  };
  await storage.apis.ensureSystem(api, follow);
  let stored = (await storage.apis.get(MANAGEMENT_API_ID)) ?? api;
  // People's tokens for it carry only what their roles give (RBAC is always on here), and only
  // applications given a client grant for people may ask for them (the console needs none):
  // under allow_all, whoever may create an application could have one that skips consent send
  // a signed-in admin's token to its callback.
  const userPolicy = stored.options.subjectTypeAuthorization?.user?.policy;
  const open = userPolicy === undefined || userPolicy === 'allow_all';
  if (stored.options.enforcePolicies !== true || open) {
    const options = {
      tokenDialect: 'access_token_authz' as const,
      ...stored.options,
      enforcePolicies: true,
      subjectTypeAuthorization: {
        ...stored.options.subjectTypeAuthorization,
        user: open ? { policy: 'require_client_grant' as const } : { policy: userPolicy },
      },
    };
    await storage.apis.update(MANAGEMENT_API_ID, { options }, now);
    stored = { ...stored, options };
  }
  await storage.roles.ensureSystem({
    id: ADMIN_ROLE_ID,
    name: ADMIN_ROLE_NAME,
    description: 'Every permission of the Sesame Management API',
    isSystem: true,
    createdAt: now,
    updatedAt: now,
  });
  await storage.roles.addPermissions(
    ADMIN_ROLE_ID,
    stored.scopes.map((s) => ({ apiId: MANAGEMENT_API_ID, permission: s.name })),
    now,
  );
  return stored;
}

/**
 * Refuses a change that would leave Sesame Admin with nobody who can sign in (the console's
 * only way in; the CLI is left, but it needs a shell on the server): `userId` losing the role,
 * being blocked or deleted, when no other unblocked person holds it. Nothing is refused when
 * `userId` does not hold the role, or when nobody does (a tenant run from the CLI alone). Runs
 * in the change's transaction `tx` and holds the role's row there, so two such changes at once
 * take turns and the second sees the first.
 */
export async function keepAnAdmin(tx: Storage, userId: string, change: string): Promise<void> {
  if (!(await tx.roles.listUsers(ADMIN_ROLE_ID)).includes(userId)) return;
  await tx.roles.hold(ADMIN_ROLE_ID);
  for (const id of await tx.roles.listUsers(ADMIN_ROLE_ID)) {
    if (id === userId) continue;
    const other = await tx.users.get(id);
    if (other && !other.blocked) return;
  }
  throw new ConflictError(
    `${change}: this is the last person who holds ${ADMIN_ROLE_NAME} and can sign in; give the role to someone else first`,
  );
}
