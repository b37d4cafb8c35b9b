import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApi } from '../../src/admin/apis.js';
import { createApplication } from '../../src/admin/applications.js';
import {
  type ClientGrantCheck,
  createClientGrant,
  deleteClientGrant,
  updateClientGrant,
} from '../../src/admin/client-grants.js';
import { ConflictError } from '../../src/admin/errors.js';
import { createUser, setBlocked, updateUser } from '../../src/admin/users.js';
import type { ClientGrant, Storage } from '../../src/storage/types.js';
import { TestClock } from '../support/app.js';
import { createTestDatabase, describeEachBackend, type TestDatabase } from '../support/databases.js';
import { T0, unique } from '../support/records.js';

/*
 * A change whose caller was checked against what it changes (the Management API's delegation:
 * nobody takes away Management API permissions they do not hold, nobody unblocks or renames a
 * stronger peer) is checked against the row as the change's own transaction holds it. A change
 * committed by another instance between the check and the write is seen by the check, or refuses
 * the write; it never slips past it.
 */

describeEachBackend('changes checked against the row they hold', (backend) => {
  const clock = new TestClock(T0);
  let db: TestDatabase;
  /**
   * Two instances on one database. On SQLite, one: a process's transactions queue for its one
   * connection, and another process's wait in SQLite's lock, synchronously, which in this one
   * test process would stop the event loop the first transaction needs to finish.
   */
  let one: Storage;
  let other: Storage;

  beforeAll(async () => {
    db = await createTestDatabase(backend);
    one = db.open(clock);
    await one.migrate();
    other = backend === 'postgres' ? db.open(clock) : one;
  });
  afterAll(async () => {
    if (other !== one) await other?.close();
    await one?.close();
    await db?.drop();
  });

  async function grant(scopes: string[]): Promise<ClientGrant> {
    const api = await createApi(
      one,
      clock,
      {
        name: 'Held API',
        identifier: `https://${unique('held').toLowerCase()}.example/`,
        scopes: ['a', 'b', 'c'],
      },
      600,
    );
    const { app } = await createApplication(one, clock, { name: 'Held machine', type: 'm2m' });
    return createClientGrant(one, clock, { clientId: app.clientId, audience: api.identifier, scopes });
  }

  /** Starts a transaction on `one` that changes the grant's scopes and waits for `release` to commit. */
  function changeMeanwhile(id: string, scopes: string[]) {
    let release!: () => void;
    let holding!: () => void;
    const held = new Promise<void>((r) => {
      holding = r;
    });
    const done = one.transaction(async (tx) => {
      expect(await tx.clientGrants.hold(id)).toBe(true);
      await tx.clientGrants.setScopes(id, scopes);
      holding();
      await new Promise<void>((r) => {
        release = r;
      });
    });
    return { held, release: () => release(), done };
  }

  const settled = async (p: Promise<unknown>, ms = 300) =>
    Promise.race([
      p.then(
        () => true,
        () => true,
      ),
      new Promise((r) => setTimeout(() => r(false), ms)),
    ]);

  describe('client grants', () => {
    it('hold is true for a grant that exists, false for none', async () => {
      const g = await grant(['a']);
      await one.transaction(async (tx) => {
        expect(await tx.clientGrants.hold(g.id)).toBe(true);
        expect(await tx.clientGrants.hold(unique('cgr'))).toBe(false);
      });
    });

    it('a scope change waits for one committing meanwhile, and its check sees that one', async () => {
      const g = await grant(['a']);
      const meanwhile = changeMeanwhile(g.id, ['a', 'c']);
      await meanwhile.held;
      const seen: string[][] = [];
      const check: ClientGrantCheck = (heldGrant) => {
        seen.push(heldGrant.scopes);
        if (heldGrant.scopes.includes('c')) throw new Error('refused: c would go');
      };
      const change = updateClientGrant(other, g.id, ['a', 'b'], check);
      expect(await settled(change)).toBe(false); // it waits for the row
      meanwhile.release();
      await meanwhile.done;
      await expect(change).rejects.toThrow('refused: c would go');
      expect(seen).toEqual([['a', 'c']]);
      expect((await one.clientGrants.getById(g.id))?.scopes).toEqual(['a', 'c']);
    });

    it('a deletion is checked the same way, and a refused check deletes nothing', async () => {
      const g = await grant(['a']);
      const meanwhile = changeMeanwhile(g.id, ['a', 'b']);
      await meanwhile.held;
      const deletion = deleteClientGrant(other, g.id, (heldGrant, scopes) => {
        expect(scopes).toEqual([]);
        if (heldGrant.scopes.includes('b')) throw new Error('refused: b would go');
      });
      expect(await settled(deletion)).toBe(false);
      meanwhile.release();
      await meanwhile.done;
      await expect(deletion).rejects.toThrow('refused: b would go');
      expect(await one.clientGrants.getById(g.id)).not.toBeNull();
      await deleteClientGrant(other, g.id, () => {});
      expect(await one.clientGrants.getById(g.id)).toBeNull();
    });

    it('a check that passes lets the change through', async () => {
      const g = await grant(['a']);
      expect((await updateClientGrant(other, g.id, ['b', 'b'], () => {})).scopes).toEqual(['b']);
      expect((await one.clientGrants.getById(g.id))?.scopes).toEqual(['b']);
    });
  });

  describe('users', () => {
    it('a change that relied on the email and block as read is refused (409) when either changed since', async () => {
      const u = await createUser(one, clock, {
        email: `${unique('held').toLowerCase()}@example.com`,
        password: 'a long enough password',
        claims: { name: 'Before' },
      });
      const asRead = { email: u.email, blocked: u.blocked };
      await setBlocked(other, clock, u.id, true); // an admin blocks them meanwhile
      const refused = updateUser(
        one,
        clock,
        u.id,
        { blocked: false, claims: { name: 'After' } },
        undefined,
        asRead,
      );
      await expect(refused).rejects.toBeInstanceOf(ConflictError);
      expect(await one.users.get(u.id)).toMatchObject({ blocked: true, claims: { name: 'Before' } });
      const fresh = { email: u.email, blocked: true };
      expect(
        await updateUser(one, clock, u.id, { claims: { name: 'After' } }, undefined, fresh),
      ).toMatchObject({
        blocked: true,
        claims: { name: 'After' },
      });
    });
  });
});
