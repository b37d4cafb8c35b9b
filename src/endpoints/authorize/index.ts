import type { Context } from 'hono';
import { clientOrigin } from '../../http/client-ip.js';
import type { AppEnv, Deps } from '../../http/context.js';
import type { Cookies } from '../../http/cookies.js';
import { pageParams } from '../../http/middleware/parse-form.js';
import { PageError } from '../../http/page.js';
import { InvalidRequest, OAuthError } from '../../protocol/errors.js';
import { ANY_NAME, type Params } from '../../protocol/params.js';
import { verifyIdTokenHint } from '../../tokens/id-token.js';
import { merged } from '../../util/merged.js';
import { checkClient, checkRedirectUri, pendingApplication } from './check-client.js';
import { loadInteraction, pendingRequest } from './interaction.js';
import { proceed } from './proceed.js';
import { defaultResponseMode, parseAuthorizationRequest, responseModeOf } from './request.js';
import { authorizationError, type ResponseTarget } from './respond.js';

/**
 * Parameters of GET (query) or POST (form) /authorize, each repeated name listed (but `resource`,
 * which RFC 8707 §2 lets repeat: more than one API is then invalid_target). Parameters that
 * cannot be read at all (a NUL) are refused on a page: no redirect_uri can be trusted yet.
 */
function readParams(c: Context<AppEnv>): { params: Params; repeated: string[] } {
  const params = pageParams(c, ANY_NAME);
  const repeated = params.repeated().filter((n) => n !== 'resource');
  return { params, repeated };
}

/**
 * GET and POST /authorize (RFC 6749 §4.1.1, OIDC Core §3.1.2): client → redirect_uri (errors
 * so far go to an error page) → the rest of the request (errors now redirect, with iss) →
 * session, login, consent → code.
 */
export function authorizeEndpoint(deps: Deps, cookies: Cookies) {
  return async (c: Context<AppEnv>): Promise<Response> => {
    const { params, repeated } = readParams(c);
    for (const name of ['client_id', 'redirect_uri', 'response_mode']) {
      if (repeated.includes(name))
        throw new PageError('Invalid request', `The parameter ${name} is repeated.`);
    }
    const app = await checkClient(deps.storage.applications, params);
    const redirectUri = checkRedirectUri(app, params);
    const target: ResponseTarget = { redirectUri, responseMode: defaultResponseMode(params) };
    try {
      if (!repeated.includes('state') && params.get('state') !== undefined)
        target.state = params.get('state');
      target.responseMode = responseModeOf(params);
      if (repeated.length > 0) throw new InvalidRequest(`parameter ${repeated[0]} is repeated`);
      const { request } = await parseAuthorizationRequest(
        deps,
        app,
        params,
        redirectUri,
        target.responseMode,
      );
      const hintText = params.get('id_token_hint');
      if (hintText !== undefined) {
        const hint = await verifyIdTokenHint(deps.keys, deps.config.issuer, hintText);
        if (!hint || hint.clientId !== app.clientId) {
          throw new InvalidRequest('id_token_hint is not an ID token this server issued to this client');
        }
        request.hintSubject = hint.sub;
      }
      return await proceed(deps, cookies, c, app, { request });
    } catch (err) {
      if (!(err instanceof OAuthError)) throw err;
      if ((params.get('prompt') ?? '').split(' ').includes('none')) {
        // Auth0's "Failed Silent Auth": most often login_required, an SPA checking for a session
        const about = { clientId: app.clientId, clientName: app.name, details: { error: err.error } };
        deps.events.later(
          merged(clientOrigin(c), merged({ type: 'fsa' as const, description: err.message }, about)),
        );
      }
      return authorizationError(c, deps.config.issuer, app, target, err);
    }
  };
}

/** GET /authorize/resume: back from the login or consent page, carry on with the stored request. */
export function resumeEndpoint(deps: Deps, cookies: Cookies) {
  return async (c: Context<AppEnv>): Promise<Response> => {
    const interaction = await loadInteraction(deps, cookies, c);
    const req = pendingRequest(interaction);
    const app = await pendingApplication(deps.storage.applications, req);
    try {
      return await proceed(deps, cookies, c, app, interaction.state, interaction);
    } catch (err) {
      if (err instanceof OAuthError) return authorizationError(c, deps.config.issuer, app, req, err);
      throw err;
    }
  };
}
