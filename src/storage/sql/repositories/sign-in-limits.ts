import { type Kysely, sql } from 'kysely';
import type { KnownSignInRepository, LoginAttemptRepository } from '../../types.js';
import type { Database } from '../schema.js';

/** Failed-login counters; each update is one atomic upsert, so instances share one count. */
export function loginAttemptRepository(db: Kysely<Database>): LoginAttemptRepository {
  const repo: LoginAttemptRepository = {
    async lockedFor(key, now) {
      const row = await db
        .selectFrom('login_attempts')
        .select('locked_until')
        .where('key', '=', key)
        .executeTakeFirst();
      return row ? Math.max(0, Number(row.locked_until) - now) : 0;
    },
    async recordFailure(key, now, window, threshold, lockSeconds) {
      // A new count starts when the window has passed or the last lock has run out.
      const fresh = sql`(login_attempts.window_start <= ${now - window} or (login_attempts.locked_until > 0 and login_attempts.locked_until <= ${now}))`;
      const row = await db
        .insertInto('login_attempts')
        .values({ key, failures: 1, window_start: now, locked_until: 0 })
        .onConflict((oc) =>
          oc.column('key').doUpdateSet({
            failures: sql`case when ${fresh} then 1 else login_attempts.failures + 1 end`,
            window_start: sql`case when ${fresh} then ${now} else login_attempts.window_start end`,
            locked_until: sql`case when ${fresh} then 0 else login_attempts.locked_until end`,
          }),
        )
        .returning(['failures', 'locked_until'])
        .executeTakeFirstOrThrow();
      const failures = Number(row.failures);
      if (failures >= threshold && Number(row.locked_until) <= now)
        await repo.lockUntil(key, now + lockSeconds, now);
      return failures;
    },
    async recordGrowing(key, now, window) {
      // Fresh only after `window` quiet seconds since the last failure and since the lock ended
      // (else a lock as long as the window would end the count the moment it ran out).
      const fresh = sql`(login_attempts.window_start <= ${now - window} and login_attempts.locked_until <= ${now - window})`;
      const row = await db
        .insertInto('login_attempts')
        .values({ key, failures: 1, window_start: now, locked_until: 0 })
        .onConflict((oc) =>
          oc.column('key').doUpdateSet({
            failures: sql`case when ${fresh} then 1 else login_attempts.failures + 1 end`,
            window_start: now,
          }),
        )
        .returning('failures')
        .executeTakeFirstOrThrow();
      return Number(row.failures);
    },
    async lockUntil(key, until, now) {
      const res = await db
        .updateTable('login_attempts')
        .set({ locked_until: until })
        .where('key', '=', key)
        .where('locked_until', '<=', now)
        .executeTakeFirst();
      return Number(res.numUpdatedRows) === 1;
    },
    async forgive(key) {
      await db
        .updateTable('login_attempts')
        .set({ failures: sql`case when failures > 0 then failures - 1 else 0 end` })
        .where('key', '=', key)
        .execute();
    },
    async clear(key) {
      await db.deleteFrom('login_attempts').where('key', '=', key).execute();
    },
  };
  return repo;
}

/** The places each account has signed in from (one upsert each; the janitor forgets old ones). */
export function knownSignInRepository(db: Kysely<Database>): KnownSignInRepository {
  return {
    async remember(userId, kind, value, now) {
      await db
        .insertInto('known_sign_ins')
        .values({ user_id: userId, kind, value, last_at: now })
        .onConflict((oc) => oc.columns(['user_id', 'kind', 'value']).doUpdateSet({ last_at: now }))
        .execute();
    },
    async isKnown(userId, kind, value) {
      const row = await db
        .selectFrom('known_sign_ins')
        .select('last_at')
        .where('user_id', '=', userId)
        .where('kind', '=', kind)
        .where('value', '=', value)
        .executeTakeFirst();
      return row !== undefined;
    },
  };
}
