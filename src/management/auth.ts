import type { MiddlewareHandler } from 'hono';
import { MANAGEMENT_API_ID, managementIdentifier } from '../admin/system.js';
import type { AppEnv, Deps } from '../http/context.js';
import type { AccessTokenClaims } from '../tokens/access-token.js';
import { activeAccessToken } from '../tokens/active.js';
import { merged } from '../util/merged.js';
import { ManagementError } from './errors.js';

/** Per-request variables of the Management API. */
export interface ManagementEnv {
  Variables: AppEnv['Variables'] & { token: AccessTokenClaims };
}

/** RFC 6750 §3: a 401 whose WWW-Authenticate says why. */
function unauthorized(message: string, error?: 'invalid_token'): ManagementError {
  const challenge = error
    ? `Bearer realm="sesame", error="${error}", error_description="${message.replace(/["\\]/g, '')}"`
    : 'Bearer realm="sesame"';
  return new ManagementError(401, message, error === undefined ? 'missing_token' : 'invalid_token', {
    'WWW-Authenticate': challenge,
  });
}

/**
 * The bearer token of a Management API call (RFC 6750 §2.1): one of our access tokens, active
 * (signed by a published key, unexpired, unrevoked, its application still there), for the
 * Management API's audience. Kept for the scope checks of each operation.
 */
export function authenticate(deps: Deps): MiddlewareHandler<ManagementEnv> {
  const audience = managementIdentifier(deps.config.issuer);
  return async (c, next) => {
    const header = c.req.header('authorization');
    if (header === undefined) throw unauthorized('Missing authentication');
    const m = /^Bearer ([A-Za-z0-9._~+/-]+=*)$/i.exec(header);
    if (!m) throw unauthorized('Bad HTTP authentication header format', 'invalid_token');
    const claims = await activeAccessToken(deps, m[1]!);
    if (!claims) throw unauthorized('Invalid token: expired, revoked or not issued here', 'invalid_token');
    const aud = Array.isArray(claims.aud) ? claims.aud : [claims.aud];
    if (!aud.includes(audience))
      throw unauthorized(`Invalid token: the audience is not ${audience}`, 'invalid_token');
    c.set('token', await asHeldNow(deps, claims));
    await next();
  };
}

/**
 * The token with only the scopes its holder still has: a person's roles and permissions, or an
 * application's client grant. A role or grant taken away, or a block, counts at once, not when
 * the token expires (else a former admin, or an application whose grant was deleted, could give
 * itself back what it lost with the token it still had).
 */
async function asHeldNow(deps: Deps, claims: AccessTokenClaims): Promise<AccessTokenClaims> {
  let held: Set<string>;
  if (claims.sub === claims.client_id) {
    const grant = await deps.storage.clientGrants.get(claims.client_id, MANAGEMENT_API_ID, 'client');
    held = new Set(grant?.scopes ?? []);
  } else {
    const user = await deps.storage.users.get(claims.sub);
    if (!user || user.blocked)
      throw unauthorized('Invalid token: its user is blocked or gone', 'invalid_token');
    held = new Set(await deps.storage.permissions.effective(user.id, MANAGEMENT_API_ID));
  }
  const scope = String(claims.scope ?? '')
    .split(' ')
    .filter((s) => held.has(s))
    .join(' ');
  return merged(claims, { scope });
}

/**
 * RFC 6750 §3.1: 403 insufficient_scope unless the token holds every scope of one of the
 * `alternatives`.
 */
export function requireScope(alternatives: string[][]): MiddlewareHandler<ManagementEnv> {
  return async (c, next) => {
    const granted = String(c.get('token').scope ?? '').split(' ');
    if (!alternatives.some((all) => all.every((s) => granted.includes(s)))) {
      const expected =
        alternatives.length === 1 && alternatives[0]!.length > 1
          ? `expected all of: ${alternatives[0]!.join(', ')}`
          : `expected any of: ${alternatives.map((all) => all.join(' + ')).join(', ')}`;
      throw new ManagementError(403, `Insufficient scope, ${expected}`, 'insufficient_scope', {
        'WWW-Authenticate': `Bearer realm="sesame", error="insufficient_scope", scope="${alternatives[0]!.join(' ')}"`,
      });
    }
    await next();
  };
}
