import { characters } from '../accounts/claims.js';
import { SIGNING_ALGS } from '../config/schema.js';
import { isUriText, URI_TEXT_RULE } from '../protocol/redirect-uri.js';
import { isScopeToken, OIDC_SCOPES } from '../protocol/scope.js';
import {
  type Api,
  type ApiOptions,
  type ApiScope,
  CLIENT_ACCESS_POLICIES,
  type Slice,
  type Storage,
  TOKEN_DIALECTS,
  USER_ACCESS_POLICIES,
} from '../storage/types.js';
import type { Clock } from '../util/clock.js';
import { randomToken } from '../util/crypto.js';
import { checkInteger, checkName, checkOneOf } from './checks.js';
import { ConflictError, ForbiddenError, NotFoundError, unique, ValidationError } from './errors.js';

/** What create and update may set; absent fields are left as they are (update) or defaulted (create). */
export interface ApiInput {
  name?: string;
  /** Scopes, or the CLI's `name` / `name=description` specs. */
  scopes?: (ApiScope | string)[];
  tokenLifetime?: number;
  /**
   * Access tokens issued at /authorize (implicit and hybrid flows): at most `tokenLifetime`; null
   * goes back to the configured default (accessToken.implicitLifetime).
   */
  tokenLifetimeForWeb?: number | null;
  signingAlg?: string;
  allowOfflineAccess?: boolean;
  /** First-party applications skip consent for this API (default true, as in Auth0). */
  skipConsentForFirstParty?: boolean;
  /** RBAC: people get only the requested scopes their roles or own permissions hold. */
  enforcePolicies?: boolean;
  /** Auth0's token dialect; the `_authz` ones add the `permissions` claim. */
  tokenDialect?: string;
  /** Which applications may get people's tokens (allow_all, deny_all, require_client_grant). */
  userPolicy?: string;
  /** Which applications may get machine tokens (require_client_grant, deny_all). */
  clientPolicy?: string;
}

export interface NewApi extends ApiInput {
  name: string;
  identifier: string;
}

/** The CLI's `name` or `name=description` scope specs as scopes (the description defaults to the name). */
export function parseScopeSpecs(specs: string[]): ApiScope[] {
  return specs.map((spec) => {
    const eq = spec.indexOf('=');
    const name = (eq < 0 ? spec : spec.slice(0, eq)).trim();
    return { name, description: eq < 0 ? name : spec.slice(eq + 1).trim() };
  });
}

function checkScopes(given: (ApiScope | string)[]): ApiScope[] {
  if (given.length > 1000) throw new ValidationError('scopes: at most 1000');
  const seen = new Set<string>();
  return given.map((s) => {
    const { name, description } = typeof s === 'string' ? parseScopeSpecs([s])[0]! : s;
    if (!isScopeToken(name) || name.length > 280)
      throw new ValidationError(`scopes ${JSON.stringify(name)}: not a valid scope token`);
    if ((OIDC_SCOPES as readonly string[]).includes(name))
      throw new ValidationError(`scopes ${name}: reserved by OpenID Connect`);
    if (seen.has(name)) throw new ValidationError(`scopes ${name}: defined twice`);
    if (characters(description) > 500)
      throw new ValidationError(`scopes ${name}: description over 500 characters`);
    seen.add(name);
    return { name, description };
  });
}

function checkIdentifier(identifier: string): string {
  if (!URL.canParse(identifier) || identifier.includes('#') || /\s/.test(identifier)) {
    throw new ValidationError(
      'identifier: must be an absolute URI without a fragment (it is the token audience)',
    );
  }
  if (identifier.length > 2048) throw new ValidationError('identifier: must be at most 2048 characters');
  // the `resource` parameter that names it is an RFC 3986 URI (RFC 8707 §2)
  if (!isUriText(identifier)) throw new ValidationError(`identifier: must be ${URI_TEXT_RULE}`);
  return identifier;
}

