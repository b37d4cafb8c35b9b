import type { Context } from 'hono';
import type { Logger } from 'pino';
import { PasswordWorkBusy } from '../accounts/password.js';
import { OAuthError, ServerError, TemporarilyUnavailable } from '../protocol/errors.js';
import { isDatabaseUnavailable } from '../storage/unavailable.js';
import { ErrorPage } from '../ui/pages.js';
import type { AppEnv } from './context.js';
import { PageError, page } from './page.js';
import { oauthErrorResponse } from './respond.js';

/** What a JSON endpoint answers a failure with: an OAuth error, and headers beyond its own. */
export interface ErrorAnswer {
  error: OAuthError;
  headers?: Record<string, string>;
}

/**
 * The one onError (house rule 4): OAuth errors go out as RFC 6749 §5.2 JSON; anything else is
 * logged with the request id and becomes server_error, never a stack trace.
 */
export function handleError(err: Error, c: Context<AppEnv>): Response {
  const log = c.get('log');
  if (err instanceof PageError) {
    log?.info({ page: err.title, detail: err.message }, 'error page');
    return page(
      c,
      (nonce) => ErrorPage({ nonce, title: err.title, message: err.message, link: err.link }),
      err.status,
      err.headers,
    );
  }
  const { error, headers } = errorAnswer(err, log, c.get('requestId'));
  // A browser's page (sign-in, account, console) gets a page saying so; the JSON endpoints, JSON.
  if (error instanceof TemporarilyUnavailable && PAGES.test(c.req.path)) {
    const message = `Sesame could not answer: ${error.description}.`;
    return page(c, (nonce) => ErrorPage({ nonce, title: 'Try again shortly', message }), 503, headers);
  }
  return oauthErrorResponse(c, error, headers);
}

/** The paths of pages for a browser (everything else Hono answers speaks JSON). */
const PAGES = /^\/(authorize|u\/|account|activate|oidc\/logout|v2\/logout|console)/;

/**
 * How a JSON endpoint answers `err`, logged on `log`: an OAuthError as it is; an unreachable
 * database as temporarily_unavailable (503, Retry-After); anything else as server_error naming
 * the request id. The Hono app's onError and the lean lane both answer through this.
 */
export function errorAnswer(
  err: unknown,
  log: Logger | undefined,
  requestId: string | undefined,
): ErrorAnswer {
  if (err instanceof OAuthError) {
    // The text as written (the answer's is cut to RFC 6749's characters), within reason.
    const description = err.message.slice(0, 1024);
    log?.info({ error: err.error, description, detail: err.detail }, 'request refused');
    return { error: err };
  }
  const reason = unavailableReason(err);
  if (reason) {
    log?.warn({ err }, reason === DATABASE ? 'database unavailable' : reason);
    return {
      error: new TemporarilyUnavailable(`${reason}; try again shortly`),
      headers: { 'Retry-After': '1' },
    };
  }
  log?.error({ err }, 'unexpected error');
  return { error: new ServerError(`internal error; request id ${requestId ?? 'unknown'}`) };
}

const DATABASE = 'the database is unavailable';

/** Why `err` is a passing unavailability (the database, or argon2's queue full), or null. */
export function unavailableReason(err: unknown): string | null {
  if (isDatabaseUnavailable(err)) return DATABASE;
  if (err instanceof PasswordWorkBusy) return 'too many sign-ins at once';
  return null;
}
