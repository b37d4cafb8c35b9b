import type { Context } from 'hono';
import type { AppEnv, Deps } from '../http/context.js';
import { jsonCached, type SerializedJson, serializeJson } from '../http/respond.js';
import { jwks } from '../keys/jwks.js';
import type { SigningKeyRecord } from '../storage/types.js';

/**
 * The JWKS (RFC 7517 §5): current, next and retiring public keys. Serialized again only when the
 * keystore's list changes (it is a new array after each reload).
 */
export function jwksDocument(deps: Pick<Deps, 'keys'>): () => SerializedJson | Promise<SerializedJson> {
  let records: readonly SigningKeyRecord[] | null = null;
  let doc: SerializedJson | null = null;
  const of = (published: readonly SigningKeyRecord[]) => {
    if (published !== records || !doc) {
      doc = serializeJson(jwks(published));
      records = published;
    }
    return doc;
  };
  // without a promise while the keystore's list is fresh (the lean lane answers at once)
  return () => {
    const known = deps.keys.publishedIfFresh();
    return known ? of(known) : deps.keys.published().then(of);
  };
}

/** GET /.well-known/jwks.json. */
export function jwksEndpoint(deps: Deps) {
  const document = jwksDocument(deps);
  return async (c: Context<AppEnv>): Promise<Response> =>
    jsonCached(c, await document(), deps.config.keys.jwksMaxAge);
}
