import { DEVICE_CODE } from '../protocol/grant-types.js';
import { checkRedirectUri } from '../protocol/redirect-uri.js';
import type {
  Application,
  ApplicationFilter,
  ApplicationType,
  ClientGrant,
  Slice,
  Storage,
  SubjectType,
} from '../storage/types.js';
import type { Clock } from '../util/clock.js';
import { randomId, randomToken, sha256 } from '../util/crypto.js';
import { applySettings, isConfidential } from './application-settings.js';

import { checkName, checkOneOf, checkUriList } from './checks.js';
import { ForbiddenError, NotFoundError, ValidationError } from './errors.js';
import { endApplicationTokens } from './revoke.js';

/** Auth0 refuses `<` and `>` in an application's name. */
const APP_NAME = { angleBrackets: false };

export const APPLICATION_TYPES = [
  'web',
  'spa',
  'native',
  'm2m',
] as const satisfies readonly ApplicationType[];

/** Per type: the grants an application gets by default and the ones it may be given. */
export const GRANTS_BY_TYPE: Record<ApplicationType, { defaults: string[]; allowed: string[] }> = {
  web: {
    defaults: ['authorization_code', 'refresh_token'],
    allowed: [
      'authorization_code',
      'refresh_token',
      'client_credentials',
      'password',
      'implicit',
      DEVICE_CODE,
    ],
  },
  spa: {
    defaults: ['authorization_code', 'refresh_token'],
    allowed: ['authorization_code', 'refresh_token', 'password', 'implicit'],
  },
  native: {
    defaults: ['authorization_code', 'refresh_token', DEVICE_CODE],
    allowed: ['authorization_code', 'refresh_token', 'password', DEVICE_CODE],
  },
  m2m: { defaults: ['client_credentials'], allowed: ['client_credentials'] },
};

/** Short names the CLI accepts for grant types with long URNs. */
const GRANT_ALIASES: Record<string, string> = { device_code: DEVICE_CODE };

/** What create and update may set; absent fields are left as they are (update) or defaulted (create). */
export interface ApplicationInput {
  name?: string;
  callbacks?: string[];
  logoutCallbacks?: string[];
  /** Replaces the type's defaults. */
  grants?: string[];
  /** First-party: never ask consent. */
  skipConsent?: boolean;
  idTokenSigningAlg?: string;
  /** Refresh tokens for openid-only sign-ins. */
  allowOfflineAccess?: boolean;
  /** PKCE required in the code flow (the default); only a confidential client may turn it off. */
  requirePkce?: boolean;
  /** No sign-up on this application's login page. */
  hideSignup?: boolean;
  /** At most 140 characters; '' clears it. */
  description?: string;
  /** An http(s) URL; '' clears it. */
  logoUri?: string;
  /** Merged into what is stored: a key sent as null is removed, an empty object removes all. */
  clientMetadata?: Record<string, string | null>;
  webOrigins?: string[];
  tokenEndpointAuthMethod?: string;
}

export interface NewApplication extends ApplicationInput {
  name: string;
  type: string;
}

/**
 * The callbacks (or logout URLs) `uris`, each checked by the rules of registration; those in
 * `kept` (the list stored already) were taken under the rules of their day and are not refused
 * now, so that a rule made stricter since never blocks saving the rest of an application.
 */
function checkUris(
  field: string,
  uris: string[],
  type: ApplicationType,
  kept: readonly string[] = [],
): string[] {
  if (type === 'm2m' && uris.length > 0)
    throw new ValidationError(`${field}: m2m applications have no callbacks`);
  checkUriList(field, uris);
  for (const uri of uris) {
    if (kept.includes(uri)) continue;
    const problem = checkRedirectUri(uri, type as 'web' | 'spa' | 'native');
    if (problem) throw new ValidationError(`${field} ${JSON.stringify(uri)}: ${problem}`);
  }
  return [...new Set(uris)];
}

function checkGrants(grants: string[] | undefined, type: ApplicationType): string[] {
  const rule = GRANTS_BY_TYPE[type];
  if (!grants || grants.length === 0) return [...rule.defaults];
  const named = grants.map((g) => (Object.hasOwn(GRANT_ALIASES, g) ? GRANT_ALIASES[g]! : g));
  for (const g of named) {
    if (!rule.allowed.includes(g)) {
      throw new ValidationError(
        `grant_types ${JSON.stringify(g)}: ${type} applications may use ${rule.allowed.join(', ')}`,
      );
    }
  }
  return [...new Set(named)];
}

/**
 * Registers an application. Client ids are 32 random letters and digits (190 bits); confidential
 * applications get a 256-bit secret, returned once and stored only as SHA-256.
 */
export async function createApplication(
  storage: Storage,
  clock: Clock,
  input: NewApplication,
): Promise<{ app: Application; clientSecret?: string }> {
  const name = checkName('name', input.name, APP_NAME);
  const type = checkOneOf('app_type', input.type, APPLICATION_TYPES);
  const clientSecret = isConfidential(type) ? randomToken(32) : undefined;
  const now = clock.now();
  const app: Application = {
    clientId: randomId(32),
    name,
    type,
    secretHash: clientSecret ? sha256(clientSecret) : null,
    callbacks: checkUris('callbacks', input.callbacks ?? [], type),
    logoutCallbacks: checkUris('allowed_logout_urls', input.logoutCallbacks ?? [], type),
    grantTypes: checkGrants(input.grants, type),
    settings: applySettings({}, input, type),
    isSystem: false,
    createdAt: now,
    updatedAt: now,
  };
  await storage.applications.create(app);
  return clientSecret ? { app, clientSecret } : { app };
}

