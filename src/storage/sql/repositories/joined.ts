import { type AliasedRawBuilder, sql } from 'kysely';

/**
 * The columns of a table in a query that joins it to others: each selected as `<alias>_<column>`
 * so that equal names (id, name, created_at) stay apart, and read back into a row of the table,
 * then into its record (`to`). `columns` names every column, checked against the row type: a
 * column added to the schema must be added here too. The first one must never be null in a row
 * (the primary key, or part of it): a left join that matched nothing gives null there.
 */
export function joinedTable<Row, T>(
  alias: string,
  columns: Record<keyof Row & string, true>,
  to: (row: Row) => T,
) {
  const names = Object.keys(columns) as (keyof Row & string)[];
  const key = (column: string) => `${alias}_${column}`;
  return {
    select: (): AliasedRawBuilder<unknown, string>[] => names.map((c) => sql.ref(`${alias}.${c}`).as(key(c))),
    /** The table's record out of a joined row, or null when the join matched none. */
    read(joinedRow: Record<string, unknown>): T | null {
      if (joinedRow[key(names[0]!)] == null) return null;
      const row: Record<string, unknown> = {};
      for (const c of names) row[c] = joinedRow[key(c)];
      return to(row as Row);
    },
  };
}
