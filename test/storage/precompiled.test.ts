import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sql } from 'kysely';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { precompiled } from '../../src/storage/sql/precompiled.js';
import { openSqlite } from '../../src/storage/sql/sqlite.js';

const dir = mkdtempSync(join(tmpdir(), 'sesame-precompiled-'));
const db = openSqlite(join(dir, 'p.db'));
beforeAll(async () => {
  await sql`create table revoked_tokens (jti text primary key, expires_at integer not null)`.execute(db);
  await sql`insert into revoked_tokens values ('a', 1), ('b', 2)`.execute(db);
});
afterAll(async () => {
  await db.destroy();
  rmSync(dir, { recursive: true, force: true });
});

it('binds each call’s arguments into the query compiled once, constants kept', async () => {
  const seen: string[] = [];
  const query = precompiled(1, (d, jti: string) => {
    seen.push(jti);
    return d
      .selectFrom('revoked_tokens')
      .select(['jti', 'expires_at'])
      .where('jti', '=', jti)
      .where('expires_at', '>', 0);
  });
  expect((await query(db, 'a')).rows).toEqual([{ jti: 'a', expires_at: 1 }]);
  expect((await query(db, 'b')).rows).toEqual([{ jti: 'b', expires_at: 2 }]);
  expect((await query(db, "a' or '1'='1")).rows).toEqual([]);
  expect(seen).toHaveLength(1); // built once
});

it('refuses a query whose argument did not become a parameter (it would be baked in)', async () => {
  const query = precompiled(2, (d, jti: string, _unused: string) =>
    d.selectFrom('revoked_tokens').select('jti').where('jti', '=', jti),
  );
  await expect(query(db, 'a', 'x')).rejects.toThrow('argument 1 is not a parameter');
});
