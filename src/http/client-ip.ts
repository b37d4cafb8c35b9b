import type { Context } from 'hono';
import type { TrustedProxies } from './proxies.js';

/** What @hono/node-server puts in `c.env`: the Node request. */
type NodeEnv = { incoming?: { socket?: { remoteAddress?: string }; headers?: Record<string, unknown> } };

const header = (headers: Record<string, unknown> | undefined, name: string) => {
  const v = headers?.[name];
  return typeof v === 'string' ? v : undefined;
};

/**
 * The client's address: the socket's peer, or, when that peer is one of SESAME_TRUSTED_PROXIES,
 * the address its forwarding headers give (http/proxies.ts); any other peer's X-Forwarded-For,
 * which anyone can set, is ignored. 'unknown' when served in-process without a socket.
 */
export function clientIp(c: Context): string {
  const incoming = (c.env as NodeEnv | undefined)?.incoming;
  const peer = incoming?.socket?.remoteAddress;
  if (peer === undefined) return 'unknown';
  const proxies = (c.var as { proxies?: TrustedProxies }).proxies;
  if (!proxies || proxies.empty) return peer;
  return proxies.clientAddress(
    peer,
    header(incoming?.headers, 'forwarded'),
    header(incoming?.headers, 'x-forwarded-for'),
  );
}

/** Where a request comes from, as log events record it. */
export function clientOrigin(c: Context): { ip: string; userAgent?: string } {
  const userAgent = c.req.header('user-agent');
  return userAgent === undefined ? { ip: clientIp(c) } : { ip: clientIp(c), userAgent };
}