/** Changes an application: the same rules as create, for the fields given. */
export async function updateApplication(
  storage: Storage,
  clock: Clock,
  clientId: string,
  input: ApplicationInput,
): Promise<Application> {
  // Read and written whole with the row held: two updates at once each keep what they sent.
  return storage.transaction(async (tx) => {
    await tx.applications.hold(clientId);
    const app = await getApplication(tx, clientId);
    if (app.isSystem)
      throw new ForbiddenError(`application ${clientId} is part of Sesame and cannot be changed`);
    const next: Application = {
      ...app,
      ...(input.name !== undefined ? { name: checkName('name', input.name, APP_NAME) } : {}),
      ...(input.callbacks !== undefined
        ? { callbacks: checkUris('callbacks', input.callbacks, app.type, app.callbacks) }
        : {}),
      ...(input.logoutCallbacks !== undefined
        ? {
            logoutCallbacks: checkUris(
              'allowed_logout_urls',
              input.logoutCallbacks,
              app.type,
              app.logoutCallbacks,
            ),
          }
        : {}),
      // an empty list on update is no grants at all (on create it is the type's defaults)
      ...(input.grants !== undefined
        ? { grantTypes: input.grants.length === 0 ? [] : checkGrants(input.grants, app.type) }
        : {}),
      settings: applySettings(app.settings, input, app.type),
      updatedAt: clock.now(),
    };
    await tx.applications.update(clientId, next, next.updatedAt);
    return next;
  });
}

/** The application, or NotFoundError naming the id. */
export async function getApplication(storage: Storage, clientId: string): Promise<Application> {
  const app = await storage.applications.get(clientId);
  if (!app) throw new NotFoundError(`application ${clientId} not found`);
  return app;
}

/** A slice of the applications the filter names (types as given, checked), and how many there are in all. */
export async function listApplications(
  storage: Storage,
  filter: Omit<ApplicationFilter, 'types'> & { types?: string[] },
  slice?: Slice,
): Promise<{ items: Application[]; total: () => Promise<number> }> {
  const { types, ...rest } = filter;
  const f: ApplicationFilter =
    types === undefined
      ? rest
      : { ...rest, types: types.map((t) => checkOneOf('app_type', t, APPLICATION_TYPES)) };
  return { items: await storage.applications.list(f, slice), total: () => storage.applications.count(f) };
}

/** Replaces a confidential application's secret; the old one stops working at once. */
export async function rotateSecret(storage: Storage, clock: Clock, clientId: string): Promise<string> {
  const app = await getApplication(storage, clientId);
  if (app.isSystem)
    throw new ForbiddenError(
      `application ${clientId} is part of Sesame: its secret follows the instance key`,
    );
  if (app.secretHash === null)
    throw new ValidationError(`application ${clientId} is public and has no secret`);
  const secret = randomToken(32);
  await storage.applications.setSecretHash(clientId, sha256(secret), clock.now());
  return secret;
}

/**
 * Deletes an application with its client grants and consents, and ends what it was issued:
 * its refresh tokens and the access tokens recorded for people (machine tokens stop at
 * introspection and at the Management API, which check that the client still exists).
 */
export async function deleteApplication(storage: Storage, clock: Clock, clientId: string): Promise<void> {
  const app = await getApplication(storage, clientId);
  if (app.isSystem)
    throw new ForbiddenError(`application ${clientId} is part of Sesame and cannot be deleted`);
  await storage.transaction(async (tx) => {
    await endApplicationTokens(tx, clientId, clock.now());
    await tx.consents.deleteWhere({ clientId });
    await tx.applications.delete(clientId);
  });
}

/**
 * Authorizes an application that uses client_credentials to get tokens for an API with the
 * given scopes (Auth0's client grant), or (subject type `user`) to ask for people's tokens for
 * it within these scopes; replaces the scopes of an earlier authorization.
 */
export async function authorizeApplication(
  storage: Storage,
  clock: Clock,
  clientId: string,
  apiIdentifier: string,
  scopes: string[],
  subjectType: SubjectType = 'client',
): Promise<ClientGrant> {
  const app = await getApplication(storage, clientId);
  if (subjectType === 'client' && !app.grantTypes.includes('client_credentials')) {
    throw new ValidationError(`application ${clientId} does not use the client_credentials grant`);
  }
  const api = await storage.apis.getByIdentifier(apiIdentifier);
  if (!api) throw new NotFoundError(`API ${apiIdentifier} not found`);
  for (const s of scopes) {
    if (!api.scopes.some((d) => d.name === s))
      throw new ValidationError(`scope ${s}: not defined by ${apiIdentifier}`);
  }
  return storage.clientGrants.upsert({
    id: `cgr_${randomToken(12)}`,
    clientId,
    apiId: api.id,
    scopes: [...new Set(scopes)],
    ...(subjectType === 'user' ? { subjectType } : {}),
    createdAt: clock.now(),
  });
}

/**
 * Takes an application's access to an API away (its client grant of `subjectType`): it gets no
 * new tokens for that API; access tokens it holds run out on their own (machine tokens are on no
 * record). Returns the grant deleted.
 */
export async function deauthorizeApplication(
  storage: Storage,
  clientId: string,
  apiIdentifier: string,
  subjectType: SubjectType = 'client',
): Promise<ClientGrant> {
  const app = await getApplication(storage, clientId);
  const api = await storage.apis.getByIdentifier(apiIdentifier);
  if (!api) throw new NotFoundError(`API ${apiIdentifier} not found`);
  const grant = await storage.clientGrants.get(app.clientId, api.id, subjectType);
  if (!grant || !(await storage.clientGrants.deleteById(grant.id)))
    throw new NotFoundError(
      `application ${clientId} is not authorized for ${apiIdentifier} (${subjectType})`,
    );
  return grant;
}
