import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../../src/config/load.js';
import { TrustedProxies } from '../../../src/http/proxies.js';
import { throttleAddress } from '../../../src/util/ip.js';

describe('trusted proxies (SESAME_TRUSTED_PROXIES)', () => {
  const proxies = new TrustedProxies(['10.0.0.0/8', '2001:db8:ffff::/48', '192.0.2.7']);

  it('takes an untrusted peer at its socket address, whatever it sends', () => {
    expect(proxies.clientAddress('203.0.113.5', undefined, '198.51.100.1')).toBe('203.0.113.5');
    expect(proxies.clientAddress('::ffff:203.0.113.5', 'for=198.51.100.1', undefined)).toBe('203.0.113.5');
  });

  it('walks X-Forwarded-For from the right past trusted proxies', () => {
    expect(proxies.clientAddress('10.1.2.3', undefined, '1.1.1.1, 198.51.100.1, 10.9.9.9')).toBe(
      '198.51.100.1',
    );
    expect(proxies.clientAddress('::ffff:10.1.2.3', undefined, '198.51.100.1')).toBe('198.51.100.1');
    // every hop trusted: the left-most one
    expect(proxies.clientAddress('10.1.2.3', undefined, '10.5.5.5, 192.0.2.7')).toBe('10.5.5.5');
    // no header: the proxy itself
    expect(proxies.clientAddress('10.1.2.3', undefined, undefined)).toBe('10.1.2.3');
    // garbage stops the walk at the last trusted hop
    expect(proxies.clientAddress('10.1.2.3', undefined, 'evil, not-an-ip')).toBe('10.1.2.3');
  });

  it('reads Forwarded before X-Forwarded-For, with quotes, brackets and ports', () => {
    const fwd = 'for=1.1.1.1, for="[2001:db8::1]:443";proto=https, For=10.0.0.9';
    expect(proxies.clientAddress('10.1.2.3', fwd, '198.51.100.1')).toBe('2001:db8::1');
    expect(proxies.clientAddress('2001:db8:ffff::1', 'for=198.51.100.9:8080', undefined)).toBe(
      '198.51.100.9',
    );
  });

  it('counts IPv6 per /64 and IPv4 per address', () => {
    expect(throttleAddress('2001:db8:1:2::1')).toBe('2001:db8:1:2::/64');
    expect(throttleAddress('2001:0db8:0001:0002:ffff:1:2:3')).toBe('2001:db8:1:2::/64');
    expect(throttleAddress('::1')).toBe('0:0:0:0::/64');
    expect(throttleAddress('::ffff:198.51.100.4')).toBe('198.51.100.4');
    expect(throttleAddress('198.51.100.4')).toBe('198.51.100.4');
  });

  it('is configured from a comma-separated list; a bad entry stops start-up naming the key', () => {
    expect(loadConfig({ SESAME_TRUSTED_PROXIES: '10.0.0.0/8, ::1' }).trustedProxies).toEqual([
      '10.0.0.0/8',
      '::1',
    ]);
    expect(loadConfig({}).trustedProxies).toEqual([]);
    expect(() => loadConfig({ SESAME_TRUSTED_PROXIES: '10.0.0.0/33' })).toThrow(/trustedProxies/);
    expect(() => loadConfig({ SESAME_TRUSTED_PROXIES: 'proxy.internal' })).toThrow(/trustedProxies/);
  });
});
