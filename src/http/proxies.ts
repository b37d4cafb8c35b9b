import { BlockList, isIP } from 'node:net';
import { parseCidr, plainAddress } from '../util/ip.js';

/**
 * The proxies whose forwarding headers Sesame believes (SESAME_TRUSTED_PROXIES). A request from
 * any other peer is taken at its socket address, whatever headers it sends.
 */
export class TrustedProxies {
  readonly #list = new BlockList();
  readonly empty: boolean;

  constructor(cidrs: readonly string[]) {
    for (const text of cidrs) {
      const cidr = parseCidr(text);
      if (!cidr) throw new Error(`not a CIDR: ${text}`);
      this.#list.addSubnet(cidr.address, cidr.prefix, cidr.family);
    }
    this.empty = cidrs.length === 0;
  }

  has(address: string): boolean {
    const plain = plainAddress(address);
    const version = isIP(plain);
    return version !== 0 && this.#list.check(plain, version === 4 ? 'ipv4' : 'ipv6');
  }

  /**
   * The client's address: the peer, unless the peer is a trusted proxy; then, walking the
   * forwarding chain from the right (the hops nearest to Sesame first), the first address that
   * is not a trusted proxy. `Forwarded` (RFC 7239) is read when present, else X-Forwarded-For.
   * An entry that is not an IP address ends the walk at the last trusted hop.
   */
  clientAddress(peer: string, forwarded: string | undefined, xForwardedFor: string | undefined): string {
    let address = plainAddress(peer);
    if (this.empty || !this.has(address)) return address;
    const chain = forwarded !== undefined ? forwardedFor(forwarded) : (xForwardedFor ?? '').split(',');
    for (let i = chain.length - 1; i >= 0; i--) {
      const hop = plainAddress(unbracket((chain[i] ?? '').trim()));
      if (isIP(hop) === 0) return address;
      address = hop;
      if (!this.has(hop)) return hop;
    }
    return address;
  }
}

/** The `for=` values of a Forwarded header, in order (RFC 7239 §4, §6). */
function forwardedFor(header: string): string[] {
  const out: string[] = [];
  for (const element of header.split(',')) {
    for (const pair of element.split(';')) {
      const eq = pair.indexOf('=');
      if (eq < 0 || pair.slice(0, eq).trim().toLowerCase() !== 'for') continue;
      out.push(
        pair
          .slice(eq + 1)
          .trim()
          .replace(/^"(.*)"$/, '$1'),
      );
    }
  }
  return out;
}

/** `[2001:db8::1]:4711` or `[2001:db8::1]` → 2001:db8::1; `192.0.2.1:80` → 192.0.2.1. */
function unbracket(value: string): string {
  const v6 = /^\[([^\]]+)\](?::\d+)?$/.exec(value);
  if (v6) return v6[1] as string;
  const v4 = /^(\d+\.\d+\.\d+\.\d+):\d+$/.exec(value);
  return v4 ? (v4[1] as string) : value;
}
