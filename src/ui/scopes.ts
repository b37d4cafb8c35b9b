import type { ApiRepository } from '../storage/types.js';

const OIDC_DESCRIPTIONS: Record<string, string> = {
  openid: 'Sign you in',
  profile: 'Your name and profile',
  email: 'Your email address',
  address: 'Your postal address',
  phone: 'Your phone number',
  offline_access: 'Stay connected when you are not using it',
};

/** Scopes as a person reads them: OpenID Connect's in words, an API's by its own descriptions. */
export async function describeScopes(apis: ApiRepository, audience: string | undefined, scopes: string[]) {
  const api = audience ? await apis.getByIdentifier(audience) : null;
  const described = scopes.map((name) => ({
    name,
    description: OIDC_DESCRIPTIONS[name] ?? api?.scopes.find((s) => s.name === name)?.description ?? name,
  }));
  return { apiName: api?.name, scopes: described };
}