/**
 * `token_lifetime_for_web` as Auth0 takes it: 60 s to 30 days and at most the token lifetime; null
 * removes it (the configured default again). A token lifetime lowered below the one stored takes
 * it down with it.
 */
function checkWebLifetime(input: ApiInput, options: ApiOptions, lifetime: number | undefined): void {
  const given = input.tokenLifetimeForWeb;
  if (given === null) delete options.tokenLifetimeForWeb;
  else if (given !== undefined)
    options.tokenLifetimeForWeb = checkInteger('token_lifetime_for_web', given, 60, 2592000);
  const web = options.tokenLifetimeForWeb;
  if (web === undefined || lifetime === undefined || web <= lifetime) return;
  if (given !== undefined)
    throw new ValidationError(`token_lifetime_for_web: must not be larger than token_lifetime (${lifetime})`);
  options.tokenLifetimeForWeb = lifetime;
}

/** The fields of `input` checked, as a patch of an API. */
function checkInput(input: ApiInput, current?: Api): Partial<Api> {
  const out: Partial<Api> = {};
  if (input.name !== undefined) out.name = checkName('name', input.name);
  if (input.scopes !== undefined) out.scopes = checkScopes(input.scopes);
  if (input.tokenLifetime !== undefined)
    out.tokenLifetime = checkInteger('token_lifetime', input.tokenLifetime, 60, 2592000);
  if (input.signingAlg !== undefined)
    out.signingAlg = checkOneOf('signing_alg', input.signingAlg, SIGNING_ALGS);
  if (input.allowOfflineAccess !== undefined) out.allowOfflineAccess = input.allowOfflineAccess;
  const options: ApiOptions = { ...current?.options };
  if (input.skipConsentForFirstParty !== undefined)
    options.skipConsentForVerifiableFirstPartyClients = input.skipConsentForFirstParty;
  if (input.enforcePolicies !== undefined) options.enforcePolicies = input.enforcePolicies;
  if (input.tokenDialect !== undefined)
    options.tokenDialect = checkOneOf('token_dialect', input.tokenDialect, TOKEN_DIALECTS);
  checkWebLifetime(input, options, out.tokenLifetime ?? current?.tokenLifetime);
  if (input.userPolicy !== undefined || input.clientPolicy !== undefined) {
    const sta = { ...options.subjectTypeAuthorization };
    if (input.userPolicy !== undefined)
      sta.user = {
        policy: checkOneOf('subject_type_authorization.user.policy', input.userPolicy, USER_ACCESS_POLICIES),
      };
    if (input.clientPolicy !== undefined)
      sta.client = {
        policy: checkOneOf(
          'subject_type_authorization.client.policy',
          input.clientPolicy,
          CLIENT_ACCESS_POLICIES,
        ),
      };
    options.subjectTypeAuthorization = sta;
  }
  if (JSON.stringify(options) !== JSON.stringify(current?.options ?? {})) out.options = options;
  return out;
}

/** Registers an API (resource server); its identifier is the `aud` of its access tokens. */
export async function createApi(
  storage: Storage,
  clock: Clock,
  input: NewApi,
  defaultLifetime: number,
): Promise<Api> {
  const identifier = checkIdentifier(input.identifier);
  const checked = checkInput({
    ...input,
    tokenLifetime: input.tokenLifetime ?? defaultLifetime,
    signingAlg: input.signingAlg ?? 'ES256',
  });
  const taken = `identifier: an API with identifier ${identifier} exists already`;
  if (await storage.apis.getByIdentifier(identifier)) throw new ConflictError(taken);
  const now = clock.now();
  const api: Api = {
    id: `api_${randomToken(12)}`,
    identifier,
    name: checked.name!,
    scopes: checked.scopes ?? [],
    tokenLifetime: checked.tokenLifetime!,
    signingAlg: checked.signingAlg!,
    allowOfflineAccess: checked.allowOfflineAccess ?? false,
    options: { skipConsentForVerifiableFirstPartyClients: true, ...checked.options },
    isSystem: false,
    createdAt: now,
    updatedAt: now,
  };
  await unique(
    () => storage.apis.create(api),
    () => storage.apis.getByIdentifier(identifier),
    taken,
  );
  return api;
}

