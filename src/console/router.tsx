import type { Context, Hono } from 'hono';
import type { AppEnv, Deps } from '../http/context.js';
import type { Cookies } from '../http/cookies.js';
import { readText } from '../http/middleware/parse-form.js';
import { seeOther } from '../http/respond.js';
import { RequestTooLarge } from '../protocol/errors.js';
import { consolePage } from './layout.js';
import { ApiError, type ServerFetch } from './management.js';
import { type Admin, csrfMatches, endConsoleSession, loadAdmin } from './session.js';

export { seeOther };

/** A console page: the signed-in admin, and for POST the form (its CSRF token already checked). */
export type PageHandler = (c: Context<AppEnv>, admin: Admin, form: URLSearchParams) => Promise<Response>;

/** Registers console pages; each runs only for a signed-in admin. */
export interface ConsoleRouter {
  get(path: string, handler: PageHandler): void;
  post(path: string, handler: PageHandler): void;
}

/**
 * Reads a form body (empty values kept: clearing a field is a change); null past `limit` bytes,
 * which are never buffered (also a body sent without a length).
 */
export async function readConsoleForm(c: Context<AppEnv>, limit: number): Promise<URLSearchParams | null> {
  try {
    return new URLSearchParams(await readText(c, limit));
  } catch (err) {
    if (err instanceof RequestTooLarge) return null;
    throw err;
  }
}

/** The page of a form over the body limit. */
export const tooLargePage = (c: Context, admin?: Admin) =>
  consolePage(
    c,
    { title: 'Too large', ...(admin ? { admin } : {}), children: <p>The form is too large.</p> },
    413,
  );

/**
 * To the sign-in page. A request of htmx's (the live user search) would follow a 303 itself
 * and put the login page's HTML into the part it updates: it gets `HX-Redirect`, which sends
 * the whole page there.
 */
const toSignIn = (c: Context, to: string) =>
  c.req.header('HX-Request') === 'true'
    ? c.body(null, 204, { 'HX-Redirect': to, 'Cache-Control': 'no-store' })
    : seeOther(c, to);

/**
 * A form sent without a console session: it ended (an hour at most, or signed out elsewhere), or
 * the form came from another site, whose request the browser sends without the session cookie.
 * Nothing was done, and the admin is told so rather than taken to the dashboard as if it had
 * been; signing in again leads back to the console page the form was on. htmx's requests go to
 * sign in as before (they carry no form an admin typed).
 */
function sessionEndedPage(c: Context, issuer: string): Response | Promise<Response> {
  if (c.req.header('HX-Request') === 'true') return toSignIn(c, '/console/login');
  const from = consoleReferrer(c, issuer);
  const again = from ? `/console/login?return=${encodeURIComponent(from)}` : '/console/login';
  return consolePage(
    c,
    {
      title: 'Signed out',
      children: (
        <>
          <p class="alert" role="alert">
            This form came without a console session, so what it asked for was not done: the session had
            ended, or the form was sent from another site.
          </p>
          <p>
            <a href={again}>Sign in again</a>, then send the form once more if you meant to.
          </p>
        </>
      ),
    },
    401,
  );
}

/**
 * The console page a form was sent from (its Referer, when that is this console: the issuer's
 * origin, which behind a TLS proxy the request's own URL is not), or null.
 */
function consoleReferrer(c: Context, issuer: string): string | null {
  const referer = c.req.header('Referer');
  if (!referer || !URL.canParse(referer)) return null;
  const from = new URL(referer);
  return from.origin === new URL(issuer).origin && from.pathname.startsWith('/console/')
    ? from.pathname + from.search
    : null;
}

/** GET of a console address that has no page (also a form's own address): a page that says so. */
export const notFoundPage: PageHandler = async (c, admin) =>
  consolePage(
    c,
    { title: 'Not found', admin, children: <p class="alert">There is no page at this address.</p> },
    404,
  );

/**
 * The router of the console's pages: no admin → sign in (then back here); a POST without the
 * session's CSRF token → 403; an API refusal for lack of a permission → a page that says which;
 * an expired token → sign in again.
 */
export function consoleRouter(
  app: Hono<AppEnv>,
  deps: Deps,
  cookies: Cookies,
  fetch: ServerFetch,
): ConsoleRouter {
  const wrap =
    (handler: PageHandler) =>
    async (c: Context<AppEnv>): Promise<Response> => {
      const admin = await loadAdmin(deps, cookies, c, fetch);
      const here = new URL(c.req.url);
      const back = `/console/login?return=${encodeURIComponent(here.pathname + here.search)}`;
      if (!admin) return c.req.method === 'GET' ? toSignIn(c, back) : sessionEndedPage(c, deps.config.issuer);
      let form = new URLSearchParams();
      if (c.req.method === 'POST') {
        const read = await readConsoleForm(c, deps.config.bodyLimit);
        if (!read) return tooLargePage(c, admin);
        if (!csrfMatches(admin, read.get('csrf') ?? undefined)) {
          return consolePage(
            c,
            {
              title: 'Forbidden',
              admin,
              children: (
                <p class="alert">The form could not be verified (CSRF). Reload the page and try again.</p>
              ),
            },
            403,
          );
        }
        form = read;
      }
      try {
        return await handler(c, admin, form);
      } catch (err) {
        if (err instanceof ApiError && err.status === 401) {
          await endConsoleSession(deps, cookies, c);
          return c.req.method === 'GET' ? toSignIn(c, back) : sessionEndedPage(c, deps.config.issuer);
        }
        if (err instanceof ApiError && err.status < 500) {
          // What a page did not show next to a field: the API's own message, never a 500.
          const title = err.status === 403 ? 'Not allowed' : err.status === 404 ? 'Not found' : 'Refused';
          return consolePage(
            c,
            {
              title,
              admin,
              children: (
                <p class="alert" role="alert">
                  {err.message}
                </p>
              ),
            },
            err.status,
          );
        }
        throw err;
      }
    };
  return {
    get: (path, handler) => app.get(path, wrap(handler)),
    post: (path, handler) => app.post(path, wrap(handler)),
  };
}
