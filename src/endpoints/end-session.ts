import type { Context } from 'hono';
import { clientOrigin } from '../http/client-ip.js';
import type { AppEnv, Deps } from '../http/context.js';
import type { Cookies } from '../http/cookies.js';
import { requestParams } from '../http/middleware/parse-form.js';
import { page } from '../http/page.js';
import type { Application, User } from '../storage/types.js';
import { verifyIdTokenHint } from '../tokens/id-token.js';
import { LogoutPage } from '../ui/pages.js';
import { checkCsrf } from './authorize/interaction.js';
import { endSession, loadSession, sessionCsrf } from './authorize/session.js';

/** The `slo` log event of a person signed out, through `app` when known. */
export async function loggedOut(deps: Deps, c: Context, user: User, app?: Application | null): Promise<void> {
  await deps.events.record({
    ...clientOrigin(c),
    type: 'slo',
    userId: user.id,
    userName: user.email,
    ...(app ? { clientId: app.clientId, clientName: app.name } : {}),
  });
}

/**
 * GET and POST /oidc/logout (OpenID Connect RP-Initiated Logout 1.0 §2–§3): with a valid
 * id_token_hint for the signed-in user, end the session and redirect to a registered
 * post_logout_redirect_uri with `state`; otherwise ask for confirmation (CSRF-protected) and
 * never redirect to an unverified URI.
 */
export function endSessionEndpoint(deps: Deps, cookies: Cookies) {
  return async (c: Context<AppEnv>): Promise<Response> => {
    const params = requestParams(c);
    const cookie = cookies.get(c, 'session');
    const current = await loadSession(deps, cookies, c);
    if (params.get('confirm') === 'yes') {
      const csrf = sessionCsrf(cookies, c, 'logout');
      if (csrf) checkCsrf(csrf, params.get('csrf'));
      await endSession(deps, cookies, c);
      if (current) await loggedOut(deps, c, current.user);
      return page(c, (nonce) => LogoutPage({ nonce, done: true }));
    }
    const hint = await verifyIdTokenHint(deps.keys, deps.config.issuer, params.get('id_token_hint'));
    const sameUser = hint && (!current || current.user.id === hint.sub);
    if (!hint || !sameUser) {
      if (!cookie || !current) return page(c, (nonce) => LogoutPage({ nonce, done: true }));
      return page(c, (nonce) =>
        LogoutPage({ nonce, done: false, csrf: sessionCsrf(cookies, c, 'logout') ?? '' }),
      );
    }
    const app = await deps.storage.applications.get(params.get('client_id') ?? hint.clientId);
    const target = params.get('post_logout_redirect_uri');
    await endSession(deps, cookies, c);
    if (current) await loggedOut(deps, c, current.user, app);
    if (target && app && app.clientId === hint.clientId && app.logoutCallbacks.includes(target)) {
      const url = new URL(target);
      const state = params.get('state');
      if (state !== undefined) url.searchParams.append('state', state);
      return c.body(null, 303, { Location: url.toString(), 'Cache-Control': 'no-store' });
    }
    return page(c, (nonce) => LogoutPage({ nonce, done: true }));
  };
}
