import type { Context } from 'hono';
import { clientOrigin } from '../http/client-ip.js';
import type { AppEnv, Deps } from '../http/context.js';
import type { Cookies } from '../http/cookies.js';
import { pageParams } from '../http/middleware/parse-form.js';
import { formActionSource, PageError, page } from '../http/page.js';
import { seeOther } from '../http/respond.js';
import type { Params } from '../protocol/params.js';
import { OFF_BY_SLASH, offBySlash, withQuery } from '../protocol/redirect-uri.js';
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

type Current = Awaited<ReturnType<typeof loadSession>>;

/** Ends the SSO session of this browser (`current`, as loaded), if any, with its log event. */
async function signOut(
  deps: Deps,
  cookies: Cookies,
  c: Context,
  app: Application | null,
  current: Current,
): Promise<void> {
  await endSession(deps, cookies, c);
  if (current) await loggedOut(deps, c, current.user, app);
}

/** The end of a refusal's sentence when a trailing slash is all that differs. */
const slash = (app: Application, uri: string) =>
  offBySlash(app.logoutCallbacks, uri) ? `: ${OFF_BY_SLASH}` : '';

/**
 * Where the person goes after signing out: a logout URL the named application registered, or
 * nowhere. An address the application did not register is refused on a page.
 */
async function returnTarget(
  deps: Deps,
  clientId: string | undefined,
  uri: string | undefined,
): Promise<{ app: Application | null; target: string | null }> {
  const app = clientId === undefined ? null : await deps.storage.applications.get(clientId);
  // Without a client to check it against, the address cannot be trusted: it is ignored.
  if (uri === undefined || !app) return { app, target: null };
  if (!app.logoutCallbacks.includes(uri))
    throw new PageError(
      'Signed-out address not registered',
      `The address to return to is not one of the logout URLs registered for ${app.name}${slash(app, uri)}.`,
    );
  return { app, target: uri };
}

/** Whether `hint` (logout_hint: an email or a user id) names `user`. */
const namesUser = (hint: string, user: User) =>
  hint === user.id || hint.toLowerCase() === user.email.toLowerCase();

/**
 * GET and POST /oidc/logout (OpenID Connect RP-Initiated Logout 1.0 §2–§3). Where to go after:
 * a post_logout_redirect_uri registered for the client named by client_id or by the
 * id_token_hint (which must agree); an unregistered one is refused on a page, never followed.
 * The session ends at once for an ID token (never an access token) of one of our applications
 * naming this session (`sid`) and person (and a logout_hint that names them, if sent);
 * otherwise the person is asked to confirm (CSRF-protected), or may stay signed in
 * (`confirm=no`, a link: it ends nothing, so it needs no CSRF token).
 */
