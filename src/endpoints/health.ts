import type { Context } from 'hono';
import type { AppEnv, Deps } from '../http/context.js';
import { jsonNoStore } from '../http/respond.js';

/** What GET /healthz answers. */
export const HEALTHY = { status: 'ok' } as const;

/** GET /healthz: the process is up and serving. */
export function healthEndpoint() {
  return (c: Context<AppEnv>): Response => jsonNoStore(c, HEALTHY);
}

/** GET /readyz: the database answers; 503 while it does not. */
export function readyEndpoint(deps: Deps) {
  return async (c: Context<AppEnv>): Promise<Response> => {
    try {
      await deps.storage.ping();
      return jsonNoStore(c, { status: 'ok' });
    } catch (err) {
      c.get('log').warn({ err }, 'database not ready');
      return jsonNoStore(c, { status: 'unavailable', error: 'the database does not answer' }, 503);
    }
  };
}
