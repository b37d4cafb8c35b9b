/** OpenID Connect Core §5.4: the claims each standard scope asks for. */
export const SCOPE_CLAIMS: Readonly<Record<string, readonly string[]>> = {
  profile: [
    'name',
    'family_name',
    'given_name',
    'middle_name',
    'nickname',
    'preferred_username',
    'profile',
    'picture',
    'website',
    'gender',
    'birthdate',
    'zoneinfo',
    'locale',
    'updated_at',
  ],
  email: ['email', 'email_verified'],
  address: ['address'],
  phone: ['phone_number', 'phone_number_verified'],
};

/** Every claim Sesame can release, for discovery's claims_supported. */
/**
 * The authentication context class Sesame reports in `acr` when `acr_values` asks for one (OIDC
 * Core §3.1.2.1, a voluntary claim): a password sign-in, ISO/IEC 29115 level 1, as Keycloak's "1".
 */
export const ACR = '1';

export const CLAIMS_SUPPORTED = [
  'sub',
  'iss',
  'aud',
  'exp',
  'iat',
  'auth_time',
  'nonce',
  'acr',
  'sid',
  'at_hash',
  'c_hash',
  ...new Set(Object.values(SCOPE_CLAIMS).flat()),
];

/** The claims of `all` that the granted `scopes` release. */
export function claimsForScopes(
  all: Record<string, unknown>,
  scopes: readonly string[],
): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const scope of scopes) {
    for (const name of SCOPE_CLAIMS[scope] ?? []) if (all[name] !== undefined) out[name] = all[name];
  }
  return out;
}
