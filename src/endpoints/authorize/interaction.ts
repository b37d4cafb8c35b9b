import type { Context } from 'hono';
import { clientIp } from '../../http/client-ip.js';
import type { Deps } from '../../http/context.js';
import type { Cookies } from '../../http/cookies.js';
import { PageError } from '../../http/page.js';
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
  csrf: string;
  state: InteractionState;
}

/**
 * Stores an interaction bound to this browser by a cookie (its id stored hashed); each client
 * address may start `session.interactionsPerMinute` a minute (#14 §8).
 */
export async function startInteraction(deps: Deps, cookies: Cookies, c: Context, state: InteractionState) {
  const wait = deps.limits.interactions.take(clientIp(c), deps.clock.now());
  if (wait > 0) {
    throw new PageError(
      'Too many sign-ins',
      'Too many sign-ins were started from your network. Wait a minute and try again.',
      429,
      { 'Retry-After': String(wait) },
    );
  }
  const old = cookies.get(c, 'interaction');
  if (old) await deps.storage.interactions.delete(sha256(old));
  const value = randomToken(32);
  const lifetime = deps.config.session.interactionLifetime;
  await deps.storage.interactions.create({
    idHash: sha256(value),
    csrf: randomToken(32),
    payload: state as unknown as Record<string, unknown>,
    expiresAt: deps.clock.now() + lifetime,
  });
  cookies.set(c, 'interaction', value, lifetime);
}

/** This browser's pending interaction, or an error page when there is none (expired, or another browser). */
export async function loadInteraction(deps: Deps, cookies: Cookies, c: Context): Promise<Interaction> {
  const value = cookies.get(c, 'interaction');
  const record = value ? await deps.storage.interactions.get(sha256(value)) : null;
  if (!record || record.expiresAt <= deps.clock.now()) {
    throw new PageError(
      'Sign-in expired',
      'This sign-in is no longer in progress. Go back to the application and start again.',
    );
  }
  return { idHash: record.idHash, csrf: record.csrf, state: record.payload as unknown as InteractionState };
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

/** Ends the interaction (it is done, or was denied). */
export async function finishInteraction(
  deps: Deps,
  cookies: Cookies,
  c: Context,
  idHash: string,
): Promise<void> {
  await deps.storage.interactions.delete(idHash);
  cookies.clear(c, 'interaction');
}
