import { randomUUID } from 'node:crypto';
import type { IncomingMessage, RequestListener, ServerResponse } from 'node:http';
import { DISCOVERY_MAX_AGE, discoveryDocument } from '../endpoints/discovery.js';
import { HEALTHY } from '../endpoints/health.js';
import { jwksDocument } from '../endpoints/jwks.js';
import { merged } from '../util/merged.js';
import type { Deps } from './context.js';
import { leanPosts } from './lean-posts.js';
import { logRequest, stampHeaders } from './middleware/request-log.js';
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
  /** The document as it stands, or null when reading it needs the database (then Hono answers). */
  document(): SerializedJson | null;
  /** Public and cacheable for this many seconds (ETag, 304, any origin), or private (no-store). */
  maxAge: number | null;
}

/** How many distinct Host values `hostTaken` remembers before it starts over. */
const HOSTS_KEPT = 1000;

/**
 * Whether Hono's adapter takes this Host as it is (its own check: the URL's host name is the
 * header, with or without the port), remembered per value. A Host it refuses (400) or
 * rewrites goes to Hono.
 */
function hostTaken(hosts: Map<string, boolean>, host: string | undefined): boolean {
  if (!host) return false;
  let taken = hosts.get(host);
  if (taken === undefined) {
    try {
      const { hostname } = new URL(`http://${host}/`);
      taken = hostname.length === host.length || hostname === host.replace(/:\d+$/, '');
    } catch {
      taken = false;
    }
    if (hosts.size >= HOSTS_KEPT) hosts.clear();
    hosts.set(host, taken);
  }
  return taken;
}

/** Public documents may be read by any web page (discovery and the JWKS). */
const ANY_ORIGIN = { 'Access-Control-Allow-Origin': '*' } as const;

/**
 * The lean lane (#16): `GET` of the discovery documents, the JWKS and /healthz, and `POST` to the
 * token endpoint and introspection (lean-posts.ts), answered straight on Node's request, without
 * building a Fetch Request and Response for Hono. The answers are the ones the route table gives
 * (same body, headers, ETag and 304, request id, request log and metrics). Everything else goes
 * to `next`, the Hono app, unchanged: any other method or path, a path with anything more (a
 * trailing slash, an encoded character), a Host that is missing or Hono would not take as it is,
 * a JWKS that must be read from the database first, and the POSTs lean-posts.ts leaves to Hono.
 */
export function leanLane(deps: Deps, next: RequestListener): RequestListener {
  const openid = discoveryDocument(deps.config, 'openid');
  const oauth = discoveryDocument(deps.config, 'oauth');
  const healthy = serializeJson(HEALTHY);
  const jwks = jwksDocument(deps);
  const hosts = new Map<string, boolean>();
  const routes = new Map<string, LeanRoute>([
    ['/.well-known/openid-configuration', { document: () => openid, maxAge: DISCOVERY_MAX_AGE }],
    ['/.well-known/oauth-authorization-server', { document: () => oauth, maxAge: DISCOVERY_MAX_AGE }],
    ['/.well-known/jwks.json', { document: jwks.now, maxAge: deps.config.keys.jwksMaxAge }],
    ['/healthz', { document: () => healthy, maxAge: null }],
  ]);
  const answer = (
    req: IncomingMessage,
    res: ServerResponse,
    path: string,
    route: LeanRoute,
    doc: SerializedJson,
  ) => {
    const start = performance.now();
    const requestId = randomUUID();
    const fresh = route.maxAge !== null && etagMatches(req.headers['if-none-match'], doc.etag);
    const status = fresh ? 304 : 200;
    const headers: Record<string, string> =
      route.maxAge === null
        ? merged(NO_STORE, stampHeaders(requestId))
        : merged(ANY_ORIGIN, cachedHeaders(doc, route.maxAge), stampHeaders(requestId));
    writeJson(res, status, headers, fresh ? null : doc.bytes);
    deps.metrics?.request(path, 'GET', status, start);
    logRequest(deps.logger, { reqId: requestId }, 'GET', path, status, start);
  };
  const posts = leanPosts(deps);
  return (req, res) => {
    const method = req.method;
    // A host name is case-insensitive (RFC 9110 §4.2.3); Hono's adapter refuses capitals beside a port.
    const host = req.headers.host;
    if (host && /[A-Z]/.test(host)) req.headers.host = host.toLowerCase();
    if ((method !== 'GET' && method !== 'POST') || !hostTaken(hosts, req.headers.host)) return next(req, res);
    const url = req.url ?? '';
    const query = url.indexOf('?');
    const path = query === -1 ? url : url.slice(0, query);
    if (method === 'POST') {
      if (!posts.serve(req, res, path)) next(req, res);
      return;
    }
    const route = routes.get(path);
    const doc = route?.document();
    if (!route || !doc) return next(req, res);
    try {
      answer(req, res, path, route, doc);
    } catch (err) {
      // nothing here is known to throw; if it does, Hono answers, or the connection ends
      deps.logger.error({ err }, 'the lean lane failed');
      if (res.headersSent) res.destroy();
      else next(req, res);
    }
  };
}
