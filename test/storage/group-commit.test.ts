import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type Kysely, sql } from 'kysely';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Database } from '../../src/storage/sql/schema.js';
import { openSqlite, sqliteTransaction } from '../../src/storage/sql/sqlite.js';
import { WalSync } from '../../src/storage/sql/wal-sync.js';

/** A real WalSync that also notes, in order, when it is asked for a sync and when one completes. */
class NotingWalSync extends WalSync {
  constructor(
    path: string,
    readonly events: string[],
  ) {
    super(path);
  }
  override sync(): Promise<void> {
    this.events.push('sync asked');
    return super.sync().then(() => {
      this.events.push('synced');
    });
  }
}

let dir: string;
let events: string[];
let wal: NotingWalSync;
let db: Kysely<Database>;

beforeEach(async () => {
  dir = mkdtempSync(join(tmpdir(), 'sesame-wal-'));
  events = [];
  const file = join(dir, 'sesame.db');
  wal = new NotingWalSync(`${file}-wal`, events);
  db = openSqlite(file, wal);
  await sql`create table t (id integer primary key, v text)`.execute(db);
  events.length = 0;
});

afterEach(async () => {
  await db.destroy();
  rmSync(dir, { recursive: true, force: true });
});

const insert = (d: Kysely<Database>, v: string) => sql`insert into t (v) values (${v})`.execute(d);
const count = async () =>
  Number((await sql<{ n: number }>`select count(*) as n from t`.execute(db)).rows[0]!.n);

describe('SQLite group commit (#16)', () => {
  it('an autocommit write returns only after a sync of the log that it asked for', async () => {
    await insert(db, 'a');
    events.push('returned');
    expect(events).toEqual(['sync asked', 'synced', 'returned']);
  });

  it('reads, read-only transactions and rolled-back transactions do not sync', async () => {
    await insert(db, 'a');
    events.length = 0;
    expect(await count()).toBe(1);
    await sqliteTransaction(db, async (tx) => {
      await sql`select * from t`.execute(tx);
    });
    await expect(
      sqliteTransaction(db, async (tx) => {
        await insert(tx, 'b');
        throw new Error('changed my mind');
      }),
    ).rejects.toThrow('changed my mind');
    expect(await count()).toBe(1);
    expect(events).toEqual([]);
  });

  it('a transaction syncs once, after its commit', async () => {
    await sqliteTransaction(db, async (tx) => {
      await insert(tx, 'a');
      await insert(tx, 'b');
      expect(events).toEqual([]);
    });
    events.push('returned');
    expect(events).toEqual(['sync asked', 'synced', 'returned']);
  });

  it('concurrent transactions share syncs, and each returns after a sync that began after its commit', async () => {
    const done = await Promise.all(
      Array.from({ length: 20 }, (_, i) =>
        sqliteTransaction(db, async (tx) => {
          await insert(tx, `v${i}`);
        }).then(() => wal.completed),
      ),
    );
    expect(await count()).toBe(20);
    expect(events.filter((e) => e === 'sync asked')).toHaveLength(20);
    // fewer syncs than commits: they were grouped
    expect(wal.completed).toBeLessThan(20);
    expect(wal.completed).toBeGreaterThanOrEqual(1);
    for (const seen of done) expect(seen).toBeGreaterThanOrEqual(1);
  });
});

describe('WalSync', () => {
  it('one sync in flight at a time; callers during it get the next one, all of them together', async () => {
    await insert(db, 'a');
    const before = wal.completed;
    const first = wal.sync().then(() => wal.completed);
    const later = Array.from({ length: 5 }, () => wal.sync().then(() => wal.completed));
    expect(await first).toBe(before + 1);
    expect(await Promise.all(later)).toEqual(Array(5).fill(before + 2));
    expect(wal.completed).toBe(before + 2);
  });

  it('reopens the log when the file was replaced, and fails loudly when it is gone', async () => {
    await insert(db, 'a');
    const lone = new WalSync(join(dir, 'missing-wal'));
    await expect(lone.sync()).rejects.toMatchObject({ code: 'ENOENT' });
    lone.close();
  });
});
