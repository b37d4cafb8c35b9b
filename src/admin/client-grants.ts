import type { ClientGrant, Slice, Storage, SubjectType } from '../storage/types.js';
import type { Clock } from '../util/clock.js';
import { randomToken } from '../util/crypto.js';
import { getApi } from './apis.js';
import { getApplication } from './applications.js';
import { ConflictError, NotFoundError, ValidationError } from './errors.js';

/** The scopes, each defined by the API, without repeats. */
async function checkGrantScopes(storage: Storage, apiId: string, scopes: string[]): Promise<string[]> {
  const api = await getApi(storage, apiId);
  for (const s of scopes) {
    if (!api.scopes.some((d) => d.name === s))
      throw new ValidationError(`scope ${s}: not defined by ${api.identifier}`);
  }
  return [...new Set(scopes)];
}

/**
 * Creates a client grant (Auth0's): the application may get client-credentials tokens for the
 * API with these scopes (subject type `client`), or may ask for people's tokens for it within
 * these scopes (`user`, for APIs whose policy requires a client grant). One of each per
 * application and API; a second is a conflict.
 */
export async function createClientGrant(
  storage: Storage,
  clock: Clock,
  input: { clientId: string; audience: string; scopes: string[]; subjectType?: SubjectType },
): Promise<ClientGrant> {
  const app = await getApplication(storage, input.clientId);
  const subjectType = input.subjectType ?? 'client';
  if (subjectType === 'client' && !app.grantTypes.includes('client_credentials')) {
    throw new ValidationError(
      `client_id: application ${app.clientId} does not use the client_credentials grant`,
    );
  }
  const api = await storage.apis.getByIdentifier(input.audience);
  if (!api) throw new NotFoundError(`audience: no API with identifier ${input.audience}`);
  const scopes = await checkGrantScopes(storage, api.id, input.scopes);
  const taken = `a client grant (subject_type ${subjectType}) for ${app.clientId} and ${api.identifier} exists already`;
  if (await storage.clientGrants.get(app.clientId, api.id, subjectType)) throw new ConflictError(taken);
  const id = `cgr_${randomToken(12)}`;
  return storage.transaction(async (tx) => {
    const grant = await tx.clientGrants.upsert({
      id,
      clientId: app.clientId,
      apiId: api.id,
      scopes,
      ...(subjectType === 'user' ? { subjectType } : {}),
      createdAt: clock.now(),
    });
    // Two creations at once both passed the check: the later one met the first's row, and
    // rolls back rather than change its scopes.
    if (grant.id !== id) throw new ConflictError(taken);
    return grant;
  });
}

/** The client grant, or NotFoundError. */
export async function getClientGrant(storage: Storage, id: string): Promise<ClientGrant> {
  const grant = await storage.clientGrants.getById(id);
  if (!grant) throw new NotFoundError(`client grant ${id} not found`);
  return grant;
}

/**
 * What a caller may check of a client grant before it changes: the grant as held by the change's
 * transaction (so that no change made meanwhile slips past the check), and its new scopes (none
 * for a deletion). Throws to refuse.
 */
export type ClientGrantCheck = (held: ClientGrant, scopes: string[]) => void;

/** The grant, held until `tx` ends and checked by `check`, or NotFoundError. */
async function held(tx: Storage, id: string, scopes: string[], check?: ClientGrantCheck) {
  if (!(await tx.clientGrants.hold(id))) throw new NotFoundError(`client grant ${id} not found`);
  const grant = await getClientGrant(tx, id);
  check?.(grant, scopes);
  return grant;
}

/** Replaces a client grant's scopes. */
export async function updateClientGrant(
  storage: Storage,
  id: string,
  scopes: string[],
  check?: ClientGrantCheck,
): Promise<ClientGrant> {
  return storage.transaction(async (tx) => {
    const grant = await held(tx, id, scopes, check);
    const checked = await checkGrantScopes(tx, grant.apiId, scopes);
    await tx.clientGrants.setScopes(id, checked);
    return { ...grant, scopes: checked };
  });
}

/** Deletes a client grant: the application gets no new tokens for that API. */
export async function deleteClientGrant(
  storage: Storage,
  id: string,
  check?: ClientGrantCheck,
): Promise<void> {
  await storage.transaction(async (tx) => {
    await held(tx, id, [], check);
    await tx.clientGrants.deleteById(id);
  });
}

/** A slice of the client grants, of one application and/or one API (by identifier). */
export async function listClientGrants(
  storage: Storage,
  filter: { clientId?: string; audience?: string; subjectType?: SubjectType },
  slice?: Slice,
): Promise<{ items: ClientGrant[]; total: () => Promise<number> }> {
  let apiId: string | undefined;
  if (filter.audience !== undefined) {
    const api = await storage.apis.getByIdentifier(filter.audience);
    if (!api) return { items: [], total: async () => 0 };
    apiId = api.id;
  }
  const f = {
    ...(filter.clientId !== undefined ? { clientId: filter.clientId } : {}),
    ...(apiId ? { apiId } : {}),
    ...(filter.subjectType !== undefined ? { subjectType: filter.subjectType } : {}),
  };
  return { items: await storage.clientGrants.list(f, slice), total: () => storage.clientGrants.count(f) };
}
