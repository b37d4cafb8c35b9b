import { Hono } from 'hono';
import type { AppEnv, Deps } from '../http/context.js';
import { Cookies } from '../http/cookies.js';
import { consoleAsset } from './assets.js';
import type { ServerFetch } from './management.js';
import { apiPages } from './pages/apis.js';
import { applicationPages } from './pages/applications.js';
import { dashboardPages } from './pages/dashboard.js';
import { keyPages } from './pages/keys.js';
import { logPages } from './pages/logs.js';
import { rolePages } from './pages/roles.js';
import { settingsPages } from './pages/settings.js';
import { tryPages } from './pages/try.js';
import { userPages } from './pages/users.js';
import { consoleRouter, notFoundPage } from './router.js';
import { loadAdmin } from './session.js';
import { setupRoutes } from './setup.js';
import { consoleCallbackEndpoint, consoleLogin, consoleLogout } from './signin.js';

/**
 * The web console (`/console`): a first-party application of Sesame that signs admins in
 * through /authorize and does every read and write through the Management API with the admin's
 * own token (kept on the server). Pages are server-rendered; htmx only speeds them up.
 */
export function consoleApp(deps: Deps, fetch: ServerFetch): Hono<AppEnv> {
  const app = new Hono<AppEnv>();
  const cookies = new Cookies(deps.config.issuer);
  app.get('/assets/:name', consoleAsset);
  app.get('/login', consoleLogin(deps, cookies));
  app.get('/callback', consoleCallbackEndpoint(deps, cookies, fetch));
  setupRoutes(app, deps);
  // Signing out when the console session has ended already must not sign in again (the router
  // would send the browser to /console/login, which single sign-on completes): it ends the SSO
  // session through /oidc/logout, whose page asks first, as no id_token_hint is sent.
  app.post('/logout', async (c, next) =>
    (await loadAdmin(deps, cookies, c, fetch)) ? next() : consoleLogout(deps, cookies, c),
  );
  const router = consoleRouter(app, deps, cookies, fetch);
  router.post('/logout', (c, admin) => consoleLogout(deps, cookies, c, admin.idToken));
  dashboardPages(router);
  applicationPages(router);
  tryPages(router, deps, cookies, fetch);
  apiPages(router, fetch, deps.config.issuer);
  userPages(router);
  rolePages(router);
  logPages(router);
  keyPages(router);
  settingsPages(router);
  router.get('*', notFoundPage);
  return app;
}
