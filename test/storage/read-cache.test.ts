import { afterEach, beforeEach, expect, it } from 'vitest';
import { createApplication } from '../../src/admin/applications.js';
import { READ_CACHE_TTL_MS } from '../../src/storage/read-cache.js';
import { openStorage } from '../../src/storage/sql/index.js';
import type { Storage } from '../../src/storage/types.js';
import { TestClock } from '../support/app.js';
import { createTestDatabase, describeEachBackend, type TestDatabase } from '../support/databases.js';

/** The read cache of applications, APIs and client grants (#16): fast, never wrong for long. */
describeEachBackend('read cache', (backend) => {
  const clock = new TestClock();
  let db: TestDatabase;
  let a: Storage;
  let b: Storage;

  beforeEach(async () => {
    db = await createTestDatabase(backend);
    a = db.open(clock);
    await a.migrate();
    b = db.open(clock);
  });
  afterEach(async () => {
    await a.close();
    await b.close();
    await db.drop();
  });

  it('serves a second read from memory, as a copy the caller cannot spoil', async () => {
    const { app } = await createApplication(a, clock, { name: 'One', type: 'm2m' });
    const seen: string[] = [];
    const c = openStorage({
      databaseUrl: db.url,
      dataDir: db.dataDir,
      clock,
      queryListeners: new Set([(q) => seen.push(q.sql)]),
    });
    try {
      const first = await c.applications.get(app.clientId);
      first!.name = 'spoiled';
      expect((await c.applications.get(app.clientId))!.name).toBe('One');
      expect(seen).toHaveLength(1);
    } finally {
      await c.close();
    }
  });

  it('sees its own writes at once, also from a transaction once it commits', async () => {
    const { app } = await createApplication(a, clock, { name: 'One', type: 'm2m' });
    expect((await a.applications.get(app.clientId))!.name).toBe('One');
    await a.applications.update(app.clientId, { name: 'Two' }, clock.now());
    expect((await a.applications.get(app.clientId))!.name).toBe('Two');
    await a.transaction(async (tx) => {
      await tx.applications.update(app.clientId, { name: 'Three' }, clock.now());
      expect((await tx.applications.get(app.clientId))!.name).toBe('Three');
    });
    expect((await a.applications.get(app.clientId))!.name).toBe('Three');
    await a.applications.delete(app.clientId);
    expect(await a.applications.get(app.clientId)).toBeNull();
  });

  it('a rolled-back change is not served', async () => {
    const { app } = await createApplication(a, clock, { name: 'One', type: 'm2m' });
    await expect(
      a.transaction(async (tx) => {
        await tx.applications.update(app.clientId, { name: 'Two' }, clock.now());
        throw new Error('roll back');
      }),
    ).rejects.toThrow('roll back');
    expect((await a.applications.get(app.clientId))!.name).toBe('One');
  });

  it(
    backend === 'sqlite'
      ? "sees another process's change at once (SQLite's data_version)"
      : `sees another instance's change within ${READ_CACHE_TTL_MS} ms`,
    async () => {
      const { app } = await createApplication(a, clock, { name: 'One', type: 'm2m' });
      expect((await a.applications.get(app.clientId))!.name).toBe('One');
      expect(await a.applications.get('not-yet')).toBeNull();
      await b.applications.update(app.clientId, { name: 'Two' }, clock.now());
      if (backend === 'postgres') await new Promise((r) => setTimeout(r, READ_CACHE_TTL_MS + 50));
      expect((await a.applications.get(app.clientId))!.name).toBe('Two');
    },
  );
});
