import type { Context } from 'hono';
import { clientIp } from '../http/client-ip.js';
import { endpointUrl } from '../protocol/issuer.js';

/** What the Management API answered to a console call. */
export interface ApiAnswer<T = unknown> {
  status: number;
  body: T;
}

/** A refused console call: the Management API's status and message (which names the field). */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly errorCode?: string,
  ) {
    super(message);
  }

  /** The field a validation message names (`…: name: must be …`), when it names one. */
  get field(): string | undefined {
    const m = /(?:error: )?(?:[a-z_]+\.)*([a-z_]+)(?: "[^"]*")?: /i.exec(
      this.message.replace(/^.*validation error: /i, ''),
    );
    return m?.[1];
  }
}

/** Sends a request to the server in-process (the whole app, as any client would reach it). */
export type ServerFetch = (request: Request, env?: unknown) => Promise<Response>;

/**
 * The Management API as the console calls it: in-process, with the signed-in admin's own
 * token, so the console can do nothing the API does not allow that person.
 */
export class ManagementCalls {
  constructor(
    private readonly fetch: ServerFetch,
    private readonly base: string,
    private readonly token: string,
    /** The admin's address, so that the API's log events name it. */
    private readonly ip: string,
  ) {}

  static for(c: Context, fetch: ServerFetch, issuer: string, token: string): ManagementCalls {
    return new ManagementCalls(fetch, endpointUrl(issuer, '/api/v2'), token, clientIp(c));
  }

  async call<T = unknown>(method: string, path: string, body?: unknown): Promise<ApiAnswer<T>> {
    const headers: Record<string, string> = {
      authorization: `Bearer ${this.token}`,
      'user-agent': 'Sesame Console',
    };
    if (body !== undefined) headers['content-type'] = 'application/json';
    const res = await this.fetch(
      new Request(`${this.base}${path}`, {
        method,
        headers,
        ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
      }),
      { incoming: { socket: { remoteAddress: this.ip } } },
    );
    const text = await res.text();
    const parsed = text === '' ? null : (JSON.parse(text) as unknown);
    if (res.status >= 400) {
      const err = parsed as { message?: string; errorCode?: string } | null;
      throw new ApiError(res.status, err?.message ?? `HTTP ${res.status}`, err?.errorCode);
    }
    return { status: res.status, body: parsed as T };
  }

  get = <T = unknown>(path: string) => this.call<T>('GET', path).then((a) => a.body);
  post = <T = unknown>(path: string, body?: unknown) =>
    this.call<T>('POST', path, body ?? {}).then((a) => a.body);
  patch = <T = unknown>(path: string, body: unknown) => this.call<T>('PATCH', path, body).then((a) => a.body);
  delete = (path: string, body?: unknown) => this.call('DELETE', path, body).then(() => undefined);

  /**
   * Every item of a paged list (`path` with or without a query), a hundred a page, up to
   * `maxPages` pages: for the choices of a form, which must offer every one.
   */
  async all<T>(path: string, maxPages = 100): Promise<T[]> {
    const sep = path.includes('?') ? '&' : '?';
    const items: T[] = [];
    for (let page = 0; page < maxPages; page++) {
      const batch = await this.get<T[]>(`${path}${sep}per_page=100&page=${page}`);
      items.push(...batch);
      if (batch.length < 100) break;
    }
    return items;
  }
}
