import type { MiddlewareHandler } from 'hono';
import { clientOrigin } from '../http/client-ip.js';
import type { Deps } from '../http/context.js';
import { problem } from '../util/json-problems.js';
import type { ManagementEnv } from './auth.js';

const WRITES = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);
/** Bodies kept in an event: enough to say what changed, never whole documents. */
const MAX_BODY = 8192;

const TOO_LARGE = '[too large to keep]';
const REFUSED = '[refused, not kept]';

/** A query as kept in an event; not kept when it holds what the API refuses (a NUL…). */
function keptQuery(params: URLSearchParams): unknown {
  const query = Object.fromEntries(params);
  return problem(query) ? REFUSED : query;
}

/**
 * A JSON body as kept in an event: parsed when at most MAX_BODY characters, whatever its headers
 * said; not kept when it holds what refuseHostileInput refuses (a prototype key, a NUL…).
 */
async function jsonOf(read: () => Promise<string>): Promise<unknown> {
  try {
    const text = await read();
    if (text.length > MAX_BODY) return TOO_LARGE;
    const parsed: unknown = JSON.parse(text);
    return problem(parsed) ? REFUSED : parsed;
  } catch {
    return undefined;
  }
}

/**
 * Every Management API write is a log event, written before the answer: `sapi` when it
 * succeeded, `fapi` when it failed, with the caller (application, and person for their own
 * tokens), the request (method, path, query, body) and the answer's status and body. Secrets in
 * either (passwords, client secrets, keys) are redacted by the event log.
 */
export function auditWrites(deps: Deps): MiddlewareHandler<ManagementEnv> {
  return async (c, next) => {
    if (!WRITES.has(c.req.method)) return next();
    await next();
    const token = c.get('token');
    if (!token) return;
    const url = new URL(c.req.url);
    const isJson = (type: string | null | undefined) => type?.includes('json') === true;
    // A body over the limit was never read whole, and is not read now.
    const requestBody = !isJson(c.req.header('content-type'))
      ? undefined
      : c.res.status === 413
        ? TOO_LARGE
        : await jsonOf(() => c.req.text());
    const responseBody = isJson(c.res.headers.get('content-type'))
      ? await jsonOf(() => c.res.clone().text())
      : undefined;
    const ok = c.res.status < 400;
    const app = await deps.storage.applications.get(token.client_id);
    const person = token.sub !== token.client_id ? await deps.storage.users.get(token.sub) : null;
    await deps.events.record({
      ...clientOrigin(c),
      type: ok ? 'sapi' : 'fapi',
      description: `${ok ? 'Success' : 'Failed'} API operation: ${c.req.method} ${url.pathname}`,
      clientId: token.client_id,
      clientName: app?.name,
      ...(token.sub !== token.client_id ? { userId: token.sub, userName: person?.email } : {}),
      details: {
        request: {
          method: c.req.method,
          path: url.pathname,
          ...(url.search ? { query: keptQuery(url.searchParams) } : {}),
          ...(requestBody !== undefined ? { body: requestBody } : {}),
        },
        response: {
          statusCode: c.res.status,
          ...(responseBody !== undefined ? { body: responseBody } : {}),
        },
      },
    });
  };
}
