import type { Context } from 'hono';
import { clientIp } from '../../http/client-ip.js';
import type { Deps } from '../../http/context.js';
import type { Cookies } from '../../http/cookies.js';
import { PageError } from '../../http/page.js';
import { seeOther } from '../../http/respond.js';
import { randomToken, safeEqual, sha256 } from '../../util/crypto.js';
import type { AuthorizationRequest } from './request.js';

/** What an interaction remembers: the request, and what the person has done so far. */
export interface InteractionState {
  /** The authorization request waiting; absent when the login is for another page (/activate). */
  request?: AuthorizationRequest;
  /** Where the login page sends the person afterwards; default /authorize/resume. */
  returnTo?: string;
  /** Set when the person logged in during this interaction. */
  loggedIn?: boolean;
  /** Set when the person consented during this interaction. */
  consented?: boolean;
  /** Set when the person chose to go on as whoever is signed in (prompt=select_account). */
  accountChosen?: boolean;
}

/** A pending interaction and the CSRF token its forms carry. */
export interface Interaction {
  idHash: string;
  /** Which of the browser's interactions it is, for its pages' links and forms (`i`); '' for one from before. */
  handle: string;
  /** The query naming it (`?i=…`, or '' for one from before), for its pages' forms and links. */
  at: string;
  csrf: string;
  state: InteractionState;
}

/** At most this many interactions under way in one browser; a new one ends the oldest past it. */
const OPEN_PER_BROWSER = 5;

/**
 * The browser's interactions: its cookie holds a secret of the browser's and the handles of the
 * interactions under way, the last begun last (`secret.h1.h2`); an interaction's id is
 * `secret.handle`, stored hashed. So several sign-ins can be under way in one browser (two
 * applications' tabs, or /account beside an application's login page): every redirect, form and
 * link of an interaction names it (`?i=handle`), and a page that names none (typed, or an older
 * link) takes the last begun; a handle without the browser's cookie finds nothing.
 * A cookie of one token (before handles) is that interaction's id.
 */
function browserInteractions(cookies: Cookies, c: Context): BrowserInteractions | null {
  const value = cookies.get(c, 'interaction');
  if (!value) return null;
  const [secret = '', ...open] = value.split('.');
  if (open.length === 0) return { secret, open: [], latest: '', legacy: true };
  return { secret, open, latest: open.at(-1) ?? '', legacy: false };
}

interface BrowserInteractions {
  secret: string;
  /** The handles of the interactions under way, oldest first. */
  open: string[];
  /** The handle of the interaction begun last. */
  latest: string;
  /** A cookie of one token, from before handles: the id of its one interaction. */
  legacy: boolean;
}

/** Writes the browser's interactions back: its secret and those under way; none, no cookie. */
function keepInteractions(deps: Deps, cookies: Cookies, c: Context, secret: string, open: string[]): void {
  if (open.length === 0) cookies.clear(c, 'interaction');
  else cookies.set(c, 'interaction', [secret, ...open].join('.'), deps.config.session.interactionLifetime);
}

/** The id of the browser's interaction `handle` (its hash is the stored key). */
const interactionId = (mine: BrowserInteractions, handle: string) =>
  mine.legacy && handle === '' ? mine.secret : `${mine.secret}.${handle}`;

/** `path` naming the interaction `handle` (`?i=`), so its page finds it whatever began since. */
export function interactionPath(path: string, handle: string): string {
  return handle ? `${path}${path.includes('?') ? '&' : '?'}i=${handle}` : path;
}

/** Back to the request the interaction is for (or the page that asked for a sign-in): 303. */
export function backTo(c: Context, i: Interaction): Response {
  return seeOther(c, i.state.returnTo ?? interactionPath('/authorize/resume', i.handle));
}

/**
 * The query naming this browser's application sign-in still waiting for the person (the one the
 * page names, else the last begun), for a link back to its login page; null when there is none
 * (none under way, or one for /account or /activate, or one signed in already).
 */
export async function waitingSignIn(deps: Deps, cookies: Cookies, c: Context): Promise<string | null> {
  const found = await namedInteraction(deps, cookies, c);
  const state = found?.record.payload as InteractionState | undefined;
  if (!found || !state?.request || state.loggedIn) return null;
  return interactionPath('', found.handle);
}

