import type { Handler, MiddlewareHandler } from 'hono';
import { discoveryEndpoint } from '../endpoints/discovery.js';
import { healthEndpoint, readyEndpoint } from '../endpoints/health.js';
import { introspectionEndpoint } from '../endpoints/introspect.js';
import { jwksEndpoint } from '../endpoints/jwks.js';
import { revocationEndpoint } from '../endpoints/revoke.js';
import { tokenEndpoint } from '../endpoints/token/index.js';
import type { AppEnv, Deps } from './context.js';
import { parseForm } from './middleware/parse-form.js';

/** One route: a path and, per method, the middleware and handler that serve it. */
export interface Route {
  path: string;
  methods: Partial<Record<'GET' | 'POST', [...MiddlewareHandler<AppEnv>[], Handler<AppEnv>]>>;
}

/** Every route Sesame serves, in one table. Other methods on these paths get 405 with Allow. */
export function routes(deps: Deps): Route[] {
  const form = parseForm(deps.config.bodyLimit);
  return [
    {
      path: '/.well-known/openid-configuration',
      methods: { GET: [discoveryEndpoint(deps.config, 'openid')] },
    },
    {
      path: '/.well-known/oauth-authorization-server',
      methods: { GET: [discoveryEndpoint(deps.config, 'oauth')] },
    },
    { path: '/.well-known/jwks.json', methods: { GET: [jwksEndpoint(deps)] } },
    {
      path: '/oauth/token',
      methods: { POST: [parseForm(deps.config.bodyLimit, new Set(['resource'])), tokenEndpoint(deps)] },
    },
    { path: '/oauth/introspect', methods: { POST: [form, introspectionEndpoint(deps)] } },
    { path: '/oauth/revoke', methods: { POST: [form, revocationEndpoint(deps)] } },
    { path: '/healthz', methods: { GET: [healthEndpoint()] } },
    { path: '/readyz', methods: { GET: [readyEndpoint(deps)] } },
  ];
}
