import type { MiddlewareHandler } from 'hono';
import { InvalidRequest, RequestTooLarge } from '../../protocol/errors.js';
import { parseParams } from '../../protocol/params.js';
import type { AppEnv } from '../context.js';

const FORM = /^application\/x-www-form-urlencoded\s*(;|$)/i;

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
      throw new RequestTooLarge(`request body is larger than ${limit} bytes`);
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
    const length = Number(c.req.header('content-length') ?? 0);
    if (length > limit) throw new RequestTooLarge(`request body is larger than ${limit} bytes`);
    if (!FORM.test(c.req.header('content-type') ?? '')) {
      throw new InvalidRequest('request body must be application/x-www-form-urlencoded');
    }
    c.set('params', parseParams(await readCapped(c.req.raw.body, limit), repeatable));
    await next();
  };
}
