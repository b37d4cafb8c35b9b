/**
 * Keys whose values are secrets: passwords, client secrets, tokens of every kind, codes,
 * verifiers, assertions, private keys and tickets (a password-change or verification link).
 * `token_lifetime`, `token_dialect`, `scope`, `statusCode`, `errorCode` and the like are not
 * secrets and stay.
 */
const SECRET_KEY = new RegExp(
  [
    '(^|_)(password|passwd|secret|token|verifier|assertion|private_key|hash|jwk|csrf|ticket)s?$',
    '^codes?$',
    '(^|_)(authorization|device|user|recovery|otp)_codes?$',
    '^(authorization|cookie)$',
  ].join('|'),
  'i',
);

/** Nesting deeper than this is cut (details are for people, not whole documents). */
const MAX_DEPTH = 6;

/** `value` with every secret-named field replaced by "[redacted]", recursively. */
export function redact(value: unknown, depth = 0): unknown {
  if (value === null || typeof value !== 'object') return value;
  if (depth >= MAX_DEPTH) return '[…]';
  if (Array.isArray(value)) return value.slice(0, 100).map((v) => redact(v, depth + 1));
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value)) {
    // camelCase names count as their snake_case selves (clientSecret is client_secret).
    const name = k.replace(/([a-z0-9])([A-Z])/g, '$1_$2');
    out[k] = SECRET_KEY.test(name) ? '[redacted]' : redact(v, depth + 1);
  }
  return out;
}
