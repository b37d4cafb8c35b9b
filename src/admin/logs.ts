import type { LogEvent, LogFilter, Slice, Storage } from '../storage/types.js';
import { NotFoundError, ValidationError } from './errors.js';
import { timeRange, unquote } from './search-range.js';
import { localUserId } from './user-search.js';

/** One term of a search: `field:value`, `field:"quoted value"`, `field:(a OR b)`, `date:[from TO to]`. */
const TERM = /\s*(?:(AND)(?=\s|$)|([a-z_]+):("(?:[^"\\]|\\.)*"|\([^)]*\)|[[{][^\]}]*[\]}]|[^\s()[\]{}]+))/y;
function dateRange(value: string, out: LogFilter): void {
  const { since, until } = timeRange('date', value);
  if (since !== undefined) out.since = since;
  if (until !== undefined) out.until = until;
}

/** An event type as Auth0 names them (letters, digits, _). */
const TYPE = /^\w+$/;

/**
 * The values of a `type` term: one, or a list in parentheses, its values joined by OR or by
 * spaces (Lucene's default operator is OR); a wildcard, an empty list or another operator is
 * refused, never read as a type no event has.
 */
function typesOf(value: string): string[] {
  if (!value.startsWith('(')) return [checkedType(unquote(value))];
  const words = value
    .slice(1, -1)
    .trim()
    .split(/\s+/)
    .filter((w) => w !== '');
  const types = words.filter(
    (w, i) => !(w === 'OR' && i > 0 && i < words.length - 1 && words[i - 1] !== 'OR'),
  );
  if (types.length === 0) throw new ValidationError('q: type:() lists no type');
  return types.map((t) => checkedType(unquote(t)));
}

function checkedType(type: string): string {
  if (!TYPE.test(type) || type === 'AND' || type === 'OR' || type === 'NOT')
    throw new ValidationError(
      `q: type ${JSON.stringify(type)} is not an event type (letters, digits and _; no wildcards or operators)`,
    );
  return type;
}

/** The one value of a `user_id` or `client_id` term (a list or a wildcard is refused by name). */
function single(field: string, value: string): string {
  if (value.startsWith('(')) throw new ValidationError(`q: ${field} takes one value, not a list`);
  if (!value.startsWith('"') && /[*?]/.test(value))
    throw new ValidationError(`q: ${field} takes a whole value (no wildcards)`);
  return unquote(value);
}

/**
 * Auth0's log search (a subset of Lucene): `type`, `user_id`, `client_id` and `date` terms
 * joined by spaces or AND, e.g. `type:fp AND user_id:"usr_1"`, `type:(s OR f)`,
 * `date:[2026-11-01 TO 2026-11-30]`. Anything else is refused naming it.
 */
export function parseLogSearch(q: string | undefined): LogFilter {
  const out: LogFilter = {};
  if (q === undefined || q.trim() === '') return out;
  TERM.lastIndex = 0;
  const seen = new Set<string>();
  let at = 0;
  // AND only between two terms
  let and = false;
  let terms = 0;
  while (at < q.length && q.slice(at).trim() !== '') {
    TERM.lastIndex = at;
    const m = TERM.exec(q);
    if (!m) throw new ValidationError(`q: cannot read the search from "${q.slice(at).trim().slice(0, 40)}"`);
    at = TERM.lastIndex;
    if (m[1]) {
      if (and || terms === 0) throw new ValidationError('q: AND must stand between two terms');
      and = true;
      continue;
    }
    and = false;
    terms++;
    const field = m[2]!;
    const value = m[3]!;
    // Terms are joined by AND: the same field twice would mean both at once.
    if (seen.has(field))
      throw new ValidationError(`q: ${field} is given twice (for either value, ${field}:(a OR b))`);
    seen.add(field);
    if (field === 'date') dateRange(value, out);
    else if (field === 'type') out.types = typesOf(value);
    else if (field === 'user_id') out.userId = localUserId(single(field, value));
    else if (field === 'client_id') out.clientId = single(field, value);
    else throw new ValidationError(`q: cannot search by ${field} (type, user_id, client_id and date can)`);
  }
  if (and) throw new ValidationError('q: AND must stand between two terms');
  return out;
}

/** A page of log events, newest first (or oldest first with `ascending`), and the count. */
export async function listLogs(storage: Storage, filter: LogFilter, slice: Slice, ascending = false) {
  return {
    items: await storage.logs.list(filter, slice, ascending),
    total: () => storage.logs.count(filter),
  };
}

/** Up to `limit` events after the event `from` (from the first without it), oldest first. */
export async function logsAfter(
  storage: Storage,
  filter: LogFilter,
  from: string | undefined,
  limit: number,
): Promise<LogEvent[]> {
  const events = await storage.logs.listAfter(filter, from, limit);
  if (!events) throw new ValidationError(`from: no log event ${from}`);
  return events;
}

/** One event, or NotFoundError. */
export async function getLog(storage: Storage, id: string): Promise<LogEvent> {
  const event = await storage.logs.get(id);
  if (!event) throw new NotFoundError(`log event ${id} not found`);
  return event;
}

/** An event in Auth0's shape: the Management API's `Log`, and a line of `sesame logs --json`. */
export interface LogView {
  log_id: string;
  date: string;
  type: string;
  description: string;
  client_id?: string;
  client_name?: string;
  ip?: string;
  user_agent?: string;
  user_id?: string;
  user_name?: string;
  audience?: string;
  scope?: string;
  hostname: string;
  details: Record<string, unknown>;
}

/** `e` in Auth0's shape; `hostname` is the issuer's. */
export function logView(e: LogEvent, hostname: string): LogView {
  return {
    log_id: e.logId,
    date: new Date(e.date).toISOString(),
    type: e.type,
    description: e.description,
    ...(e.clientId !== undefined ? { client_id: e.clientId } : {}),
    ...(e.clientName !== undefined ? { client_name: e.clientName } : {}),
    ...(e.ip !== undefined ? { ip: e.ip } : {}),
    ...(e.userAgent !== undefined ? { user_agent: e.userAgent } : {}),
    ...(e.userId !== undefined ? { user_id: e.userId } : {}),
    ...(e.userName !== undefined ? { user_name: e.userName } : {}),
    ...(e.audience !== undefined ? { audience: e.audience } : {}),
    ...(e.scope !== undefined ? { scope: e.scope } : {}),
    hostname,
    details: e.details,
  };
}
