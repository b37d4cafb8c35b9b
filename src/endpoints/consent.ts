import type { Context } from 'hono';
import type { AppEnv, Deps } from '../http/context.js';
import type { Cookies } from '../http/cookies.js';
import { formActionSource, PageError, page } from '../http/page.js';
import { AccessDenied } from '../protocol/errors.js';
import { ConsentPage } from '../ui/pages.js';
import { checkCsrf, finishInteraction, type Interaction, loadInteraction } from './authorize/interaction.js';
import { scopesToConsent } from './authorize/proceed.js';
import { authorizationError } from './authorize/respond.js';
import { loadSession } from './authorize/session.js';

const OIDC_DESCRIPTIONS: Record<string, string> = {
  openid: 'Sign you in',
  profile: 'Your name and profile',
  email: 'Your email address',
  address: 'Your postal address',
  phone: 'Your phone number',
  offline_access: 'Stay connected when you are not using it',
};

async function context(deps: Deps, cookies: Cookies, c: Context) {
  const interaction = await loadInteraction(deps, cookies, c);
  const current = await loadSession(deps, cookies, c);
  if (!current)
    throw new PageError('Not signed in', 'Sign in first: go back to the application and start again.');
  const app = await deps.storage.applications.get(interaction.state.request.clientId);
  if (!app) throw new PageError('Unknown application', 'The application is not registered.');
  return { interaction, current, app };
}

async function describe(deps: Deps, i: Interaction, scopes: string[]) {
  const audience = i.state.request.audience;
  const api = audience ? await deps.storage.apis.getByIdentifier(audience) : null;
  const described = scopes.map((name) => ({
    name,
    description: OIDC_DESCRIPTIONS[name] ?? api?.scopes.find((s) => s.name === name)?.description ?? name,
  }));
  return { apiName: api?.name, scopes: described };
}

/** GET /u/consent: the application, the API and each scope still to grant, with Allow and Deny. */
export function consentPage(deps: Deps, cookies: Cookies) {
  return async (c: Context<AppEnv>): Promise<Response> => {
    const { interaction, current, app } = await context(deps, cookies, c);
    const missing = await scopesToConsent(deps, app, current.user.id, interaction.state);
    const shown = missing.length > 0 ? missing : interaction.state.request.scopes;
    const { apiName, scopes } = await describe(deps, interaction, shown);
    const origin = formActionSource(interaction.state.request.redirectUri);
    return page(
      c,
      (nonce) =>
        ConsentPage({
          nonce,
          csrf: interaction.csrf,
          appName: app.name,
          scopes,
          ...(apiName ? { apiName } : {}),
        }),
      200,
      {},
      `'self' ${origin}`,
    );
  };
}

/**
 * POST /u/consent: CSRF checked; Allow stores the grant (adding to earlier scopes) and resumes;
 * Deny ends the interaction with access_denied to the client (RFC 6749 §4.1.2.1).
 */
export function consentSubmit(deps: Deps, cookies: Cookies) {
  return async (c: Context<AppEnv>): Promise<Response> => {
    const { interaction, current, app } = await context(deps, cookies, c);
    const params = c.get('params');
    checkCsrf(interaction.csrf, params.get('csrf'));
    const req = interaction.state.request;
    if (params.get('decision') !== 'allow') {
      await finishInteraction(deps, cookies, c, interaction.idHash);
      return authorizationError(c, deps.config.issuer, req, new AccessDenied('the user denied the request'));
    }
    const audience = req.audience ?? '';
    const earlier = await deps.storage.consents.get(current.user.id, app.clientId, audience);
    const scopes = [...new Set([...(earlier?.scopes ?? []), ...req.scopes])];
    await deps.storage.consents.upsert({
      userId: current.user.id,
      clientId: app.clientId,
      audience,
      scopes,
      updatedAt: deps.clock.now(),
    });
    await deps.storage.interactions.update(interaction.idHash, { ...interaction.state, consented: true });
    return c.body(null, 303, { Location: '/authorize/resume', 'Cache-Control': 'no-store' });
  };
}
