import type { Context, MiddlewareHandler } from 'hono';
import { claimedClientId } from '../../protocol/client-auth.js';
import { registeredOrigins } from '../../protocol/origins.js';
import type { ApplicationRepository } from '../../storage/types.js';
import type { AppEnv, Deps } from '../context.js';

/** Request headers a browser may send cross-origin: what the SPA SDKs send. */
const ALLOW_HEADERS = 'Auth0-Client, Content-Type, Authorization, DPoP';
/** How long a browser may keep a preflight's answer (seconds). */
const MAX_AGE = '600';

/** The answer to a preflight (OPTIONS with Origin and Access-Control-Request-Method). */
function preflight(c: Context, origin: string, methods: string): Response {
  return c.body(null, 204, {
    'Access-Control-Allow-Origin': origin,
    'Access-Control-Allow-Methods': methods,
    'Access-Control-Allow-Headers': ALLOW_HEADERS,
    'Access-Control-Max-Age': MAX_AGE,
    Vary: 'Origin',
  });
}

/**
 * Discovery and the JWKS: public documents that any origin may read (no credentials).
 * The header is set before the handler answers, so the answer is not built twice.
 */
export function publicCors(methods: string): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    if (c.req.method === 'OPTIONS') return preflight(c, '*', methods);
    c.header('Access-Control-Allow-Origin', '*');
    await next();
  };
}

/**
 * Whether some application registered `origin`: read from the database each time (a browser
 * keeps a preflight's answer for Access-Control-Max-Age), so a change applies at once.
 */
async function someAppRegisters(apps: ApplicationRepository, origin: string): Promise<boolean> {
  const candidates = await apps.listMentioning(origin);
  return candidates.some((app) => registeredOrigins(app).includes(origin));
}

/** The client a request is from, as far as it says: the endpoint's finding, else the body or Basic. */
function claimedClient(c: Context<AppEnv>): string | undefined {
  const known = c.get('clientId');
  if (known) return known;
  const params = c.get('params');
  return params ? claimedClientId(c.req.header('authorization'), params) : undefined;
}

/**
 * CORS for the endpoints an application calls from the browser (/oauth/token, /oauth/revoke,
 * /userinfo): an origin that the calling application registered (web origins and callback
 * origins) gets `Access-Control-Allow-Origin`, on errors too; when the caller cannot be told
 * (no client in the request), an origin that some application registered. A preflight cannot
 * name its client, so it is answered for any registered origin. Other origins get no CORS
 * headers, and credentials are never allowed. Requests without Origin pay nothing.
 */
export function clientCors(deps: Deps, methods: string): MiddlewareHandler<AppEnv> {
  const apps = deps.storage.applications;
  return async (c, next) => {
    const origin = c.req.header('origin');
    if (origin === undefined) {
      if (c.req.method === 'OPTIONS') return c.body(null, 204, { Allow: methods });
      return next();
    }
    if (c.req.method === 'OPTIONS') {
      return (await someAppRegisters(apps, origin))
        ? preflight(c, origin, methods)
        : c.body(null, 204, { Vary: 'Origin' });
    }
    await next();
    const clientId = claimedClient(c);
    const app = clientId === undefined ? null : await apps.get(clientId).catch(() => null);
    const allowed = app
      ? registeredOrigins(app).includes(origin)
      : await someAppRegisters(apps, origin).catch(() => false);
    c.header('Vary', 'Origin', { append: true });
    if (allowed) c.header('Access-Control-Allow-Origin', origin);
  };
}
