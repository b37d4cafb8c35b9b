import { randomUUID } from 'node:crypto';
import type { Context, MiddlewareHandler } from 'hono';
import type { Logger } from 'pino';
import { merged } from '../../util/merged.js';
import type { AppEnv } from '../context.js';
import type { TrustedProxies } from '../proxies.js';

/**
 * Gives every request an id (X-Request-Id), `X-Content-Type-Options: nosniff`, a child logger
 * and the trusted proxies (for the client's address), and logs the outcome.
 */
export function requestLog(logger: Logger, proxies: TrustedProxies): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    const start = performance.now();
    const requestId = randomUUID();
    const log = logger.child({ reqId: requestId });
    c.set('requestId', requestId);
    c.set('log', log);
    c.set('proxies', proxies);
    // Set before the handler runs, so the handler's response carries them: a header set after
    // `next()` makes Hono copy the whole response (#16). A handler that returns its own Response
    // object drops them, and only then are they added afterwards.
    stamp(c, requestId);
    await next();
    if (!c.res.headers.has('X-Request-Id')) stamp(c, requestId);
    logRequest(log, {}, c.req.method, c.req.path, c.res.status, start);
  };
}

/** The one line logged per answer (at info); `start` from performance.now(). */
export function logRequest(
  log: Logger,
  bindings: Record<string, string>,
  method: string,
  path: string,
  status: number,
  start: number,
): void {
  if (!log.isLevelEnabled('info')) return;
  const ms = Math.round((performance.now() - start) * 10) / 10;
  log.info(merged(bindings, { method, path, status, ms }), 'request');
}

/** The headers every answer carries, in the Hono app and in the lean lane. */
export function stampHeaders(requestId: string): Record<string, string> {
  return { 'X-Request-Id': requestId, 'X-Content-Type-Options': 'nosniff' };
}

function stamp(c: Context, requestId: string): void {
  for (const [name, value] of Object.entries(stampHeaders(requestId))) c.header(name, value);
}
