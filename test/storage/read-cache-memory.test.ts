// The read cache in memory (#16), without a database: what it keeps, how much, and when it looks
// at SQLite's data_version (a counter the test moves) to see other processes' commits.
import { describe, expect, it, vi } from 'vitest';
import { READ_CACHE_MAX, ReadCache } from '../../src/storage/read-cache.js';

describe('read cache bounds', () => {
  it('keeps no misses, so ids anyone can send do not grow it', async () => {
    const cache = new ReadCache();
    let loads = 0;
    const miss = async () => {
      loads++;
      return null;
    };
    await cache.read('app:nobody', miss);
    await cache.read('app:nobody', miss);
    expect(loads).toBe(2);
  });

  it(`holds at most ${READ_CACHE_MAX} entries, dropping the oldest`, async () => {
    const cache = new ReadCache();
    let loads = 0;
    const load = (v: number) => async () => {
      loads++;
      return { v };
    };
    for (let i = 0; i <= READ_CACHE_MAX; i++) await cache.read(`k${i}`, load(i));
    expect(loads).toBe(READ_CACHE_MAX + 1);
    expect(await cache.read(`k${READ_CACHE_MAX}`, load(-1))).toEqual({ v: READ_CACHE_MAX });
    expect(loads).toBe(READ_CACHE_MAX + 1);
    expect(await cache.read('k0', load(0))).toEqual({ v: 0 });
    expect(loads).toBe(READ_CACHE_MAX + 2);
  });
});

describe("read cache and SQLite's data_version", () => {
  /** A cache over a data_version that the test moves, counting how often it is read. */
  function watched() {
    const dv = { value: 1, reads: 0 };
    const cache = new ReadCache(60_000, () => {
      dv.reads++;
      return dv.value;
    });
    dv.reads = 0;
    let loads = 0;
    const read = () =>
      cache.read('app:x', async () => {
        loads++;
        return { loaded: loads };
      });
    return { dv, cache, read, loads: () => loads };
  }
  const nextTurn = () => new Promise<void>((resolve) => setImmediate(resolve));

  it('looks at every read outside a request, and drops what it holds when another connection committed', async () => {
    const { dv, read, loads } = watched();
    await read();
    await read();
    expect(dv.reads).toBe(2);
    expect(loads()).toBe(1);
    dv.value++;
    expect(await read()).toEqual({ loaded: 2 });
  });

  it('a request looks once when it begins; the reads after it in the same turn do not look again', async () => {
    const { dv, cache, read } = watched();
    await read();
    dv.reads = 0;
    // the same millisecond throughout (a pause of a loaded machine would look again, rightly)
    const clock = vi.spyOn(performance, 'now').mockReturnValue(performance.now());
    try {
      cache.begin();
      await read();
      await read();
      await read();
      expect(dv.reads).toBe(1);
    } finally {
      clock.mockRestore();
    }
  });

  it('requests that begin in one turn within a millisecond share one look; the next turn looks again', async () => {
    const { dv, cache, read } = watched();
    let now = 1_000_000;
    const clock = vi.spyOn(performance, 'now').mockImplementation(() => now);
    try {
      cache.begin();
      expect(await read()).toEqual({ loaded: 1 });
      dv.value++; // another process commits
      now += 0.9;
      cache.begin(); // the same turn, 0.9 ms later: the look above stands
      expect(await read()).toEqual({ loaded: 1 });
      await nextTurn();
      cache.begin(); // the next turn looks at once
      expect(await read()).toEqual({ loaded: 2 });
      dv.value++;
      now += 1;
      cache.begin(); // the same turn, a millisecond later: looks
      expect(await read()).toEqual({ loaded: 3 });
    } finally {
      clock.mockRestore();
    }
  });

  it('a request that begins while the database cannot be read goes on (/healthz, /readyz), its reads fail', async () => {
    let open = true;
    const cache = new ReadCache(60_000, () => {
      if (!open) throw new TypeError('The database connection is not open');
      return 1;
    });
    await cache.read('app:x', async () => ({ kept: true }));
    open = false;
    expect(() => cache.begin()).not.toThrow();
    await expect(cache.read('app:x', async () => ({ kept: false }))).rejects.toThrow('not open');
  });

  it('looks again in the next turn of the event loop, and after a millisecond in the same turn', async () => {
    const { dv, cache, read } = watched();
    cache.begin();
    await read();
    dv.value++;
    await nextTurn();
    expect(await read()).toEqual({ loaded: 2 });
    cache.begin();
    dv.value++;
    const until = performance.now() + 1.5;
    while (performance.now() < until) {}
    expect(await read()).toEqual({ loaded: 3 });
  });
});
