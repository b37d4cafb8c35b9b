import type { MiddlewareHandler } from 'hono';
import type { AppEnv } from '../context.js';
import type { Cookies } from '../cookies.js';
import { seeOther } from '../respond.js';

/** The longest query a form is moved into (bytes of ASCII: URLSearchParams escapes the rest). */
const MAX_QUERY = 8192;

/**
 * A form that another site POSTs to /authorize or /oidc/logout arrives without the session
 * cookie, which is SameSite=Lax: the browser sends it with a top-level GET from another site, never
 * with a POST. OpenID Connect has both methods work alike (Core §3.1.2.1, RP-Initiated Logout
 * §2), so such a request is sent back as the same request by GET (303, the parameters in the
 * query), which arrives with the cookie: the person is still signed in, and can be signed out.
 * Only browsers say where a request comes from (`Sec-Fetch-Site`); other callers are answered
 * as they asked.
 */
export function againAsGetFromOtherSites(cookies: Cookies): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    if (c.req.header('sec-fetch-site') !== 'cross-site' || cookies.get(c, 'session') !== undefined) {
      return next();
    }
    const params = c.get('params');
    const query = new URLSearchParams();
    for (const name of params.names()) for (const value of params.all(name)) query.append(name, value);
    // A form too large for an address (Node takes 16 KiB of request head) is answered as it came.
    const search = query.toString();
    if (search.length > MAX_QUERY) return next();
    // Relative to the request's own address, so a proxy's path prefix stays.
    return seeOther(c, `?${search}`);
  };
}
