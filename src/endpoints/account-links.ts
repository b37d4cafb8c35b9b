import type { Context } from 'hono';
import type { TicketProblem } from '../admin/tickets.js';
import { clientOrigin } from '../http/client-ip.js';
import type { Deps } from '../http/context.js';
import { PageError } from '../http/page.js';

const PROBLEMS: Record<TicketProblem, string> = {
  unknown: 'This link is not valid. Check that you copied all of it, or ask for a new one.',
  used: 'This link can no longer be used: it was used already, or a newer one replaced it. Ask for a new one if you need it.',
  expired: 'This link has expired. Ask for a new one.',
};

/**
 * The error page of a link that does not work, saying why (never which account it was for),
 * after recording the failure (`fv` for a verification link, `fcp` for a reset link).
 */
export async function linkProblem(
  deps: Deps,
  c: Context,
  type: 'fv' | 'fcp',
  problem: TicketProblem,
): Promise<PageError> {
  await deps.events.record({
    ...clientOrigin(c),
    type,
    description: PROBLEMS[problem],
    details: { reason: problem },
  });
  // where a new link comes from: the reset form, or the account page's "send again"
  const next =
    type === 'fcp'
      ? { href: '/u/forgot-password', text: 'Ask for a new link' }
      : { href: '/account', text: 'Go to your account' };
  return new PageError('Link not valid', PROBLEMS[problem], 400, {}, next);
}

/** The `ticket` of a link's page: from the query on GET, from the form on POST; at most 64 characters. */
export function ticketParam(c: Context, fromForm?: string): string {
  const value = fromForm ?? c.req.query('ticket') ?? '';
  return value.length <= 64 ? value : '';
}

/**
 * Where a finished link sends the person: the ticket's result_url; else, while this browser is
 * signing in to an application (a link opened beside its login page), back to that sign-in;
 * else their account (signing in).
 */
export function resultLink(
  resultUrl: string | undefined,
  /** The query naming the application sign-in waiting in this browser (`?i=…`), or null. */
  signingIn: string | null,
): { href: string; text: string } {
  if (resultUrl) return { href: resultUrl, text: 'Continue' };
  return signingIn !== null
    ? { href: `/u/login${signingIn}`, text: 'Back to sign in' }
    : { href: '/account', text: 'Go to your account' };
}