export function endSessionEndpoint(deps: Deps, cookies: Cookies) {
  return async (c: Context<AppEnv>): Promise<Response> => {
    const params = pageParams(c);
    const hint = await verifyIdTokenHint(deps.keys, deps.config.issuer, params.get('id_token_hint'));
    // A hint that does not verify vouches for nothing (RP-Initiated Logout §4): no redirect after,
    // and the person is asked (a forged hint, or one signed by a key revoked since).
    const unverified = hint === null && params.get('id_token_hint') !== undefined;
    const clientId = params.get('client_id');
    if (hint && clientId !== undefined && hint.clientId !== clientId)
      throw new PageError('Invalid request', 'The id_token_hint was not issued to this client_id.');
    const { app, target } = await returnTarget(
      deps,
      clientId ?? hint?.clientId,
      unverified ? undefined : params.get('post_logout_redirect_uri'),
    );
    const state = params.get('state');
    const current = await loadSession(deps, cookies, c);
    // to the registered address, its own query kept byte for byte, then state
    const back = (to: string) => seeOther(c, withQuery(to, state !== undefined ? { state } : {}));
    const finish = async () => {
      await signOut(deps, cookies, c, app, current);
      if (!target) return page(c, (nonce) => LogoutPage({ nonce, done: true }));
      return back(target);
    };
    if (params.get('confirm') === 'no') {
      // "Stay signed in": the session stays; back to the application if it named a registered
      // address (it signed out on its own side already), with its state.
      if (target) return back(target);
      return page(c, (nonce) => LogoutPage({ nonce, done: true, stayed: current !== null }));
    }
    if (params.get('confirm') === 'yes') {
      const csrf = sessionCsrf(cookies, c, 'logout');
      if (csrf) checkCsrf(csrf, params.get('csrf'));
      return finish();
    }
    if (!current) return finish();
    // Without asking only when the hint is an ID token of one of our applications for this very
    // session (its sid), and a logout_hint, if sent, names the same person (§2).
    const logoutHint = params.get('logout_hint');
    const sure =
      hint !== null &&
      app !== null &&
      app.clientId === hint.clientId &&
      hint.sub === current.user.id &&
      hint.sid === current.session.sid &&
      (logoutHint === undefined || namesUser(logoutHint, current.user));
    if (sure) return finish();
    return page(
      c,
      (nonce) =>
        LogoutPage({
          nonce,
          done: false,
          csrf: sessionCsrf(cookies, c, 'logout') ?? '',
          carry: carried(params),
          stay: stayLink(app, target, state),
        }),
      200,
      {},
      target ? `'self' ${formActionSource(target)}` : undefined,
    );
  };
}

/**
 * "Stay signed in": confirm=no, with the application and the address already checked, and the
 * state; never the id_token_hint (a GET URL stays in the history and in logs).
 */
function stayLink(app: Application | null, target: string | null, state: string | undefined): string {
  const q = new URLSearchParams({ confirm: 'no' });
  if (app && target) {
    q.set('client_id', app.clientId);
    q.set('post_logout_redirect_uri', target);
    if (state !== undefined) q.set('state', state);
  }
  return `/oidc/logout?${q}`;
}

/** What the confirmation form sends back, so that the redirect still happens after "Sign out". */
function carried(params: Params): Record<string, string> {
  const out: Record<string, string> = {};
  for (const name of ['client_id', 'post_logout_redirect_uri', 'state', 'id_token_hint']) {
    const v = params.get(name);
    if (v !== undefined) out[name] = v;
  }
  return out;
}

/**
 * GET /v2/logout (Auth0's logout, which its SDKs call): ends the session, then goes to
 * `returnTo` only when it is one of the logout URLs of the application named by `client_id`
 * (without `returnTo`, to its first logout URL, as Auth0 does); otherwise a page says why there
 * was no redirect (never an open redirect). `federated` is
 * accepted and ignored: Sesame has no upstream identity provider to sign out of.
 */
export function auth0LogoutEndpoint(deps: Deps, cookies: Cookies) {
  return async (c: Context<AppEnv>): Promise<Response> => {
    const params = pageParams(c);
    const clientId = params.get('client_id');
    const returnTo = params.get('returnTo');
    const app = clientId === undefined ? null : await deps.storage.applications.get(clientId);
    await signOut(deps, cookies, c, app, await loadSession(deps, cookies, c));
    if (returnTo === undefined) {
      // Auth0: with client_id and no returnTo, to the application's first logout URL
      const first = app?.logoutCallbacks[0];
      return first ? seeOther(c, first) : page(c, (nonce) => LogoutPage({ nonce, done: true }));
    }
    let problem: string | null = null;
    if (clientId === undefined) problem = 'the request does not name the application (client_id)';
    else if (!app) problem = 'the application is not registered';
    else if (!app.logoutCallbacks.includes(returnTo))
      problem = `the address to return to is not one of the logout URLs registered for ${app.name}${slash(app, returnTo)}`;
    if (problem === null) return seeOther(c, returnTo);
    return page(c, (nonce) => LogoutPage({ nonce, done: true, problem }), 400);
  };
}