/** The browser's interaction the page names (else the last begun), still under way; null when none. */
async function namedInteraction(deps: Deps, cookies: Cookies, c: Context) {
  const mine = browserInteractions(cookies, c);
  const handle = mine ? namedHandle(c, mine) : null;
  if (!mine || handle === null) return null;
  const record = await deps.storage.interactions.get(sha256(interactionId(mine, handle)));
  return record && record.expiresAt > deps.clock.now() ? { handle, record } : null;
}

/** The handle the page names (`i` in the query or the form), else the last begun; null when `i` is malformed. */
function namedHandle(c: Context, mine: BrowserInteractions): string | null {
  const named =
    c.req.query('i') ?? (c.get('params') as { get(n: string): string | undefined } | undefined)?.get('i');
  if (named === undefined) return mine.latest;
  return /^[\w-]{1,32}$/.test(named) ? named : null;
}

/**
 * Stores an interaction bound to this browser by a cookie (its id stored hashed), beside any
 * other the browser has under way, and returns its handle; each client address may start
 * `session.interactionsPerMinute` a minute (#14 §8).
 */
export async function startInteraction(
  deps: Deps,
  cookies: Cookies,
  c: Context,
  state: InteractionState,
): Promise<string> {
  const wait = deps.limits.interactions.take(clientIp(c), deps.clock.now());
  if (wait > 0) {
    throw new PageError(
      'Too many sign-ins',
      'Too many sign-ins were started from your network. Wait a minute and try again.',
      429,
      { 'Retry-After': String(wait) },
    );
  }
  const found = browserInteractions(cookies, c);
  // a cookie of one token (before handles): that interaction ends, and the browser gets a secret
  if (found?.legacy) await deps.storage.interactions.delete(sha256(found.secret));
  const mine =
    found && !found.legacy ? found : { secret: randomToken(32), open: [], latest: '', legacy: false };
  const handle = randomToken(12);
  const open = [...mine.open, handle];
  while (open.length > OPEN_PER_BROWSER)
    await deps.storage.interactions.delete(sha256(interactionId(mine, open.shift() as string)));
  await deps.storage.interactions.create({
    idHash: sha256(interactionId(mine, handle)),
    csrf: randomToken(32),
    payload: state as unknown as Record<string, unknown>,
    expiresAt: deps.clock.now() + deps.config.session.interactionLifetime,
  });
  keepInteractions(deps, cookies, c, mine.secret, open);
  return handle;
}

/**
 * This browser's pending interaction: the one the page names (`i` in the query or the form),
 * else the one begun last; or an error page when there is none (expired, or another browser).
 */
export async function loadInteraction(deps: Deps, cookies: Cookies, c: Context): Promise<Interaction> {
  const found = await namedInteraction(deps, cookies, c);
  if (!found) {
    throw new PageError(
      'Sign-in expired',
      'This sign-in is no longer in progress. Go back to the application and start again.',
    );
  }
  const { handle, record } = found;
  return {
    idHash: record.idHash,
    handle,
    at: interactionPath('', handle),
    csrf: record.csrf,
    state: record.payload as unknown as InteractionState,
  };
}

/** The interaction's authorization request, or an error page when it has none. */
export function pendingRequest(i: Interaction): AuthorizationRequest {
  if (!i.state.request) throw new PageError('Nothing to resume', 'No sign-in is waiting for this page.');
  return i.state.request;
}

/** The form's CSRF token must be the interaction's own; a missing or foreign one is 403. */
export function checkCsrf(expected: string, sent: string | undefined): void {
  if (sent === undefined || !safeEqual(expected, sent)) {
    throw new PageError(
      'Forbidden',
      'The form could not be verified (CSRF token missing or wrong). Please try again.',
      403,
    );
  }
}

/**
 * Ends the interaction (it is done, or was denied): the cookie keeps the others under way, and
 * goes with the last of them.
 */
export async function finishInteraction(
  deps: Deps,
  cookies: Cookies,
  c: Context,
  interaction: { idHash: string; handle: string },
): Promise<void> {
  await deps.storage.interactions.delete(interaction.idHash);
  const mine = browserInteractions(cookies, c);
  const open = mine?.open.filter((h) => h !== interaction.handle) ?? [];
  keepInteractions(deps, cookies, c, mine?.secret ?? '', mine?.legacy ? [] : open);
}
