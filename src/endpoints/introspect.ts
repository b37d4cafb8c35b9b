import type { Context } from 'hono';
import type { AppEnv, Deps } from '../http/context.js';
import { type FormCall, formCall } from '../http/form-call.js';
import { authenticateClient } from '../http/middleware/client-auth.js';
import { jsonNoStore } from '../http/respond.js';
import { required } from '../protocol/params.js';
import {
  accessTokenJti,
  activeAccessToken,
  activeRefreshToken,
  type KnownRevocation,
  tokenApi,
} from '../tokens/active.js';

const CLAIMS = ['scope', 'client_id', 'sub', 'aud', 'iss', 'exp', 'iat', 'nbf', 'jti'] as const;
const INACTIVE = { active: false };

/**
 * Whether `caller` may learn about an access token (RFC 7662 §2.2, §4): it is the token's client,
 * or it acts for an API in the token's audience, which in Sesame means it holds a machine client
 * grant for that API (a resource server's own credentials).
 */
async function mayIntrospect(deps: Deps, caller: string, claims: Record<string, unknown>): Promise<boolean> {
  if (claims.client_id === caller) return true;
  const aud = Array.isArray(claims.aud) ? claims.aud : [claims.aud];
  const grants = await deps.storage.clientGrants.listForClient(caller);
  if (grants.length === 0) return false;
  for (const identifier of aud) {
    if (typeof identifier !== 'string') continue;
    const api = await deps.storage.apis.getByIdentifier(identifier);
    if (api && grants.some((g) => g.apiId === api.id)) return true;
  }
  return false;
}

/**
 * POST /oauth/introspect (RFC 7662 §2): a confidential client asks about a token; anything
 * unknown, expired, revoked or malformed is `{"active":false}` and nothing more (§2.2), and so
 * is a token the caller has no business with: another client's refresh token, or an access
 * token neither issued to the caller nor for an API the caller acts for.
 */
export function introspectionEndpoint(deps: Deps) {
  return async (c: Context<AppEnv>): Promise<Response> =>
    jsonNoStore(c, await introspectionAnswer(deps, formCall(c)));
}

/** The introspection response to `call` (RFC 7662 §2.2), or the OAuthError it refuses with. */
export async function introspectionAnswer(deps: Deps, call: FormCall): Promise<Record<string, unknown>> {
  const params = call.params;
  const apps = deps.storage.applications;
  // A JWT's revocation and API are read with the caller's application, in one statement (#16).
  const jti = accessTokenJti(deps, params.get('token') ?? '');
  const audience = jti === undefined ? '' : tokenApi(deps, params.get('token') ?? '');
  let known: KnownRevocation | undefined;
  const prefetch =
    jti === undefined
      ? undefined
      : async (clientId: string) => {
          const found = await deps.storage.revocations.withApplication(clientId, jti, audience);
          if (found && found.revoked !== null) known = { jti, revoked: found.revoked };
        };
  const caller = (
    await authenticateClient(apps, call.authorization, params, {
      allowPublic: false,
      ...(prefetch && { prefetch }),
    })
  ).app.clientId;
  const token = required(params, 'token');
  const claims = await activeAccessToken(deps, token, known);
  if (!claims) {
    const refresh = await activeRefreshToken(deps, token);
    if (!refresh || refresh.clientId !== caller) return INACTIVE;
    const scopes = (refresh.payload.scopes as string[] | undefined) ?? [];
    // No token_type: RFC 7662 §2.2 means RFC 6749 §5.1's, an access token's type (as node-oidc-provider).
    return {
      active: true,
      client_id: refresh.clientId,
      sub: refresh.userId,
      scope: scopes.join(' '),
      iss: deps.config.issuer,
      iat: refresh.createdAt,
      exp: refresh.expiresAt,
    };
  }
  if (!(await mayIntrospect(deps, caller, claims))) return INACTIVE;
  const body: Record<string, unknown> = { active: true, token_type: 'Bearer' };
  for (const name of CLAIMS) if (claims[name] !== undefined) body[name] = claims[name];
  return body;
}
