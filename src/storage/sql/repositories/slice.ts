import type { SelectQueryBuilder } from 'kysely';
import type { Slice } from '../../types.js';

/** Limits a query to a slice of its rows (the whole list without one). */
// biome-ignore lint/suspicious/noExplicitAny: any query of any table
export function sliced<Q extends SelectQueryBuilder<any, any, any>>(q: Q, slice: Slice | undefined): Q {
  return slice ? (q.limit(slice.limit).offset(slice.offset) as Q) : q;
}

/** A LIKE pattern that matches `text` anywhere, its own % _ and \ escaped (used with ESCAPE '\'). */
export const containing = (text: string): string => `%${text.replace(/[\\%_]/g, (m) => `\\${m}`)}%`;
