import { OpenAPIHono } from '@hono/zod-openapi';
import type { MiddlewareHandler } from 'hono';
import { bodyLimit } from 'hono/body-limit';
import { routePath } from 'hono/route';
import { MANAGEMENT_SCOPES } from '../admin/system.js';
import { IMPORT_FILE_LIMIT } from '../admin/user-import.js';
import type { Deps } from '../http/context.js';
import { endpointUrl } from '../protocol/issuer.js';
import { auditWrites } from './audit.js';
import { authenticate, type ManagementEnv } from './auth.js';
import { clientGrantRoutes } from './client-grants.js';
import { clientRoutes } from './clients.js';
import { connectionRoutes } from './connections.js';
import { docsPage, swaggerAsset } from './docs.js';
import { ManagementError, managementErrorResponse, toManagementError, validationFailure } from './errors.js';
import { grantRoutes } from './grants.js';
import { refuseHostileInput } from './hostile.js';
import { jobRoutes } from './jobs.js';
import { keyRoutes } from './keys.js';
import { logRoutes } from './logs.js';
import { refreshTokenRoutes } from './refresh-tokens.js';
import { resourceServerRoutes } from './resource-servers.js';
import { roleRoutes } from './roles.js';
import { sessionRoutes } from './sessions.js';
import { statsRoutes } from './stats.js';
import { settingsRoutes } from './tenant-settings.js';
import { ticketRoutes } from './tickets.js';
import { userAccessRoutes } from './user-access.js';
import { userRoutes } from './users.js';

/**
 * The Management API (`/api/v2`): Auth0's paths and shapes over the service layer of admin/,
 * every operation behind a bearer token for the Management API and its own scope; requests
 * validated by the zod schemas that also make the OpenAPI document.
 */
export function managementApi(deps: Deps): OpenAPIHono<ManagementEnv> {
  const app = new OpenAPIHono<ManagementEnv>({
    defaultHook: (result) => {
      if (!result.success) throw validationFailure(result.target, result.error);
    },
  });
  app.onError((err, c) => {
    const known = toManagementError(err, c.req.path);
    if (known) return managementErrorResponse(c, known);
    c.get('log')?.error({ err }, 'unexpected error');
    return managementErrorResponse(
      c,
      new ManagementError(500, `Internal error; request id ${c.get('requestId') ?? 'unknown'}`),
    );
  });
  let doc: unknown;
  app.get('/openapi.json', (c) => {
    doc ??= document(app, deps);
    return c.json(doc);
  });
  app.get('/docs', docsPage);
  app.get('/docs/:asset', swaggerAsset);
  // The three routes above answer without a token: they come first, and answer.
  app.use('*', authenticate(deps));
  // Outside the body checks, so that a write they refuse is logged (fapi) too.
  app.use('*', auditWrites(deps));
  app.use('*', limitBodies(deps.config.bodyLimit));
  app.use('*', refuseHostileInput);
  clientRoutes(app, deps);
  resourceServerRoutes(app, deps);
  clientGrantRoutes(app, deps);
  userRoutes(app, deps);
  grantRoutes(app, deps);
  sessionRoutes(app, deps);
  refreshTokenRoutes(app, deps);
  keyRoutes(app, deps);
  settingsRoutes(app, deps);
  ticketRoutes(app, deps);
  roleRoutes(app, deps);
  userAccessRoutes(app, deps);
  logRoutes(app, deps);
  statsRoutes(app, deps);
  connectionRoutes(app);
  jobRoutes(app, deps);
  let methods: ((path: string) => string[]) | undefined;
  app.all('*', (c) => {
    methods ??= methodsByPath(app);
    // Under the mount point (`/api/v2/*` matched this): the routes' paths are the API's own.
    const allow = methods(c.req.path.slice(routePath(c).length - 2));
    if (allow.length > 0)
      throw new ManagementError(
        405,
        `${c.req.method} is not allowed on ${c.req.path}`,
        'method_not_allowed',
        {
          Allow: allow.join(', '),
        },
      );
    throw new ManagementError(404, `No endpoint ${c.req.method} ${c.req.path}`, 'inexistent_resource');
  });
  return app;
}

/**
 * Bodies larger than `limit` get 413; a users import may send Auth0's 500 KB file (and its
 * multipart framing), whatever the limit.
 */
function limitBodies(limit: number): MiddlewareHandler {
  const refuse = (bytes: number) =>
    bodyLimit({
      maxSize: bytes,
      onError: () => {
        throw new ManagementError(413, `Payload too large: the limit is ${bytes} bytes`, 'payload_too_large');
      },
    });
  const usual = refuse(limit);
  const imports = refuse(Math.max(limit, IMPORT_FILE_LIMIT + 16 * 1024));
  return (c, next) => (c.req.path.endsWith('/jobs/users-imports') ? imports(c, next) : usual(c, next));
}

/** The methods the API's routes answer on a path (RFC 9110 §15.5.6: a 405 names them in Allow). */
function methodsByPath(app: OpenAPIHono<ManagementEnv>): (path: string) => string[] {
  const routes = app.routes
    .filter((r) => r.method !== 'ALL' && !r.path.includes('*'))
    .map((r) => ({ method: r.method, re: new RegExp(`^${r.path.replace(/:[^/]+/g, '[^/]+')}$`) }));
  return (path) => {
    const found = new Set(routes.filter((r) => r.re.test(path)).map((r) => r.method));
    if (found.has('GET')) found.add('HEAD');
    return [...found];
  };
}

/** The OpenAPI 3.1 document, from the routes' schemas. */
function document(app: OpenAPIHono<ManagementEnv>, deps: Deps): unknown {
  app.openAPIRegistry.registerComponent('securitySchemes', 'oauth2', {
    type: 'oauth2',
    description: 'An access token for the Management API from the client credentials grant.',
    flows: {
      clientCredentials: {
        tokenUrl: endpointUrl(deps.config.issuer, '/oauth/token'),
        scopes: { ...MANAGEMENT_SCOPES },
      },
    },
  });
  return app.getOpenAPI31Document({
    openapi: '3.1.0',
    info: {
      title: 'Sesame Management API',
      version: '2',
      description:
        "An Auth0-compatible subset of Auth0's Management API v2. Client secrets are stored only as hashes: `client_secret` appears only in the answers to create and rotate-secret.",
    },
    servers: [{ url: endpointUrl(deps.config.issuer, '/api/v2') }],
  });
}
