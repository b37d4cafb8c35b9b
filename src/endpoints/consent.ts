import type { Context } from 'hono';
import { clientOrigin } from '../http/client-ip.js';
import type { AppEnv, Deps } from '../http/context.js';
import type { Cookies } from '../http/cookies.js';
import { formActionSource, PageError, page } from '../http/page.js';
import { AccessDenied, OAuthError } from '../protocol/errors.js';
import { ConsentPage } from '../ui/pages.js';
import { describeScopes } from '../ui/scopes.js';
import { randomToken } from '../util/crypto.js';
import { pendingApplication } from './authorize/check-client.js';
import {
  backTo,
  checkCsrf,
  finishInteraction,
  loadInteraction,
  pendingRequest,
} from './authorize/interaction.js';
import { entitledRequest, scopesToConsent } from './authorize/proceed.js';
import type { AuthorizationRequest } from './authorize/request.js';
import { authorizationError } from './authorize/respond.js';
import { loadSession } from './authorize/session.js';

async function context(deps: Deps, cookies: Cookies, c: Context) {
  const interaction = await loadInteraction(deps, cookies, c);
  const current = await loadSession(deps, cookies, c);
  if (!current)
    throw new PageError('Not signed in', 'Sign in first: go back to the application and start again.');
  const asked = pendingRequest(interaction);
  const app = await pendingApplication(deps.storage.applications, asked);
  return { interaction, current, app, asked };
}

/** GET /u/consent: the application, the API and each scope still to grant, with Allow and Deny. */
export function consentPage(deps: Deps, cookies: Cookies) {
  return async (c: Context<AppEnv>): Promise<Response> => {
    const { interaction, current, app, asked } = await context(deps, cookies, c);
    // Only what this person may be granted is shown (RBAC); with nothing left, the resume says so.
    const req = await entitledRequest(deps, app, current.user.id, asked).catch(() => asked);
    const missing = await scopesToConsent(deps, app, current.user.id, req);
    const shown = missing.length > 0 ? missing : req.scopes;
    const { apiName, scopes } = await describeScopes(deps.storage.apis, req.audience, shown);
    const origin = formActionSource(req.redirectUri);
    return page(
      c,
      (nonce) =>
        ConsentPage({
          nonce,
          csrf: interaction.csrf,
          at: interaction.at,
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
    const { interaction, current, app, asked } = await context(deps, cookies, c);
    const params = c.get('params');
    checkCsrf(interaction.csrf, params.get('csrf'));
    let req: AuthorizationRequest;
    try {
      if (params.get('decision') !== 'allow') throw new AccessDenied('the user denied the request');
      req = await entitledRequest(deps, app, current.user.id, asked);
    } catch (err) {
      if (!(err instanceof OAuthError)) throw err;
      await finishInteraction(deps, cookies, c, interaction);
      return authorizationError(c, deps.config.issuer, app, asked, err);
    }
    const audience = req.audience ?? '';
    const earlier = await deps.storage.consents.get(current.user.id, app.clientId, audience);
    const scopes = [...new Set([...(earlier?.scopes ?? []), ...req.scopes])];
    await deps.storage.consents.upsert({
      id: earlier?.id ?? `cgt_${randomToken(12)}`,
      userId: current.user.id,
      clientId: app.clientId,
      audience,
      scopes,
      updatedAt: deps.clock.now(),
    });
    await deps.events.record({
      ...clientOrigin(c),
      type: 'consent_given',
      clientId: app.clientId,
      clientName: app.name,
      userId: current.user.id,
      userName: current.user.email,
      ...(req.audience !== undefined ? { audience: req.audience } : {}),
      scope: req.scopes.join(' '),
    });
    await deps.storage.interactions.update(interaction.idHash, { ...interaction.state, consented: true });
    return backTo(c, interaction);
  };
}
