import { Hono } from 'hono';
import type { AppEnv, Deps } from './http/context.js';
import { handleError } from './http/error-handler.js';
import { requestLog } from './http/middleware/request-log.js';
import { mountLater } from './http/mount-later.js';
import { brandPages } from './http/page.js';
import { TrustedProxies } from './http/proxies.js';
import { jsonNoStore } from './http/respond.js';
import { routes } from './http/routes.js';
import { MethodNotAllowed } from './protocol/errors.js';
import { renderWithoutAsyncHooks } from './ui/layout.js';

/** Where Sesame renders pages for people (sign-in, self-service, device, logout). */
const PAGE_PATHS = [
  '/authorize',
  '/authorize/*',
  '/u/*',
  '/activate',
  '/activate/*',
  '/account',
  '/account/*',
  '/oidc/logout',
  '/v2/logout',
];

/**
 * Builds the Hono app from its dependencies: the route table, the Management API under /api/v2
 * and the console under /console (both loaded on first use), one request log, one onError.
 */
export function createServer(deps: Deps): Hono<AppEnv> {
  renderWithoutAsyncHooks();
  const app = new Hono<AppEnv>();
  if (deps.metrics) app.use('*', deps.metrics.middleware());
  app.use('*', requestLog(deps.logger, new TrustedProxies(deps.config.trustedProxies)));
  app.use('*', async (_c, next) => {
    deps.storage.beginRequest();
    await next();
  });
  // The pages people see get the tenant's brand (#15); the JSON endpoints do not pay for it.
  for (const path of PAGE_PATHS) app.use(path, brandPages(deps.tenant));
  for (const route of routes(deps)) {
    const allow: string[] = [];
    for (const [method, handlers] of Object.entries(route.methods)) {
      app.on(method, route.path, ...(handlers as [never]));
      allow.push(method);
      if (method === 'GET') allow.push('HEAD');
    }
    app.all(route.path, () => {
      throw new MethodNotAllowed(allow);
    });
  }
  // Built on their first request (#16: idle memory); the console calls the Management API
  // through this app, as a browser would.
  mountLater(app, '/api/v2', async () => (await import('./management/index.js')).managementApi(deps));
  mountLater(app, '/console', async () =>
    (await import('./console/index.js')).consoleApp(deps, async (request, env) => app.fetch(request, env)),
  );
  app.get('/', (c) => c.redirect('/console', 302));
  app.notFound((c) =>
    jsonNoStore(c, { error: 'not_found', error_description: `no route for ${c.req.path}` }, 404),
  );
  app.onError(handleError);
  return app;
}
