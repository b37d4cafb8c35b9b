import { InvalidScope, InvalidTarget } from '../protocol/errors.js';
import { OIDC_SCOPES, parseScope } from '../protocol/scope.js';
import type { Api, ApiRepository } from '../storage/types.js';

/** The API an audience names, or null without one; an unknown audience is invalid_target (RFC 8707 §2). */
export async function audienceApi(apis: ApiRepository, audience: string | undefined): Promise<Api | null> {
  if (audience === undefined) return null;
  const api = await apis.getByIdentifier(audience);
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
