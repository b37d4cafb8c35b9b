import type { Context } from 'hono';
import type { Config } from '../config/schema.js';
import { supportedGrantTypes } from '../grants/registry.js';
import type { AppEnv } from '../http/context.js';
import { jsonCached } from '../http/respond.js';

const SECRET_METHODS = ['client_secret_basic', 'client_secret_post'];

/**
 * Authorization server metadata (RFC 8414 §2), listing exactly what this server implements.
 * The issuer comes from configuration only, never from request headers.
 */
export function serverMetadata(config: Pick<Config, 'issuer'>): Record<string, unknown> {
  const iss = config.issuer;
  return {
    issuer: iss,
    token_endpoint: `${iss}/oauth/token`,
    jwks_uri: `${iss}/.well-known/jwks.json`,
    introspection_endpoint: `${iss}/oauth/introspect`,
    revocation_endpoint: `${iss}/oauth/revoke`,
    response_types_supported: [],
    grant_types_supported: supportedGrantTypes,
    token_endpoint_auth_methods_supported: SECRET_METHODS,
    introspection_endpoint_auth_methods_supported: SECRET_METHODS,
    revocation_endpoint_auth_methods_supported: [...SECRET_METHODS, 'none'],
  };
}

/** OpenID Provider metadata (OpenID Connect Discovery 1.0 §3): the RFC 8414 document plus OIDC fields. */
export function openidMetadata(config: Pick<Config, 'issuer'>): Record<string, unknown> {
  return {
    ...serverMetadata(config),
    subject_types_supported: ['public'],
    id_token_signing_alg_values_supported: [],
  };
}

/** GET /.well-known/oauth-authorization-server and /.well-known/openid-configuration. */
export function discoveryEndpoint(config: Config, kind: 'oauth' | 'openid') {
  const body = kind === 'oauth' ? serverMetadata(config) : openidMetadata(config);
  return (c: Context<AppEnv>): Response => jsonCached(c, body, 3600);
}
