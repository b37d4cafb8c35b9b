import type { Context, MiddlewareHandler } from 'hono';
import { InvalidRequest, OAuthError, RequestTooLarge } from '../../protocol/errors.js';
import { type Params, parseJsonParams, parseParams } from '../../protocol/params.js';
import { merged } from '../../util/merged.js';
import type { AppEnv } from '../context.js';
import { PageError } from '../page.js';

const FORM = /^application\/x-www-form-urlencoded\s*(;|$)/i;
const JSON_BODY = /^application\/json\s*(;|$)/i;
const FORM_TYPE = 'application/x-www-form-urlencoded';

/** The Node request under @hono/node-server, when there is one (not in-process `app.request`). */
type NodeIncoming = NodeJS.ReadableStream & { resume(): void };

/**
 * Reads a Node request body straight from its stream: reaching for the web `Request` body would
 * make @hono/node-server build a full undici Request (with an AbortSignal) per call, which costs
 * more than the rest of a token request (bench/README.md). Past `limit` the rest is discarded,
 * so that the 413 answer still reaches the client.
 */
export function readIncoming(incoming: NodeIncoming, limit: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const done = () => {
      incoming.off('data', onData);
      incoming.off('end', onEnd);
      incoming.off('error', onError);
    };
    const onData = (chunk: Buffer) => {
      size += chunk.byteLength;
      if (size <= limit) {
        chunks.push(chunk);
        return;
      }
      done();
      incoming.resume();
      reject(tooLarge(limit));
    };
    const onEnd = () => {
      done();
      resolve(Buffer.concat(chunks).toString('utf8'));
    };
    // The client went away mid-body ("aborted", ECONNRESET): its request, not the database
    // (which the same code would otherwise name in the log and the metrics).
    const onError = (err: Error) => {
      done();
      reject(new InvalidRequest('the request body did not arrive in full', err.message));
    };
    incoming.on('data', onData);
    incoming.on('end', onEnd);
    incoming.on('error', onError);
  });
}

/** A request body as `bodyParams` reads it: its declared type, coding and length, and how to read it. */
export interface Body {
  type: string | undefined;
  /** Its Content-Encoding, if any. */
  encoding?: string | undefined;
  length: string | undefined;
  /** The body as text, at most the limit (413 beyond). */
  read(): Promise<string>;
}

/**
 * The parameters of a POST body (RFC 6749 §3.2, RFC 7009 §2.1, RFC 7662 §2.1): a form, or also
 * JSON where `json` (as Auth0's SDKs may send to /oauth/token and /oauth/revoke), with the same
 * rules for both: at most `limit` bytes (413 beyond, without reading more; also for a body of
 * the wrong type), no repeated parameters but `repeatable`, strings only.
 */
export async function bodyParams(
  body: Body,
  limit: number,
  repeatable: ReadonlySet<string>,
  json: boolean,
): Promise<Params> {
  if (Number(body.length ?? 0) > limit) throw tooLarge(limit);
  const coding = unsupportedCoding(body.encoding);
  if (coding !== null) throw new InvalidRequest(coding);
  const type = body.type ?? '';
  if (FORM.test(type)) return parseParams(await body.read(), repeatable);
  if (json && JSON_BODY.test(type)) return parseJsonParams(await body.read(), repeatable);
  const expected = json ? 'application/x-www-form-urlencoded or application/json' : FORM_TYPE;
  throw new InvalidRequest(`request body must be ${expected}`);
}

/**
 * Why a body's Content-Encoding cannot be read, or null: Sesame reads bodies as sent (identity);
 * a compressed one taken as is would be read as other text than was meant (RFC 9110 §8.4).
 */
export function unsupportedCoding(header: string | undefined): string | null {
  if (header === undefined || /^\s*(?:identity\s*)?$/i.test(header)) return null;
  return `Content-Encoding ${header.trim().slice(0, 64)} is not supported: send the body unencoded`;
}

