import type { Context } from 'hono';
import { openTicket, verifyEmail } from '../admin/tickets.js';
import type { AppEnv, Deps } from '../http/context.js';
import type { Cookies } from '../http/cookies.js';
import { page } from '../http/page.js';
import { DonePage, VerifyEmailPage } from '../ui/self-service.js';
import { linkProblem, resultLink, ticketParam } from './account-links.js';
import { waitingSignIn } from './authorize/interaction.js';
import { checkFormCsrf, formCsrf } from './form-csrf.js';

/**
 * GET /u/email-verification?ticket=…: a page with a button, not the verification itself, so
 * that a mail scanner fetching the link cannot verify an address nobody read.
 */
export function emailVerificationPage(deps: Deps, cookies: Cookies) {
  return async (c: Context<AppEnv>) => {
    const ticket = ticketParam(c);
    const open = await openTicket(deps, 'email_verification', ticket);
    if (typeof open === 'string') throw await linkProblem(deps, c, 'fv', open);
    const props = { csrf: formCsrf(deps.encryptionKey, cookies, c), ticket, email: open.email };
    return page(c, (nonce) => VerifyEmailPage({ nonce, ...props }));
  };
}

/** POST /u/email-verification: CSRF checked; uses the link once; email_verified becomes true. */
export function emailVerificationSubmit(deps: Deps, cookies: Cookies) {
  return async (c: Context<AppEnv>): Promise<Response> => {
    const params = c.get('params');
    checkFormCsrf(deps.encryptionKey, cookies, c, params.get('csrf'));
    const result = await verifyEmail(deps, ticketParam(c, params.get('ticket') ?? ''));
    if (typeof result === 'string') throw await linkProblem(deps, c, 'fv', result);
    const link = resultLink(result.ticket.resultUrl, await waitingSignIn(deps, cookies, c));
    return page(c, (nonce) =>
      DonePage({
        nonce,
        title: 'Email verified',
        message: `Your email address ${result.user.email} is verified.`,
        link,
      }),
    );
  };
}
