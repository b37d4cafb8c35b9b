import { writeEvent } from '../events/log.js';
import type { Consent, ConsentFilter, Slice, Storage } from '../storage/types.js';
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
  await storage.transaction(async (tx) => {
    await withdrawConsent(tx, consent, clock.now());
    await writeEvent(tx.logs, clock, {
      type: 'consent_revoked',
      userId: consent.userId,
      userName: user?.email,
      clientId: consent.clientId,
      clientName: app?.name,
      ...(consent.audience ? { audience: consent.audience } : {}),
      scope: consent.scopes.join(' '),
    });
  });
  return consent;
}
