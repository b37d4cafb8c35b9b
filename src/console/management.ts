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
    super(inWords(message));
  }

  /** The field a validation message names (`…: name: must be …`), when it names one. */
  get field(): string | undefined {
    const m = /(?:error: )?(?:[a-z_]+\.)*([a-z_]+)(?: "[^"]*")?: /i.exec(
      this.message.replace(/^.*validation error: /i, ''),
    );
    return m?.[1];
  }
}

/** The Management API's phrasings (zod's, a scope refusal's) as a person filling a form reads them. */
const WORDINGS: [RegExp, string | ((...m: string[]) => string)][] = [
  [/^(?:Payload|Query|Path) validation error: /, ''],
  [/Too big: expected string to have <=(\d+) characters/g, 'at most $1 characters'],
  [/Too small: expected string to have >=1 characters/g, 'must not be empty'],
  [/Too small: expected string to have >=(\d+) characters/g, 'at least $1 characters'],
  [/Too small: expected array to have >=1 items/g, 'choose at least one'],
  [
    /Too (big|small): expected array to have [<>]=(\d+) items/g,
    (_, w, n) => `${w === 'big' ? 'at most' : 'at least'} ${n}`,
  ],
  [
    /Too (big|small): expected number to be [<>]=(\S+)/g,
    (_, w, n) => `${w === 'big' ? 'at most' : 'at least'} ${n}`,
  ],
  [/Invalid input: expected int, received \w+/g, 'must be a whole number'],
  [/Invalid input: expected number, received \w+/g, 'must be a number'],
  [/Invalid input: expected boolean, received \w+/g, 'must be true or false'],
  [/Invalid option: expected one of /g, 'must be one of '],
  [
    /^Insufficient scope, expected (any|all) of: (.+)$/,
    (_, kind, list) => `This needs ${permissions(kind!, list!)}.`,
  ],
];

/** `read:a + read:b, read:c` (any of) or `read:a, read:b` (all of), as a sentence. */
function permissions(kind: string, list: string): string {
  const choices = kind === 'all' ? [list.split(', ')] : list.split(', ').map((all) => all.split(' + '));
  const one = choices.length === 1 && choices[0]!.length === 1;
  return `the permission${one ? '' : 's'} ${choices.map((all) => all.join(' and ')).join(', or ')}`;
}

/** A Management API message in the console's words (the field it names stays first). */
export function inWords(message: string): string {
  return WORDINGS.reduce(
    (text, [pattern, replacement]) => text.replace(pattern, replacement as (...m: string[]) => string),
    message,
  );
}

/** Sends a request to the server in-process (the whole app, as any client would reach it). */
export type ServerFetch = (request: Request, env?: unknown) => Promise<Response>;

/**
 * The Management API as the console calls it: in-process, with the signed-in admin's own
 * token, so the console can do nothing the API does not allow that person.
 */
export class ManagementCalls {
  private readonly base: string;

  constructor(
    private readonly fetch: ServerFetch,
    /** The issuer whose Management API this calls. */
    readonly issuer: string,
    private readonly token: string,
    /** The admin's address, so that the API's log events name it. */
    private readonly ip: string,
  ) {
    this.base = endpointUrl(issuer, '/api/v2');
  }

  static for(c: Context, fetch: ServerFetch, issuer: string, token: string): ManagementCalls {
    return new ManagementCalls(fetch, issuer, token, clientIp(c));
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
