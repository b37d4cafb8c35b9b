import { characters } from '../accounts/claims.js';
import { SIGNING_ALGS, type SigningAlg } from '../config/schema.js';
import type { ApplicationSettings, ApplicationType } from '../storage/types.js';
import type { ApplicationInput } from './applications.js';
import { checkHttpUrl, checkOneOf, checkUriList } from './checks.js';
import { ValidationError } from './errors.js';
import { patchedMetadata } from './metadata.js';

/** Confidential types hold a secret; spa and native are public clients (RFC 6749 §2.1). */
export const isConfidential = (type: ApplicationType): boolean => type === 'web' || type === 'm2m';

const AUTH_METHODS = ['client_secret_basic', 'client_secret_post', 'none'] as const;

function checkMetadata(metadata: Record<string, string>): Record<string, string> {
  const entries = Object.entries(metadata);
  if (entries.length > 10) throw new ValidationError('client_metadata: at most 10 keys');
  for (const [k, v] of entries) {
    if (!/^[A-Za-z0-9_-]{1,255}$/.test(k))
      throw new ValidationError(`client_metadata key ${JSON.stringify(k)}: 1 to 255 letters, digits, _ or -`);
    if (typeof v !== 'string' || characters(v) > 255)
      throw new ValidationError(`client_metadata.${k}: must be a string of at most 255 characters`);
  }
  return { ...metadata };
}

function checkOrigins(origins: string[], type: ApplicationType): string[] {
  if (type === 'm2m' && origins.length > 0)
    throw new ValidationError('web_origins: m2m applications have no web origins');
  checkUriList('web_origins', origins);
  for (const o of origins) {
    // Auth0 matches `https://*.example.com` against subdomains; Sesame compares origins exactly.
    if (o.includes('*'))
      throw new ValidationError(`web_origins ${JSON.stringify(o)}: no wildcards; list each origin`);
    const ok = URL.canParse(o) && /^https?:$/.test(new URL(o).protocol) && new URL(o).origin === o;
    if (!ok)
      throw new ValidationError(`web_origins ${JSON.stringify(o)}: must be an origin, scheme://host[:port]`);
  }
  return [...new Set(origins)];
}

/** The settings after `input` is applied to `current`; m2m applications take none of the sign-in ones. */
export function applySettings(
  current: ApplicationSettings,
  input: ApplicationInput,
  type: ApplicationType,
): ApplicationSettings {
  const s: ApplicationSettings = { ...current };
  const flag = (key: 'skipConsent' | 'allowOfflineAccess' | 'hideSignup', v: boolean | undefined) => {
    if (v === true) s[key] = true;
    else if (v === false) delete s[key];
  };
  flag('skipConsent', input.skipConsent);
  flag('allowOfflineAccess', input.allowOfflineAccess);
  flag('hideSignup', input.hideSignup);
  if (input.idTokenSigningAlg !== undefined) {
    s.idTokenSigningAlg = checkOneOf(
      'jwt_configuration.alg',
      input.idTokenSigningAlg,
      SIGNING_ALGS,
    ) as SigningAlg;
  }
  if (input.requirePkce === true) delete s.pkceOptional;
  else if (input.requirePkce === false) {
    if (!isConfidential(type))
      throw new ValidationError(
        'require_pkce: public clients always use PKCE (OAuth 2.1); only web applications may turn it off',
      );
    s.pkceOptional = true;
  }
  if (
    type === 'm2m' &&
    (s.skipConsent || s.allowOfflineAccess || s.idTokenSigningAlg || s.pkceOptional || s.hideSignup)
  ) {
    throw new ValidationError('m2m applications do not sign people in; sign-in settings do not apply');
  }
  if (input.description !== undefined) {
    if (characters(input.description) > 140) throw new ValidationError('description: at most 140 characters');
    if (input.description === '') delete s.description;
    else s.description = input.description;
  }
  if (input.logoUri !== undefined) {
    if (input.logoUri === '') delete s.logoUri;
    else s.logoUri = checkHttpUrl('logo_uri', input.logoUri);
  }
  if (input.clientMetadata !== undefined)
    s.clientMetadata = checkMetadata(patchedMetadata(s.clientMetadata ?? {}, input.clientMetadata));
  if (input.webOrigins !== undefined) s.webOrigins = checkOrigins(input.webOrigins, type);
  if (input.tokenEndpointAuthMethod !== undefined) {
    const m = checkOneOf('token_endpoint_auth_method', input.tokenEndpointAuthMethod, AUTH_METHODS);
    if ((m === 'none') === isConfidential(type)) {
      throw new ValidationError(
        `token_endpoint_auth_method: ${type} applications ${isConfidential(type) ? 'authenticate with their secret' : 'are public and use none'}`,
      );
    }
    if (m === 'none') delete s.tokenEndpointAuthMethod;
    else s.tokenEndpointAuthMethod = m;
  }
  return s;
}
