import type { Context } from 'hono';
import { entitle } from '../../grants/rbac.js';
import { clientOrigin } from '../../http/client-ip.js';
import type { Deps } from '../../http/context.js';
import type { Cookies } from '../../http/cookies.js';
import { seeOther } from '../../http/respond.js';
import { AccessDenied, ConsentRequired, LoginRequired } from '../../protocol/errors.js';
import type { Application, Consent } from '../../storage/types.js';
import { merged } from '../../util/merged.js';
import { signupAvailable } from '../signup.js';
import {
  finishInteraction,
  type InteractionState,
  interactionPath,
  startInteraction,
} from './interaction.js';
import { authorizedFields } from './issue.js';
import type { AuthorizationRequest } from './request.js';
import { authorizationResponse } from './respond.js';
import { loadSession } from './session.js';

/**
 * The request as this person may have it: with RBAC, only the requested scopes they hold as
 * permissions (and, under a client-grant policy, within the application's grant); access_denied
 * when none of the API's requested scopes remain (RFC 6749 §4.1.2.1).
 */
export async function entitledRequest(
  deps: Deps,
  app: Application,
  userId: string,
  req: AuthorizationRequest,
): Promise<AuthorizationRequest> {
  if (req.audience === undefined) return req;
  const api = await deps.storage.apis.getByIdentifier(req.audience);
  if (!api) return req;
  const e = await entitle(deps.storage, app, api, userId, req.scopes);
  if (e.refused)
    throw new AccessDenied(`the user holds none of the requested permissions for ${api.identifier}`);
  return e.scopes.length === req.scopes.length ? req : merged(req, { scopes: e.scopes });
}

/**
 * The scopes of the request that the user has not yet granted this application; `known` is
 * their consent read already (null: none), else it is read here.
 */
export async function scopesToConsent(
  deps: Deps,
  app: Application,
  userId: string,
  req: AuthorizationRequest,
  known?: Consent | null,
) {
  const consent =
    known !== undefined ? known : await deps.storage.consents.get(userId, app.clientId, req.audience ?? '');
  return req.scopes.filter((s) => !consent?.scopes.includes(s));
}

/**
 * First-party applications are not asked for consent, unless the API they ask for turned
 * skip_consent_for_verifiable_first_party_clients off (Auth0's rule).
 */
async function skipsConsent(deps: Deps, app: Application, audience: string | undefined): Promise<boolean> {
  if (!app.settings.skipConsent) return false;
  if (audience === undefined) return true;
  const api = await deps.storage.apis.getByIdentifier(audience);
  return api?.options.skipConsentForVerifiableFirstPartyClients !== false;
}

/**
 * Decides what an authorization request still needs: login (no session, prompt=login, max_age
 * passed; prompt=select_account asks whether to go on as whoever is signed in), consent (scopes
 * not granted before, prompt=consent; never for first-party apps), or
 * nothing, when it issues the code. OIDC Core §3.1.2.3–§3.1.2.5; prompt=none gets
 * login_required / consent_required (§3.1.2.6).
 */
export async function proceed(
  deps: Deps,
  cookies: Cookies,
  c: Context,
  app: Application,
  state: InteractionState,
  /** The interaction the request came back in (from the login or consent page). */
  interaction?: { idHash: string; handle: string },
): Promise<Response> {
  const asked = state.request!;
  const now = deps.clock.now();
  // The login or consent page: in this request's interaction, begun here when it came without one.
  const toPage = async (page: string) =>
    seeOther(
      c,
      interactionPath(page, interaction?.handle ?? (await startInteraction(deps, cookies, c, state))),
    );
  // The consent is read with the session, unless the application is not asked for one (first party).
  const skips = await skipsConsent(deps, app, asked.audience);
  const consentOf = skips ? undefined : { clientId: app.clientId, audience: asked.audience ?? '' };
  const current = await loadSession(deps, cookies, c, consentOf);
  // A login made for this request is the re-authentication max_age asks for, however long the
  // consent page took after it (OIDC Core §3.1.2.1). max_age=0 asks for one whatever the
  // session's age (the OpenID WG: it is prompt=login), also within the second it began.
  const tooOld =
    current &&
    asked.maxAge !== undefined &&
    (asked.maxAge === 0 || now - current.session.authTime > asked.maxAge) &&
    !state.loggedIn;
  const forceLogin = asked.prompt.includes('login') && !state.loggedIn;
  // OIDC Core §3.1.2.1: id_token_hint names who should be signed in; another user must log in.
  const otherUser = current && asked.hintSubject !== undefined && current.user.id !== asked.hintSubject;
  // OIDC Core §3.1.2.1 select_account: the login page offers to go on as whoever is signed in.
  const chooseAccount = asked.prompt.includes('select_account') && !state.loggedIn && !state.accountChosen;
  if (!current || tooOld || forceLogin || chooseAccount || (otherUser && !state.loggedIn)) {
    if (asked.prompt.includes('none')) throw new LoginRequired('the user is not signed in');
    const signup = asked.screenHint === 'signup' && (await signupAvailable(deps, app));
    return toPage(signup ? '/u/signup' : '/u/login');
  }
  // Signed in for this request, but as someone else than the hint names: not the person the
  // client asked for (§3.1.2.1: "otherwise, it SHOULD return an error, such as login_required").
  if (otherUser) throw new LoginRequired('the user who signed in is not the one id_token_hint names');
  const req = await entitledRequest(deps, app, current.user.id, asked);
  const forceConsent = req.prompt.includes('consent') && !state.consented;
  if (
    !skips &&
    (forceConsent || (await scopesToConsent(deps, app, current.user.id, req, current.consent)).length > 0)
  ) {
    if (req.prompt.includes('none'))
      throw new ConsentRequired('the user has not consented to the requested scopes');
    return toPage('/u/consent');
  }
  if (interaction) await finishInteraction(deps, cookies, c, interaction);
  const fields = await authorizedFields(deps, app, req, current);
  if (req.prompt.includes('none')) {
    // Auth0's "Success Silent Auth" (an SPA's hidden iframe); its failures are logged by the caller
    const { user } = current;
    const event = { type: 'ssa' as const, description: 'Silent authentication', userId: user.id };
    const about = { userName: user.email, clientId: app.clientId, clientName: app.name };
    deps.events.later(merged(clientOrigin(c), merged(event, about)));
  }
  return authorizationResponse(c, deps.config.issuer, app, req, fields);
}
