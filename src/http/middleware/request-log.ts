import { randomUUID } from 'node:crypto';
import type { MiddlewareHandler } from 'hono';
import type { Logger } from 'pino';
import type { AppEnv } from '../context.js';
import type { TrustedProxies } from '../proxies.js';

/**
 * Gives every request an id (X-Request-Id), a child logger and the trusted proxies (for the
 * client's address), and logs the outcome.
 */
export function requestLog(logger: Logger, proxies: TrustedProxies): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    const start = performance.now();
    const requestId = randomUUID();
    const log = logger.child({ reqId: requestId });
    c.set('requestId', requestId);
    c.set('log', log);
    c.set('proxies', proxies);
    await next();
    c.header('X-Request-Id', requestId);
    if (log.isLevelEnabled('info')) {
      const ms = Math.round((performance.now() - start) * 10) / 10;
      log.info({ method: c.req.method, path: c.req.path, status: c.res.status, ms }, 'request');
    }
  };
}
