import type { Context } from 'hono';
import type { Params } from '../protocol/params.js';
import { type ClientOrigin, clientOrigin } from './client-ip.js';
import type { AppEnv } from './context.js';

/**
 * A POST to the token endpoint or introspection as the endpoint reads it, whichever way it came
 * in: through the Hono app, or through the lean lane (lean-lane.ts) straight from Node's request.
 */
export interface FormCall {
  /** The parsed body. */
  params: Params;
  /** The Authorization header, if any (client authentication, RFC 6749 §2.3.1). */
  authorization: string | undefined;
  /** Where the request comes from, for log events (read when first needed). */
  origin(): ClientOrigin;
  /** Told which application the request proved itself to be, as soon as it is known. */
  authenticated?(clientId: string): void;
}

/** The FormCall of a Hono request whose body `parseForm` or `parseBody` has read. */
export function formCall(c: Context<AppEnv>): FormCall {
  return {
    params: c.get('params'),
    authorization: c.req.header('authorization'),
    origin: () => clientOrigin(c),
    authenticated: (clientId) => c.set('clientId', clientId),
  };
}
