import type { SelectQueryBuilder } from 'kysely';
import type { ListOrder } from '../../list-orders.js';
import type { Slice } from '../../types.js';

// biome-ignore lint/suspicious/noExplicitAny: any query of any table
type AnyQuery = SelectQueryBuilder<any, any, any>;

/** Limits a query to a slice of its rows (the whole list without one). */
export function sliced<Q extends AnyQuery>(q: Q, slice: Slice | undefined): Q {
  return slice ? (q.limit(slice.limit).offset(slice.offset) as Q) : q;
}

/** The columns a list is ordered by, each ascending or descending; the last makes each row's key unique. */
export type SortKey = ListOrder<unknown>['columns'];

/**
 * Orders a query by `key` and takes the slice: from `slice.after` on when given (the key of the
 * last row of the page before: rows added or removed meanwhile move no other row past it),
 * else by offset.
 */
export function keyset<Q extends AnyQuery>(q: Q, key: SortKey, slice: Slice | undefined): Q {
  let ordered = q;
  for (const [column, direction] of key) ordered = ordered.orderBy(column, direction) as Q;
  const after = slice?.after;
  if (!after) return sliced(ordered, slice);
  if (after.length !== key.length) throw new RangeError('the position does not fit this list');
  // (k1 beyond v1) or (k1 = v1 and k2 beyond v2) or …
  const beyond = ordered.where((eb) =>
    eb.or(
      key.map(([column, direction], i) =>
        eb.and([
          ...key.slice(0, i).map(([earlier], j) => eb(earlier, '=', after[j])),
          eb(column, direction === 'asc' ? '>' : '<', after[i]),
        ]),
      ),
    ),
  ) as Q;
  return beyond.limit(slice.limit) as Q;
}

/** A LIKE pattern that matches `text` anywhere, its own % _ and \ escaped (used with ESCAPE '\'). */
export const containing = (text: string): string => `%${text.replace(/[\\%_]/g, (m) => `\\${m}`)}%`;
