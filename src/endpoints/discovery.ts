import type { Context } from 'hono';
import { type Config, SIGNING_ALGS } from '../config/schema.js';
import { supportedGrantTypes } from '../grants/registry.js';
import type { AppEnv } from '../http/context.js';
import { jsonCached, type SerializedJson, serializeJson } from '../http/respond.js';
import { ACR, CLAIMS_SUPPORTED } from '../protocol/claims.js';
import { issuerBase } from '../protocol/issuer.js';
import { RESPONSE_TYPES } from '../protocol/response-types.js';
import { OIDC_SCOPES } from '../protocol/scope.js';
import { merged } from '../util/merged.js';

const SECRET_METHODS = ['client_secret_basic', 'client_secret_post'];

/**
 * Authorization server metadata (RFC 8414 §2), listing exactly what this server implements.
 * The issuer comes from configuration only, never from request headers.
 */
export function serverMetadata(config: Pick<Config, 'issuer'>): Record<string, unknown> {
  const iss = issuerBase(config.issuer);
  return {
    issuer: config.issuer,
    token_endpoint: `${iss}/oauth/token`,
    jwks_uri: `${iss}/.well-known/jwks.json`,
    introspection_endpoint: `${iss}/oauth/introspect`,
    revocation_endpoint: `${iss}/oauth/revoke`,
    authorization_endpoint: `${iss}/authorize`,
    device_authorization_endpoint: `${iss}/oauth/device/code`,
    response_types_supported: RESPONSE_TYPES,
    response_modes_supported: ['query', 'fragment', 'form_post', 'web_message'],
    // RFC 7591's values: `implicit` is the grant of the token and id_token response types.
    grant_types_supported: [...supportedGrantTypes, 'implicit'],
    code_challenge_methods_supported: ['S256'],
    scopes_supported: [...OIDC_SCOPES],
    token_endpoint_auth_methods_supported: [...SECRET_METHODS, 'none'],
    introspection_endpoint_auth_methods_supported: SECRET_METHODS,
    revocation_endpoint_auth_methods_supported: [...SECRET_METHODS, 'none'],
    authorization_response_iss_parameter_supported: true,
  };
}

/** OpenID Provider metadata (OpenID Connect Discovery 1.0 §3): the RFC 8414 document plus OIDC fields. */
export function openidMetadata(config: Pick<Config, 'issuer'>): Record<string, unknown> {
  const iss = issuerBase(config.issuer);
  return merged(serverMetadata(config), {
    userinfo_endpoint: `${iss}/userinfo`,
    end_session_endpoint: `${iss}/oidc/logout`,
    subject_types_supported: ['public'],
    id_token_signing_alg_values_supported: [...SIGNING_ALGS],
    claims_supported: CLAIMS_SUPPORTED,
    acr_values_supported: [ACR],
    prompt_values_supported: ['none', 'login', 'consent', 'select_account'],
    claims_parameter_supported: false,
    request_parameter_supported: false,
    request_uri_parameter_supported: false,
  });
}

/** How long caches may keep the discovery documents (seconds). */
export const DISCOVERY_MAX_AGE = 3600;

/** The RFC 8414 (`oauth`) or OpenID (`openid`) metadata, serialized once. */
export function discoveryDocument(config: Pick<Config, 'issuer'>, kind: 'oauth' | 'openid'): SerializedJson {
  return serializeJson(kind === 'oauth' ? serverMetadata(config) : openidMetadata(config));
}

/** GET /.well-known/oauth-authorization-server and /.well-known/openid-configuration. */
export function discoveryEndpoint(config: Config, kind: 'oauth' | 'openid') {
  const doc = discoveryDocument(config, kind);
  return (c: Context<AppEnv>): Response => jsonCached(c, doc, DISCOVERY_MAX_AGE);
}