async function readCapped(body: ReadableStream<Uint8Array> | null, limit: number): Promise<string> {
  if (!body) return '';
  const reader = body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.byteLength;
    if (size > limit) {
      await reader.cancel().catch(() => {});
      throw tooLarge(limit);
    }
    chunks.push(value);
  }
  return Buffer.concat(chunks).toString('utf8');
}

/** Reads a POST body as application/x-www-form-urlencoded into `params` (see `bodyParams`). */
export const parseForm = (limit: number, repeatable?: ReadonlySet<string>) =>
  parser(limit, repeatable, false);

/** Reads a POST body as a form or as JSON into `params` (see `bodyParams`). */
export const parseBody = (limit: number, repeatable?: ReadonlySet<string>) => parser(limit, repeatable, true);

function parser(
  limit: number,
  repeatable: ReadonlySet<string> = new Set(),
  json: boolean,
): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    c.set('params', await bodyParams(bodyOf(c, limit), limit, repeatable, json));
    await next();
  };
}

const tooLarge = (limit: number) => new RequestTooLarge(`request body is larger than ${limit} bytes`);

/** The form body of a request, at most `limit` bytes (413 beyond, without reading more). */
export async function readForm(
  c: Context<AppEnv>,
  limit: number,
  repeatable: ReadonlySet<string> = new Set(),
): Promise<Params> {
  // the caller knows it is a form (`hasFormBody`)
  return bodyParams(merged(bodyOf(c, limit), { type: FORM_TYPE }), limit, repeatable, false);
}

/** The body of a request as text, whatever its type: at most `limit` bytes (RequestTooLarge beyond, unread). */
export async function readText(c: Context<AppEnv>, limit: number): Promise<string> {
  const body = bodyOf(c, limit);
  if (Number(body.length ?? 0) > limit) throw tooLarge(limit);
  return body.read();
}

/** The body of a Hono request: from Node's stream when served by Node, else from the web Request. */
function bodyOf(c: Context<AppEnv>, limit: number): Body {
  const incoming = (c.env as { incoming?: NodeIncoming } | undefined)?.incoming;
  return {
    type: c.req.header('content-type'),
    encoding: c.req.header('content-encoding'),
    length: c.req.header('content-length'),
    read: () =>
      typeof incoming?.on === 'function' ? readIncoming(incoming, limit) : readCapped(c.req.raw.body, limit),
  };
}

/** True when the request declares a form body. */
export const hasFormBody = (c: Context<AppEnv>): boolean => FORM.test(c.req.header('content-type') ?? '');

/** Parameters of a GET or HEAD request's query, or of a POST's parsed form. */
export function requestParams(c: Context<AppEnv>, repeatable: ReadonlySet<string> = new Set()): Params {
  return c.req.method === 'POST'
    ? c.get('params')
    : parseParams(new URL(c.req.url).search.slice(1), repeatable);
}

/** An OAuth error of reading a request, as the page a person sees (same status and reason). */
function asPage(err: OAuthError, title: string): PageError {
  const reason = err.description.charAt(0).toUpperCase() + err.description.slice(1);
  return new PageError(title, `${reason}. Go back and try again.`, err.status);
}

/**
 * parseForm for the forms of pages people fill in (sign-up, reset, /account, login, consent,
 * the device's pages, logout): a body that cannot be read (too large, a NUL character, a
 * repeated field) gets an HTML error page with the same status and reason, not an OAuth JSON
 * error.
 */
export function parsePageForm(limit: number, repeatable?: ReadonlySet<string>): MiddlewareHandler<AppEnv> {
  const parse = parseForm(limit, repeatable);
  return async (c, next) => {
    let parsed = false;
    try {
      await parse(c, async () => {
        parsed = true;
      });
    } catch (err) {
      if (parsed || !(err instanceof OAuthError)) throw err;
      throw asPage(err, 'The form could not be read');
    }
    await next();
  };
}

/** requestParams for the endpoints a browser is sent to (authorize, logout): unreadable → a page. */
export function pageParams(c: Context<AppEnv>, repeatable?: ReadonlySet<string>): Params {
  try {
    return requestParams(c, repeatable);
  } catch (err) {
    throw err instanceof OAuthError ? asPage(err, 'The request could not be read') : err;
  }
}
