import type { LogEvent, LogFilter, Slice, Storage } from '../storage/types.js';
import { NotFoundError, ValidationError } from './errors.js';
import { timeRange, unquote } from './search-range.js';
import { localUserId } from './user-search.js';

/** One term of a search: `field:value`, `field:"quoted value"`, `field:(a OR b)`, `date:[from TO to]`. */
const TERM =
  /\s*(?:(AND)(?=\s|$)|([a-z_]+):("(?:[^"\\]|\\.)*"|\([^)]*\)|\[[^\]]*\]|\{[^}]*\}|[^\s()[\]{}]+))/y;
function dateRange(value: string, out: LogFilter): void {
  const { since, until } = timeRange('date', value);
  if (since !== undefined) out.since = since;
  if (until !== undefined) out.until = until;
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
  while (at < q.length && q.slice(at).trim() !== '') {
    TERM.lastIndex = at;
    const m = TERM.exec(q);
    if (!m) throw new ValidationError(`q: cannot read the search from "${q.slice(at).trim().slice(0, 40)}"`);
    at = TERM.lastIndex;
    if (m[1]) continue;
    const field = m[2]!;
    const value = m[3]!;
    // Terms are joined by AND: the same field twice would mean both at once.
    if (seen.has(field))
      throw new ValidationError(`q: ${field} is given twice (for either value, ${field}:(a OR b))`);
    seen.add(field);
    if (field === 'date') dateRange(value, out);
    else if (field === 'type') {
      out.types = value.startsWith('(')
        ? value
            .slice(1, -1)
            .split(/\s+OR\s+/)
            .map((v) => unquote(v.trim()))
        : [unquote(value)];
    } else if (field === 'user_id') out.userId = localUserId(unquote(value));
    else if (field === 'client_id') out.clientId = unquote(value);
    else throw new ValidationError(`q: cannot search by ${field} (type, user_id, client_id and date can)`);
  }
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
