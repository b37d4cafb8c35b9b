import { expect } from 'vitest';
import type { NewApi } from '../../src/admin/apis.js';
import { authorizeApplication, createApplication } from '../../src/admin/applications.js';
import { MANAGEMENT_SCOPES, managementIdentifier } from '../../src/admin/system.js';
import type { Api } from '../../src/storage/types.js';
import type { TestApp } from '../support/app.js';

/** Every scope of the Management API. */
export const ALL_SCOPES: readonly string[] = Object.keys(MANAGEMENT_SCOPES);

/** An m2m application with a Management API token. */
export interface ManagementCredentials {
  token: string;
  clientId: string;
  clientSecret: string;
}

const FORM = { 'content-type': 'application/x-www-form-urlencoded' };

/** POSTs the token endpoint with raw form parameters; the parsed JSON answer. */
export async function postToken(
  t: TestApp,
  params: Record<string, string>,
): Promise<{ status: number; body: Record<string, unknown> & { error?: string; access_token?: string } }> {
  const res = await t.fetch(`${t.issuer}/oauth/token`, {
    method: 'POST',
    headers: FORM,
    body: new URLSearchParams(params),
  });
  return { status: res.status, body: (await res.json()) as { error?: string } };
}

/**
 * A Management API token with `scopes`: a new m2m application authorized for the Management API
 * (src/admin, as `sesame apps authorize` does), then client_credentials at /oauth/token.
 */
export async function managementToken(
  t: TestApp,
  scopes: readonly string[] = ALL_SCOPES,
): Promise<ManagementCredentials> {
  const { app, clientSecret } = await createApplication(t.rt.storage, t.clock, {
    name: `Management client (${scopes.length} scopes)`,
    type: 'm2m',
  });
  await authorizeApplication(t.rt.storage, t.clock, app.clientId, managementIdentifier(t.issuer), [
    ...scopes,
  ]);
  const answer = await postToken(t, {
    grant_type: 'client_credentials',
    client_id: app.clientId,
    client_secret: clientSecret!,
    audience: managementIdentifier(t.issuer),
  });
  expect(answer.status, JSON.stringify(answer.body)).toBe(200);
  return { token: answer.body.access_token!, clientId: app.clientId, clientSecret: clientSecret! };
}

/** An ordinary API (read:things, write:things unless `input` says otherwise), through src/admin. */
export function newApi(t: TestApp, input: Partial<NewApi> = {}): Promise<Api> {
  return t.createApi({
    scopes: [
      { name: 'read:things', description: 'Read things' },
      { name: 'write:things', description: 'Write things' },
    ],
    ...input,
  });
}

/** Scopes named `names`, each described by its name. */
export const scopes = (...names: string[]) => names.map((name) => ({ name, description: name }));

/** What a Management API call answered. */
export interface Answer {
  status: number;
  headers: Headers;
  /** The JSON body, or the text when it is not JSON, or null when empty. */
  // biome-ignore lint/suspicious/noExplicitAny: tests read arbitrary JSON shapes
  body: any;
  text: string;
}

export interface CallOptions {
  /** A bearer token; null sends no Authorization header (default: the caller's token). */
  token?: string | null;
  /** JSON-serialised unless a string (sent as is). */
  body?: unknown;
  query?: Record<string, string | number | boolean> | URLSearchParams;
  headers?: Record<string, string>;
}

export type Call = (method: string, path: string, opts?: CallOptions) => Promise<Answer>;

/** The URL of a Management API path (`/users/…`), with a query. */
export function managementUrl(t: TestApp, path: string, query?: CallOptions['query']): string {
  const url = new URL(`${t.issuer.replace(/\/+$/, '')}/api/v2${path}`);
  if (query) {
    const params =
      query instanceof URLSearchParams
        ? query
        : new URLSearchParams(Object.entries(query).map(([k, v]): [string, string] => [k, String(v)]));
    for (const [k, v] of params) url.searchParams.append(k, v);
  }
  return url.toString();
}

/** Reads a response into an Answer. */
export async function toAnswer(res: Response): Promise<Answer> {
  const text = await res.text();
  let body: unknown = text === '' ? null : text;
  if (text !== '') {
    try {
      body = JSON.parse(text);
    } catch {
      // not JSON: keep the text
    }
  }
  return { status: res.status, headers: res.headers, body, text };
}

/**
 * A caller of the Management API in-process: `call(method, path, {token, body, query})`, with
 * `token` defaulting to `defaultToken`.
 */
export function caller(t: TestApp, defaultToken?: string): Call {
  return async (method, path, opts = {}) => {
    const headers = new Headers(opts.headers);
    const token = opts.token === undefined ? defaultToken : opts.token;
    if (token !== null && token !== undefined && !headers.has('authorization')) {
      headers.set('authorization', `Bearer ${token}`);
    }
    let body: string | undefined;
    if (opts.body !== undefined) {
      body = typeof opts.body === 'string' ? opts.body : JSON.stringify(opts.body);
      if (!headers.has('content-type')) headers.set('content-type', 'application/json');
    }
    const res = await t.fetch(managementUrl(t, path, opts.query), {
      method,
      headers,
      ...(body !== undefined ? { body } : {}),
    });
    return toAnswer(res);
  };
}

/** Asserts a status, showing the body when it differs. */
export function expectStatus(answer: Answer, status: number): void {
  expect(answer.status, `${answer.status} ${answer.text.slice(0, 2000)}`).toBe(status);
}

/** Asserts an Auth0-shaped error: `{statusCode, error, message, errorCode}`. */
export function expectError(answer: Answer, status: number, errorCode?: string): void {
  expectStatus(answer, status);
  expect(answer.headers.get('content-type') ?? '').toMatch(/^application\/json/);
  expect(answer.body).toEqual(
    expect.objectContaining({
      statusCode: status,
      error: expect.any(String),
      message: expect.any(String),
      ...(errorCode ? { errorCode } : {}),
    }),
  );
}

/** An ISO 8601 date-time as the API writes times. */
export const ISO_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$/;

/** A unique suffix for names and identifiers. */
let n = 0;
export const unique = (prefix = 'x'): string => `${prefix}${++n}${Math.random().toString(36).slice(2, 7)}`;
