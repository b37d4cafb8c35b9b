import type { Context } from 'hono';
import type { AppEnv, Deps } from '../../http/context.js';
import type { Cookies } from '../../http/cookies.js';
import { endpointUrl, issuerBase } from '../../protocol/issuer.js';
import { exchangeCode, newFlow, type PendingFlow, seal, unseal } from '../flow.js';
import { Csrf, consolePage, Permitted } from '../layout.js';
import type { ServerFetch } from '../management.js';
import { type ConsoleRouter, seeOther } from '../router.js';
import type { Admin } from '../session.js';
import { CLIENTS_UPDATE } from './application.js';

interface Client {
  client_id: string;
  name: string;
  app_type: string;
  callbacks: string[];
  grant_types: string[];
}
interface Pending extends PendingFlow {
  clientId: string;
  secret?: string;
  /** The scope asked for, shown again in the form. */
  scope: string;
}

/** What the form offers at first. */
const SCOPE = 'openid profile email';

/** The console's callback for trying an application's sign-in (add it to the app's callbacks). */
export const tryCallback = (issuer: string) => endpointUrl(issuer, '/console/try/callback');

function TryPage(props: {
  admin: Admin;
  client: Client;
  callback: string;
  result?: Record<string, unknown>;
  error?: string;
  scope?: string;
}) {
  const { client, callback } = props;
  const id = encodeURIComponent(client.client_id);
  const registered = client.callbacks.includes(callback);
  const confidential = client.app_type === 'regular_web' || client.app_type === 'non_interactive';
  return (
    <>
      <h1>Try sign-in: {client.name}</h1>
      {props.error ? (
        <p class="alert" role="alert">
          {props.error}
        </p>
      ) : null}
      {props.result ? (
        <article>
          <header>Signed in. The ID token, verified against the JWKS:</header>
          <pre id="id-token-claims">{JSON.stringify(props.result, null, 2)}</pre>
        </article>
      ) : null}
      {!client.grant_types.includes('authorization_code') ? (
        <p>This application does not use the authorization code flow, so there is no sign-in to try.</p>
      ) : !registered ? (
        <>
          <p>
            The test runs the real sign-in and comes back to the console at <code>{callback}</code>, which is
            not one of this application's callback URLs yet.
          </p>
          <Permitted admin={props.admin} needs={CLIENTS_UPDATE} to="Adding it">
            <form method="post" action={`/console/applications/${id}/try/callback`}>
              <Csrf admin={props.admin} />
              <button type="submit">Add the console's test callback</button>
            </form>
          </Permitted>
        </>
      ) : (
        <form method="post" action={`/console/applications/${id}/try`}>
          <Csrf admin={props.admin} />
          {confidential ? (
            <>
              <label for="client_secret">
                Client secret (for the code exchange only: kept encrypted in this browser until the sign-in
                ends, 15 minutes at most)
              </label>
              <input id="client_secret" name="client_secret" type="password" required autocomplete="off" />
            </>
          ) : null}
          <label for="scope">Scope</label>
          <input id="scope" name="scope" value={props.scope ?? SCOPE} />
          <button type="submit">Sign in as this application</button>
        </form>
      )}
    </>
  );
}

/**
 * /console/applications/{id}/try: runs the application's real sign-in (code + PKCE through
 * /authorize, as the signed-in admin) against a callback of the console, then exchanges the code
 * at the token endpoint and shows the decoded, verified ID token.
 */
export function tryPages(router: ConsoleRouter, deps: Deps, cookies: Cookies, fetch: ServerFetch): void {
  const issuer = issuerBase(deps.config.issuer);
  const callback = tryCallback(issuer);
  const show = async (
    c: Context<AppEnv>,
    admin: Admin,
    id: string,
    extra: { result?: Record<string, unknown>; error?: string; scope?: string } = {},
  ) => {
    const client = await admin.api.get<Client>(`/clients/${encodeURIComponent(id)}`);
    return consolePage(c, {
      title: `Try sign-in: ${client.name}`,
      admin,
      section: '/console/applications',
      children: <TryPage admin={admin} client={client} callback={callback} {...extra} />,
    });
  };
  router.get('/applications/:id/try', (c, admin) => show(c, admin, c.req.param('id') ?? ''));
  router.post('/applications/:id/try/callback', async (c, admin) => {
    const id = c.req.param('id') ?? '';
    const client = await admin.api.get<Client>(`/clients/${encodeURIComponent(id)}`);
    await admin.api.patch(`/clients/${encodeURIComponent(id)}`, {
      callbacks: [...client.callbacks, callback],
    });
    return seeOther(c, `/console/applications/${encodeURIComponent(id)}/try`);
  });
  router.post('/applications/:id/try', async (c, _admin, form) => {
    const { challenge, ...flow } = newFlow();
    const pending: Pending = {
      ...flow,
      clientId: c.req.param('id') ?? '',
      ...(form.get('client_secret') ? { secret: form.get('client_secret')! } : {}),
      scope: form.get('scope') || 'openid',
    };
    seal(deps, cookies, c, 'console_try', pending);
    const q = new URLSearchParams({
      response_type: 'code',
      client_id: pending.clientId,
      redirect_uri: callback,
      scope: pending.scope,
      state: pending.state,
      nonce: pending.nonce,
      code_challenge: challenge,
      code_challenge_method: 'S256',
    });
    return seeOther(c, `/authorize?${q}`);
  });
  router.get('/try/callback', async (c, admin) => {
    const pending = unseal<Pending>(deps, cookies, c, 'console_try');
    if (!pending) return seeOther(c, '/console/applications');
    const scope = pending.scope;
    const code = c.req.query('code');
    if (!code)
      return show(c, admin, pending.clientId, {
        error: `${c.req.query('error')}: ${c.req.query('error_description') ?? ''}`,
        scope,
      });
    const tokens = await exchangeCode(deps, fetch, pending, {
      code,
      redirectUri: callback,
      clientId: pending.clientId,
      secret: pending.secret,
    });
    if (tokens.error)
      return show(c, admin, pending.clientId, {
        error: `${tokens.error}: ${tokens.error_description ?? ''}`,
        scope,
      });
    if (!tokens.id_token)
      return show(c, admin, pending.clientId, {
        error: `The sign-in worked, but no ID token came back: it needs openid in the scope (asked: ${scope}).`,
        scope,
      });
    const claims = tokens.claims;
    if (!claims)
      return show(c, admin, pending.clientId, {
        error: 'The ID token did not verify or its nonce did not match.',
        scope,
      });
    return show(c, admin, pending.clientId, { result: claims, scope });
  });
}
