import { execFileSync } from 'node:child_process';
import net from 'node:net';
import pg from 'pg';
import client from 'prom-client';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { Metrics } from '../../src/metrics.js';
import { openStorage } from '../../src/storage/sql/index.js';
import { openPostgres } from '../../src/storage/sql/postgres.js';
import { precompiled } from '../../src/storage/sql/precompiled.js';
import type { Storage } from '../../src/storage/types.js';
import { TestClock } from '../support/app.js';
import { createTestDatabase, describeEachBackend, type TestDatabase } from '../support/databases.js';
import { refreshToken, T0, unique } from '../support/records.js';

/*
 * Writes whose result nobody reads (an access token's grant row, with or without its refresh
 * token) are held back on PostgreSQL to go with the transaction's next statement or its COMMIT,
 * and BEGIN with the first statement (src/storage/sql/postgres-pipeline.ts, #16). Whatever the
 * backend, a transaction must still read its own writes and stand or fall as a whole; on
 * PostgreSQL, a token response's transaction is two writes to the socket.
 */

const OWNER = { userId: 'u', clientId: 'c', audience: '' };

/** A script that ends every other connection to the database at $URL, and waits until they are gone. */
const TERMINATE_ALL = `
const pg = require('pg');
const c = new pg.Client({ connectionString: process.env.URL });
c.connect()
  .then(() => c.query('select pg_terminate_backend(pid, 5000) from pg_stat_activity where datname = current_database() and pid <> pg_backend_pid()'))
  .then(() => c.end());
`;

