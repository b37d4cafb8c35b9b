import type { Context } from 'hono';
import { userClaims } from '../accounts/claims.js';
import type { AppEnv, Deps } from '../http/context.js';
import { hasFormBody, readForm } from '../http/middleware/parse-form.js';
import { jsonNoStore } from '../http/respond.js';
import { InsufficientScope, InvalidRequest, InvalidToken, OAuthError } from '../protocol/errors.js';
import { userinfoAudience } from '../tokens/access-token.js';
import { activeAccessToken } from '../tokens/active.js';

/**
 * No access token was sent, or one of a scheme other than Bearer (RFC 6750 §3): the challenge
 * then carries no error code.
 */
class NoBearerToken extends InvalidToken {}

/** RFC 6750 §3: errors carry `WWW-Authenticate: Bearer` with the error code (and the scope wanted). */
function bearerError(c: Context, err: OAuthError): Response {
  let challenge = 'Bearer realm="sesame"';
  if (!(err instanceof NoBearerToken)) {
    // RFC 6750 §3: printable ASCII without " and \, as every OAuthError's description is.
    challenge += `, error="${err.error}", error_description="${err.description}"`;
    if (err instanceof InsufficientScope) challenge += `, scope="${err.scope}"`;
  }
  return jsonNoStore(c, err.toJSON(), err.status, { 'WWW-Authenticate': challenge });
}

/** The access token from the Authorization header, or (POST only) the form body — never the query (RFC 9700 §4.3.2). */
async function bearerToken(c: Context<AppEnv>, bodyLimit: number): Promise<string> {
  const header = c.req.header('authorization');
  let fromBody: string | undefined;
  if (c.req.method === 'POST' && hasFormBody(c)) {
    fromBody = (await readForm(c, bodyLimit)).get('access_token');
  }
  if (header && fromBody) throw new InvalidRequest('send the access token in one place only');
  if (header) {
    if (!/^Bearer(\s|$)/i.test(header))
      throw new NoBearerToken('the Authorization header must be Bearer with a token');
    const m = /^Bearer +([A-Za-z0-9\-._~+/]+=*)$/i.exec(header);
    if (!m) throw new InvalidToken('the Bearer token is malformed');
    return m[1] as string;
  }
  if (fromBody) return fromBody;
  throw new NoBearerToken('an access token is required');
}

/** GET and POST /userinfo (OIDC Core §5.3): the claims of the scopes granted to the token. */
export function userinfoEndpoint(deps: Deps) {
  return async (c: Context<AppEnv>): Promise<Response> => {
    try {
      const claims = await activeAccessToken(deps, await bearerToken(c, deps.config.bodyLimit));
      if (!claims) throw new InvalidToken('the access token is invalid, expired or revoked');
      if (typeof claims.client_id === 'string') c.set('clientId', claims.client_id);
      const scopes = typeof claims.scope === 'string' ? claims.scope.split(' ') : [];
      if (!scopes.includes('openid'))
        throw new InsufficientScope('openid', 'the access token was not issued for the openid scope');
      const aud = Array.isArray(claims.aud) ? claims.aud : [claims.aud];
      if (!aud.includes(userinfoAudience(deps.config.issuer)))
        throw new InvalidToken(
          'the access token is not for the userinfo endpoint (its audience is another API)',
        );
      const user = await deps.storage.users.get(claims.sub);
      if (!user || user.blocked) throw new InvalidToken('the user no longer exists');
      return jsonNoStore(c, userClaims(user, scopes));
    } catch (err) {
      if (err instanceof OAuthError) return bearerError(c, err);
      throw err;
    }
  };
}
