import { DummyDriver, Kysely, PostgresAdapter, PostgresIntrospector, PostgresQueryCompiler } from 'kysely';
import { describe, expect, it } from 'vitest';
import { isRead } from '../../../src/storage/sql/postgres-connection.js';
import type { Database } from '../../../src/storage/sql/schema.js';

// Only a statement that reads may run again on another connection when its own was lost
// (postgres-connection.ts `elsewhere`): a SELECT whose WITH clause updates is a write.
const db = new Kysely<Database>({
  dialect: {
    createAdapter: () => new PostgresAdapter(),
    createDriver: () => new DummyDriver(),
    createIntrospector: (k) => new PostgresIntrospector(k),
    createQueryCompiler: () => new PostgresQueryCompiler(),
  },
});

describe('postgres pipeline: which statements only read', () => {
  it('a SELECT, with or without a reading WITH, reads', () => {
    expect(isRead(db.selectFrom('users').selectAll().where('id', '=', 'u').compile())).toBe(true);
    const cte = db
      .with('u', (q) => q.selectFrom('users').select('id'))
      .selectFrom('u')
      .selectAll();
    expect(isRead(cte.compile())).toBe(true);
  });

  it('a SELECT over a WITH that updates or deletes writes; so do INSERT, UPDATE and DELETE', () => {
    const updating = db
      .with('used', (q) => q.updateTable('users').set({ blocked: 1 }).where('id', '=', 'u').returning('id'))
      .selectFrom('used')
      .selectAll();
    expect(isRead(updating.compile())).toBe(false);
    const deleting = db
      .with('gone', (q) => q.deleteFrom('users').where('id', '=', 'u').returning('id'))
      .selectFrom('gone')
      .selectAll();
    expect(isRead(deleting.compile())).toBe(false);
    expect(isRead(db.deleteFrom('users').where('id', '=', 'u').compile())).toBe(false);
    expect(isRead(db.updateTable('users').set({ blocked: 1 }).compile())).toBe(false);
  });
});
