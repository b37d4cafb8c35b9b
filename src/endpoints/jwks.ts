import type { Context } from 'hono';
import type { AppEnv, Deps } from '../http/context.js';
import { jsonCached, type SerializedJson, serializeJson } from '../http/respond.js';
import { jwks } from '../keys/jwks.js';
import type { SigningKeyRecord } from '../storage/types.js';

/**
 * GET /.well-known/jwks.json (RFC 7517 §5): current, next and retiring public keys. The body is
 * serialized again only when the keystore's list changes (it is a new array after each reload).
 */
export function jwksEndpoint(deps: Deps) {
  let records: readonly SigningKeyRecord[] | null = null;
  let doc: SerializedJson | null = null;
  return async (c: Context<AppEnv>): Promise<Response> => {
    const published = await deps.keys.published();
    if (published !== records || !doc) {
      doc = serializeJson(jwks(published));
      records = published;
    }
    return jsonCached(c, doc, deps.config.keys.jwksMaxAge);
  };
}
