import type { Context } from 'hono';
import { spendAddressBudget } from '../accounts/budgets.js';
import { isPersonName } from '../accounts/claims.js';
import { emailProblem, normalizeEmail } from '../accounts/email.js';
import { refusePassword } from '../accounts/password-policy.js';
import { ConflictError } from '../admin/errors.js';
import { emailBrand, sendTicketEmail } from '../admin/tickets.js';
import { createUser } from '../admin/users.js';
import { clientIp, clientOrigin } from '../http/client-ip.js';
import type { AppEnv, Deps } from '../http/context.js';
import type { Cookies } from '../http/cookies.js';
import { formActionSource, PageError, page } from '../http/page.js';
import type { Application, User } from '../storage/types.js';
import { SignupPage } from '../ui/self-service.js';
import { knownIp } from '../util/ip.js';
import { backTo, checkCsrf, type Interaction, loadInteraction } from './authorize/interaction.js';
import { startSession } from './authorize/session.js';

export const SIGNUP_MESSAGES = {
  email: 'Enter a valid email address.',
  mixed: 'This email address mixes letters from different alphabets. Type it again using one alphabet.',
  lookalike:
    'Part of this email address is in letters that look like Latin ones, so it could pass for another address. Type it in Latin letters.',
  exists: 'An account with this email already exists. Sign in, or reset your password.',
  name: 'Enter a name of at most 255 characters, without control characters.',
} as const;

/**
 * Sign-up is offered when the tenant allows it (signup_enabled) and the application does not hide
 * it. Never to Sesame's own console (a system application): a new account has no role there.
 */
export async function signupAvailable(deps: Deps, app: Application | null | undefined): Promise<boolean> {
  if (app?.isSystem || app?.settings.hideSignup === true) return false;
  return (await deps.tenant.get()).signup_enabled === true;
}

/** The interaction and its application, or a 404 page when sign-up is not offered to it. */
async function signupInteraction(deps: Deps, cookies: Cookies, c: Context) {
  const interaction = await loadInteraction(deps, cookies, c);
  const req = interaction.state.request;
  const app = req ? await deps.storage.applications.get(req.clientId) : null;
  if (!(await signupAvailable(deps, app))) {
    throw new PageError(
      'Sign-up is not available',
      'New accounts cannot be created here. Sign in instead.',
      404,
    );
  }
  return { interaction, app };
}

function render(
  deps: Deps,
  c: Context,
  i: Interaction,
  app: Application | null,
  status: number,
  fields: { name?: string; email?: string; error?: string; field?: 'name' | 'email' | 'password' } = {},
) {
  const req = i.state.request;
  const formAction = req ? `'self' ${formActionSource(req.redirectUri)}` : "'self'";
  const props = {
    csrf: i.csrf,
    at: i.at,
    appName: app?.name,
    minLength: deps.config.password.minLength,
  };
  return page(c, (nonce) => SignupPage({ nonce, ...props, ...fields }), status, {}, formAction);
}

/** GET /u/signup: the sign-up form of this browser's sign-in in progress. */
export function signupPage(deps: Deps, cookies: Cookies) {
  return async (c: Context<AppEnv>) => {
    const { interaction, app } = await signupInteraction(deps, cookies, c);
    return render(deps, c, interaction, app, 200, { email: interaction.state.request?.loginHint ?? '' });
  };
}

/**
 * POST /u/signup: CSRF checked; each address may try `ADDRESS_BUDGETS.signup` times per
 * login.window; email, name and password checked (the message says why); the account is made
 * unverified with its verification email in one transaction; then the person is signed in and
 * goes on with the /authorize they came from.
 */
export function signupSubmit(deps: Deps, cookies: Cookies) {
  return async (c: Context<AppEnv>): Promise<Response> => {
    const { interaction, app } = await signupInteraction(deps, cookies, c);
    const params = c.get('params');
    checkCsrf(interaction.csrf, params.get('csrf'));
    const wait = await spendAddressBudget(
      deps.storage.loginAttempts,
      'signup',
      clientIp(c),
      deps.config.login,
      deps.clock.now(),
    );
    if (wait > 0) {
      throw new PageError(
        'Too many sign-ups',
        'Too many accounts were made from your network. Try again later.',
        429,
        {
          'Retry-After': String(wait),
        },
      );
    }
    const name = (params.get('name') ?? '').trim();
    const email = normalizeEmail(params.get('email') ?? '');
    const password = params.get('password') ?? '';
    const event = {
      ...clientOrigin(c),
      userName: email.slice(0, 320),
      ...(app ? { clientId: app.clientId, clientName: app.name } : {}),
    };
    const refuse = async (error: string, reason: string) => {
      await deps.events.record({ ...event, type: 'fs', description: error, details: { reason } });
      // the field the refusal is about: name, email_… and exists (the email), password_…
      const field = reason === 'name' ? 'name' : reason.startsWith('password') ? 'password' : 'email';
      const shown = { name: name.slice(0, 255), email: email.slice(0, 320), error, field } as const;
      return render(deps, c, interaction, app, 400, shown);
    };
    if (!isPersonName(name)) return refuse(SIGNUP_MESSAGES.name, 'name');
    const problem = emailProblem(email);
    if (problem)
      return refuse(
        problem === 'invalid' ? SIGNUP_MESSAGES.email : SIGNUP_MESSAGES[problem],
        `email_${problem}`,
      );
    const refusal = await refusePassword(password, { minLength: deps.config.password.minLength, email });
    if (refusal) return refuse(refusal.message, `password_${refusal.reason}`);
    if (await deps.storage.users.getByEmail(email)) return refuse(SIGNUP_MESSAGES.exists, 'exists');
    const brand = await emailBrand(deps);
    let user: User;
    try {
      user = await createUser(
        deps.storage,
        deps.clock,
        { email, password, claims: name ? { name } : {} },
        deps.config.password,
        {
          by: 'signup',
          ...(app ? { clientId: app.clientId } : {}),
          // Not counted toward the 3 verification emails an hour /account may send: an address
          // gets it once, when its account is made.
          inTransaction: async (tx, created) => {
            await sendTicketEmail(deps, 'email_verification', created, tx, brand, false);
          },
        },
      );
    } catch (err) {
      if (err instanceof ConflictError) return refuse(SIGNUP_MESSAGES.exists, 'exists');
      throw err;
    }
    deps.mail.kick();
    // Signed in with the password just chosen: the first of the account's logins_count, and a
    // sign-in of the log (`s`, as at Auth0, beside `ss`), which /stats/daily counts with it.
    await deps.storage.users.recordLogin(user.id, deps.clock.now(), knownIp(clientIp(c)));
    await deps.events.record({ ...event, type: 's', userId: user.id, userName: user.email });
    await startSession(deps, cookies, c, user.id);
    await deps.storage.interactions.update(interaction.idHash, { ...interaction.state, loggedIn: true });
    return backTo(c, interaction);
  };
}
