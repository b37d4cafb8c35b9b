import { randomUUID } from 'node:crypto';
import type { MiddlewareHandler } from 'hono';
import type { Logger } from 'pino';
import type { AppEnv } from '../context.js';

/** Gives every request an id (X-Request-Id) and a child logger, and logs the outcome. */
export function requestLog(logger: Logger): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    const start = performance.now();
    const requestId = randomUUID();
    const log = logger.child({ reqId: requestId });
    c.set('requestId', requestId);
    c.set('log', log);
    await next();
    c.header('X-Request-Id', requestId);
    if (log.isLevelEnabled('info')) {
      const ms = Math.round((performance.now() - start) * 10) / 10;
      log.info({ method: c.req.method, path: c.req.path, status: c.res.status, ms }, 'request');
    }
  };
}
