import { InvalidRequest, InvalidTarget } from './errors.js';
import type { Params } from './params.js';

/**
 * The API a request names: Auth0's `audience`, or RFC 8707 §2 `resource` (an absolute URI
 * without a fragment). One token has one audience, so more than one distinct value is refused.
 * Undefined when neither is sent.
 */
export function requestedAudience(params: Params): string | undefined {
  const resources = [...new Set(params.all('resource'))];
  for (const r of resources) {
    if (!URL.canParse(r) || r.includes('#')) {
      throw new InvalidTarget('resource must be an absolute URI without a fragment');
    }
  }
  if (resources.length > 1) throw new InvalidTarget('only one resource may be requested at a time');
  const audience = params.get('audience');
  const resource = resources[0];
  if (audience !== undefined && resource !== undefined && audience !== resource) {
    throw new InvalidRequest('audience and resource name different APIs; send one');
  }
  return audience ?? resource;
}

/**
 * RFC 8707 §2.2: a token request that redeems a grant (a code, a refresh token, a device code)
 * may name the API it wants (`resource`, or Auth0's `audience`) only when that is the one the
 * grant was authorized for; anything else is invalid_target, never silently another audience.
 */
export function checkGrantedAudience(params: Params, granted: string | undefined): void {
  const asked = requestedAudience(params);
  if (asked === undefined || asked === granted) return;
  throw new InvalidTarget(
    granted === undefined
      ? `${asked} was not authorized: the grant is for no API`
      : `${asked} was not authorized: the grant is for ${granted}`,
  );
}
