import type { Context } from 'hono';
import type { NewEvent } from '../../events/log.js';
import { grantHandler } from '../../grants/registry.js';
import type { TokenEvent, TokenResponse } from '../../grants/types.js';
import type { AppEnv, Deps } from '../../http/context.js';
import { type FormCall, formCall } from '../../http/form-call.js';
import { type AuthenticatedClient, authenticateClient } from '../../http/middleware/client-auth.js';
import { jsonNoStore } from '../../http/respond.js';
import { claimedClientId } from '../../protocol/client-auth.js';
import { OAuthError, UnauthorizedClient, UnsupportedGrantType } from '../../protocol/errors.js';
import { required } from '../../protocol/params.js';
import { merged } from '../../util/merged.js';
import { TOKEN_EVENTS } from './events.js';

/** The token request's only repeatable parameter: `resource` (RFC 8707 §2). */
export const TOKEN_REPEATABLE: ReadonlySet<string> = new Set(['resource']);

/** Polling answers of the device flow (RFC 8628 §3.5): normal, not failures worth a log event. */
const POLLING = new Set(['authorization_pending', 'slow_down']);

/**
 * POST /oauth/token (RFC 6749 §3.2): parse → grant type known → authenticate client →
 * client may use the grant → the grant's handler → JSON with no-store (RFC 6749 §5.1).
 */
export function tokenEndpoint(deps: Deps) {
  return async (c: Context<AppEnv>): Promise<Response> =>
    jsonNoStore(c, await tokenAnswer(deps, formCall(c)));
}

/**
 * The token endpoint's answer to `call`, or the OAuthError it refuses with. Every answer is a
 * log event: a failure is written before the answer, a success joins the next batch (within a
 * second).
 */
export async function tokenAnswer(deps: Deps, call: FormCall): Promise<TokenResponse> {
  const params = call.params;
  const grantType = required(params, 'grant_type');
  const handler = grantHandler(grantType);
  if (!handler) throw new UnsupportedGrantType(`grant_type ${grantType} is not supported`);
  const [success, failure] = TOKEN_EVENTS[grantType]!;
  const event: TokenEvent = {};
  let client: AuthenticatedClient | undefined;
  try {
    client = await authenticateClient(deps.storage.applications, call.authorization, params, {
      allowPublic: true,
      ...(handler.prefetch && { prefetch: (clientId: string) => handler.prefetch!(deps, clientId, params) }),
    });
    call.authenticated?.(client.app.clientId);
    if (!client.app.grantTypes.includes(grantType)) {
      throw new UnauthorizedClient(`client is not allowed to use grant_type ${grantType}`);
    }
    const now = deps.clock.now();
    const origin = call.origin();
    const body = await handler.handle({ deps, params, client, now, origin, event });
    deps.events.later(
      merged(origin, event, {
        type: success,
        clientId: client.app.clientId,
        clientName: client.app.name,
        scope: body.scope,
      } satisfies Partial<NewEvent>),
    );
    return body;
  } catch (err) {
    const error = err instanceof OAuthError ? err.error : 'server_error';
    if (!POLLING.has(error)) {
      await deps.events.record(
        merged(call.origin(), event, {
          type: event.type ?? failure,
          description: err instanceof OAuthError ? err.message : 'The request failed',
          clientId: client?.app.clientId ?? claimedClientId(call.authorization, params),
          clientName: client?.app.name,
          details: merged(
            event.details ?? {},
            { error },
            err instanceof OAuthError && err.detail ? { reason: err.detail } : {},
          ),
        } satisfies Partial<NewEvent>),
      );
    }
    throw err;
  }
}
