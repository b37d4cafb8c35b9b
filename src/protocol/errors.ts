/**
 * OAuth 2.0 errors, one class per RFC error code. `description` is public
 * (sent as error_description, names the field); `detail` is for logs only.
 */
export abstract class OAuthError extends Error {
  abstract readonly error: string;
  readonly status: number = 400;
  readonly headers: Record<string, string> = {};
  /** As sent: RFC 6749 §5.2's characters only (a value it echoes may hold others), at most 256. */
  readonly description: string;
  constructor(
    description: string,
    readonly detail?: string,
  ) {
    super(description);
    this.description = publicDescription(description);
  }
  /** The RFC 6749 §5.2 JSON body. */
  toJSON(): { error: string; error_description: string } {
    return { error: this.error, error_description: this.description };
  }
}

/**
 * RFC 6749 §5.2: error_description holds %x20-21 / %x23-5B / %x5D-7E only (no `"`, no `\`, no
 * control or non-ASCII character); others become `?`. Long echoes of a value are cut.
 */
export function publicDescription(text: string): string {
  const clean = text.replace(/[^\x20\x21\x23-\x5B\x5D-\x7E]/g, '?');
  return clean.length > 256 ? `${clean.slice(0, 253)}...` : clean;
}

/** RFC 6749 §5.2: malformed request, missing or repeated parameter. */
export class InvalidRequest extends OAuthError {
  readonly error = 'invalid_request';
}

/** RFC 6749 §5.2: client authentication failed (401 with WWW-Authenticate). */
export class InvalidClient extends OAuthError {
  readonly error = 'invalid_client';
  override readonly status = 401;
  override readonly headers: Record<string, string>;
  constructor(description: string, detail?: string, scheme = 'Basic') {
    super(description, detail);
    this.headers = { 'WWW-Authenticate': `${scheme} realm="sesame", error="invalid_client"` };
  }
}

/** RFC 6749 §5.2: the grant (code, refresh token, credentials) is invalid. */
export class InvalidGrant extends OAuthError {
  readonly error = 'invalid_grant';
}

/** Too many failed attempts: invalid_grant with HTTP 429 and Retry-After (RFC 6585 §4). */
export class TooManyAttempts extends OAuthError {
  readonly error = 'invalid_grant';
  override readonly status = 429;
  override readonly headers: Record<string, string>;
  constructor(retryAfter: number) {
    super(`too many failed attempts; try again in ${retryAfter} seconds`);
    this.headers = { 'Retry-After': String(retryAfter) };
  }
}

/** RFC 6749 §5.2: the client may not use this grant type. */
export class UnauthorizedClient extends OAuthError {
  readonly error = 'unauthorized_client';
}

/** RFC 6749 §5.2: the grant type is not supported by this server. */
export class UnsupportedGrantType extends OAuthError {
  readonly error = 'unsupported_grant_type';
}

/** RFC 6749 §5.2: the scope is invalid, unknown or exceeds what was granted. */
export class InvalidScope extends OAuthError {
  readonly error = 'invalid_scope';
}

/** RFC 6749 §4.1.2.1: the server does not support this response_type. */
export class UnsupportedResponseType extends OAuthError {
  readonly error = 'unsupported_response_type';
}

/** OIDC Core §3.1.2.6: prompt=none, and the person must log in. */
export class LoginRequired extends OAuthError {
  readonly error = 'login_required';
}

/** OIDC Core §3.1.2.6: prompt=none, and the person must consent. */
export class ConsentRequired extends OAuthError {
  readonly error = 'consent_required';
}

/** RFC 8707 §2: the requested resource (audience) is invalid or unknown. */
export class InvalidTarget extends OAuthError {
  readonly error = 'invalid_target';
}

/** OIDC Core §3.1.2.6: the `request` parameter (a request object) is not supported. */
export class RequestNotSupported extends OAuthError {
  readonly error = 'request_not_supported';
}

/** OIDC Core §3.1.2.6: the `request_uri` parameter is not supported. */
export class RequestUriNotSupported extends OAuthError {
  readonly error = 'request_uri_not_supported';
}

/** OIDC Core §3.1.2.6: the `registration` parameter is not supported. */
export class RegistrationNotSupported extends OAuthError {
  readonly error = 'registration_not_supported';
}

/** RFC 7009 §2.2.1: the token type cannot be revoked here. */
export class UnsupportedTokenType extends OAuthError {
  readonly error = 'unsupported_token_type';
}

/** RFC 6749 §4.1.2.1: the resource owner or server denied the request. */
export class AccessDenied extends OAuthError {
  readonly error = 'access_denied';
}

/** RFC 8628 §3.5: the person has not yet approved the device. */
export class AuthorizationPending extends OAuthError {
  readonly error = 'authorization_pending';
}

/** RFC 8628 §3.5: the device polls faster than its interval; the interval grows by 5 s. */
export class SlowDown extends OAuthError {
  readonly error = 'slow_down';
}

/** RFC 8628 §3.5: the device_code has expired. */
export class ExpiredToken extends OAuthError {
  readonly error = 'expired_token';
}

/** RFC 6750 §3.1: the access token is expired, revoked or malformed. */
export class InvalidToken extends OAuthError {
  readonly error = 'invalid_token';
  override readonly status = 401;
}

/** RFC 6750 §3.1: the token lacks a scope the resource needs (HTTP 403, naming it). */
export class InsufficientScope extends OAuthError {
  readonly error = 'insufficient_scope';
  override readonly status = 403;
  constructor(
    readonly scope: string,
    description: string,
  ) {
    super(description);
  }
}

/** The request body is larger than the configured cap (HTTP 413). */
export class RequestTooLarge extends OAuthError {
  readonly error = 'invalid_request';
  override readonly status = 413;
}

/** A method the endpoint does not serve (HTTP 405 with Allow). */
export class MethodNotAllowed extends OAuthError {
  readonly error = 'invalid_request';
  override readonly status = 405;
  override readonly headers: Record<string, string>;
  constructor(allow: string[]) {
    super(`method not allowed; use ${allow.join(' or ')}`);
    this.headers = { Allow: allow.join(', ') };
  }
}

/** The database or another dependency is unavailable (HTTP 503). */
export class TemporarilyUnavailable extends OAuthError {
  readonly error = 'temporarily_unavailable';
  override readonly status = 503;
}

/** A caller asked for more than its budget (HTTP 429 with Retry-After; RFC 6585 §4). */
export class TooManyRequests extends OAuthError {
  readonly error = 'temporarily_unavailable';
  override readonly status = 429;
  override readonly headers: Record<string, string>;
  constructor(retryAfter: number) {
    super(`too many requests from this address; try again in ${retryAfter} seconds`);
    this.headers = { 'Retry-After': String(retryAfter) };
  }
}

/** Anything unexpected; the detail is logged, never sent. */
export class ServerError extends OAuthError {
  readonly error = 'server_error';
  override readonly status = 500;
}
