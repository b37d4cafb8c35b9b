import { UnauthorizedClient } from '../protocol/errors.js';
import type { Api, Application, Storage } from '../storage/types.js';

/** Whether the API's tokens carry a `permissions` claim (Auth0's `_authz` dialects). */
export const withPermissions = (api: Api): boolean => api.options.tokenDialect?.endsWith('_authz') === true;

/**
 * Auth0's API access policy for people's tokens (`subject_type_authorization.user`): anyone
 * (allow_all, the default), no application (deny_all), or only applications holding a client
 * grant with subject type `user` for the API, whose scopes are then the most they may ask for.
 * System applications are not held to a system API's policy. Returns that ceiling, or null
 * without one; refuses with unauthorized_client (RFC 6749 §5.2).
 */
export async function userScopeCeiling(
  storage: Storage,
  app: Application,
  api: Api,
): Promise<string[] | null> {
  const policy = api.options.subjectTypeAuthorization?.user?.policy ?? 'allow_all';
  // Sesame's own applications (the console) always reach its own API for people, as their roles
  // allow: a policy saved on the Management API must not lock every admin out of the console.
  if (policy === 'allow_all' || (app.isSystem && api.isSystem)) return null;
  const grant = policy === 'deny_all' ? null : await storage.clientGrants.get(app.clientId, api.id, 'user');
  if (!grant) {
    throw new UnauthorizedClient(
      policy === 'deny_all'
        ? `the API ${api.identifier} gives no application tokens for people`
        : `client ${app.clientId} is not authorized to get tokens for people for the API ${api.identifier} (it needs a client grant with subject_type user)`,
    );
  }
  return grant.scopes;
}

/** What a person's token for an API carries. */
export interface Entitlement {
  /** The requested scopes that may be granted (OpenID Connect scopes always may). */
  scopes: string[];
  /** For `_authz` dialects: every permission the person holds for the API, requested or not. */
  permissions?: string[];
  /**
   * True when scopes of the API were requested and none may be granted (RBAC took them all, or
   * the application's ceiling did): the request is refused rather than answered with nothing.
   */
  refused: boolean;
}

/**
 * The scopes a person may get for `api` through `app`: each requested scope of the API must be
 * within the application's ceiling (user access policy) and, with `enforce_policies`, among the
 * person's permissions (their roles' and their own). Checked again at every token, so a role
 * taken away takes effect at the next refresh.
 */
export async function entitle(
  storage: Storage,
  app: Application,
  api: Api | null,
  userId: string,
  requested: string[],
): Promise<Entitlement> {
  if (!api) return { scopes: requested, refused: false };
  const ceiling = await userScopeCeiling(storage, app, api);
  const rbac = api.options.enforcePolicies === true;
  const held = rbac || withPermissions(api) ? await storage.permissions.effective(userId, api.id) : [];
  const isApiScope = (s: string) => api.scopes.some((d) => d.name === s);
  const scopes = requested.filter(
    (s) => !isApiScope(s) || ((ceiling === null || ceiling.includes(s)) && (!rbac || held.includes(s))),
  );
  const asked = requested.filter(isApiScope).length;
  const kept = scopes.filter(isApiScope).length;
  const out: Entitlement = { scopes, refused: asked > 0 && kept === 0 };
  if (withPermissions(api)) out.permissions = held.filter(isApiScope).sort();
  return out;
}