/**
 * Changes an API. A system API (the Management API) keeps its name, identifier and scopes; its
 * token lifetime, algorithm and other settings may change.
 */
export async function updateApi(
  storage: Storage,
  clock: Clock,
  idOrIdentifier: string,
  input: ApiInput,
): Promise<Api> {
  const { id } = await getApi(storage, idOrIdentifier);
  // Read and written with the row held: two updates at once each keep what they sent.
  return storage.transaction(async (tx) => {
    await tx.apis.hold(id);
    const api = await getApi(tx, id);
    if (api.isSystem && (input.name !== undefined || input.scopes !== undefined)) {
      throw new ForbiddenError(`${api.name} is a system API: its name and scopes cannot be changed`);
    }
    if (api.isSystem && input.enforcePolicies === false) {
      throw new ForbiddenError(
        `${api.name} is a system API: RBAC stays on (people get what their roles give)`,
      );
    }
    if (api.isSystem && input.userPolicy === 'allow_all') {
      throw new ForbiddenError(
        `${api.name} is a system API: only applications given a client grant for people (subject_type user) may get people's tokens for it`,
      );
    }
    const patch = checkInput(input, api);
    const now = clock.now();
    // Permissions that are no longer scopes of the API go from every role, user and client
    // grant (else a scope defined again later would be given back without anyone asking).
    const removed = new Set(
      patch.scopes
        ? api.scopes.filter((s) => !patch.scopes!.some((n) => n.name === s.name)).map((s) => s.name)
        : [],
    );
    await tx.apis.update(api.id, patch, now);
    await tx.permissions.removeScopes(api.id, [...removed]);
    if (removed.size > 0) {
      for (const grant of await tx.clientGrants.list({ apiId: api.id })) {
        const kept = grant.scopes.filter((s) => !removed.has(s));
        if (kept.length < grant.scopes.length) await tx.clientGrants.setScopes(grant.id, kept);
      }
    }
    return { ...api, ...patch, updatedAt: now };
  });
}

/** The API by id or identifier, or NotFoundError. */
export async function getApi(storage: Storage, idOrIdentifier: string): Promise<Api> {
  const api =
    (await storage.apis.get(idOrIdentifier)) ?? (await storage.apis.getByIdentifier(idOrIdentifier));
  if (!api) throw new NotFoundError(`API ${idOrIdentifier} not found`);
  return api;
}

/** A slice of the APIs, and how many there are in all. */
export async function listApis(storage: Storage, slice?: Slice, identifiers?: string[]) {
  if (identifiers === undefined)
    return { items: await storage.apis.list(slice), total: () => storage.apis.count() };
  // Auth0's `identifiers` filter: only the APIs named (at most 10), in the order of the list.
  const found: Api[] = [];
  for (const identifier of new Set(identifiers)) {
    const api = await storage.apis.getByIdentifier(identifier);
    if (api) found.push(api);
  }
  const start = slice?.offset ?? 0;
  const items = found.slice(start, slice ? start + slice.limit : undefined);
  return { items, total: async () => found.length };
}

/**
 * Deletes an API (by id or identifier) and the client grants for it; never a system API. When it
 * was the tenant's default audience, requests that name none get no API again.
 */
export async function deleteApi(storage: Storage, idOrIdentifier: string): Promise<void> {
  const api = await getApi(storage, idOrIdentifier);
  if (api.isSystem) throw new ForbiddenError(`${api.name} is a system API and cannot be deleted`);
  await storage.transaction(async (tx) => {
    await tx.apis.delete(api.id);
    await tx.settings.hold('tenant', api.updatedAt);
    const tenant = await tx.settings.get('tenant');
    if (tenant?.default_audience === api.identifier) {
      const { default_audience: _, ...rest } = tenant;
      await tx.settings.put('tenant', rest, api.updatedAt);
    }
  });
}
