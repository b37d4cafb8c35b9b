import { authorizationCode } from './authorization-code.js';
import { clientCredentials } from './client-credentials.js';
import { deviceCode } from './device-code.js';
import { password } from './password.js';
import { refreshToken } from './refresh-token.js';
import type { GrantHandler } from './types.js';

/** The grant types Sesame implements. Adding one here without a handler does not compile. */
export type GrantType =
  | 'authorization_code'
  | 'refresh_token'
  | 'client_credentials'
  | 'password'
  | 'urn:ietf:params:oauth:grant-type:device_code';

/** Every grant handler by grant_type (house rule 2). */
export const grants: Readonly<Record<GrantType, GrantHandler>> = {
  authorization_code: authorizationCode,
  refresh_token: refreshToken,
  client_credentials: clientCredentials,
  password,
  'urn:ietf:params:oauth:grant-type:device_code': deviceCode,
};

/** The handler for `grantType`, if Sesame implements it. */
export function grantHandler(grantType: string): GrantHandler | undefined {
  return Object.hasOwn(grants, grantType) ? grants[grantType as GrantType] : undefined;
}

/** Grant types for discovery's grant_types_supported. */
export const supportedGrantTypes = Object.keys(grants) as GrantType[];
