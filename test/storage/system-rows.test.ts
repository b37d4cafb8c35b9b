import { afterAll, beforeAll, expect, it } from 'vitest';
import { ADMIN_ROLE_ID, ensureManagementApi, MANAGEMENT_API_ID } from '../../src/admin/system.js';
import type { Storage } from '../../src/storage/types.js';
import { TestClock } from '../support/app.js';
import { createTestDatabase, describeEachBackend, type TestDatabase } from '../support/databases.js';
import { T0 } from '../support/records.js';

/*
 * Processes starting at once on a new database (the first start with --workers, two CLI commands)
 * each make the Management API and the Sesame Admin role; none of them fails on the other's row.
 * On PostgreSQL `on conflict (id)` alone did not cover a row committed meanwhile and met in the
 * identifier's or the name's unique index.
 */
describeEachBackend('system rows made by processes at once', (backend) => {
  const clock = new TestClock(T0);
  let db: TestDatabase;
  const instances: Storage[] = [];

  beforeAll(async () => {
    db = await createTestDatabase(backend);
    const first = db.open(clock);
    await first.migrate();
    instances.push(first);
    // SQLite: one process's writes queue on its one connection; several open the same file
    for (let i = 1; i < 4; i++) instances.push(db.open(clock));
  });
  afterAll(async () => {
    for (const s of instances) await s.close();
    await db?.drop();
  });

  it('forty rounds of four at once on an empty tenant: every one succeeds, one API and one role', async () => {
    const [first] = instances as [Storage];
    for (let round = 0; round < 40; round++) {
      await first.roles.delete(ADMIN_ROLE_ID).catch(() => false);
      await first.apis.delete(MANAGEMENT_API_ID).catch(() => false);
      const results = await Promise.allSettled(
        instances.map((s) => ensureManagementApi(s, clock, 'https://sesame.test/', round % 2 === 0)),
      );
      const failures = results.flatMap((r) => (r.status === 'rejected' ? [String(r.reason)] : []));
      expect(failures, `round ${round}`).toEqual([]);
      expect((await first.apis.list()).filter((a) => a.isSystem)).toHaveLength(1);
      expect(await first.roles.get(ADMIN_ROLE_ID)).not.toBeNull();
    }
  });
});
