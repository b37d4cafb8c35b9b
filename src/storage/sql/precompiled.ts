import type { Compilable, CompiledQuery, Kysely, QueryResult } from 'kysely';
import { merged } from '../../util/merged.js';
import type { Database } from './schema.js';

/** What a placeholder argument looks like while the query is built (never a real value: NUL). */
const SLOT = '\u0000sesame-slot:';

/**
 * Marks a statement whose result nobody reads (an insert the request does not look at again).
 * Inside a transaction on PostgreSQL it waits to be sent with the transaction's next statement or
 * its COMMIT, in one round trip (postgres-pipeline.ts); a failure of it then fails that statement,
 * so the transaction still fails as a whole. Elsewhere it runs at once, like any statement.
 */
export const UNREAD: unique symbol = Symbol('sesame.unread');

interface Template {
  compiled: CompiledQuery;
  /** For each compiled parameter: the argument it takes, or -1 for a constant of the query. */
  from: number[];
}

/**
 * A hot-path query built and compiled once per SQL dialect (#16). `build` is called with a
 * placeholder for each argument; each call then binds the real arguments into the compiled
 * parameters, so kysely neither builds nor compiles it again (about half of a primary-key read's
 * cost through kysely). The statement still runs through kysely's executor, so transactions,
 * the statement listeners and better-sqlite3's statement cache work as for any other query.
 * `unread`: its result is not read (UNREAD).
 */
export function precompiled<A extends unknown[], R>(
  arity: A['length'],
  build: (db: Kysely<Database>, ...args: A) => Compilable<R>,
  opts: { unread?: true } = {},
): (db: Kysely<Database>, ...args: A) => Promise<QueryResult<R>> {
  const templates = new Map<unknown, Template>();
  const mark = opts.unread ? { [UNREAD]: true } : null;
  return async (db, ...args) => {
    const dialect = db.getExecutor().adapter.constructor;
    let template = templates.get(dialect);
    if (!template) {
      const slots = Array.from({ length: arity }, (_, i) => `${SLOT}${i}`) as A;
      const compiled = build(db, ...slots).compile();
      const from = compiled.parameters.map((p) =>
        typeof p === 'string' && p.startsWith(SLOT) ? Number(p.slice(SLOT.length)) : -1,
      );
      for (let i = 0; i < arity; i++) {
        if (!from.includes(i))
          throw new Error(`precompiled query: argument ${i} is not a parameter of ${compiled.sql}`);
      }
      template = { compiled, from };
      templates.set(dialect, template);
    }
    const { compiled, from } = template;
    const parameters = from.map((arg, i) => (arg < 0 ? compiled.parameters[i] : args[arg]));
    return db.executeQuery<R>(
      mark ? merged(compiled, { parameters }, mark) : merged(compiled, { parameters }),
    );
  };
}
