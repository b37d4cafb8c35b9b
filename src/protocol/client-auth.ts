import { InvalidClient, InvalidRequest } from './errors.js';
import type { Params } from './params.js';

/** How a client presented itself at an endpoint (RFC 6749 §2.3.1, RFC 8414 §2 method names). */
export type ClientAuthMethod = 'client_secret_basic' | 'client_secret_post' | 'none';

/** What the request claims: a client id and, unless `none`, a secret still to be checked. */
export interface ClientCredentials {
  method: ClientAuthMethod;
  clientId: string;
  secret?: string;
}

// RFC 6749 §2.3.1 / Appendix B: id and secret are form-url-encoded before Basic encoding.
function formDecode(value: string): string | null {
  try {
    return decodeURIComponent(value.replace(/\+/g, ' '));
  } catch {
    return null;
  }
}

function fromBasic(header: string): { clientId: string; secret: string } {
  const encoded = header.slice(6).trim();
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(encoded))
    throw new InvalidClient('Authorization header is not valid Basic');
  const decoded = Buffer.from(encoded, 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  if (colon < 0) throw new InvalidClient('Authorization header is not valid Basic');
  const clientId = formDecode(decoded.slice(0, colon));
  const secret = formDecode(decoded.slice(colon + 1));
  if (!clientId || secret === null || /\p{Cc}/u.test(clientId)) {
    throw new InvalidClient('Authorization header is not valid Basic');
  }
  return { clientId, secret };
}

/**
 * Reads the client's credentials from the Authorization header (client_secret_basic) or the
 * body (client_secret_post, or client_id alone for public clients). RFC 6749 §2.3: a client
 * uses one method per request, so Basic and a body secret together are invalid_request.
 */
export function readClientCredentials(authorization: string | undefined, params: Params): ClientCredentials {
  const bodyId = params.get('client_id');
  const bodySecret = params.get('client_secret');
  if (authorization !== undefined && authorization !== '') {
    if (!/^basic /i.test(authorization))
      throw new InvalidClient('only Basic client authentication is supported');
    if (bodySecret !== undefined) {
      throw new InvalidRequest('client authenticated with both Basic and client_secret; use one method');
    }
    const basic = fromBasic(authorization);
    if (bodyId !== undefined && bodyId !== basic.clientId) {
      throw new InvalidRequest('client_id in the body differs from the Basic credentials');
    }
    return { method: 'client_secret_basic', ...basic };
  }
  if (bodyId === undefined) throw new InvalidClient('client authentication is required (client_id missing)');
  if (bodySecret !== undefined) return { method: 'client_secret_post', clientId: bodyId, secret: bodySecret };
  return { method: 'none', clientId: bodyId };
}

/** The client a request says it is from (Basic, else the body), whether or not that holds up. */
export function claimedClientId(authorization: string | undefined, params: Params): string | undefined {
  try {
    return readClientCredentials(authorization, params).clientId;
  } catch {
    return params.get('client_id');
  }
}
