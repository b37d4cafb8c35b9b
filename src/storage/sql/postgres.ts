import { Kysely, type KyselyConfig, PostgresDialect } from 'kysely';
import type pg from 'pg';
import type { Database } from './schema.js';

const INT8 = 20;

/**
 * Opens a PostgreSQL pool; bigint columns come back as numbers (seconds fit easily). The `pg`
 * driver is loaded on first use, so a server on SQLite never loads it (#16: memory).
 */
export function openPostgres(url: string, max = 10, log?: KyselyConfig['log']): Kysely<Database> {
  const pool = async (): Promise<pg.Pool> => {
    const { default: driver } = await import('pg');
    const created = new driver.Pool({
      connectionString: url,
      max,
      connectionTimeoutMillis: 10_000,
      types: {
        getTypeParser: ((oid: number, format?: 'text' | 'binary') =>
          oid === INT8
            ? (v: string) => Number(v)
            : driver.types.getTypeParser(oid, format)) as typeof driver.types.getTypeParser,
      },
    });
    // An idle client that loses its connection must not crash the process; the pool replaces it.
    created.on('error', () => {});
    return created;
  };
  return new Kysely<Database>({ dialect: new PostgresDialect({ pool }), ...(log ? { log } : {}) });
}
