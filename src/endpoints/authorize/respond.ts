import type { Context } from 'hono';
import { formActionSource, page } from '../../http/page.js';
import { seeOther } from '../../http/respond.js';
import type { OAuthError } from '../../protocol/errors.js';
import { httpOrigin, registeredOrigins } from '../../protocol/origins.js';
import { withQuery } from '../../protocol/redirect-uri.js';
import type { Application } from '../../storage/types.js';
import { FormPostPage, WebMessagePage } from '../../ui/pages.js';
import type { ResponseMode } from './request.js';

/** Where and how an authorization response goes. */
export interface ResponseTarget {
  redirectUri: string;
  responseMode: ResponseMode;
  state?: string;
}

/**
 * Sends an authorization response by its response mode (RFC 6749 §4.1.2, OAuth 2.0 Multiple
 * Response Types §2, Form Post Response Mode, Auth0's web_message), always with `iss`
 * (RFC 9207) and `state`.
 */
export function authorizationResponse(
  c: Context,
  issuer: string,
  app: Application,
  target: ResponseTarget,
  fields: Record<string, string>,
): Response {
  const all: Record<string, string> = { ...fields };
  if (target.state !== undefined) all.state = target.state;
  all.iss = issuer;
  if (target.responseMode === 'web_message') return webMessage(c, app, target.redirectUri, all);
  if (target.responseMode === 'form_post') {
    const origin = formActionSource(target.redirectUri);
    return page(
      c,
      (nonce) => FormPostPage({ nonce, action: target.redirectUri, fields: all }),
      200,
      {},
      origin,
    );
  }
  let location: string;
  if (target.responseMode === 'fragment') {
    const url = new URL(target.redirectUri);
    url.hash = new URLSearchParams(all).toString();
    location = url.toString();
  } else location = withQuery(target.redirectUri, all);
  return seeOther(c, location);
}

/** An error response to the client's (validated) redirect_uri. */
export function authorizationError(
  c: Context,
  issuer: string,
  app: Application,
  target: ResponseTarget,
  err: OAuthError,
): Response {
  return authorizationResponse(c, issuer, app, target, {
    error: err.error,
    error_description: err.description,
  });
}

/**
 * response_mode=web_message (Auth0's silent authentication and popup): a page of Sesame's own
 * that posts `{type: 'authorization_response', response}` to the window that opened or framed
 * it, addressed to the registered redirect_uri's origin only (never `*`), and that only the
 * application's registered origins may frame.
 */
function webMessage(c: Context, app: Application, redirectUri: string, response: Record<string, string>) {
  const origins = registeredOrigins(app);
  const ancestors = origins.length > 0 ? origins.join(' ') : "'none'";
  // A redirect_uri that is not http(s) has no origin to post to: the page posts nothing.
  const origin = httpOrigin(redirectUri) ?? '';
  return page(c, (nonce) => WebMessagePage({ nonce, origin, response }), 200, {}, undefined, ancestors);
}
