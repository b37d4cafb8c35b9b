import { afterAll, beforeAll, expect } from 'vitest';
import { type CliResult, runCli, runCliJson } from '../e2e/process.js';
import { type Backend, createTestDatabase, type TestDatabase } from '../support/databases.js';

/** Shared by the `sesame CLI (…)` suites: cli.test.ts and the cli-*.test.ts files beside it. */

export type Env = Record<string, string | undefined>;

/** An API as `sesame apis … --json` prints it. */
export interface ApiView {
  id: string;
  identifier: string;
  name: string;
  scopes: { name: string; description: string }[];
  token_lifetime: number;
  token_lifetime_for_web: number;
  signing_alg: string;
  allow_offline_access: boolean;
  created_at: number;
}

export const now = () => Math.floor(Date.now() / 1000);

/** A failed command: non-zero exit, nothing on stdout, one `error:` message on stderr matching `message`. */
export function expectFailure(res: CliResult, message: RegExp): void {
  expect(res.code, `stdout: ${res.stdout}\nstderr: ${res.stderr}`).not.toBe(0);
  expect(res.stdout).toBe('');
  expect(res.stderr).toMatch(message);
  expect(res.stderr).not.toMatch(/\n\s+at /); // a message, not a stack trace
}

let counter = 0;
/** An API identifier no other call returns (the time and a counter). */
export const uniqueUri = () => `https://api.example/${Date.now().toString(36)}-${++counter}`;

/** Fresh databases on one backend, made on demand; all are dropped after the suite. */
export interface CliDatabases {
  /** A fresh, empty database and the env that points the CLI at it. */
  freshEnv(extra?: Env, migrate?: boolean): Promise<Env>;
  /** The same as `freshEnv`, with the database itself. */
  freshDb(extra?: Env, migrate?: boolean): Promise<{ db: TestDatabase; env: Env }>;
}

/** Databases for the suite being declared (call it in a describe: it adds an afterAll that drops them). */
export function cliDatabases(backend: Backend): CliDatabases {
  const databases: TestDatabase[] = [];

  async function freshEnv(extra: Env = {}, migrate = true): Promise<Env> {
    return (await freshDb(extra, migrate)).env;
  }
  async function freshDb(extra: Env = {}, migrate = true): Promise<{ db: TestDatabase; env: Env }> {
    const db = await createTestDatabase(backend);
    databases.push(db);
    const e = {
      SESAME_DATA_DIR: db.dataDir,
      SESAME_DATABASE_URL: db.url,
      SESAME_LOG_LEVEL: 'warn',
      ...extra,
    };
    // The tests run commands concurrently: create the data dir's secret first, alone
    // (concurrent first runs race on it; config.test.ts has the test for that).
    if (migrate) await runCliJson(['migrate'], e);
    return { db, env: e };
  }

  afterAll(async () => {
    await Promise.all(databases.map((db) => db.drop()));
  });
  return { freshEnv, freshDb };
}

/** `cliDatabases`, plus one migrated database shared by the suite (made in a beforeAll). */
export interface SharedCliDatabase extends CliDatabases {
  /** Runs `sesame ...args` on the shared database. */
  sesame(...args: string[]): Promise<CliResult>;
  /** Runs `sesame ...args --json` on the shared database; it must succeed. */
  json<T>(...args: string[]): Promise<T>;
}

/** Databases for the suite being declared, with one shared by its tests (call it in a describe). */
export function withSharedDatabase(backend: Backend): SharedCliDatabase {
  const databases = cliDatabases(backend);
  let env: Env;
  beforeAll(async () => {
    env = await databases.freshEnv();
  });
  return {
    ...databases,
    sesame: (...args: string[]) => runCli(args, env),
    json: <T>(...args: string[]) => runCliJson<T>(args, env),
  };
}
