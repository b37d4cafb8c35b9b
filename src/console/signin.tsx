import type { Context } from 'hono';
import { CONSOLE_CLIENT_ID, consoleCallback, consoleSecret } from '../admin/console.js';
import { MANAGEMENT_SCOPES, managementIdentifier } from '../admin/system.js';
import type { Deps } from '../http/context.js';
import type { Cookies } from '../http/cookies.js';
import { seeOther as redirect } from '../http/respond.js';
import { issuerBase } from '../protocol/issuer.js';
import { exchangeCode, newFlow, type PendingFlow, seal, unseal } from './flow.js';
import { consolePage } from './layout.js';
import type { ServerFetch } from './management.js';
import { endConsoleSession, startConsoleSession } from './session.js';

/** What the console remembers between sending the admin to /authorize and the callback. */
interface Pending extends PendingFlow {
  returnTo: string;
}

/** Only a console path may be returned to (never another site). */
export const safeReturn = (path: string | undefined): string => {
  // a path of the console on this server, its query kept (a search's `+`, quotes, brackets)
  if (!path?.startsWith('/console') || !URL.canParse(path, 'http://console.invalid')) return '/console';
  const url = new URL(path, 'http://console.invalid');
  const inConsole = url.pathname === '/console' || url.pathname.startsWith('/console/');
  return url.origin === 'http://console.invalid' && inConsole ? url.pathname + url.search : '/console';
};

/**
 * GET /console/login: the console signs its admin in like any application of Sesame, through
 * /authorize with code + PKCE (RFC 7636) for the Management API, state and nonce kept in an
 * encrypted HttpOnly cookie.
 */
export function consoleLogin(deps: Deps, cookies: Cookies) {
  return (c: Context) => {
    const { challenge, ...flow } = newFlow();
    const pending: Pending = { ...flow, returnTo: safeReturn(c.req.query('return')) };
    seal(deps, cookies, c, 'console_signin', pending);
    const q = new URLSearchParams({
      response_type: 'code',
      client_id: CONSOLE_CLIENT_ID,
      redirect_uri: consoleCallback(deps.config.issuer),
      scope: ['openid', 'profile', 'email', ...Object.keys(MANAGEMENT_SCOPES)].join(' '),
      audience: managementIdentifier(deps.config.issuer),
      state: pending.state,
      nonce: pending.nonce,
      code_challenge: challenge,
      code_challenge_method: 'S256',
    });
    return redirect(c, `/authorize?${q}`);
  };
}

function NoAccess(props: { reason: string; signOut: string }) {
  return (
    <article>
      <h1>No access</h1>
      <p>{props.reason}</p>
      <p>
        Ask an administrator to give you the <strong>Sesame Admin</strong> role, or{' '}
        <a href={props.signOut}>sign out</a> and sign in as someone else.
      </p>
    </article>
  );
}

/**
 * Sesame's own RP-initiated logout for the console, back to /console (to sign in again, maybe as
 * someone else); without an ID token the logout page asks first.
 */
const signOutUrl = (deps: Deps, idToken?: string) =>
  `/oidc/logout?${new URLSearchParams({
    client_id: CONSOLE_CLIENT_ID,
    post_logout_redirect_uri: `${issuerBase(deps.config.issuer)}/console`,
    ...(idToken ? { id_token_hint: idToken } : {}),
  })}`;

/** A page that says sign-in to the console did not work, with a way to sign out and back in. */
const noAccessPage = (deps: Deps, c: Context, reason: string, status = 403) =>
  consolePage(
    c,
    { title: 'No access', children: <NoAccess reason={reason} signOut={signOutUrl(deps)} /> },
    status,
  );

/**
 * GET /console/callback: checks state, exchanges the code at Sesame's own token endpoint
 * (in-process, as the console application), checks the ID token's nonce, and keeps the
 * tokens server-side in a new console session. access_denied (the person holds no Management
 * API permission) is the "no access" page.
 */
export function consoleCallbackEndpoint(deps: Deps, cookies: Cookies, fetch: ServerFetch) {
  return async (c: Context) => {
    const pending = unseal<Pending>(deps, cookies, c, 'console_signin');
    if (!pending) return redirect(c, '/console/login');
    const error = c.req.query('error');
    if (error === 'access_denied')
      return noAccessPage(
        deps,
        c,
        'You are signed in, but you hold no permission of the Sesame Management API.',
      );
    const code = c.req.query('code');
    if (error || !code)
      return noAccessPage(deps, c, `Sign-in failed: ${c.req.query('error_description') ?? error}`, 400);
    const tokens = await exchangeCode(deps, fetch, pending, {
      code,
      redirectUri: consoleCallback(deps.config.issuer),
      clientId: CONSOLE_CLIENT_ID,
      secret: consoleSecret(deps.encryptionKey),
    });
    if (!tokens.access_token || !tokens.id_token)
      return noAccessPage(deps, c, `Sign-in failed: ${tokens.error_description ?? tokens.error}`, 400);
    const claims = tokens.claims;
    if (!claims || typeof claims.sub !== 'string')
      return noAccessPage(deps, c, 'Sign-in failed: the ID token did not match this sign-in.', 400);
    await startConsoleSession(
      deps,
      cookies,
      c,
      claims.sub,
      { access_token: tokens.access_token, id_token: tokens.id_token },
      // An hour at most: then the admin signs in again (silently, through SSO), so a role taken
      // away ends their console access within the hour, whatever the token's own lifetime.
      Math.min(tokens.expires_in ?? 3600, 3600),
    );
    return redirect(c, pending.returnTo);
  };
}

/**
 * POST /console/logout (its CSRF checked by the caller): ends the console session, then the
 * single sign-on session through Sesame's own RP-initiated logout.
 */
export async function consoleLogout(deps: Deps, cookies: Cookies, c: Context, idToken?: string) {
  await endConsoleSession(deps, cookies, c);
  return redirect(c, signOutUrl(deps, idToken));
}
