import { afterAll, beforeAll, expect } from 'vitest';
import type { Api } from '../../src/storage/types.js';
import { startTestApp, type TestApp } from '../support/app.js';
import type { Backend } from '../support/databases.js';

/*
 * What the introspection tests (RFC 7662) share: an app on one backend with an API, an m2m
 * client that gets its tokens, and a second confidential client that asks about them (a
 * resource server's credentials).
 */

export const FORM = { 'content-type': 'application/x-www-form-urlencoded' };
export const INACTIVE = '{"active":false}';

export const basic = (id: string, secret: string) =>
  `Basic ${Buffer.from(`${encodeURIComponent(id)}:${encodeURIComponent(secret)}`).toString('base64')}`;

export const b64 = (v: unknown) => Buffer.from(JSON.stringify(v)).toString('base64url');

export interface Body {
  [claim: string]: unknown;
  error?: string;
  error_description?: string;
}

type Credentials = { clientId: string; clientSecret: string };

/** The app and its clients, set in `beforeAll`. */
export interface IntrospectionApp {
  t: TestApp;
  api: Api;
  m2m: Credentials;
  /** A confidential client that asks about tokens (a resource server's credentials). */
  rs: Credentials;
}

/** Starts the app before the suite that calls it (and closes it after); returns its helpers. */
export function introspectionApp(backend: Backend) {
  const app = {} as IntrospectionApp;
  beforeAll(async () => {
    app.t = await startTestApp(backend);
    app.api = await app.t.createApi({ tokenLifetime: 600 });
    app.m2m = await app.t.createM2m(app.api);
    app.rs = await app.t.createM2m(app.api);
  });
  afterAll(async () => app.t?.close());

  /** An access token from client credentials (as `c`, for `audience`). */
  async function issue(c?: Credentials, audience?: string, scope?: string): Promise<string> {
    const caller = c ?? app.m2m;
    const params: Record<string, string> = {
      grant_type: 'client_credentials',
      client_id: caller.clientId,
      client_secret: caller.clientSecret,
      audience: audience ?? app.api.identifier,
    };
    if (scope) params.scope = scope;
    const res = await app.t.fetch(`${app.t.issuer}/oauth/token`, {
      method: 'POST',
      headers: FORM,
      body: new URLSearchParams(params),
    });
    expect(res.status).toBe(200);
    return ((await res.json()) as { access_token: string }).access_token;
  }

  const introspect = (params: Record<string, string>, headers: Record<string, string> = {}) =>
    app.t.fetch(`${app.t.issuer}/oauth/introspect`, {
      method: 'POST',
      headers: { ...FORM, ...headers },
      body: new URLSearchParams(params),
    });

  /** Introspects `token` as the resource server, with client_secret_basic. */
  const ask = (token: string, extra: Record<string, string> = {}) =>
    introspect({ token, ...extra }, { authorization: basic(app.rs.clientId, app.rs.clientSecret) });

  async function expectInactive(token: string): Promise<void> {
    const res = await ask(token);
    expect(res.status).toBe(200);
    expect(res.headers.get('cache-control')).toBe('no-store');
    expect(await res.text()).toBe(INACTIVE);
  }

  return { app, issue, introspect, ask, expectInactive };
}
