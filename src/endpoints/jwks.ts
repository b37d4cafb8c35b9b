import type { Context } from 'hono';
import type { AppEnv, Deps } from '../http/context.js';
import { jsonCached, type SerializedJson, serializeJson } from '../http/respond.js';
import { jwks } from '../keys/jwks.js';
import type { SigningKeyRecord } from '../storage/types.js';

/**
 * The JWKS (RFC 7517 §5): current, next and retiring public keys. Serialized again only when the
 * keystore's list changes (it is a new array after each reload). `now` has it without waiting
 * while the keystore's list is fresh, else null; `read` reloads the keystore when it must.
 */
export function jwksDocument(deps: Pick<Deps, 'keys'>): {
  now(): SerializedJson | null;
  read(): Promise<SerializedJson>;
} {
  let records: readonly SigningKeyRecord[] | null = null;
  let doc: SerializedJson | null = null;
  const of = (published: readonly SigningKeyRecord[]) => {
    if (published !== records || !doc) {
      doc = serializeJson(jwks(published));
      records = published;
    }
    return doc;
  };
  return {
    now: () => {
      const known = deps.keys.publishedIfFresh();
      return known ? of(known) : null;
    },
    read: async () => of(await deps.keys.published()),
  };
}

/** GET /.well-known/jwks.json. */
export function jwksEndpoint(deps: Deps) {
  const document = jwksDocument(deps);
  return async (c: Context<AppEnv>): Promise<Response> =>
    jsonCached(c, await document.read(), deps.config.keys.jwksMaxAge);
}
