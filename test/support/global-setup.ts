import type { TestProject } from 'vitest/node';
import { startTestCluster, type TestCluster } from './postgres.js';

declare module 'vitest' {
  export interface ProvidedContext {
    /** Admin URL of the PostgreSQL the suite runs on, or null when there is none. */
    postgresUrl: string | null;
    /** Why there is no PostgreSQL, when there is none. */
    postgresMissing: string | null;
  }
}

/** Starts PostgreSQL once for the run (or uses SESAME_TEST_DATABASE_URL) and stops it afterwards. */
export default async function setup(project: TestProject) {
  const given = process.env.SESAME_TEST_DATABASE_URL;
  let cluster: TestCluster | null = null;
  let missing: string | null = null;
  if (given) {
    project.provide('postgresUrl', given);
  } else {
    try {
      cluster = await startTestCluster();
      if (!cluster) missing = 'initdb/pg_ctl not found';
    } catch (err) {
      missing = `PostgreSQL did not start: ${(err as Error).message}`;
    }
    project.provide('postgresUrl', cluster?.url ?? null);
  }
  project.provide('postgresMissing', missing);
  if (missing) {
    const banner = '!'.repeat(78);
    console.warn(`\n${banner}\n  PostgreSQL suites are SKIPPED: ${missing}\n${banner}\n`);
  }
  return () => cluster?.stop();
}
