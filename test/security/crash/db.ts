// Direct SQL on Sesame's database (SQLite file or PostgreSQL), for the checks a client cannot
// make: that what was acknowledged is in the rows, and that no row is half-written.
import BetterSqlite3 from 'better-sqlite3';
import pg from 'pg';

const INT8 = 20;

/** A row, every number as a JS number (PostgreSQL returns bigint as text). */
export type Row = Record<string, string | number | null>;

/** Read-only SQL on one database. */
export interface Sql {
  dialect: 'sqlite' | 'postgres';
  all(query: string, params?: (string | number)[]): Promise<Row[]>;
  close(): Promise<void>;
}

const numeric = (row: Record<string, unknown>): Row => {
  const out: Row = {};
  for (const [k, v] of Object.entries(row)) {
    out[k] = typeof v === 'bigint' ? Number(v) : (v as string | number | null);
  }
  return out;
};

/** Opens `databaseUrl` (`sqlite:PATH` or `postgres://…`); `?` placeholders on both. */
export async function openSql(databaseUrl: string): Promise<Sql> {
  if (databaseUrl.startsWith('sqlite:')) {
    const db = new BetterSqlite3(databaseUrl.slice('sqlite:'.length), {
      readonly: true,
      fileMustExist: true,
    });
    return {
      dialect: 'sqlite',
      all: async (query, params = []) => {
        const stmt = db.prepare(query);
        return stmt.reader ? (stmt.all(...params) as Record<string, unknown>[]).map(numeric) : [];
      },
      close: async () => {
        db.close();
      },
    };
  }
  const client = new pg.Client({
    connectionString: databaseUrl,
    types: {
      getTypeParser: ((oid: number, format?: 'text' | 'binary') =>
        oid === INT8
          ? (v: string) => Number(v)
          : pg.types.getTypeParser(oid, format)) as typeof pg.types.getTypeParser,
    },
  });
  await client.connect();
  return {
    dialect: 'postgres',
    all: async (query, params = []) => {
      let i = 0;
      const text = query.replace(/\?/g, () => `$${++i}`);
      return (await client.query(text, params)).rows.map(numeric);
    },
    close: () => client.end(),
  };
}

/**
 * Schema invariants that must hold after any crash (every violation as one line):
 * - a refresh-token family has at most one live member (unrotated, unrevoked), unless the extra
 *   ones were all made within `grace` seconds of the family's last rotation (a reuse in grace);
 * - a refresh token's times are ordered and inside its family's lifetime, and its grant has its
 *   access token recorded (issuance writes the jti before the refresh token);
 * - a code whose grant issued anything, or that was replayed, has consumed_at;
 * - no client_grant without its application or API; no session without its user;
 * - SQLite: integrity_check ok, foreign_key_check empty.
 */
export async function schemaViolations(sql: Sql, grace: number): Promise<string[]> {
  const out: string[] = [];
  const families = new Map<string, Row[]>();
  for (const r of await sql.all(
    'select hash, family_id, created_at, expires_at, family_expires_at, rotated_at, revoked_at from refresh_tokens',
  )) {
    const list = families.get(r.family_id as string) ?? [];
    list.push(r);
    families.set(r.family_id as string, list);
    const created = r.created_at as number;
    if ((r.expires_at as number) > (r.family_expires_at as number))
      out.push(`refresh token ${r.hash}: expires after its family`);
    if (r.rotated_at !== null && (r.rotated_at as number) < created)
      out.push(`refresh token ${r.hash}: rotated before it was created`);
    if (r.revoked_at !== null && (r.revoked_at as number) < created)
      out.push(`refresh token ${r.hash}: revoked before it was created`);
  }
  for (const [family, members] of families) {
    const live = members.filter((m) => m.rotated_at === null && m.revoked_at === null);
    if (live.length <= 1) continue;
    const rotations = members.filter((m) => m.rotated_at !== null).map((m) => m.rotated_at as number);
    const last = rotations.length > 0 ? Math.max(...rotations) : null;
    const inGrace =
      last !== null &&
      live.every((m) => (m.created_at as number) >= last && (m.created_at as number) <= last + grace);
    if (!inGrace) {
      out.push(
        `refresh family ${family}: ${live.length} live members (created ${live.map((m) => m.created_at).join(', ')}; last rotation ${last})`,
      );
    }
  }
  for (const r of await sql.all(
    `select rt.hash from refresh_tokens rt
      where not exists (select 1 from grant_tokens g where g.grant_id = rt.grant_id)
        and not exists (select 1 from refresh_tokens b where b.grant_id = rt.grant_id and b.access_jti is not null)`,
  ))
    out.push(`refresh token ${r.hash}: its grant has no access token recorded`);
  for (const r of await sql.all(
    `select c.hash from authorization_codes c
      where c.consumed_at is null
        and (c.replayed_at is not null
          or exists (select 1 from grant_tokens g where g.grant_id = c.grant_id)
          or exists (select 1 from refresh_tokens t where t.grant_id = c.grant_id))`,
  ))
    out.push(`authorization code ${r.hash}: used (tokens issued or replayed) but consumed_at is null`);
  for (const r of await sql.all(
    `select cg.client_id, cg.api_id from client_grants cg
      left join applications a on a.client_id = cg.client_id
      left join apis p on p.id = cg.api_id
      where a.client_id is null or p.id is null`,
  ))
    out.push(`orphan client_grant ${r.client_id} → ${r.api_id}`);
  for (const r of await sql.all(
    `select s.sid from sessions s left join users u on u.id = s.user_id where u.id is null`,
  ))
    out.push(`session ${r.sid}: its user does not exist`);
  if (sql.dialect === 'sqlite') {
    const integrity = await sql.all('pragma integrity_check');
    const verdict = integrity.map((r) => Object.values(r)[0]).join('; ');
    if (verdict !== 'ok') out.push(`sqlite integrity_check: ${verdict}`);
    for (const r of await sql.all('pragma foreign_key_check'))
      out.push(`sqlite foreign_key_check: ${JSON.stringify(r)}`);
  }
  return out;
}
