import { describe, expect, it } from 'vitest';
import {
  checkRedirectUri,
  isLoopbackHttp,
  type RedirectUriKind,
} from '../../../src/protocol/redirect-uri.js';

const KINDS: RedirectUriKind[] = ['web', 'spa', 'native'];
const HTTPS_ONLY = 'must use https (http only on 127.0.0.1, [::1] or localhost)';
const NEEDS_DOT =
  'custom schemes must be reverse domain names containing a dot (e.g. com.example.app:/callback)';

describe('checkRedirectUri', () => {
  describe.each(KINDS)('for %s applications', (kind) => {
    it.each([
      'https://app.example/callback',
      'https://app.example:8443/cb?tenant=1',
      'HTTPS://APP.EXAMPLE/cb',
      'https://localhost/cb',
      'http://127.0.0.1/cb',
      'http://127.0.0.1:53123/callback',
      'http://[::1]/cb',
      'http://[::1]:8080/cb',
      'http://localhost:3000/callback',
      'http://LOCALHOST:3000/callback',
    ])('accepts %s', (uri) => {
      expect(checkRedirectUri(uri, kind)).toBeNull();
    });

    it.each([
      'http://app.example/cb',
      'http://localhost.evil.example/cb',
      'http://127.0.0.1.nip.io/cb',
      'http://10.0.0.1/cb',
      'http://[::2]/cb',
    ])('refuses plain http off loopback: %s', (uri) => {
      expect(checkRedirectUri(uri, kind)).toBe(HTTPS_ONLY);
    });

    it.each(['https://app.example/cb#', 'https://app.example/cb#frag', 'http://127.0.0.1/#/route'])(
      'refuses a fragment: %s',
      (uri) => {
        expect(checkRedirectUri(uri, kind)).toBe('must not contain a fragment');
      },
    );

    it.each(['https://*.example.com/cb', 'https://app.example/*', 'https://app.example/cb?x=*'])(
      'refuses a wildcard: %s',
      (uri) => {
        expect(checkRedirectUri(uri, kind)).toBe('must not contain a wildcard');
      },
    );

    it.each([
      ' https://app.example/cb',
      'https://app.example/cb ',
      'https://app.example/c b',
      'https://app.example/cb\n',
      '\thttps://app.example/cb',
      'https://app.example/cb\u00a0',
      'https://app.example/\u0000cb',
      'https://app.example/\u007fcb',
      'java\nscript:alert(1)',
    ])('refuses whitespace or control characters: %j', (uri) => {
      expect(checkRedirectUri(uri, kind)).toBe('must not contain whitespace or control characters');
    });

    it.each([
      'https://app.example\\@evil.example/cb',
      'https://app.example/\u00e9',
      'https://b\u00fccher.example/cb',
      'https://app.example/a%zz',
      'https://app.example/a%',
      'https://app.example/<x>',
      'https://app.example/"x"',
    ])('refuses what a browser never writes in a URL: %j', (uri) => {
      expect(checkRedirectUri(uri, kind)).toMatch(
        /^must be a URI in ASCII, other characters percent-encoded/,
      );
    });

    it.each([
      'https://app.example/%C3%A9',
      "https://app.example/cb?a=1&b=(2)!$',;=~",
      'https://xn--bcher-kva.example/cb',
      'https://[2001:db8::1]/cb',
      // raw where a browser leaves them raw (WHATWG URL), so an application's location.href
      'https://app.example/a|b^c?t={x}|y`',
    ])('accepts percent-encodings, reserved characters, punycode and what browsers leave raw: %s', (uri) => {
      expect(checkRedirectUri(uri, kind)).toBeNull();
    });

    it('refuses port 0', () => {
      expect(checkRedirectUri('https://app.example:0/cb', kind)).toBe('must not use port 0');
    });

    it.each([
      ['javascript:alert(1)', 'javascript:'],
      ['JavaScript:alert(1)', 'javascript:'],
      ['JAVASCRIPT://app.example/%0aalert(1)', 'javascript:'],
      ['data:text/html,<script>alert(1)</script>', 'data:'],
      ['DaTa:text/html;base64,PHNjcmlwdD4=', 'data:'],
      ['vbscript:msgbox(1)', 'vbscript:'],
      ['VBScript:msgbox(1)', 'vbscript:'],
      ['file:///etc/passwd', 'file:'],
    ])('refuses the dangerous scheme in %s', (uri, scheme) => {
      expect(checkRedirectUri(uri, kind)).toBe(`must not use the ${scheme} scheme`);
    });

    it.each([
      'https://user:pass@app.example/cb',
      'https://user@app.example/cb',
      'https://:pass@app.example/cb',
      'http://admin@127.0.0.1/cb',
    ])('refuses user information: %s', (uri) => {
      expect(checkRedirectUri(uri, kind)).toBe('must not contain user information');
    });

    it('refuses empty, relative and overlong URIs', () => {
      expect(checkRedirectUri('', kind)).toBe('must not be empty');
      expect(checkRedirectUri('/callback', kind)).toBe('must be an absolute URI');
      expect(checkRedirectUri('app.example/cb', kind)).toBe('must be an absolute URI');
      const long = `https://app.example/${'a'.repeat(2048 - 'https://app.example/'.length)}`;
      expect(long).toHaveLength(2048);
      expect(checkRedirectUri(long, kind)).toBeNull();
      expect(checkRedirectUri(`${long}a`, kind)).toBe('must be at most 2048 characters');
    });
  });

  describe('private-use schemes (RFC 8252 §7.1)', () => {
    it.each([
      'com.example.app:/callback',
      'com.example.app://callback',
      'Com.Example.App:/cb',
      'io.sesame-test.a+b:/cb',
    ])('native may use the reverse-domain scheme %s', (uri) => {
      expect(checkRedirectUri(uri, 'native')).toBeNull();
    });

    it.each(['myapp:/callback', 'myapp://callback', 'sesame:cb'])(
      'native may not use a scheme without a dot: %s',
      (uri) => {
        expect(checkRedirectUri(uri, 'native')).toBe(NEEDS_DOT);
      },
    );

    it.each(['web', 'spa'] as const)('%s applications may not use custom schemes', (kind) => {
      expect(checkRedirectUri('com.example.app:/callback', kind)).toBe(HTTPS_ONLY);
      expect(checkRedirectUri('myapp://callback', kind)).toBe(HTTPS_ONLY);
    });
  });
});

describe('isLoopbackHttp', () => {
  it('is true only for http on 127.0.0.1, [::1] and localhost', () => {
    expect(isLoopbackHttp(new URL('http://127.0.0.1:9/x'))).toBe(true);
    expect(isLoopbackHttp(new URL('http://[::1]/'))).toBe(true);
    expect(isLoopbackHttp(new URL('http://localhost/'))).toBe(true);
    expect(isLoopbackHttp(new URL('https://localhost/'))).toBe(false);
    expect(isLoopbackHttp(new URL('http://example.com/'))).toBe(false);
  });
});
