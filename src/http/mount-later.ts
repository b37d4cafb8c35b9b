import type { Context, Env, Handler, Hono } from 'hono';
import { Hono as App } from 'hono';
import { routePath } from 'hono/route';
import type { AppEnv } from './context.js';

/** The request each sub-app call answers, with the context of the app that handed it over. */
const handedOver = new WeakMap<Request, Context<AppEnv>>();

/**
 * Serves `base` and every path under it with a Hono app built, and its modules loaded, on the
 * first request there (#16: the Management API's and the console's modules, their zod schemas
 * and pages, are about 11 MB of an idle server's heap, and many servers never see either).
 *
 * The sub-app answers inside the request the outer app began: it gets that request's variables
 * (log, request id, trusted proxies), its errors go to the outer app's onError, a path it does
 * not know gets the outer app's 404, and the route it matched is what the metrics count. Its
 * routes are mounted under `base` as `app.route` would have mounted them.
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
    handedOver.set(c.req.raw, c);
    return sub.fetch(c.req.raw, c.env);
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
    await next();
    outer.set('route', routePath(c));
  });
  root.route(base, sub);
  root.notFound((c) => outerOf(c).notFound());
  // Thrown on, out of `fetch`, to the outer app's onError with the outer context.
  root.onError((err) => {
    throw err;
  });
  return root;
}

function outerOf(c: Context<AppEnv>): Context<AppEnv> {
  const outer = handedOver.get(c.req.raw);
  if (!outer) throw new Error(`no outer request for ${c.req.path}`);
  return outer;
}
