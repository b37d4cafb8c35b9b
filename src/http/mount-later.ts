import type { Context, Env, Handler, Hono } from 'hono';
import { Hono as App } from 'hono';
import { routePath } from 'hono/route';
import { merged } from '../util/merged.js';
import type { AppEnv } from './context.js';
import { stampHeaders } from './middleware/request-log.js';

/** Where the sub-app's environment holds the outer request's context (beside the server's own). */
const OUTER = Symbol('outer request');

/**
 * Serves `base` and every path under it with a Hono app built, and its modules loaded, on the
 * first request there (#16: the Management API's and the console's modules, their zod schemas
 * and pages, no longer run at every start; many servers never serve either).
 *
 * The sub-app answers inside the request the outer app began: it gets that request's variables
 * (log, request id, trusted proxies) and headers, its errors go to the outer app's onError with
 * the headers set before them, a path it does not know gets the outer app's 404, and the route it
 * matched is what the metrics count. Its routes are mounted under `base` as `app.route` would
 * have mounted them.
 */
export function mountLater<E extends Env>(
  app: Hono<AppEnv>,
  base: string,
  load: () => Promise<Hono<E>>,
): void {
  let built: Promise<Hono<AppEnv>> | undefined;
  const build = () =>
    load().then(
      (sub) => around(base, sub as unknown as Hono<AppEnv>),
      (err: unknown) => {
        built = undefined; // a failed load is tried again by the next request
        throw err;
      },
    );
  const handler: Handler<AppEnv> = async (c) => {
    built ??= build();
    const sub = await built;
    return sub.fetch(c.req.raw, merged((c.env ?? {}) as object, { [OUTER]: c }));
  };
  app.all(base, handler);
  app.all(`${base}/*`, handler);
}

/** `sub` under `base`, adopting the outer request's context. */
function around(base: string, sub: Hono<AppEnv>): Hono<AppEnv> {
  const root = new App<AppEnv>();
  root.use('*', async (c, next) => {
    const outer = outerOf(c);
    for (const [name, value] of Object.entries(outer.var)) c.set(name as keyof AppEnv['Variables'], value);
    // On the sub-app's answers already, as on the outer app's (no copy of the answer to add them).
    for (const [name, value] of Object.entries(stampHeaders(outer.get('requestId')))) c.header(name, value);
    try {
      await next();
    } catch (err) {
      // The outer onError answers; what the handler set before it failed (a cleared cookie) stays.
      carryHeaders(c.res.headers, outer);
      throw err;
    } finally {
      outer.set('route', routePath(c));
    }
  });
  root.route(base, sub);
  root.notFound((c) => outerOf(c).notFound());
  // Thrown on, out of `fetch`, to the outer app's onError with the outer context.
  root.onError((err) => {
    throw err;
  });
  return root;
}

function outerOf(c: Context): Context<AppEnv> {
  const outer: Context<AppEnv> | undefined = c.env?.[OUTER];
  if (!outer) throw new Error(`no outer request for ${c.req.path}`);
  return outer;
}

function carryHeaders(headers: Headers, to: Context): void {
  for (const [name, value] of headers) if (name !== 'set-cookie') to.header(name, value);
  for (const cookie of headers.getSetCookie()) to.header('Set-Cookie', cookie, { append: true });
}
