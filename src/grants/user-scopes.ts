import type { Deps } from '../http/context.js';
import { InvalidScope, InvalidTarget } from '../protocol/errors.js';
import type { Params } from '../protocol/params.js';
import { requestedAudience } from '../protocol/resource.js';
import { OIDC_SCOPES, parseScope } from '../protocol/scope.js';
import type { Api } from '../storage/types.js';

/**
 * The audience of a request: the API it names (`audience` or `resource`), else the tenant's
 * default audience (Auth0's default_audience), else none.
 */
export async function audienceOf(deps: Pick<Deps, 'tenant'>, params: Params): Promise<string | undefined> {
  return requestedAudience(params) ?? (await deps.tenant.get()).default_audience;
}

/** The API a request is for, or null without one; an unknown audience is invalid_target (RFC 8707 §2). */
export async function audienceApi(
  deps: Pick<Deps, 'storage' | 'tenant'>,
  params: Params,
): Promise<Api | null> {
  const audience = await audienceOf(deps, params);
  if (audience === undefined) return null;
  const api = await deps.storage.apis.getByIdentifier(audience);
  if (!api) throw new InvalidTarget(`audience ${audience} is not a registered API`);
  return api;
}

/**
 * The scopes a person is asked for: OpenID Connect scopes and the named API's own scopes;
 * anything else is invalid_scope naming it (RFC 6749 §3.3).
 */
export function userScopes(value: string | undefined, api: Api | null): string[] {
  const scopes = parseScope(value);
  if (scopes === null) throw new InvalidScope('scope is malformed');
  for (const s of scopes) {
    const known = (OIDC_SCOPES as readonly string[]).includes(s) || api?.scopes.some((d) => d.name === s);
    if (!known) throw new InvalidScope(`scope ${s} is not known${api ? ` for ${api.identifier}` : ''}`);
  }
  return scopes;
}
