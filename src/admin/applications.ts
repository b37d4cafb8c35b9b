import { SIGNING_ALGS, type SigningAlg } from '../config/schema.js';
import { DEVICE_CODE } from '../protocol/grant-types.js';
import { checkRedirectUri } from '../protocol/redirect-uri.js';
import type {
  Application,
  ApplicationSettings,
  ApplicationType,
  ClientGrant,
  Storage,
} from '../storage/types.js';
import type { Clock } from '../util/clock.js';
import { randomId, randomToken, sha256 } from '../util/crypto.js';
import { NotFoundError, ValidationError } from './errors.js';

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

/** Confidential types hold a secret; spa and native are public clients (RFC 6749 §2.1). */
export const isConfidential = (type: ApplicationType): boolean => type === 'web' || type === 'm2m';

export interface NewApplication {
  name: string;
  type: string;
  callbacks?: string[];
  logoutCallbacks?: string[];
  grants?: string[];
  /** First-party: never ask consent. */
  skipConsent?: boolean;
  idTokenSigningAlg?: string;
  /** Refresh tokens for openid-only sign-ins. */
  allowOfflineAccess?: boolean;
}

function checkSettings(input: NewApplication, type: ApplicationType): ApplicationSettings {
  const settings: ApplicationSettings = {};
  if (input.skipConsent) settings.skipConsent = true;
  if (input.allowOfflineAccess) settings.allowOfflineAccess = true;
  if (input.idTokenSigningAlg !== undefined) {
    if (!(SIGNING_ALGS as readonly string[]).includes(input.idTokenSigningAlg)) {
      throw new ValidationError(`id token signing alg: must be one of ${SIGNING_ALGS.join(', ')}`);
    }
    settings.idTokenSigningAlg = input.idTokenSigningAlg as SigningAlg;
  }
  if (type === 'm2m' && Object.keys(settings).length > 0) {
    throw new ValidationError('m2m applications do not sign people in; sign-in settings do not apply');
  }
  return settings;
}

function checkUris(field: string, uris: string[], type: ApplicationType): string[] {
  if (type === 'm2m' && uris.length > 0)
    throw new ValidationError(`${field}: m2m applications have no callbacks`);
  for (const uri of uris) {
    const problem = checkRedirectUri(uri, type as 'web' | 'spa' | 'native');
    if (problem) throw new ValidationError(`${field} ${JSON.stringify(uri)}: ${problem}`);
  }
  return [...new Set(uris)];
}

function checkGrants(grants: string[] | undefined, type: ApplicationType): string[] {
  const rule = GRANTS_BY_TYPE[type];
  if (!grants || grants.length === 0) return [...rule.defaults];
  const named = grants.map((g) => GRANT_ALIASES[g] ?? g);
  for (const g of named) {
    if (!rule.allowed.includes(g)) {
      throw new ValidationError(
        `grant ${JSON.stringify(g)}: ${type} applications may use ${rule.allowed.join(', ')}`,
      );
    }
  }
  return [...new Set(named)];
}

/**
 * Registers an application. Client ids are 32 random letters and digits (190 bits); confidential applications get a
 * 256-bit secret, returned once and stored only as SHA-256.
 */
export async function createApplication(
  storage: Storage,
  clock: Clock,
  input: NewApplication,
): Promise<{ app: Application; clientSecret?: string }> {
  const name = input.name.trim();
  if (name.length === 0 || name.length > 255) throw new ValidationError('name: must be 1 to 255 characters');
  if (!(APPLICATION_TYPES as readonly string[]).includes(input.type)) {
    throw new ValidationError(
      `type ${JSON.stringify(input.type)}: must be one of ${APPLICATION_TYPES.join(', ')}`,
    );
  }
  const type = input.type as ApplicationType;
  const clientSecret = isConfidential(type) ? randomToken(32) : undefined;
  const now = clock.now();
  const app: Application = {
    clientId: randomId(32),
    name,
    type,
    secretHash: clientSecret ? sha256(clientSecret) : null,
    callbacks: checkUris('callback', input.callbacks ?? [], type),
    logoutCallbacks: checkUris('logout callback', input.logoutCallbacks ?? [], type),
    grantTypes: checkGrants(input.grants, type),
    settings: checkSettings(input, type),
    createdAt: now,
    updatedAt: now,
  };
  await storage.applications.create(app);
  return clientSecret ? { app, clientSecret } : { app };
}

/** The application, or NotFoundError naming the id. */
export async function getApplication(storage: Storage, clientId: string): Promise<Application> {
  const app = await storage.applications.get(clientId);
  if (!app) throw new NotFoundError(`application ${clientId} not found`);
  return app;
}

/** Replaces a confidential application's secret; the old one stops working at once. */
export async function rotateSecret(storage: Storage, clock: Clock, clientId: string): Promise<string> {
  const app = await getApplication(storage, clientId);
  if (app.secretHash === null)
    throw new ValidationError(`application ${clientId} is public and has no secret`);
  const secret = randomToken(32);
  await storage.applications.setSecretHash(clientId, sha256(secret), clock.now());
  return secret;
}

/** Deletes an application and its client grants. */
export async function deleteApplication(storage: Storage, clientId: string): Promise<void> {
  const deleted = await storage.transaction((tx) => tx.applications.delete(clientId));
  if (!deleted) throw new NotFoundError(`application ${clientId} not found`);
}

/**
 * Authorizes an application that uses client_credentials to get tokens for an API with the
 * given scopes (Auth0's client grant); replaces the scopes of an earlier authorization.
 */
export async function authorizeApplication(
  storage: Storage,
  clock: Clock,
  clientId: string,
  apiIdentifier: string,
  scopes: string[],
): Promise<ClientGrant> {
  const app = await getApplication(storage, clientId);
  if (!app.grantTypes.includes('client_credentials')) {
    throw new ValidationError(`application ${clientId} does not use the client_credentials grant`);
  }
  const api = await storage.apis.getByIdentifier(apiIdentifier);
  if (!api) throw new NotFoundError(`API ${apiIdentifier} not found`);
  for (const s of scopes) {
    if (!api.scopes.some((d) => d.name === s))
      throw new ValidationError(`scope ${s}: not defined by ${apiIdentifier}`);
  }
  const grant: ClientGrant = {
    clientId,
    apiId: api.id,
    scopes: [...new Set(scopes)],
    createdAt: clock.now(),
  };
  await storage.clientGrants.upsert(grant);
  return grant;
}
