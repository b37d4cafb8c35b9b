import type { Context } from 'hono';
import { readClientCredentials } from '../../protocol/client-auth.js';
import { InvalidClient } from '../../protocol/errors.js';
import type { Params } from '../../protocol/params.js';
import type { Application, ApplicationRepository } from '../../storage/types.js';
import { safeEqual, sha256 } from '../../util/crypto.js';
import type { AppEnv } from '../context.js';

/** An application that proved who it is, and how. */
export interface AuthenticatedClient {
  app: Application;
  method: 'client_secret_basic' | 'client_secret_post' | 'none';
}

/**
 * Authenticates the calling client (RFC 6749 §2.3): a confidential application by its secret,
 * compared as SHA-256 in constant time; a public one by client_id alone where `allowPublic`.
 * Every failure is invalid_client (401 with WWW-Authenticate).
 */
export async function authenticateClient(
  apps: ApplicationRepository,
  authorization: string | undefined,
  params: Params,
  opts: { allowPublic: boolean; prefetch?: (clientId: string) => Promise<void> },
): Promise<AuthenticatedClient> {
  const creds = readClientCredentials(authorization, params);
  await opts.prefetch?.(creds.clientId);
  const app = await apps.get(creds.clientId);
  if (!app) throw new InvalidClient('client authentication failed', `unknown client ${creds.clientId}`);
  if (app.secretHash === null) {
    if (creds.method !== 'none') throw new InvalidClient('public clients do not authenticate with a secret');
    if (!opts.allowPublic) throw new InvalidClient('this endpoint requires a confidential client');
    return { app, method: 'none' };
  }
  if (creds.secret === undefined) throw new InvalidClient('client authentication is required');
  if (!safeEqual(sha256(creds.secret), app.secretHash)) {
    throw new InvalidClient('client authentication failed', `wrong secret for ${app.clientId}`);
  }
  return { app, method: creds.method };
}

/** Authenticates the client of a request whose form is parsed (the token-endpoint family). */
export function authenticateRequestClient(
  deps: { storage: { applications: ApplicationRepository } },
  c: Context<AppEnv>,
  opts: { allowPublic: boolean },
): Promise<AuthenticatedClient> {
  return authenticateClient(deps.storage.applications, c.req.header('authorization'), c.get('params'), opts);
}
