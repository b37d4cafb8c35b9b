import { sql } from 'kysely';
import { beforeAll, describe, expect, it } from 'vitest';
import { sqliteFile } from '../../src/storage/sql/index.js';
import { openPostgres } from '../../src/storage/sql/postgres.js';
import { openSqlite } from '../../src/storage/sql/sqlite.js';
import { assertBuilt, runCli, runCliJson } from '../e2e/process.js';
import { describeEachBackend } from '../support/databases.js';
import { cliDatabases } from './cli-fixture.js';

beforeAll(() => assertBuilt());

describeEachBackend('sesame CLI (migrate)', (backend) => {
  const { freshEnv, freshDb } = cliDatabases(backend);

  describe.concurrent('migrate', { timeout: 90_000 }, () => {
    it('applies the migrations once, then reports the database up to date', async () => {
      const fresh = await freshEnv({}, false);
      const first = await runCliJson<{ database: string; applied: string[] }>(['migrate'], fresh);
      expect(first.database).toBe(backend);
      expect(first.applied.length).toBeGreaterThan(0);
      const second = await runCliJson<{ database: string; applied: string[] }>(['migrate'], fresh);
      expect(second).toEqual({ database: backend, applied: [] });
      const human = await runCli(['migrate'], fresh);
      expect(human.code).toBe(0);
      expect(human.stdout).toContain(`database (${backend}) is up to date`);
    });

    it('refuses a database a newer Sesame migrated: migrate and start exit 1 naming what it does not know', async () => {
      const { db, env: fresh } = await freshDb();
      const file = sqliteFile({ databaseUrl: db.url, dataDir: db.dataDir });
      const raw = file === null ? openPostgres(db.url, 1) : openSqlite(file);
      try {
        await sql`insert into sesame_migrations (name, applied_at) values ('999-from-a-newer-sesame', 0)`.execute(
          raw,
        );
      } finally {
        await raw.destroy();
      }
      for (const args of [['migrate'], ['start']]) {
        const res = await runCli(args, fresh);
        expect(res.code, `sesame ${args.join(' ')}: ${res.stdout}`).toBe(1);
        expect(res.stderr).toBe(
          'error: the database was migrated by a newer version of Sesame (999-from-a-newer-sesame); this version must not use it: run that version or a later one\n',
        );
      }
    });
  });
});
