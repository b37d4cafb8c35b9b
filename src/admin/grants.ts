import { writeEvent } from '../events/log.js';
import type { Consent, ConsentFilter, Repositories, Slice, Storage, User } from '../storage/types.js';
import type { Clock } from '../util/clock.js';
import { NotFoundError } from './errors.js';
import { withdrawConsent } from './revoke.js';

/** A slice of the consents people gave (Auth0's grants), and how many match in all. */
export async function listGrants(storage: Storage, filter: ConsentFilter, slice?: Slice) {
  return { items: await storage.consents.list(filter, slice), total: () => storage.consents.count(filter) };
}

/** Revokes a consent and ends the refresh and access tokens issued under it. */
export async function deleteGrant(storage: Storage, clock: Clock, id: string): Promise<Consent> {
  const consent = await storage.consents.getById(id);
  if (!consent) throw new NotFoundError(`grant ${id} not found`);
  const user = await storage.users.get(consent.userId);
  const app = await storage.applications.get(consent.clientId);
  await storage.transaction((tx) => revokeGrant(tx, clock, consent, user?.email, app?.name));
  return consent;
}

/** Revokes every consent of a user (`DELETE /grants?user_id=`), each logged as `consent_revoked`. */
export async function deleteUserGrants(storage: Storage, clock: Clock, user: User): Promise<void> {
  // Names for the events, read first: on SQLite the transaction holds the only connection.
  const names = new Map<string, string | undefined>();
  for (const c of await storage.consents.list({ userId: user.id }))
    if (!names.has(c.clientId)) names.set(c.clientId, (await storage.applications.get(c.clientId))?.name);
  await storage.transaction(async (tx) => {
    for (const consent of await tx.consents.list({ userId: user.id }))
      await revokeGrant(tx, clock, consent, user.email, names.get(consent.clientId));
  });
}

async function revokeGrant(
  tx: Repositories,
  clock: Clock,
  consent: Consent,
  userName: string | undefined,
  clientName: string | undefined,
): Promise<void> {
  await withdrawConsent(tx, consent, clock.now());
  await writeEvent(tx.logs, clock, {
    type: 'consent_revoked',
    userId: consent.userId,
    userName,
    clientId: consent.clientId,
    clientName,
    ...(consent.audience ? { audience: consent.audience } : {}),
    scope: consent.scopes.join(' '),
  });
}
