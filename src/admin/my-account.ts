import { hashPassword } from '../accounts/password.js';
import { writeEvent } from '../events/log.js';
import type { Repositories, Storage, User } from '../storage/types.js';
import type { Clock } from '../util/clock.js';
import { endOtherSessionsAndTokens, endUserApplicationTokens } from './revoke.js';
import { heldUser, removeUser } from './users.js';

export { otherBrowsersSignIns, signOutOtherBrowsers } from './revoke.js';

/** An application that holds something of the person: a consent, or live refresh tokens. */
export interface ConnectedApplication {
  clientId: string;
  name: string;
  /** What they consented to, per API ('' for sign-in only). */
  grants: { audience: string; scopes: string[] }[];
  /** Live refresh tokens (signed-in devices or sessions of the application). */
  refreshTokens: number;
}

/** The applications connected to a person (their consents and their live refresh tokens). */
export async function connectedApplications(
  storage: Storage,
  userId: string,
  now: number,
): Promise<ConnectedApplication[]> {
  const byClient = new Map<string, ConnectedApplication>();
  const entry = async (clientId: string) => {
    let e = byClient.get(clientId);
    if (!e) {
      const app = await storage.applications.get(clientId);
      e = { clientId, name: app?.name ?? clientId, grants: [], refreshTokens: 0 };
      byClient.set(clientId, e);
    }
    return e;
  };
  for (const c of await storage.consents.list({ userId }, { offset: 0, limit: 100 })) {
    (await entry(c.clientId)).grants.push({ audience: c.audience, scopes: c.scopes });
  }
  for (const rt of await storage.refreshTokens.listLive({ userId }, now, { offset: 0, limit: 500 })) {
    (await entry(rt.clientId)).refreshTokens++;
  }
  return [...byClient.values()].sort((a, b) => a.name.localeCompare(b.name));
}

/** Disconnects an application the person chose on /account; false when it held nothing of them. */
export async function disconnectApplication(
  storage: Storage,
  clock: Clock,
  user: User,
  clientId: string,
): Promise<boolean> {
  const now = clock.now();
  if (!(await connectedApplications(storage, user.id, now)).some((a) => a.clientId === clientId))
    return false;
  const app = await storage.applications.get(clientId);
  await storage.transaction(async (tx) => {
    await endUserApplicationTokens(tx, user.id, clientId, now);
    await writeEvent(tx.logs, clock, {
      type: 'consent_revoked',
      userId: user.id,
      userName: user.email,
      clientId,
      ...(app ? { clientName: app.name } : {}),
      details: { by: 'user' },
    });
  });
  return true;
}

/**
 * In `tx`, with the person's row held: whether it is still as it was when their current password
 * was checked (`user`): 'same'; 'changed' when a reset, an admin or another page changed the
 * password or blocked them since (what was checked proves nothing now); 'gone' when deleted.
 */
async function stillAsChecked(tx: Storage, user: User): Promise<'same' | 'changed' | 'gone'> {
  const fresh = await heldUser(tx, user.id);
  if (!fresh) return 'gone';
  return fresh.passwordHash === user.passwordHash && !fresh.blocked ? 'same' : 'changed';
}

/**
 * The person's new password (already checked against the policy): other sessions and all tokens
 * end. False, and nothing changes, when the account changed since `user` was read.
 */
export async function changeOwnPassword(
  storage: Storage,
  clock: Clock,
  user: User,
  keepSession: string,
  password: string,
  /** Queues the notice of the change in its transaction. */
  notify: (tx: Repositories) => Promise<void>,
): Promise<boolean> {
  const passwordHash = await hashPassword(password);
  return storage.transaction(async (tx) => {
    if ((await stillAsChecked(tx, user)) !== 'same') return false;
    const now = clock.now();
    await tx.users.update(user.id, { passwordHash }, now);
    await tx.accountTickets.supersede(user.id, 'password_reset', now);
    await endOtherSessionsAndTokens(tx, user.id, keepSession, now);
    await writeEvent(tx.logs, clock, {
      type: 'scp',
      userId: user.id,
      userName: user.email,
      details: { by: 'user' },
    });
    await notify(tx);
    return true;
  });
}

/**
 * Deletes the person's account, whose password they just gave: false, and nothing changes, when
 * the account changed since `user` was read; true also when it is gone already (a second click).
 */
export async function deleteOwnAccount(storage: Storage, clock: Clock, user: User): Promise<boolean> {
  return storage.transaction(async (tx) => {
    const state = await stillAsChecked(tx, user);
    if (state === 'same') await removeUser(tx, clock, user);
    return state !== 'changed';
  });
}
