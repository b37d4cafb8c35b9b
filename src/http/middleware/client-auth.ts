import type { Context } from 'hono';
import { readClientCredentials } from '../../protocol/client-auth.js';
import { InvalidClient } from '../../protocol/errors.js';
import type { Params } from '../../protocol/params.js';
import type { Application, ApplicationRepository } from '../../storage/types.js';
import { safeEqual, sameText, sha256 } from '../../util/crypto.js';
import type { AppEnv } from '../context.js';

/** An application that proved who it is, and how. */
export interface AuthenticatedClient {
  app: Application;
  method: 'client_secret_basic' | 'client_secret_post' | 'none';
}

/**
 * The secret each application object last proved itself with (#16: checking the hash costs three
 * SHA-256 a request, 4% of an introspection). Keyed by the object the read cache shares, so a
 * changed application (a rotated secret) is a new object that proves itself anew; set only after
 * the secret's hash matched.
 */
const proven = new WeakMap<Application, string>();

function provesSecret(app: Application, secret: string): boolean {
  const known = proven.get(app);
  if (known !== undefined && sameText(known, secret)) return true;
  if (app.secretHash === null || !safeEqual(sha256(secret), app.secretHash)) return false;
  proven.set(app, secret);
  return true;
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
  if (!provesSecret(app, creds.secret)) {
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
