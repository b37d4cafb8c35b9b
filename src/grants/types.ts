import type { EventType } from '../events/types.js';
import type { Deps } from '../http/context.js';
import type { AuthenticatedClient } from '../http/middleware/client-auth.js';
import type { Params } from '../protocol/params.js';

/** RFC 6749 §5.1 successful token response. */
export interface TokenResponse {
  access_token: string;
  token_type: 'Bearer';
  expires_in: number;
  scope?: string;
  refresh_token?: string;
  id_token?: string;
}

/** What a grant handler gets: parsed params, the authenticated client, the time. */
export interface GrantContext {
  deps: Deps;
  params: Params;
  client: AuthenticatedClient;
  now: number;
  /** The caller's address (for throttling: password grant) and user agent (for log events). */
  origin: { ip: string; userAgent?: string };
  /** What the log event of this request records; the handler fills in what it learns. */
  event: TokenEvent;
}

/** The fields of a token request's log event that only its handler knows. */
export interface TokenEvent {
  /** A more precise type than the grant's own failure (e.g. ferrt, refresh-token reuse). */
  type?: EventType;
  userId?: string;
  userName?: string;
  audience?: string;
  scope?: string;
  details?: Record<string, unknown>;
}

/** One grant type (house rule 2): its name, the parameters it reads, and its handler. */
export interface GrantHandler {
  readonly grantType: string;
  readonly parameters: readonly string[];
  handle(ctx: GrantContext): Promise<TokenResponse>;
  /**
   * Reads ahead, before the client is authenticated, what authenticating it and `handle` will
   * read, in fewer statements (#16's query budgets). Never refuses: what is wrong with the
   * request is found in the order the token endpoint checks it.
   */
  prefetch?(deps: Deps, clientId: string, params: Params): Promise<void>;
}
