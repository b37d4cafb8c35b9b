import type { Context } from 'hono';

/**
 * The peer address of the request, from the Node server's socket (never X-Forwarded-For, which
 * anyone can set). 'unknown' when served in-process without a socket.
 */
export function clientIp(c: Context): string {
  const incoming = (c.env as { incoming?: { socket?: { remoteAddress?: string } } } | undefined)?.incoming;
  return incoming?.socket?.remoteAddress ?? 'unknown';
}

/** Where a request comes from, as log events record it. */
export function clientOrigin(c: Context): { ip: string; userAgent?: string } {
  const userAgent = c.req.header('user-agent');
  return userAgent === undefined ? { ip: clientIp(c) } : { ip: clientIp(c), userAgent };
}
