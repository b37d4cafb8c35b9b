import { PageError } from '../../http/page.js';
import type { Params } from '../../protocol/params.js';
import { OFF_BY_SLASH, offBySlash } from '../../protocol/redirect-uri.js';
import type { Application, ApplicationRepository } from '../../storage/types.js';

/** RFC 6749 §4.1.2.1: an unknown client_id gets an error page, never a redirect. */
export async function checkClient(apps: ApplicationRepository, params: Params): Promise<Application> {
  const clientId = params.get('client_id');
  if (clientId === undefined) throw new PageError('Invalid request', 'The request has no client_id.');
  const app = await apps.get(clientId);
  if (!app || app.type === 'm2m')
    throw new PageError('Unknown application', 'The application is not registered.');
  return app;
}

const LOOPBACK = /^http:\/\/(127\.0\.0\.1|\[::1\])(?::(\d{1,5}))?([/?].*)?$/;

/**
 * RFC 8252 §7.3: a native app's loopback IP redirect may use any port (1–65535); everything
 * else must be identical. Only native apps: the others' callbacks match exactly (RFC 9700 §2.1).
 */
function sameWithoutPort(registered: string, requested: string): boolean {
  const r = LOOPBACK.exec(registered);
  const q = LOOPBACK.exec(requested);
  const port = Number(q?.[2] ?? 80);
  if (r === null || q === null || port < 1 || port > 65535) return false;
  return r[1] === q[1] && (r[3] ?? '') === (q[3] ?? '');
}

/**
 * RFC 6749 §3.1.2.3, RFC 9700 §4.1.3: redirect_uri must equal a registered callback by simple
 * string comparison (a native app's loopback IPs may differ in port); it may be left out only
 * when exactly one is registered. Until it passes, errors go to an error page.
 */
export function checkRedirectUri(app: Application, params: Params): string {
  const requested = params.get('redirect_uri');
  if (requested === undefined) {
    if (app.callbacks.length === 1) return app.callbacks[0] as string;
    throw new PageError(
      'Invalid request',
      'The request has no redirect_uri and the application has several.',
    );
  }
  if (isRegisteredCallback(app, requested)) return requested;
  throw new PageError(
    'Invalid redirect_uri',
    `The redirect_uri is not registered for this application${offBySlash(app.callbacks, requested) ? `: ${OFF_BY_SLASH}` : ''}.`,
  );
}

/** Whether `uri` is one of the application's callbacks, as checkRedirectUri compares them. */
function isRegisteredCallback(app: Application, uri: string): boolean {
  return app.callbacks.some((r) => r === uri || (app.type === 'native' && sameWithoutPort(r, uri)));
}

/**
 * The application of a sign-in that was waiting (on the login or consent page), read again: it
 * may have been deleted, or the callback the request named taken off its list meanwhile (say, an
 * address found compromised), and then nothing goes there (RFC 6749 §3.1.2.3 holds at the end
 * of a sign-in as at its start).
 */
export async function pendingApplication(
  apps: ApplicationRepository,
  req: { clientId: string; redirectUri: string },
): Promise<Application> {
  const app = await apps.get(req.clientId);
  if (!app) throw new PageError('Unknown application', 'The application is not registered.');
  if (!isRegisteredCallback(app, req.redirectUri))
    throw new PageError(
      'Invalid redirect_uri',
      'The application no longer has this callback URL. Go back to the application and start again.',
    );
  return app;
}
