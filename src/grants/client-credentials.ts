import type { Deps } from '../http/context.js';
import {
  InvalidRequest,
  InvalidScope,
  InvalidTarget,
  OAuthError,
  UnauthorizedClient,
} from '../protocol/errors.js';
import { requestedAudience } from '../protocol/resource.js';
import { formatScope, parseScope } from '../protocol/scope.js';
import type { Api, ClientGrant } from '../storage/types.js';
import { issueAccessToken } from '../tokens/access-token.js';
import { withPermissions } from './rbac.js';
import type { GrantHandler, TokenResponse } from './types.js';

/** The API named by audience/resource, or the client's only authorized API, with its client grant. */
async function selectApi(
  deps: Pick<Deps, 'storage' | 'tenant'>,
  clientId: string,
  requested: string | undefined,
) {
  const { storage } = deps;
  const grants = requested === undefined ? await storage.clientGrants.listForClient(clientId) : [];
  // Auth0's default_audience applies when the client is not authorized for exactly one API.
  const fallback = grants.length === 1 ? undefined : (await deps.tenant.get()).default_audience;
  const audience = requested ?? fallback;
  if (audience !== undefined) {
    const api = await storage.apis.getByIdentifier(audience);
    if (!api) throw new InvalidTarget(`audience ${audience} is not a registered API`);
    const grant = await storage.clientGrants.get(clientId, api.id);
    if (!grant) throw new UnauthorizedClient(`client is not authorized for the API ${audience}`);
    return { api, grant };
  }
  if (grants.length !== 1) {
    throw new InvalidRequest(
      grants.length === 0
        ? 'audience is required: the client is not authorized for any API'
        : 'audience is required: the client is authorized for more than one API',
    );
  }
  const grant = grants[0] as ClientGrant;
  const api = await storage.apis.get(grant.apiId);
  if (!api) throw new InvalidRequest('audience is required');
  return { api, grant };
}

/** RFC 6749 §3.3: the requested scopes, each within the client grant; all granted when none asked. */
function selectScopes(requestedScope: string | undefined, api: Api, grant: ClientGrant): string[] {
  const requested = parseScope(requestedScope);
  if (requested === null) throw new InvalidScope('scope is malformed');
  const allowed = grant.scopes.filter((s) => api.scopes.some((d) => d.name === s));
  if (requested.length === 0) return allowed;
  const beyond = requested.filter((s) => !allowed.includes(s));
  if (beyond.length > 0) {
    throw new InvalidScope(`scope ${beyond.join(' ')} is not granted to this client for ${api.identifier}`);
  }
  return requested;
}

/**
 * RFC 6749 §4.4: a confidential client gets a JWT access token for an API it is authorized for
 * (Auth0's client grant); `audience` or RFC 8707 `resource` picks the API, `scope` narrows.
 */
export const clientCredentials: GrantHandler = {
  grantType: 'client_credentials',
  parameters: ['scope', 'audience', 'resource'],
  // The application, the API and the grant between them in one statement, into the read cache.
  async prefetch(deps, clientId, params) {
    let audience: string | undefined;
    try {
      audience = requestedAudience(params);
    } catch (err) {
      if (err instanceof OAuthError) return; // refused by `handle`, after the client is known
      throw err;
    }
    if (audience !== undefined) await deps.storage.clientGrants.machineAccess(clientId, audience);
  },
  async handle({ deps, params, client, now, event }): Promise<TokenResponse> {
    if (client.method === 'none')
      throw new UnauthorizedClient('client_credentials requires a confidential client');
    const requested = requestedAudience(params);
    if (requested !== undefined) event.audience = requested;
    const { api, grant } = await selectApi(deps, client.app.clientId, requested);
    event.audience = api.identifier;
    // Auth0's access policy for machine tokens: require_client_grant (always met here) or deny_all.
    if (api.options.subjectTypeAuthorization?.client?.policy === 'deny_all') {
      throw new UnauthorizedClient(`the API ${api.identifier} gives no application machine tokens`);
    }
    const scopes = selectScopes(params.get('scope'), api, grant);
    const at = await issueAccessToken(deps.keys, {
      issuer: deps.config.issuer,
      api,
      subject: client.app.clientId,
      clientId: client.app.clientId,
      scopes,
      // With an _authz dialect, a machine's permissions are the scopes it was granted.
      ...(withPermissions(api) ? { permissions: scopes } : {}),
      now,
    });
    const response: TokenResponse = {
      access_token: at.token,
      token_type: 'Bearer',
      expires_in: at.expiresIn,
    };
    if (scopes.length > 0) response.scope = formatScope(scopes);
    return response;
  },
};
