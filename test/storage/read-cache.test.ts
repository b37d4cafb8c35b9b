import pg from 'pg';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { createApplication } from '../../src/admin/applications.js';
import { getSettings, updateSettings } from '../../src/admin/settings.js';
import { READ_CACHE_TTL_MS } from '../../src/storage/read-cache.js';
import { openStorage } from '../../src/storage/sql/index.js';
import { listenForChanges } from '../../src/storage/sql/postgres.js';
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

  /** A third storage on the database, with the SQL of every statement it runs. */
  function watchedStorage() {
    const seen: string[] = [];
    const queryListeners = new Set([(q: { sql: string }) => void seen.push(q.sql)]);
    return {
      storage: openStorage({ databaseUrl: db.url, dataDir: db.dataDir, clock, queryListeners }),
      seen,
    };
  }

  it('serves a second read from memory, frozen: a caller cannot spoil it for the next one', async () => {
    const { app } = await createApplication(a, clock, { name: 'One', type: 'm2m' });
    const { storage: c, seen } = watchedStorage();
    try {
      const first = await c.applications.get(app.clientId);
      expect(() => {
        first!.name = 'spoiled';
      }).toThrow(TypeError);
      expect(() => first!.grantTypes.push('password')).toThrow(TypeError);
      const second = await c.applications.get(app.clientId);
      expect(second!.name).toBe('One');
      expect(second!.grantTypes).not.toContain('password');
      expect(Object.isFrozen(second)).toBe(true);
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

  it(
    backend === 'sqlite'
      ? 'keeps the tenant settings (none stored too), and sees a change here or by another process at once'
      : `keeps the tenant settings (none stored too), and sees a change here at once, another instance's within ${READ_CACHE_TTL_MS} ms`,
    async () => {
      const { storage: c, seen } = watchedStorage();
      const reads = () => seen.filter((q) => q.includes('settings') && q.startsWith('select')).length;
      try {
        expect(await getSettings(c)).toEqual({});
        expect(await getSettings(c)).toEqual({});
        expect(reads()).toBe(1);
        // a write to something else (an application, in a transaction or not) leaves them kept
        await createApplication(c, clock, { name: 'Unrelated', type: 'm2m' });
        await c.applications.update(
          (await c.applications.list())[0]!.clientId,
          { name: 'Renamed' },
          clock.now(),
        );
        expect(await getSettings(c)).toEqual({});
        expect(reads()).toBe(1);
        // changed here (the Management API, the console): the next read has it
        await updateSettings(c, clock, { friendly_name: 'Here' });
        expect((await getSettings(c)).friendly_name).toBe('Here');
        // by another process (the CLI next to a running server)
        await updateSettings(b, clock, { friendly_name: 'There' });
        if (backend === 'postgres') await new Promise((r) => setTimeout(r, READ_CACHE_TTL_MS + 50));
        c.beginRequest();
        expect((await getSettings(c)).friendly_name).toBe('There');
        const before = reads();
        expect((await getSettings(c)).friendly_name).toBe('There');
        expect(reads()).toBe(before);
      } finally {
        await c.close();
      }
    },
  );

  it(
    backend === 'sqlite'
      ? 'keeps revocation lookups too, and sees a revocation made here or by another process at once'
      : 'looks revocations up every time (another instance must be heard at once)',
    async () => {
      const { storage: c, seen } = watchedStorage();
      const lookups = () => seen.filter((q) => q.includes('revoked_tokens') && q.startsWith('select')).length;
      const exp = clock.now() + 600;
      try {
        expect(await c.revocations.isRevoked('jti-1')).toBe(false);
        expect(await c.revocations.isRevoked('jti-1')).toBe(false);
        expect(lookups()).toBe(backend === 'sqlite' ? 1 : 2);
        // another process (connection) revokes it: seen by the next request that begins
        await b.revocations.revoke('jti-1', exp);
        c.beginRequest();
        expect(await c.revocations.isRevoked('jti-1')).toBe(true);
        // revoked here: seen at once
        expect(await c.revocations.isRevoked('jti-2')).toBe(false);
        await c.revocations.revoke('jti-2', exp);
        expect(await c.revocations.isRevoked('jti-2')).toBe(true);
        // and in a transaction, once it commits
        expect(await c.revocations.isRevoked('jti-3')).toBe(false);
        await c.transaction(async (tx) => {
          await tx.revocations.revoke('jti-3', exp);
          expect(await tx.revocations.isRevoked('jti-3')).toBe(true);
        });
        expect(await c.revocations.isRevoked('jti-3')).toBe(true);
      } finally {
        await c.close();
      }
    },
  );

  if (backend === 'postgres') {
    it("a server that listens sees another instance's change at once (NOTIFY), also after its listening connection was cut (and says so)", {
      timeout: 30_000,
    }, async () => {
      const { app } = await createApplication(a, clock, { name: 'v0', type: 'm2m' });
      const reports: string[] = [];
      const server = openStorage({
        databaseUrl: db.url,
        dataDir: db.dataDir,
        clock,
        listen: true,
        onListener: (state) => reports.push(state),
      });
      let version = 0;
      /** A change by `b`, and how long until `server` serves it (null: not within `ms`). */
      const change = async (ms: number): Promise<number | null> => {
        // served from the cache (the listener's first LISTEN clears it once, at any moment)
        let served = 0;
        for (let cached = null; served < 20; served++) {
          const read = await server.applications.get(app.clientId);
          if (read === cached) break;
          cached = read;
        }
        expect(served).toBeLessThan(20);
        const name = `v${++version}`;
        await b.applications.update(app.clientId, { name }, clock.now());
        const start = performance.now();
        while (performance.now() - start < ms) {
          if ((await server.applications.get(app.clientId))!.name === name) return performance.now() - start;
          await new Promise((r) => setTimeout(r, 5));
        }
        return null;
      };
      /** Changes until one is seen within 300 ms (the listener may still be connecting). */
      const seenFast = async () => {
        for (let i = 0; i < 10; i++)
          if ((await change(READ_CACHE_TTL_MS + 500)) !== null && (await change(300)) !== null) return true;
        return false;
      };
      try {
        expect(await seenFast()).toBe(true);
        // well under the cache's own bound: only the notification explains it
        expect(await change(300)).not.toBeNull();
        // cut the listening connection: the server listens again (and clears) by itself
        const admin = new pg.Client({ connectionString: db.url });
        await admin.connect();
        const { rowCount } = await admin.query(
          `select pg_terminate_backend(pid) from pg_stat_activity
            where datname = current_database() and query = 'LISTEN sesame_cache' and pid <> pg_backend_pid()`,
        );
        await admin.end();
        expect(rowCount).toBe(1);
        expect(await seenFast()).toBe(true);
        // told once that it was lost (not at each retry), and once that it listens again
        expect(reports).toEqual(['lost', 'listening']);
      } finally {
        await server.close();
      }
    });
  }
});

describe('change listener', () => {
  it('that cannot connect says so once, not at each retry, and clears the cache at each', async () => {
    const reports: string[] = [];
    let changes = 0;
    // port 1: nothing listens, every attempt is refused at once
    const listener = listenForChanges(
      'postgres://sesame@127.0.0.1:1/none',
      'me',
      () => changes++,
      (state) => reports.push(state),
    );
    try {
      // the first attempt and at least one retry (a second apart), however busy the machine
      await vi.waitFor(() => expect(changes).toBeGreaterThanOrEqual(2), { timeout: 10_000, interval: 50 });
      expect(reports).toEqual(['lost']);
    } finally {
      await listener.close();
    }
  });
});
