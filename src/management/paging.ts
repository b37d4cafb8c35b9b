import { z } from '@hono/zod-openapi';
import type { ListOrder } from '../storage/list-orders.js';
import type { Slice } from '../storage/types.js';
import { ManagementError } from './errors.js';

const wholeNumber = (max: number) =>
  z
    .string()
    .regex(/^\d{1,9}$/, 'must be a whole number')
    .transform(Number)
    .pipe(z.number().int().min(0).max(max));

/** A boolean in a query string: `true` or `false`. */
export const booleanQuery = z.enum(['true', 'false']).transform((v) => v === 'true');
const bool = booleanQuery;

/** Auth0's offset paging: `page` from 0, `per_page` (default 50, at most 100), `include_totals`. */
export const pageQuery = {
  page: wholeNumber(1_000_000).optional().openapi({ description: 'Page index, from 0.' }),
  per_page: wholeNumber(100).optional().openapi({ description: 'Items per page, 1 to 100 (default 50).' }),
  include_totals: bool
    .optional()
    .openapi({ description: 'Wrap the list as {start, limit, length, total, …}.' }),
};

/** Auth0's checkpoint paging: `from` (a `next` of an earlier answer) and `take` (1 to 100). */
export const checkpointQuery = {
  from: z.string().max(512).optional().openapi({ description: 'The `next` of the previous page.' }),
  take: wholeNumber(100).optional().openapi({ description: 'Items per page, 1 to 100 (default 50).' }),
  include_totals: bool.optional(),
};

/** The slice a page query asks for. */
export function pageSlice(q: { page?: number | undefined; per_page?: number | undefined }): Slice {
  const limit = q.per_page ?? 50;
  if (limit === 0)
    throw new ManagementError(
      400,
      'Query validation error: per_page: must be from 1 to 100',
      'invalid_query_string',
    );
  return { offset: (q.page ?? 0) * limit, limit };
}

/**
 * The OpenAPI answer of a list whose items `item` describes: the bare array, or with
 * include_totals the page wrapped under `key` (`pageBody`), or, for a list that also pages by
 * checkpoint, `{<key>, next}` (`checkpointBody`).
 */
export function listAnswer<T extends z.ZodTypeAny>(
  key: string,
  item: T,
  paging: 'offset' | 'checkpoint' = 'offset',
) {
  const items = z.array(item);
  const count = z.number().int();
  const totals = z.object({ start: count, limit: count, length: count, total: count, [key]: items });
  if (paging === 'offset') return z.union([items, totals]);
  return z.union([items, totals, z.object({ [key]: items, next: z.string().optional() })]);
}

/** A page of a list: a bare array, or with include_totals `{start, limit, length, total, <key>}`. */
export async function pageBody<T>(
  key: string,
  items: T[],
  slice: Slice,
  includeTotals: boolean | undefined,
  total: () => Promise<number>,
): Promise<unknown> {
  if (!includeTotals) return items;
  return {
    start: slice.offset,
    limit: slice.limit,
    length: items.length,
    total: await total(),
    [key]: items,
  };
}

/**
 * The slice a checkpoint query asks for: `from` is a `next` this API handed out, the sort key of
 * the last item of the page before (base64url JSON), so that items added or removed meanwhile
 * move nothing past it.
 */
export function checkpointSlice(
  q: { from?: string | undefined; take?: number | undefined },
  order: ListOrder<never>,
): Slice {
  const limit = q.take ?? 50;
  if (limit === 0)
    throw new ManagementError(
      400,
      'Query validation error: take: must be from 1 to 100',
      'invalid_query_string',
    );
  if (q.from === undefined) return { offset: 0, limit };
  return { offset: 0, limit, after: positionOf(q.from, order) };
}

function positionOf(from: string, order: ListOrder<never>): (string | number)[] {
  let after: unknown;
  try {
    after = JSON.parse(Buffer.from(from, 'base64url').toString('utf8'));
  } catch {
    after = null;
  }
  const valid =
    Array.isArray(after) &&
    after.length === order.columns.length &&
    order.columns.every(([, , kind], i) =>
      kind === 'number'
        ? Number.isSafeInteger(after[i])
        : typeof after[i] === 'string' && after[i].length <= 256 && !after[i].includes('\u0000'),
    );
  if (!valid || Buffer.from(JSON.stringify(after)).toString('base64url') !== from) {
    throw new ManagementError(
      400,
      'Query validation error: from: not a position this API returned',
      'invalid_query_string',
    );
  }
  return after as (string | number)[];
}

/**
 * A checkpoint page: `{<key>: [...], next}`, `next` (the position after `last`, the sort key
 * of the last item read) only while more may follow.
 */
export function checkpointBody<T>(
  key: string,
  items: T[],
  slice: Slice,
  last: (string | number)[] | undefined,
  /** Whether the page was full as the storage read it (items that went since may be missing). */
  full = items.length === slice.limit,
): Record<string, unknown> {
  return {
    [key]: items,
    ...(full && last ? { next: Buffer.from(JSON.stringify(last)).toString('base64url') } : {}),
  };
}

/** An item as a read that takes `fields` answers it: each property there only when kept. */
export const projectable = <T extends z.ZodRawShape>(item: z.ZodObject<T>) => item.partial();

/** Auth0's `fields` and `include_fields`: which fields of each item the answer keeps. */
export const fieldsQuery = {
  fields: z.string().max(512).optional().openapi({
    description: 'Comma-separated fields to include (or, with include_fields=false, to leave out).',
  }),
  include_fields: bool
    .optional()
    .openapi({ description: 'Whether `fields` are kept (true, the default) or left out.' }),
};

/** Keeps (or, with include_fields=false, drops) the fields `fields` names; none named: all of them. */
export function project<T extends object>(
  item: T,
  q: { fields?: string | undefined; include_fields?: boolean | undefined },
): Partial<T> {
  if (q.fields === undefined || q.fields.trim() === '') return item;
  const names = new Set(q.fields.split(',').map((f) => f.trim()));
  const keep = q.include_fields !== false;
  return Object.fromEntries(Object.entries(item).filter(([k]) => names.has(k) === keep)) as Partial<T>;
}
