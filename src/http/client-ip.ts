import type { IncomingMessage } from 'node:http';
import type { Context } from 'hono';
import type { TrustedProxies } from './proxies.js';

/** The part of Node's request that tells where it comes from. */
type Incoming = Pick<IncomingMessage, 'headers'> & { socket?: { remoteAddress?: string } };

/** What @hono/node-server puts in `c.env`: the Node request. */
type NodeEnv = { incoming?: Incoming };

/** Where a request comes from, as log events record it. */
export interface ClientOrigin {
  ip: string;
  userAgent?: string;
}

const header = (headers: Incoming['headers'] | undefined, name: string) => {
  const v = headers?.[name];
  return typeof v === 'string' ? v : undefined;
};

/**
 * The address of Node's request: the socket's peer, or, when that peer is one of
 * SESAME_TRUSTED_PROXIES, the address its forwarding headers give (http/proxies.ts); any other
 * peer's X-Forwarded-For, which anyone can set, is ignored. 'unknown' without a socket.
 */
export function incomingIp(incoming: Incoming | undefined, proxies: TrustedProxies | undefined): string {
  const peer = incoming?.socket?.remoteAddress;
  if (peer === undefined) return 'unknown';
  if (!proxies || proxies.empty) return peer;
  return proxies.clientAddress(
    peer,
    header(incoming?.headers, 'forwarded'),
    header(incoming?.headers, 'x-forwarded-for'),
  );
}

/** The client's address (see `incomingIp`); 'unknown' when served in-process without a socket. */
export function clientIp(c: Context): string {
  return incomingIp(
    (c.env as NodeEnv | undefined)?.incoming,
    (c.var as { proxies?: TrustedProxies }).proxies,
  );
}

/** Where a request comes from, as log events record it. */
export function clientOrigin(c: Context): ClientOrigin {
  return withAgent(clientIp(c), c.req.header('user-agent'));
}

/** Where Node's request comes from (the lean lane's `clientOrigin`). */
export function incomingOrigin(incoming: Incoming, proxies: TrustedProxies): ClientOrigin {
  return withAgent(incomingIp(incoming, proxies), header(incoming.headers, 'user-agent'));
}

const withAgent = (ip: string, userAgent: string | undefined): ClientOrigin =>
  userAgent === undefined ? { ip } : { ip, userAgent };
