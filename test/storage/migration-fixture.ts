// A migration test's database: a new one per describe block, opened raw (Kysely on the schema as
// the migrations leave it), and the migrations before the one under test.
import type { Kysely } from 'kysely';
import { afterAll, beforeAll, expect } from 'vitest';
import { sqliteFile } from '../../src/storage/sql/index.js';
import { type Migration, migrations } from '../../src/storage/sql/migrations/index.js';
import { openPostgres } from '../../src/storage/sql/postgres.js';
import type { Database } from '../../src/storage/sql/schema.js';
import { openSqlite } from '../../src/storage/sql/sqlite.js';
import { type Backend, createTestDatabase, type TestDatabase } from '../support/databases.js';

/** Registers the hooks; `raw()` is the open database once they ran. */
export function migrationDatabase(backend: Backend): { raw: () => Kysely<Database> } {
  let db: TestDatabase;
  let raw: Kysely<Database>;
  beforeAll(async () => {
    db = await createTestDatabase(backend);
    const file = sqliteFile({ databaseUrl: db.url, dataDir: db.dataDir });
    raw = (file === null ? openPostgres(db.url, 1) : openSqlite(file)) as Kysely<Database>;
  });
  afterAll(async () => {
    await raw?.destroy();
    await db?.drop();
  });
  return { raw: () => raw };
}

/** Runs every migration before `name` on `raw`, and returns that one. */
export async function upTo(raw: Kysely<Database>, name: string): Promise<Migration> {
  const index = migrations.findIndex((m) => m.name === name);
  expect(index).toBeGreaterThan(0);
  for (const m of migrations.slice(0, index)) await m.up(raw);
  return migrations[index] as Migration;
}
