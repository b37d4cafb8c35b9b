import type { Context, MiddlewareHandler } from 'hono';
import { InvalidRequest, OAuthError, RequestTooLarge } from '../../protocol/errors.js';
import { type Params, parseJsonParams, parseParams } from '../../protocol/params.js';
import type { AppEnv } from '../context.js';
import { PageError } from '../page.js';

const FORM = /^application\/x-www-form-urlencoded\s*(;|$)/i;
const JSON_BODY = /^application\/json\s*(;|$)/i;

/** The Node request under @hono/node-server, when there is one (not in-process `app.request`). */
type NodeIncoming = NodeJS.ReadableStream & { resume(): void };

/**
 * Reads a Node request body straight from its stream: reaching for the web `Request` body would
 * make @hono/node-server build a full undici Request (with an AbortSignal) per call, which costs
 * more than the rest of a token request (bench/README.md). Past `limit` the rest is discarded,
 * so that the 413 answer still reaches the client.
 */
function readIncoming(incoming: NodeIncoming, limit: number): Promise<string> {
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
    const onError = (err: Error) => {
      done();
      reject(err);
    };
    incoming.on('data', onData);
    incoming.on('end', onEnd);
    incoming.on('error', onError);
  });
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

/**
 * Reads a POST body as application/x-www-form-urlencoded (RFC 6749 §3.2, RFC 7009 §2.1,
 * RFC 7662 §2.1), at most `limit` bytes (413 beyond), rejecting repeated parameters.
 */
export function parseForm(
  limit: number,
  repeatable: ReadonlySet<string> = new Set(),
): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    if (!FORM.test(c.req.header('content-type') ?? ''))
      refuseBody(c, limit, 'application/x-www-form-urlencoded');
    c.set('params', await readForm(c, limit, repeatable));
    await next();
  };
}

/**
 * Reads a POST body as a form or as JSON (`application/json`, as Auth0's SDKs may send to
 * /oauth/token and /oauth/revoke), with the same rules for both: size cap, no repeats, strings.
 */
export function parseBody(
  limit: number,
  repeatable: ReadonlySet<string> = new Set(),
): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    const type = c.req.header('content-type') ?? '';
    if (FORM.test(type)) c.set('params', await readForm(c, limit, repeatable));
    else if (JSON_BODY.test(type)) c.set('params', parseJsonParams(await readText(c, limit), repeatable));
    else refuseBody(c, limit, 'application/x-www-form-urlencoded or application/json');
    await next();
  };
}

/** A body of the wrong type: 413 when it is also too large, else invalid_request. */
function refuseBody(c: Context<AppEnv>, limit: number, expected: string): never {
  if (Number(c.req.header('content-length') ?? 0) > limit) throw tooLarge(limit);
  throw new InvalidRequest(`request body must be ${expected}`);
}

const tooLarge = (limit: number) => new RequestTooLarge(`request body is larger than ${limit} bytes`);

/** The form body of a request, at most `limit` bytes (413 beyond, without reading more). */
export async function readForm(
  c: Context<AppEnv>,
  limit: number,
  repeatable: ReadonlySet<string> = new Set(),
): Promise<Params> {
  return parseParams(await readText(c, limit), repeatable);
}

/** The body of a request as text, at most `limit` bytes (413 beyond, without reading more). */
async function readText(c: Context<AppEnv>, limit: number): Promise<string> {
  if (Number(c.req.header('content-length') ?? 0) > limit) throw tooLarge(limit);
  const incoming = (c.env as { incoming?: NodeIncoming } | undefined)?.incoming;
  return typeof incoming?.on === 'function'
    ? await readIncoming(incoming, limit)
    : await readCapped(c.req.raw.body, limit);
}

/** True when the request declares a form body. */
export const hasFormBody = (c: Context<AppEnv>): boolean => FORM.test(c.req.header('content-type') ?? '');

/** Parameters of a GET or HEAD request's query, or of a POST's parsed form. */
export function requestParams(c: Context<AppEnv>, repeatable: ReadonlySet<string> = new Set()): Params {
  return c.req.method === 'POST'
    ? c.get('params')
    : parseParams(new URL(c.req.url).search.slice(1), repeatable);
}

/**
 * parseForm for the forms of pages people fill in (sign-up, reset, /account): a body that
 * cannot be read (too large, a NUL character, a repeated field) gets an HTML error page with
 * the same status and reason, not an OAuth JSON error.
 */
export function parsePageForm(limit: number): MiddlewareHandler<AppEnv> {
  const parse = parseForm(limit);
  return async (c, next) => {
    let parsed = false;
    try {
      await parse(c, async () => {
        parsed = true;
      });
    } catch (err) {
      if (parsed || !(err instanceof OAuthError)) throw err;
      const reason = err.description.charAt(0).toUpperCase() + err.description.slice(1);
      throw new PageError('The form could not be read', `${reason}. Go back and try again.`, err.status);
    }
    await next();
  };
}
