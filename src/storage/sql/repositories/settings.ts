import type { Kysely } from 'kysely';
import type { SettingsRepository } from '../../types.js';
import type { Database } from '../schema.js';

/** Tenant settings, one JSON document per key. */
export function settingsRepository(db: Kysely<Database>): SettingsRepository {
  return {
    async get(key) {
      const row = await db.selectFrom('settings').select('value').where('key', '=', key).executeTakeFirst();
      return row ? JSON.parse(row.value) : null;
    },
    async hold(key, now) {
      // one statement either way: the new empty row, or the existing one locked, unchanged
      await db
        .insertInto('settings')
        .values({ key, value: '{}', updated_at: now })
        .onConflict((oc) => oc.column('key').doUpdateSet({ key }))
        .execute();
    },
    async put(key, value, now) {
      const text = JSON.stringify(value);
      await db
        .insertInto('settings')
        .values({ key, value: text, updated_at: now })
        .onConflict((oc) => oc.column('key').doUpdateSet({ value: text, updated_at: now }))
        .execute();
    },
  };
}
