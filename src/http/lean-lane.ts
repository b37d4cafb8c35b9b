import { randomUUID } from 'node:crypto';
import type { IncomingMessage, RequestListener, ServerResponse } from 'node:http';
import { DISCOVERY_MAX_AGE, discoveryDocument } from '../endpoints/discovery.js';
import { HEALTHY } from '../endpoints/health.js';
import { jwksDocument } from '../endpoints/jwks.js';
import type { Deps } from './context.js';
import { logRequest } from './middleware/request-log.js';
import {
  cachedHeaders,
  etagMatches,
  NO_STORE,
  type SerializedJson,
  serializeJson,
  writeJson,
} from './respond.js';

/** A document the lean lane serves, and how. */
interface LeanRoute {
  document(): SerializedJson | Promise<SerializedJson>;
  /** Public and cacheable for this many seconds (ETag, 304, any origin), or private (no-store). */
  maxAge: number | null;
}

/**
 * The lean lane (#16): `GET` of the discovery documents, the JWKS and /healthz answered straight
 * on Node's request, without building a Fetch Request and Response for Hono. The answers are the
 * ones the route table gives (same body, headers, ETag and 304, request id, request log and
 * metrics). Every other request, any other method, a path with anything more (a trailing slash,
 * an encoded character) and a document that cannot be read (the database is down) go to `next`,
 * the Hono app, unchanged.
 */
export function leanLane(deps: Deps, next: RequestListener): RequestListener {
  const openid = discoveryDocument(deps.config, 'openid');
  const oauth = discoveryDocument(deps.config, 'oauth');
  const healthy = serializeJson(HEALTHY);
  const routes = new Map<string, LeanRoute>([
    ['/.well-known/openid-configuration', { document: () => openid, maxAge: DISCOVERY_MAX_AGE }],
    ['/.well-known/oauth-authorization-server', { document: () => oauth, maxAge: DISCOVERY_MAX_AGE }],
    ['/.well-known/jwks.json', { document: jwksDocument(deps), maxAge: deps.config.keys.jwksMaxAge }],
    ['/healthz', { document: () => healthy, maxAge: null }],
  ]);
  const answer = (
    req: IncomingMessage,
    res: ServerResponse,
    path: string,
    route: LeanRoute,
    doc: SerializedJson,
    start: number,
  ) => {
    const requestId = randomUUID();
    const fresh = route.maxAge !== null && etagMatches(req.headers['if-none-match'], doc.etag);
    const status = fresh ? 304 : 200;
    const headers: Record<string, string> =
      route.maxAge === null
        ? { ...NO_STORE }
        : { 'Access-Control-Allow-Origin': '*', ...cachedHeaders(doc, route.maxAge) };
    headers['X-Content-Type-Options'] = 'nosniff';
    headers['X-Request-Id'] = requestId;
    writeJson(res, status, headers, fresh ? null : doc.bytes);
    deps.metrics?.request(path, 'GET', status, start);
    logRequest(deps.logger, { reqId: requestId }, 'GET', path, status, start);
  };
  return (req, res) => {
    if (req.method !== 'GET') return next(req, res);
    const url = req.url ?? '';
    const query = url.indexOf('?');
    const path = query === -1 ? url : url.slice(0, query);
    const route = routes.get(path);
    if (!route) return next(req, res);
    const start = performance.now();
    const doc = route.document();
    if (!(doc instanceof Promise)) return answer(req, res, path, route, doc, start);
    doc.then(
      (d) => answer(req, res, path, route, d, start),
      () => next(req, res),
    );
  };
}
