/**
 * Registration rules for callback (redirect) and logout URIs.
 * RFC 6749 §3.1.2 (absolute, no fragment), RFC 9700 §2.1 / §4.1 (exact match, so no wildcards),
 * RFC 8252 §7.1 and §7.3 (private-use schemes with a dot, loopback http), OAuth 2.1 §2.3.1 (https).
 */
export type RedirectUriKind = 'web' | 'spa' | 'native';

const FORBIDDEN_SCHEMES = new Set(['javascript:', 'data:', 'vbscript:', 'file:', 'blob:', 'about:']);
const LOOPBACK_HOSTS = new Set(['127.0.0.1', '[::1]', 'localhost']);
/**
 * A URL as a browser writes it (WHATWG URL): printable ASCII, anything else percent-encoded, so
 * never a raw non-ASCII letter, a `\` (read as `/`), `"`, `<` or `>` (always encoded), or a `%`
 * that starts no percent-encoding. Browsers leave `|`, `^`, `{`, `}` and `` ` `` raw in places,
 * so those stay allowed although RFC 3986 §2 lists them nowhere.
 */
const URI_TEXT = /^(?:[!#$&-;=?-[\]-~]|%[0-9A-Fa-f]{2})+$/;
/** What `isUriText` asks, for messages. */
export const URI_TEXT_RULE =
  'a URI in ASCII, other characters percent-encoded, without \\, ", <, > or a % that starts no %XX';

/** Whether `text` is written as browsers write URLs (`URI_TEXT`): RFC 3986 §2's ASCII form. */
export const isUriText = (text: string): boolean => URI_TEXT.test(text);

/** True for http URLs on a loopback host (RFC 8252 §7.3). */
export function isLoopbackHttp(url: URL): boolean {
  return url.protocol === 'http:' && LOOPBACK_HOSTS.has(url.hostname);
}

/**
 * Checks one URI for registration as a callback of an application of `kind`.
 * Returns null when acceptable, otherwise a message naming the problem.
 */
export function checkRedirectUri(uri: string, kind: RedirectUriKind): string | null {
  if (uri.length === 0) return 'must not be empty';
  if (uri.length > 2048) return 'must be at most 2048 characters';
  // biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what we reject
  if (/[\s\u0000-\u001f\u007f]/.test(uri)) return 'must not contain whitespace or control characters';
  if (uri.includes('*')) return 'must not contain a wildcard';
  if (uri.includes('#')) return 'must not contain a fragment';
  let url: URL;
  try {
    url = new URL(uri);
  } catch {
    return 'must be an absolute URI';
  }
  const scheme = url.protocol.toLowerCase();
  if (FORBIDDEN_SCHEMES.has(scheme)) return `must not use the ${scheme} scheme`;
  // RFC 3986 §2: ASCII only, anything else percent-encoded. Parsers disagree on the rest (a
  // browser reads `https://a.example\@b.example/` as a.example's, a stricter one as b.example's).
  if (!isUriText(uri)) return `must be ${URI_TEXT_RULE}`;
  if (url.username || url.password) return 'must not contain user information';
  if (url.port === '0') return 'must not use port 0';
  if (scheme === 'https:') return url.hostname ? null : 'must name a host';
  if (scheme === 'http:')
    return isLoopbackHttp(url) ? null : 'must use https (http only on 127.0.0.1, [::1] or localhost)';
  if (kind !== 'native') return 'must use https (http only on 127.0.0.1, [::1] or localhost)';
  // RFC 8252 §7.1: a private-use scheme in reverse domain-name form, e.g. com.example.app:/callback
  if (!/^[a-z][a-z0-9+.-]*\.[a-z0-9+.-]+:$/.test(scheme)) {
    return 'custom schemes must be reverse domain names containing a dot (e.g. com.example.app:/callback)';
  }
  return null;
}

/**
 * Whether `uri`, not among `registered`, misses one of them only by a trailing slash: they are
 * compared exactly (RFC 9700 §2.1), and `window.location.origin` has no slash where a registered
 * origin often has one. Error pages say so.
 */
export function offBySlash(registered: readonly string[], uri: string): boolean {
  return registered.includes(uri.endsWith('/') ? uri.slice(0, -1) : `${uri}/`);
}

/** What error pages add when `offBySlash`. */
export const OFF_BY_SLASH =
  'it differs from a registered one only by a trailing slash, and they must match exactly';

/**
 * `uri` with `params` added after its own query, which is kept byte for byte (RFC 6749 §3.1.2:
 * a registered query is retained; re-serialising it would turn `%20` into `+` and `d` into `d=`).
 */
export function withQuery(uri: string, params: Record<string, string>): string {
  const url = new URL(uri);
  const added = new URLSearchParams(params).toString();
  if (added !== '') url.search = url.search.length > 1 ? `${url.search}&${added}` : added;
  return url.toString();
}
