import type { Context } from 'hono';
import type { AppEnv, Deps } from '../http/context.js';
import { jsonCached } from '../http/respond.js';
import { jwks } from '../keys/jwks.js';

/** GET /.well-known/jwks.json (RFC 7517 §5): current, next and retiring public keys. */
export function jwksEndpoint(deps: Deps) {
  return async (c: Context<AppEnv>): Promise<Response> =>
    jsonCached(c, jwks(await deps.keys.published()), deps.config.keys.jwksMaxAge);
}
