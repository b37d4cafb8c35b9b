// The shared setup and helpers of the Management API resource tests (test/management/resources*.test.ts).
import { afterAll, beforeAll } from 'vitest';
import type { Api } from '../../src/storage/types.js';
import { startTestApp, type TestApp } from '../support/app.js';
import type { Backend } from '../support/databases.js';
import {
  type Answer,
  type Call,
  caller,
  expectStatus,
  type ManagementCredentials,
  managementToken,
  newApi,
  postToken,
} from './support.js';

export type Creds = { clientId: string; clientSecret: string };

/** Asserts 2xx-with-status and returns the body. */
// biome-ignore lint/suspicious/noExplicitAny: tests read arbitrary JSON shapes
export function ok(answer: Answer, status = 200): any {
  expectStatus(answer, status);
  return answer.body;
}

/**
 * The app a resources test file runs against. `clientCredentials` can be taken at once; the other
 * fields are set by the beforeAll that `resourcesApp` registers, so read them in a later hook or test.
 */
export interface ResourcesApp {
  t: TestApp;
  admin: ManagementCredentials;
  call: Call;
  /** An ordinary API with read:things and write:things, refresh tokens allowed. */
  api: Api;
  /** client_credentials at the token endpoint as `c`, with `extra` form parameters. */
  clientCredentials(c: Creds, extra?: Record<string, string>): ReturnType<typeof postToken>;
}

/**
 * Starts an app on `backend` before the tests of the calling describe block, with a Management API
 * caller holding every scope and an ordinary API, and closes it after them.
 */
export function resourcesApp(backend: Backend): ResourcesApp {
  const env = {
    clientCredentials: (c: Creds, extra: Record<string, string> = {}) =>
      postToken(env.t, {
        grant_type: 'client_credentials',
        client_id: c.clientId,
        client_secret: c.clientSecret,
        ...extra,
      }),
  } as ResourcesApp;

  beforeAll(async () => {
    env.t = await startTestApp(backend);
    env.admin = await managementToken(env.t);
    env.call = caller(env.t, env.admin.token);
    env.api = await newApi(env.t, { allowOfflineAccess: true });
  });
  afterAll(async () => env.t?.close());
  return env;
}
