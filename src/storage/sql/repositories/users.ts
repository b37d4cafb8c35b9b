import { type Kysely, type Selectable, type SelectQueryBuilder, sql } from 'kysely';
import type { User, UserQuery, UserRepository } from '../../types.js';
import { precompiled } from '../precompiled.js';
import type { Database } from '../schema.js';
import { joinedTable } from './joined.js';
import { containing, sliced } from './slice.js';

type Row = Selectable<Database['users']>;

/** Users in a query that joins them to other tables, as `users as u` (joined.ts). */
export const JOINED_USER = joinedTable<Row, User>(
  'u',
  {
    id: true,
    email: true,
    password_hash: true,
    blocked: true,
    claims: true,
    name: true,
    app_metadata: true,
    user_metadata: true,
    created_at: true,
    updated_at: true,
    logins_count: true,
    last_login: true,
    last_ip: true,
  },
  toUser,
);

function toUser(row: Row): User {
  const user: User = {
    id: row.id,
    email: row.email,
    passwordHash: row.password_hash,
    blocked: Number(row.blocked) === 1,
    claims: JSON.parse(row.claims),
    appMetadata: JSON.parse(row.app_metadata),
    userMetadata: JSON.parse(row.user_metadata),
    createdAt: Number(row.created_at),
    updatedAt: Number(row.updated_at),
  };
  // Sign-in figures once there was one (Auth0 has none before); set in place, as every token
  // response reads its user through here (#16).
  const count = Number(row.logins_count);
  if (count > 0) {
    user.loginsCount = count;
    user.lastLogin = Number(row.last_login);
    if (row.last_ip !== null) user.lastIp = row.last_ip;
  }
  return user;
}

/** The name column: the name in lower case (JavaScript's, for every script), '' for none. */
const nameOf = (claims: User['claims']): string => (claims.name ?? '').toLowerCase();

/**
 * Users in SQL. Lists filter and sort on indexed columns: an email prefix is a range on the
 * email index (SQLite compares bytes; PostgreSQL's LIKE 'p%' uses the pattern index);
 * a substring of email or name is a LIKE scan, the one search no index serves. The name column
 * holds the name in lower case, so searches and sorts treat every script alike on both backends.
 */
/** Every token response reads its user by id (#16): compiled once. */
const USER_BY_ID = precompiled(1, (db, id: string) =>
  db.selectFrom('users').selectAll().where('id', '=', id),
);

/** A user by id, through the compiled statement every token response uses. */
export async function userById(db: Kysely<Database>, id: string): Promise<User | null> {
  const { rows } = await USER_BY_ID(db, id);
  return rows[0] ? toUser(rows[0]) : null;
}

export function userRepository(db: Kysely<Database>, dialect: 'sqlite' | 'postgres'): UserRepository {
  const filtered = (query: UserQuery) => {
    let q = db.selectFrom('users');
    if (query.email !== undefined) q = q.where('email', '=', query.email);
    if (query.emailPrefix !== undefined) {
      const p = query.emailPrefix;
      q =
        dialect === 'postgres'
          ? q.where(sql<boolean>`email like ${`${p.replace(/[\\%_]/g, (m) => `\\${m}`)}%`}`)
          : q.where('email', '>=', p).where('email', '<', `${p}\u{10ffff}`);
    }
    if (query.id !== undefined) q = q.where('id', '=', query.id);
    if (query.name !== undefined) q = q.where(sql<boolean>`lower(name) = ${query.name.toLowerCase()}`);
    if (query.blocked !== undefined) q = q.where('blocked', '=', query.blocked ? 1 : 0);
    for (const [column, range] of [
      ['logins_count', query.loginsCount],
      ['last_login', query.lastLogin],
    ] as const) {
      if (range?.min !== undefined) q = q.where(column, '>=', range.min);
      if (range?.max !== undefined) q = q.where(column, '<=', range.max);
    }
    if (query.text !== undefined) {
      const pattern = containing(query.text.toLowerCase());
      q = q.where(sql<boolean>`(email like ${pattern} escape '\\' or name like ${pattern} escape '\\')`);
    }
    return q;
  };
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
          name: nameOf(user.claims),
          app_metadata: JSON.stringify(user.appMetadata),
          user_metadata: JSON.stringify(user.userMetadata),
          created_at: user.createdAt,
          updated_at: user.updatedAt,
        })
        .execute();
    },
    get: (id) => userById(db, id),
    async getByEmail(email) {
      const row = await db.selectFrom('users').selectAll().where('email', '=', email).executeTakeFirst();
      return row ? toUser(row) : null;
    },
    async list(query = {}, slice) {
      const sort = query.sort ?? { field: 'created_at', descending: false };
      const dir = sort.descending ? 'desc' : 'asc';
      // Emails are unique, so they need no tie-breaker (PostgreSQL would sort again for one).
      const tieBreak = sort.field !== 'email';
      const ordered = <Q extends SelectQueryBuilder<Database, 'users', object>>(q: Q): Q => {
        const byField = q.orderBy(sort.field, dir) as Q;
        return tieBreak ? (byField.orderBy('id', dir) as Q) : byField;
      };
      if (dialect === 'postgres' && slice) {
        // PostgreSQL fetches every row OFFSET skips; take the page's ids from an index first.
        const ids = sliced(ordered(filtered(query).select('id')), slice);
        const rows = await ordered(db.selectFrom('users').selectAll().where('id', 'in', ids)).execute();
        return rows.map(toUser);
      }
      return (await sliced(ordered(filtered(query).selectAll()), slice).execute()).map(toUser);
    },
    async count(query = {}) {
      const row = await filtered(query)
        .select((eb) => eb.fn.countAll().as('n'))
        .executeTakeFirstOrThrow();
      return Number(row.n);
    },
    async delete(id) {
      const res = await db.deleteFrom('users').where('id', '=', id).executeTakeFirst();
      return Number(res.numDeletedRows) > 0;
    },
    async hold(id) {
      const res = await db.updateTable('users').set({ id: sql`id` }).where('id', '=', id).executeTakeFirst();
      return Number(res.numUpdatedRows) > 0;
    },
    async rehash(id, from, to) {
      const res = await db
        .updateTable('users')
        .set({ password_hash: to })
        .where('id', '=', id)
        .where('password_hash', '=', from)
        .executeTakeFirst();
      return Number(res.numUpdatedRows) > 0;
    },
    async recordLogin(id, at, ip) {
      await db
        .updateTable('users')
        .set({ logins_count: sql`logins_count + 1`, last_login: at, last_ip: ip })
        .where('id', '=', id)
        .execute();
    },
    async update(id, patch, now) {
      const set: Partial<Row> = { updated_at: now };
      if (patch.email !== undefined) set.email = patch.email;
      if (patch.passwordHash !== undefined) set.password_hash = patch.passwordHash;
      if (patch.blocked !== undefined) set.blocked = patch.blocked ? 1 : 0;
      if (patch.claims !== undefined) {
        set.claims = JSON.stringify(patch.claims);
        set.name = nameOf(patch.claims);
      }
      if (patch.appMetadata !== undefined) set.app_metadata = JSON.stringify(patch.appMetadata);
      if (patch.userMetadata !== undefined) set.user_metadata = JSON.stringify(patch.userMetadata);
      const res = await db.updateTable('users').set(set).where('id', '=', id).executeTakeFirst();
      return Number(res.numUpdatedRows) > 0;
    },
  };
}
