import type { Context } from 'hono';
import { isEmail, normalizeEmail } from '../accounts/email.js';
import { checkPassword, refuseWhenBusy, rehashIfOutdated } from '../accounts/password.js';
import {
  lockEvents,
  lockType,
  refusalDetails,
  reserveSignIn,
  signInPlace,
  signInSucceeded,
  waitText,
} from '../accounts/throttle.js';
import type { NewEvent } from '../events/log.js';
import { clientIp, clientOrigin } from '../http/client-ip.js';
import type { AppEnv, Deps } from '../http/context.js';
import type { Cookies } from '../http/cookies.js';
import { formActionSource, PageError, page } from '../http/page.js';
import type { User } from '../storage/types.js';
import { LoginPage } from '../ui/pages.js';
import { randomToken, sha256 } from '../util/crypto.js';
import { backTo, checkCsrf, type Interaction, loadInteraction } from './authorize/interaction.js';
import { loadSession, startSession } from './authorize/session.js';
import { signupAvailable } from './signup.js';

const GENERIC = 'Wrong email or password.';
/** A browser stays known to the accounts signed in on it for a year (the janitor forgets places after 90 idle days). */
const DEVICE_COOKIE_LIFETIME = 365 * 86_400;

/** Why a login failed, as a log event: unknown user (fu), wrong password (fp), blocked (f). */
export function loginFailure<E extends object>(event: E, user: User | null): E & NewEvent {
  if (!user) return { ...event, type: 'fu', description: 'Wrong email or password (no such user)' };
  if (user.blocked) return { ...event, type: 'f', userId: user.id, description: 'The user is blocked' };
  return { ...event, type: 'fp', userId: user.id, description: 'Wrong email or password' };
}

/**
 * Who the person may go on as (prompt=select_account): the one signed in in this browser, unless
 * the request wants a new sign-in anyway (prompt=login, max_age passed, an id_token_hint naming
 * someone else), which going on would only bring back here.
 */
async function continuable(deps: Deps, cookies: Cookies, c: Context, i: Interaction) {
  const req = i.state.request;
  if (!req?.prompt.includes('select_account') || req.prompt.includes('login')) return null;
  const current = await loadSession(deps, cookies, c);
  if (!current) return null;
  if (req.hintSubject !== undefined && req.hintSubject !== current.user.id) return null;
  if (req.maxAge !== undefined && deps.clock.now() - current.session.authTime > req.maxAge) return null;
  return current;
}

async function render(
  deps: Deps,
  cookies: Cookies,
  c: Context,
  i: Interaction,
  status: number,
  email?: string,
  error?: string,
) {
  const req = i.state.request;
  const app = req ? await deps.storage.applications.get(req.clientId) : null;
  const formAction = req ? `'self' ${formActionSource(req.redirectUri)}` : "'self'";
  const current = await continuable(deps, cookies, c, i);
  const props = {
    csrf: i.csrf,
    at: i.at,
    appName: app?.name,
    email: email ?? req?.loginHint,
    signup: await signupAvailable(deps, app),
    ...(current ? { signedInAs: current.user.email } : {}),
  };
  return page(
    c,
    (nonce) => LoginPage({ nonce, ...props, ...(error ? { error } : {}) }),
    status,
    {},
    formAction,
  );
}

/** GET /u/login: the login form for this browser's pending interaction; login_hint prefills it. */
export function loginPage(deps: Deps, cookies: Cookies) {
  return async (c: Context<AppEnv>) => render(deps, cookies, c, await loadInteraction(deps, cookies, c), 200);
}

/**
 * POST /u/login: CSRF checked; throttled per account and place (accounts/throttle.ts; 429 with
 * Retry-After, each lock logged as limit_wc); one generic
 * message, and the same argon2 work, for an unknown user, a wrong password and a blocked user;
 * on success a new session id, then 303 back to /authorize/resume.
 */
export function loginSubmit(deps: Deps, cookies: Cookies) {
  return async (c: Context<AppEnv>): Promise<Response> => {
    const interaction = await loadInteraction(deps, cookies, c);
    const params = c.get('params');
    checkCsrf(interaction.csrf, params.get('csrf'));
    // prompt=select_account: go on as whoever is signed in (no sign-in happens, none is logged).
    if (params.get('continue') === 'yes') {
      if (!(await continuable(deps, cookies, c, interaction)))
        return render(deps, cookies, c, interaction, 200);
      await deps.storage.interactions.update(interaction.idHash, {
        ...interaction.state,
        accountChosen: true,
      });
      return backTo(c, interaction);
    }
    const email = normalizeEmail(params.get('email') ?? '');
    const password = params.get('password') ?? '';
    const now = deps.clock.now();
    const user = isEmail(email) ? await deps.storage.users.getByEmail(email) : null;
    const place = await signInPlace(
      deps.storage,
      email,
      user?.id ?? null,
      clientIp(c),
      cookies.get(c, 'device'),
    );
    refuseWhenBusy(); // before the attempt is charged: a sign-in nobody checked is no failure
    const verdict = await reserveSignIn(deps.storage.loginAttempts, deps.config.login, place, now);
    const req = interaction.state.request;
    const event = {
      ...clientOrigin(c),
      userName: email,
      ...(user ? { userId: user.id } : {}),
      ...(req
        ? { clientId: req.clientId, clientName: (await deps.storage.applications.get(req.clientId))?.name }
        : {}),
    };
    for (const e of lockEvents(verdict, event)) await deps.events.record(e);
    if (verdict.wait > 0) {
      await deps.events.record({
        ...event,
        type: lockType(verdict.refusedBy),
        description: 'A sign-in was refused: too many failed sign-ins',
        details: refusalDetails(verdict),
      });
      throw new PageError(
        'Too many attempts',
        `Too many failed sign-ins. Try again in ${waitText(verdict.wait)}.`,
        429,
        { 'Retry-After': String(verdict.wait) },
        [
          { href: `/u/login${interaction.at}`, text: 'Back to sign in' },
          { href: '/u/forgot-password', text: 'Forgot your password?' },
        ],
      );
    }
    const ok = await checkPassword(user?.passwordHash, password);
    if (!ok || !user || user.blocked) {
      await deps.events.record(loginFailure(event, user));
      return render(deps, cookies, c, interaction, 400, email, GENERIC);
    }
    await rehashIfOutdated(deps.storage.users, user, password, deps.logger);
    const device = cookies.get(c, 'device') ?? randomToken(32);
    await signInSucceeded(
      deps.storage,
      { ...place, userId: user.id, device: sha256(device) },
      now,
      clientIp(c),
    );
    // Whoever asked for a reset link remembered the password after all: open links stop working (#15).
    await deps.storage.accountTickets.supersede(user.id, 'password_reset', now);
    cookies.set(c, 'device', device, DEVICE_COOKIE_LIFETIME);
    await deps.events.record({ ...event, type: 's', userId: user.id });
    await startSession(deps, cookies, c, user.id);
    await deps.storage.interactions.update(interaction.idHash, { ...interaction.state, loggedIn: true });
    return backTo(c, interaction);
  };
}
