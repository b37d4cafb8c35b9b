// The users of bench/users.mjs: `n` rows for the `users` table, written straight into SQLite or
// PostgreSQL (the API would hash a password per user: 100,000 argon2 hashes take minutes).
// Row i has the email user<i, 6 digits>@<domain> and was created i seconds after the first, so
// listing by creation date in pages of 100 puts rows 50,000–50,099 on page 500.
import { randomBytes } from 'node:crypto';

/** Most users at example.com, the rest spread over other domains (so email order ≠ creation order). */
const DOMAINS = [
  'example.com',
  'example.com',
  'example.com',
  'example.com',
  'example.com',
  'example.org',
  'mail.example.net',
  'users.test',
  'acme.example',
  'corp.example.io',
];
const FIRST = ['Ada', 'Alan', 'Grace', 'Edsger', 'Barbara', 'Donald', 'Frances', 'John', 'Margaret', 'Ken'];
const LAST = ['Lovelace', 'Turing', 'Hopper', 'Dijkstra', 'Liskov', 'Knuth', 'Allen', 'Backus', 'Hamilton'];

/** argon2id (Sesame's parameters) of "bench user password"; nobody signs in during this benchmark. */
export const PASSWORD_HASH =
  '$argon2id$v=19$m=7168,t=5,p=1$W4I66ZqK2oIUzpuVWiqxHg$ayK/S7raaseMjReeD5hwRZo3mi/S3EngJAR3N3Kmb2o';

export const COLUMNS = [
  'id',
  'email',
  'password_hash',
  'blocked',
  'claims',
  'name',
  'app_metadata',
  'user_metadata',
  'created_at',
  'updated_at',
];

/** The email of row `i`. */
export const emailOf = (i) => `user${String(i).padStart(6, '0')}@${DOMAINS[(i * 7) % DOMAINS.length]}`;

/** The name of row `i`. */
export const nameOf = (i) => `${FIRST[i % FIRST.length]} ${LAST[Math.floor(i / 10) % LAST.length]} ${i}`;

/** Row `i` as the values of COLUMNS; `t0` is the first user's creation time (Unix seconds). */
export function userRow(i, t0) {
  const name = nameOf(i);
  return [
    `usr_${randomBytes(15).toString('base64url')}`,
    emailOf(i),
    PASSWORD_HASH,
    0,
    JSON.stringify({ email_verified: false, name }),
    name.toLowerCase(),
    '{}',
    '{}',
    t0 + i,
    t0 + i,
  ];
}

/** Inserts rows 0..n-1 with better-sqlite3 in one transaction. */
export function insertSqlite(Database, file, n, t0) {
  const db = new Database(file);
  try {
    db.pragma('busy_timeout = 10000');
    const insert = db.prepare(
      `insert into users (${COLUMNS.join(', ')}) values (${COLUMNS.map(() => '?').join(', ')})`,
    );
    db.transaction(() => {
      for (let i = 0; i < n; i++) insert.run(userRow(i, t0));
    })();
  } finally {
    db.close();
  }
}

/** Inserts rows 0..n-1 into PostgreSQL with multi-row INSERTs of `batch` rows, in one transaction. */
export async function insertPostgres(client, n, t0, batch = 1000) {
  await client.query('begin');
  try {
    for (let from = 0; from < n; from += batch) {
      const rows = [];
      const params = [];
      for (let i = from; i < Math.min(n, from + batch); i++) {
        const row = userRow(i, t0);
        rows.push(`(${row.map((_, k) => `$${params.length + k + 1}`).join(', ')})`);
        params.push(...row);
      }
      await client.query(`insert into users (${COLUMNS.join(', ')}) values ${rows.join(', ')}`, params);
    }
    await client.query('commit');
  } catch (err) {
    await client.query('rollback').catch(() => {});
    throw err;
  }
}
