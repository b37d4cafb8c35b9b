import { SIGNING_ALGS, type SigningAlg } from '../config/schema.js';
import { isScopeToken, OIDC_SCOPES } from '../protocol/scope.js';
import type { Api, ApiScope, Storage } from '../storage/types.js';
import type { Clock } from '../util/clock.js';
import { randomToken } from '../util/crypto.js';
import { NotFoundError, ValidationError } from './errors.js';

export interface NewApi {
  name: string;
  identifier: string;
  /** `name` or `name=description`. */
  scopes?: string[];
  tokenLifetime?: number;
  signingAlg?: string;
  allowOfflineAccess?: boolean;
}

function parseScopes(specs: string[]): ApiScope[] {
  const scopes: ApiScope[] = [];
  for (const spec of specs) {
    const eq = spec.indexOf('=');
    const name = (eq < 0 ? spec : spec.slice(0, eq)).trim();
    const description = eq < 0 ? name : spec.slice(eq + 1).trim();
    if (!isScopeToken(name))
      throw new ValidationError(`scope ${JSON.stringify(name)}: not a valid scope token`);
    if ((OIDC_SCOPES as readonly string[]).includes(name)) {
      throw new ValidationError(`scope ${name}: reserved by OpenID Connect`);
    }
    if (scopes.some((s) => s.name === name)) throw new ValidationError(`scope ${name}: defined twice`);
    scopes.push({ name, description });
  }
  return scopes;
}

function checkIdentifier(identifier: string): string {
  if (!URL.canParse(identifier) || identifier.includes('#') || /\s/.test(identifier)) {
    throw new ValidationError(
      'identifier: must be an absolute URI without a fragment (it is the token audience)',
    );
  }
  if (identifier.length > 2048) throw new ValidationError('identifier: must be at most 2048 characters');
  return identifier;
}

/** Registers an API (resource server); its identifier is the `aud` of its access tokens. */
export async function createApi(
  storage: Storage,
  clock: Clock,
  input: NewApi,
  defaultLifetime: number,
): Promise<Api> {
  const name = input.name.trim();
  if (name.length === 0 || name.length > 255) throw new ValidationError('name: must be 1 to 255 characters');
  const identifier = checkIdentifier(input.identifier);
  const tokenLifetime = input.tokenLifetime ?? defaultLifetime;
  if (!Number.isInteger(tokenLifetime) || tokenLifetime < 60 || tokenLifetime > 2592000) {
    throw new ValidationError('token lifetime: must be a whole number of seconds from 60 to 2592000');
  }
  const signingAlg = input.signingAlg ?? 'ES256';
  if (!(SIGNING_ALGS as readonly string[]).includes(signingAlg)) {
    throw new ValidationError(
      `signing alg ${JSON.stringify(signingAlg)}: must be one of ${SIGNING_ALGS.join(', ')}`,
    );
  }
  if (await storage.apis.getByIdentifier(identifier)) {
    throw new ValidationError(`identifier: an API with identifier ${identifier} exists already`);
  }
  const api: Api = {
    id: `api_${randomToken(12)}`,
    identifier,
    name,
    scopes: parseScopes(input.scopes ?? []),
    tokenLifetime,
    signingAlg: signingAlg as SigningAlg,
    allowOfflineAccess: input.allowOfflineAccess ?? false,
    createdAt: clock.now(),
  };
  await storage.apis.create(api);
  return api;
}

/** The API by id or identifier, or NotFoundError. */
export async function getApi(storage: Storage, idOrIdentifier: string): Promise<Api> {
  const api =
    (await storage.apis.get(idOrIdentifier)) ?? (await storage.apis.getByIdentifier(idOrIdentifier));
  if (!api) throw new NotFoundError(`API ${idOrIdentifier} not found`);
  return api;
}

/** Deletes an API (by id or identifier) and the client grants for it. */
export async function deleteApi(storage: Storage, idOrIdentifier: string): Promise<void> {
  const api = await getApi(storage, idOrIdentifier);
  await storage.transaction((tx) => tx.apis.delete(api.id));
}