describeEachBackend('storage: writes held back to the next statement (#16)', (backend) => {
  const clock = new TestClock(T0);
  let db: TestDatabase;
  let storage: Storage;
  const dbUrl = () => db.url;

  beforeAll(async () => {
    db = await createTestDatabase(backend);
    storage = db.open(clock);
    await storage.migrate();
  });
  afterAll(async () => {
    await storage?.close();
    await db?.drop();
  });

  it('a transaction reads what it wrote before, held back or not', async () => {
    const grant = unique('grant');
    const seen = await storage.transaction(async (tx) => {
      await tx.grantTokens.add(grant, 'jti-1', T0 + 60, OWNER);
      return tx.grantTokens.list(grant);
    });
    expect(seen).toEqual([{ jti: 'jti-1', expiresAt: T0 + 60 }]);
    expect(await storage.grantTokens.list(grant)).toEqual(seen);
  });

  it('a held write is committed with the COMMIT, the refresh token beside it too', async () => {
    const grant = unique('grant');
    const rt = refreshToken({ grantId: grant });
    await storage.transaction((tx) => tx.grantTokens.addWithRefreshToken('jti-2', T0 + 60, rt));
    expect(await storage.grantTokens.list(grant)).toEqual([{ jti: 'jti-2', expiresAt: T0 + 60 }]);
    expect(await storage.refreshTokens.get(rt.hash)).toEqual(rt);
  });

  it('a held write that fails fails the transaction, and nothing of it stays', async () => {
    const grant = unique('grant');
    await storage.grantTokens.add(grant, 'taken', T0 + 60, OWNER);
    const earlier = refreshToken();
    const failing = storage.transaction(async (tx) => {
      await tx.refreshTokens.create(earlier);
      // the same (grant, jti) again: a primary-key violation, found at the latest by the COMMIT
      await tx.grantTokens.add(grant, 'taken', T0 + 120, OWNER);
    });
    await expect(failing).rejects.toThrow(/unique|primary key|duplicate/i);
    expect(await storage.refreshTokens.get(earlier.hash)).toBeNull();
    expect(await storage.grantTokens.list(grant)).toEqual([{ jti: 'taken', expiresAt: T0 + 60 }]);
  });

  it('a transaction that throws after a held write leaves nothing, and the next one works', async () => {
    const grant = unique('grant');
    const rt = refreshToken({ grantId: grant });
    const thrown = storage.transaction(async (tx) => {
      await tx.grantTokens.addWithRefreshToken('jti-3', T0 + 60, rt);
      throw new Error('signing failed');
    });
    await expect(thrown).rejects.toThrow('signing failed');
    expect(await storage.grantTokens.list(grant)).toEqual([]);
    expect(await storage.refreshTokens.get(rt.hash)).toBeNull();
    // nothing was left waiting on the connection: the next transaction stores only its own
    const next = unique('grant');
    await storage.transaction((tx) => tx.grantTokens.add(next, 'jti-4', T0 + 60, OWNER));
    expect(await storage.grantTokens.list(next)).toEqual([{ jti: 'jti-4', expiresAt: T0 + 60 }]);
    expect(await storage.grantTokens.list(grant)).toEqual([]);
  });

  it('a failing statement sent with BEGIN rolls the transaction back; the pool goes on', async () => {
    const rt = refreshToken();
    await storage.refreshTokens.create(rt);
    const failing = storage.transaction(async (tx) => {
      await tx.refreshTokens.create(rt); // the same hash again, the transaction's first statement
    });
    await expect(failing).rejects.toThrow(/unique|primary key|duplicate/i);
    const results = await Promise.all(
      Array.from({ length: 12 }, (_, i) =>
        storage.transaction(async (tx) => {
          const grant = unique('grant');
          await tx.grantTokens.add(grant, `jti-${i}`, T0 + 60, OWNER);
          return (await tx.grantTokens.list(grant)).length;
        }),
      ),
    );
    expect(results).toEqual(Array(12).fill(1));
  });

  it('an empty transaction commits and rolls back', async () => {
    await expect(storage.transaction(async () => 'nothing')).resolves.toBe('nothing');
    await expect(
      storage.transaction(async () => {
        throw new Error('before any statement');
      }),
    ).rejects.toThrow('before any statement');
  });

  it.runIf(backend === 'postgres')(
    'PostgreSQL: BEGIN goes with the first statement and the held write with COMMIT (two socket writes)',
    async () => {
      const rt = refreshToken();
      await storage.refreshTokens.create(rt);
      await storage.users.get('warm-up'); // the pool has a connection: no connection set-up counted
      let writes = 0;
      const proto = net.Socket.prototype as unknown as Record<
        '_write' | '_writev',
        (...a: unknown[]) => void
      >;
      const original = { write: proto._write, writev: proto._writev };
      proto._write = function (this: unknown, ...a: unknown[]) {
        writes++;
        return original.write.apply(this, a);
      };
      proto._writev = function (this: unknown, ...a: unknown[]) {
        writes++;
        return original.writev.apply(this, a);
      };
      try {
        const grant = unique('grant');
        await storage.transaction(async (tx) => {
          await tx.refreshTokens.get(rt.hash); // with BEGIN
          await tx.grantTokens.add(grant, 'jti-5', T0 + 60, OWNER); // held
        }); // with COMMIT
        expect(writes).toBe(2);
        expect(await storage.grantTokens.list(grant)).toEqual([{ jti: 'jti-5', expiresAt: T0 + 60 }]);
      } finally {
        proto._write = original.write;
        proto._writev = original.writev;
      }
    },
  );

  it.runIf(backend === 'postgres')(
    'PostgreSQL: the metrics count a held or unsent statement as held, not as an ok statement of no time',
    async () => {
      const metrics = new Metrics();
      const counted = openStorage({
        databaseUrl: dbUrl(),
        dataDir: db.dataDir,
        clock,
        queryListeners: new Set([metrics.query]),
      });
      /** The histogram's count for one kind and outcome, from the exposition text. */
      const count = async (kind: string, outcome: string) => {
        const text = await client.register.getSingleMetricAsString('sesame_db_query_duration_seconds');
        const line = `sesame_db_query_duration_seconds_count{kind="${kind}",outcome="${outcome}"} `;
        const found = text.split('\n').find((l) => l.startsWith(line));
        return found === undefined ? 0 : Number(found.slice(line.length));
      };
      try {
        await counted.transaction(async (tx) => {
          await tx.grantTokens.add(unique('grant'), 'jti-m', T0 + 60, OWNER); // held, goes with COMMIT
        });
        expect(await count('insert', 'held')).toBe(1);
        expect(await count('insert', 'ok')).toBe(0);
        expect(await count('commit', 'ok')).toBe(1);
        // a transaction that ran nothing sends nothing: its COMMIT is not counted as a statement
        await counted.transaction(async () => 'nothing');
        expect(await count('commit', 'held')).toBe(1);
        expect(await count('commit', 'ok')).toBe(1);
        await counted.transaction((tx) => tx.grantTokens.add(unique('grant'), 'jti-n', T0 + 60, OWNER));
        expect(await count('commit', 'ok')).toBe(2);
      } finally {
        await counted.close();
        client.register.clear();
      }
    },
  );
  it.runIf(backend === 'postgres')(
    'PostgreSQL: a transaction that caught a database error cannot commit (the server rolled it back)',
    async () => {
      const taken = refreshToken();
      await storage.refreshTokens.create(taken);
      const other = refreshToken();
      const swallowed = storage.transaction(async (tx) => {
        await tx.refreshTokens.create(other);
        await tx.refreshTokens.create(taken).catch(() => {}); // aborts the transaction
      });
      await expect(swallowed).rejects.toThrow(/rolled back/);
      expect(await storage.refreshTokens.get(other.hash)).toBeNull();
    },
  );

  it.runIf(backend === 'postgres')(
    'PostgreSQL: a write pg cannot send is never held, so the COMMIT never goes without it',
    async () => {
      const db = openPostgres(dbUrl());
      const put = precompiled(
        3,
        (d, key: string, value: unknown, at: number) =>
          d.insertInto('settings').values({ key, value: value as string, updated_at: at }),
        { unread: true },
      );
      const unsendable = {
        toPostgres() {
          throw new Error('cannot be sent');
        },
      };
      const [first, second] = [unique('k'), unique('k')];
      try {
        const failing = db.transaction().execute(async (trx) => {
          await put(trx, first, 'held, then rolled back', T0);
          await put(trx, second, unsendable, T0);
        });
        await expect(failing).rejects.toThrow('cannot be sent');
        const kept = await db
          .selectFrom('settings')
          .select('key')
          .where('key', 'in', [first, second])
          .execute();
        expect(kept).toEqual([]);
      } finally {
        await db.destroy();
      }
    },
  );

  it.runIf(backend === 'postgres')(
    'PostgreSQL: a read outside a transaction on a connection the server ended runs again on another',
    async () => {
      const rt = refreshToken();
      await storage.refreshTokens.create(rt);
      // the pool full of idle connections (ten)
      await Promise.all(Array.from({ length: 10 }, () => storage.refreshTokens.get(rt.hash)));
      // every one of them ended by the server while this process's event loop is blocked, so
      // that the reads below go out before the pool has read the server's notices
      execFileSync(process.execPath, ['-e', TERMINATE_ALL], { env: { ...process.env, URL: dbUrl() } });
      // three times as many as the pool holds: some wait, and must not be handed a lost connection
      const reads = await Promise.allSettled(
        Array.from({ length: 30 }, () => storage.refreshTokens.get(rt.hash)),
      );
      expect(reads.filter((r) => r.status === 'rejected')).toEqual([]);
      expect(reads.map((r) => r.status === 'fulfilled' && r.value?.hash)).toEqual(Array(30).fill(rt.hash));
    },
  );

  it.runIf(backend === 'postgres')(
    "PostgreSQL: a transaction's first round trip on a connection the server ended runs again on another",
    async () => {
      await Promise.all(Array.from({ length: 10 }, () => storage.refreshTokens.get('warm')));
      execFileSync(process.execPath, ['-e', TERMINATE_ALL], { env: { ...process.env, URL: dbUrl() } });
      const tokens = Array.from({ length: 30 }, () => refreshToken());
      // BEGIN, the held write and the read go in one round trip; nothing of it was saved when it failed
      const writes = await Promise.allSettled(
        tokens.map((rt) =>
          storage.transaction(async (tx) => {
            await tx.refreshTokens.create(rt);
            return (await tx.refreshTokens.get(rt.hash))?.hash;
          }),
        ),
      );
      expect(writes.filter((w) => w.status === 'rejected')).toEqual([]);
      expect(writes.map((w) => w.status === 'fulfilled' && w.value)).toEqual(tokens.map((rt) => rt.hash));
      for (const rt of tokens) expect((await storage.refreshTokens.get(rt.hash))?.hash).toBe(rt.hash);
    },
  );

  it.runIf(backend === 'postgres')(
    'PostgreSQL: a connection lost inside a transaction fails it, not the process; the pool goes on',
    async () => {
      const admin = new pg.Client({ connectionString: dbUrl() });
      await admin.connect();
      try {
        const rt = refreshToken();
        const lost = storage.transaction(async (tx) => {
          await tx.refreshTokens.create(rt);
          await admin.query(
            'select pg_terminate_backend(pid) from pg_stat_activity where datname = current_database() and pid <> pg_backend_pid()',
          );
          await new Promise((resolve) => setTimeout(resolve, 100)); // the server's notice arrives meanwhile
          await tx.refreshTokens.get(rt.hash);
        });
        await expect(lost).rejects.toThrow();
        expect(await storage.refreshTokens.get(rt.hash)).toBeNull();
      } finally {
        await admin.end();
      }
    },
  );
});
