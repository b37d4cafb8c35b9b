import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { describe, inject, it } from 'vitest';
import { openStorage } from '../../src/storage/sql/index.js';
import type { Storage } from '../../src/storage/types.js';
import type { Clock } from '../../src/util/clock.js';
import { randomToken } from '../../src/util/crypto.js';

/** A database a test runs on: a fresh SQLite file, or a fresh database in the test PostgreSQL. */
export interface TestDatabase {
  /** SESAME_DATABASE_URL for it (sqlite:PATH or postgres://…). */
  url: string;
  dataDir: string;
  open(clock: Clock): Storage;
  drop(): Promise<void>;
}

export type Backend = 'sqlite' | 'postgres';

/** Creates an empty database on `backend`. */
export async function createTestDatabase(backend: Backend): Promise<TestDatabase> {
  const dataDir = mkdtempSync(join(tmpdir(), 'sesame-test-'));
  let url: string;
  let dropDb = async () => {};
  if (backend === 'sqlite') {
    url = `sqlite:${join(dataDir, 'sesame.db')}`;
  } else {
    const admin = inject('postgresUrl');
    if (!admin) throw new Error('no PostgreSQL for this run');
    const name = `sesame_${randomToken(9)
      .toLowerCase()
      .replace(/[^a-z0-9]/g, '_')}`;
    const client = new pg.Client({ connectionString: admin });
    await client.connect();
    await client.query(`create database ${name}`);
    await client.end();
    const u = new URL(admin);
    u.pathname = `/${name}`;
    url = u.toString();
    dropDb = async () => {
      const c = new pg.Client({ connectionString: admin });
      await c.connect();
      await c.query(`drop database if exists ${name} with (force)`);
      await c.end();
    };
  }
  return {
    url,
    dataDir,
    open: (clock) => openStorage({ databaseUrl: url, dataDir, clock }),
    async drop() {
      await dropDb();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

/**
 * Runs `suite` once per backend. Without PostgreSQL its run is skipped with a loud notice,
 * except under SESAME_REQUIRE_POSTGRES=1, where a failing test says why.
 */
export function describeEachBackend(name: string, suite: (backend: Backend) => void): void {
  describe(`${name} [sqlite]`, () => suite('sqlite'));
  const missing = inject('postgresMissing');
  if (!inject('postgresUrl')) {
    if (process.env.SESAME_REQUIRE_POSTGRES === '1') {
      describe(`${name} [postgres]`, () => {
        it('needs PostgreSQL (SESAME_REQUIRE_POSTGRES=1)', () => {
          throw new Error(`PostgreSQL is required but unavailable: ${missing}`);
        });
      });
    } else {
      console.warn(`SKIPPED ${name} [postgres]: ${missing}`);
      describe.skip(`${name} [postgres]`, () => suite('postgres'));
    }
    return;
  }
  describe(`${name} [postgres]`, () => suite('postgres'));
}
