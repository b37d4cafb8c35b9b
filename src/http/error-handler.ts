import type { Context } from 'hono';
import { OAuthError, ServerError, TemporarilyUnavailable } from '../protocol/errors.js';
import { isDatabaseUnavailable } from '../storage/unavailable.js';
import { ErrorPage } from '../ui/pages.js';
import type { AppEnv } from './context.js';
import { PageError, page } from './page.js';
import { oauthErrorResponse } from './respond.js';

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
      (nonce) => ErrorPage({ nonce, title: err.title, message: err.message }),
      err.status,
      err.headers,
    );
  }
  if (err instanceof OAuthError) {
    log?.info({ error: err.error, description: err.description, detail: err.detail }, 'request refused');
    return oauthErrorResponse(c, err);
  }
  if (isDatabaseUnavailable(err)) {
    log?.warn({ err }, 'database unavailable');
    const unavailable = new TemporarilyUnavailable('the database is unavailable; try again shortly');
    return oauthErrorResponse(c, unavailable, { 'Retry-After': '1' });
  }
  log?.error({ err }, 'unexpected error');
  const id = c.get('requestId');
  return oauthErrorResponse(c, new ServerError(`internal error; request id ${id ?? 'unknown'}`));
}
