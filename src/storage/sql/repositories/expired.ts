import { type Kysely, type RawBuilder, sql } from 'kysely';
import type { ExpiredRepository, ExpiringTable } from '../../types.js';
import type { Database } from '../schema.js';

/** The column each table expires by (each has an index on it, migrations 009 and 010). */
const EXPIRY: Record<ExpiringTable, string> = {
  authorization_codes: 'expires_at',
  interactions: 'expires_at',
  sessions: 'expires_at',
  device_codes: 'expires_at',
  revoked_tokens: 'expires_at',
  grant_tokens: 'expires_at',
  refresh_tokens: 'expires_at',
  login_attempts: 'window_start',
  known_sign_ins: 'last_at',
  console_sessions: 'expires_at',
  outbox: 'purge_after',
  account_tickets: 'expires_at',
  jobs: 'expires_at',
};

/** What else must have passed, in some tables, before an expired row goes. */
const ALSO: Partial<Record<ExpiringTable, (before: number) => RawBuilder<unknown>>> = {
  // A login counter also waits for a window after its lock ran out (a delay count goes on until
  // then; see recordGrowing).
  login_attempts: (before) => sql`and locked_until <= ${before}`,
  // A refresh token's row records the access token issued with it (#16), which may outlive it:
  // revoking a grant, user or application still finds that access token.
  refresh_tokens: (before) => sql`and (access_expires_at is null or access_expires_at <= ${before})`,
};

/**
 * Deletes expired rows a batch at a time, each batch one short statement: on SQLite the write
 * lock is held for one batch only; on PostgreSQL rows another instance is deleting are skipped
 * (SKIP LOCKED), so two janitors never wait on each other.
 */
export function expiredRepository(db: Kysely<Database>, dialect: 'sqlite' | 'postgres'): ExpiredRepository {
  const row = sql.raw(dialect === 'sqlite' ? 'rowid' : 'ctid');
  const lock = sql.raw(dialect === 'postgres' ? 'for update skip locked' : '');
  return {
    async purge(table, before, limit) {
      const t = sql.table(table);
      const column = sql.ref(EXPIRY[table]);
      const also = ALSO[table]?.(before) ?? sql``;
      const res =
        await sql`delete from ${t} where ${row} in (select ${row} from ${t} where ${column} <= ${before} ${also} limit ${limit} ${lock})`.execute(
          db,
        );
      return Number(res.numAffectedRows ?? 0);
    },
  };
}
