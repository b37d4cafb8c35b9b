import type { Kysely, Selectable } from 'kysely';
import type { User, UserRepository } from '../../types.js';
import type { Database } from '../schema.js';

type Row = Selectable<Database['users']>;

function toUser(row: Row): User {
  return {
    id: row.id,
    email: row.email,
    passwordHash: row.password_hash,
    blocked: Number(row.blocked) === 1,
    claims: JSON.parse(row.claims),
    createdAt: Number(row.created_at),
    updatedAt: Number(row.updated_at),
  };
}

/** Users in SQL. */
export function userRepository(db: Kysely<Database>): UserRepository {
  return {
    async create(user) {
      await db
        .insertInto('users')
        .values({
          id: user.id,
          email: user.email,
          password_hash: user.passwordHash,
          blocked: user.blocked ? 1 : 0,
          claims: JSON.stringify(user.claims),
          created_at: user.createdAt,
          updated_at: user.updatedAt,
        })
        .execute();
    },
    async get(id) {
      const row = await db.selectFrom('users').selectAll().where('id', '=', id).executeTakeFirst();
      return row ? toUser(row) : null;
    },
    async getByEmail(email) {
      const row = await db.selectFrom('users').selectAll().where('email', '=', email).executeTakeFirst();
      return row ? toUser(row) : null;
    },
    async list() {
      const rows = await db.selectFrom('users').selectAll().orderBy('created_at').orderBy('id').execute();
      return rows.map(toUser);
    },
    async delete(id) {
      const res = await db.deleteFrom('users').where('id', '=', id).executeTakeFirst();
      return Number(res.numDeletedRows) > 0;
    },
    async update(id, patch, now) {
      const set: Partial<Row> = { updated_at: now };
      if (patch.passwordHash !== undefined) set.password_hash = patch.passwordHash;
      if (patch.blocked !== undefined) set.blocked = patch.blocked ? 1 : 0;
      if (patch.claims !== undefined) set.claims = JSON.stringify(patch.claims);
      const res = await db.updateTable('users').set(set).where('id', '=', id).executeTakeFirst();
      return Number(res.numUpdatedRows) > 0;
    },
  };
}
