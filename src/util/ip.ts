import { isIP } from 'node:net';

/** An address without an IPv4-mapped IPv6 prefix (::ffff:192.0.2.1 is 192.0.2.1). */
export function plainAddress(address: string): string {
  return /^::ffff:\d+\.\d+\.\d+\.\d+$/i.test(address) ? address.slice(7) : address;
}

/** A CIDR (or a single address) as a BlockList subnet; null when it is not one. */
export function parseCidr(text: string): { address: string; prefix: number; family: 'ipv4' | 'ipv6' } | null {
  const [address = '', bits, extra] = text.trim().split('/');
  const version = isIP(address);
  if (version === 0 || extra !== undefined) return null;
  const max = version === 4 ? 32 : 128;
  const prefix = bits === undefined ? max : Number(bits);
  if (!/^\d{1,3}$/.test(bits ?? String(max)) || prefix > max) return null;
  return { address, prefix, family: version === 4 ? 'ipv4' : 'ipv6' };
}

/**
 * The address a throttle counts by: IPv4 as is, IPv6 by its /64 (one subscriber's usual
 * allocation, so that rotating through it gains nothing).
 */
export function throttleAddress(address: string): string {
  const plain = plainAddress(address);
  if (isIP(plain) !== 6) return plain;
  const [head = '', tail = ''] = plain.split('::');
  const left = head ? head.split(':') : [];
  const right = tail ? tail.split(':') : [];
  const groups = plain.includes('::')
    ? [...left, ...Array(8 - left.length - right.length).fill('0'), ...right]
    : left;
  return `${groups
    .slice(0, 4)
    .map((g) => Number.parseInt(g, 16).toString(16))
    .join(':')}::/64`;
}

/**
 * A client's address as a record keeps it (a user's last_ip): IPv4 without the IPv6-mapped prefix
 * a dual-stack socket gives it; null when it is not known ('unknown').
 */
export const knownIp = (ip: string): string | null => (ip === 'unknown' ? null : plainAddress(ip));
