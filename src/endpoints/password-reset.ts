import type { Context } from 'hono';
import { spendAddressBudget } from '../accounts/budgets.js';
import { isEmail, normalizeEmail } from '../accounts/email.js';
import { LIFETIMES, openTicket, type ResetRequest, resetPassword } from '../admin/tickets.js';
import { clientIp, clientOrigin } from '../http/client-ip.js';
import type { AppEnv, Deps } from '../http/context.js';
import type { Cookies } from '../http/cookies.js';
import { PageError, page } from '../http/page.js';
import { CheckEmailPage, DonePage, ForgotPasswordPage, ResetPasswordPage } from '../ui/self-service.js';
import { linkProblem, resultLink, ticketParam } from './account-links.js';
import { waitingSignIn } from './authorize/interaction.js';
import { checkFormCsrf, formCsrf } from './form-csrf.js';
import { SIGNUP_MESSAGES } from './signup.js';

/** GET /u/forgot-password: asks for the account's email (from the login page, or on its own). */
export function forgotPasswordPage(deps: Deps, cookies: Cookies) {
  return async (c: Context<AppEnv>) => {
    const at = (await waitingSignIn(deps, cookies, c)) ?? '';
    const csrf = formCsrf(deps.encryptionKey, cookies, c);
    return page(c, (nonce) => ForgotPasswordPage({ nonce, csrf, at }));
  };
}

/**
 * POST /u/forgot-password: one answer whatever the email (no enumeration). Each address may
 * ask ADDRESS_BUDGETS.reset times per login.window (429). The request is queued, the same row
 * whatever the email, and the account is looked up off the request, a moment later
 * (`runResetRequest`), so the answer's time says nothing either.
 */
export function forgotPasswordSubmit(deps: Deps, cookies: Cookies) {
  return async (c: Context<AppEnv>): Promise<Response> => {
    const params = c.get('params');
    checkFormCsrf(deps.encryptionKey, cookies, c, params.get('csrf'));
    const now = deps.clock.now();
    const wait = await spendAddressBudget(
      deps.storage.loginAttempts,
      'reset',
      clientIp(c),
      deps.config.login,
      now,
    );
    if (wait > 0) {
      throw new PageError(
        'Too many requests',
        'Too many password resets were asked for from your network. Try again later.',
        429,
        {
          'Retry-After': String(wait),
        },
      );
    }
    const email = normalizeEmail(params.get('email') ?? '');
    if (!isEmail(email)) {
      const csrf = formCsrf(deps.encryptionKey, cookies, c);
      const shown = { email: email.slice(0, 320), error: SIGNUP_MESSAGES.email };
      const at = (await waitingSignIn(deps, cookies, c)) ?? '';
      return page(c, (nonce) => ForgotPasswordPage({ nonce, csrf, at, ...shown }), 400);
    }
    const request: ResetRequest = { email, origin: clientOrigin(c) };
    await deps.storage.transaction((tx) => deps.mail.enqueueRequest(tx, 'password_reset_request', request));
    deps.mail.kickLater();
    const back = await waitingSignIn(deps, cookies, c);
    return page(c, (nonce) => CheckEmailPage({ nonce, back, lifetime: LIFETIMES.password_reset }));
  };
}

/** GET /u/reset-password?ticket=…: the new-password form, or why the link does not work. */
export function resetPasswordPage(deps: Deps, cookies: Cookies) {
  return async (c: Context<AppEnv>) => {
    const ticket = ticketParam(c);
    const open = await openTicket(deps, 'password_reset', ticket);
    if (typeof open === 'string') throw await linkProblem(deps, c, 'fcp', open);
    const props = {
      csrf: formCsrf(deps.encryptionKey, cookies, c),
      ticket,
      minLength: deps.config.password.minLength,
    };
    return page(c, (nonce) => ResetPasswordPage({ nonce, ...props }));
  };
}

/**
 * POST /u/reset-password: CSRF checked; a password the policy refuses re-renders the form and
 * leaves the link usable; otherwise the link is used and the password replaced (admin/tickets.ts).
 */
export function resetPasswordSubmit(deps: Deps, cookies: Cookies) {
  return async (c: Context<AppEnv>): Promise<Response> => {
    const params = c.get('params');
    checkFormCsrf(deps.encryptionKey, cookies, c, params.get('csrf'));
    const ticket = ticketParam(c, params.get('ticket') ?? '');
    const result = await resetPassword(deps, ticket, params.get('password') ?? '');
    if (typeof result === 'string') throw await linkProblem(deps, c, 'fcp', result);
    if ('reason' in result) {
      const props = {
        csrf: formCsrf(deps.encryptionKey, cookies, c),
        ticket,
        minLength: deps.config.password.minLength,
      };
      return page(c, (nonce) => ResetPasswordPage({ nonce, ...props, error: result.message }), 400);
    }
    const link = resultLink(result.ticket.resultUrl, await waitingSignIn(deps, cookies, c));
    return page(c, (nonce) =>
      DonePage({
        nonce,
        title: 'Password changed',
        message: 'Your password has been changed. You can now sign in with it.',
        link,
      }),
    );
  };
}
