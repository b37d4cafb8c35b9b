import type { Context } from 'hono';
import { formActionSource, page } from '../../http/page.js';
import type { OAuthError } from '../../protocol/errors.js';
import { FormPostPage } from '../../ui/pages.js';
import type { ResponseMode } from './request.js';

/** Where and how an authorization response goes. */
export interface ResponseTarget {
  redirectUri: string;
  responseMode: ResponseMode;
  state?: string;
}

/**
 * Sends an authorization response by its response mode (RFC 6749 §4.1.2, OAuth 2.0 Multiple
 * Response Types §2, Form Post Response Mode), always with `iss` (RFC 9207) and `state`.
 */
export function authorizationResponse(
  c: Context,
  issuer: string,
  target: ResponseTarget,
  fields: Record<string, string>,
): Response {
  const all: Record<string, string> = { ...fields };
  if (target.state !== undefined) all.state = target.state;
  all.iss = issuer;
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
  const url = new URL(target.redirectUri);
  if (target.responseMode === 'fragment') {
    url.hash = new URLSearchParams(all).toString();
  } else {
    for (const [k, v] of Object.entries(all)) url.searchParams.append(k, v);
  }
  return c.body(null, 303, { Location: url.toString(), 'Cache-Control': 'no-store' });
}

/** An error response to the client's (validated) redirect_uri. */
export function authorizationError(
  c: Context,
  issuer: string,
  target: ResponseTarget,
  err: OAuthError,
): Response {
  return authorizationResponse(c, issuer, target, { error: err.error, error_description: err.description });
}
