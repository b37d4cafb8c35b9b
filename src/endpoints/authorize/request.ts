import { userScopeCeiling } from '../../grants/rbac.js';
import { audienceApi, userScopes } from '../../grants/user-scopes.js';
import type { Deps } from '../../http/context.js';
import {
  InvalidRequest,
  RegistrationNotSupported,
  RequestNotSupported,
  RequestUriNotSupported,
  UnauthorizedClient,
  UnsupportedResponseType,
} from '../../protocol/errors.js';
import type { Params } from '../../protocol/params.js';
import { checkChallenge } from '../../protocol/pkce.js';
import { type ResponseTypePart, responseTypeOf } from '../../protocol/response-types.js';
import type { Api, Application } from '../../storage/types.js';

export type ResponseMode = 'query' | 'fragment' | 'form_post' | 'web_message';

const MODES = new Set(['query', 'fragment', 'form_post', 'web_message']);

/** A validated authorization request, as stored while the person logs in and consents. */
export interface AuthorizationRequest {
  clientId: string;
  redirectUri: string;
  /** Whether redirect_uri was sent (then the token request must repeat it, RFC 6749 §4.1.3). */
  redirectUriSent: boolean;
  /** The response_type as a set, in a canonical order: code, id_token, token. */
  responseType: ResponseTypePart[];
  responseMode: ResponseMode;
  state?: string;
  nonce?: string;
  scopes: string[];
  audience?: string;
  codeChallenge?: string;
  prompt: string[];
  maxAge?: number;
  loginHint?: string;
  /** Auth0's screen_hint=signup: open the sign-up page rather than the login page. */
  screenHint?: 'signup';
  acrValues?: string;
  /** The user an id_token_hint names (verified), who must be the one signed in. */
  hintSubject?: string;
}

/**
 * The response mode, settled before anything else can redirect: the one asked for, else the
 * response type's default — query for code, fragment when tokens come from /authorize
 * (OAuth 2.0 Multiple Response Types §2.1, §5).
 */
export function responseModeOf(params: Params): ResponseMode {
  const fallback = defaultResponseMode(params);
  const mode = params.get('response_mode') ?? fallback;
  if (!MODES.has(mode)) {
    throw new InvalidRequest('response_mode must be query, fragment, form_post or web_message');
  }
  // Tokens never travel in the query, so neither does the error that refuses to put them there.
  return fallback === 'fragment' && mode === 'query' ? 'fragment' : (mode as ResponseMode);
}

/** The response type's own mode: query for code (or none given), fragment when tokens come from /authorize. */
export function defaultResponseMode(params: Params): 'query' | 'fragment' {
  const type = responseTypeOf(params.get('response_type'));
  return type !== null && type.join(' ') !== 'code' ? 'fragment' : 'query';
}

/**
 * OIDC Core §6 and §7.2.1: a request object (by value or by reference) and `registration` are not
 * supported here (discovery says so); a request carrying one is refused rather than served
 * without the parameters it holds.
 */
function refuseUnsupported(params: Params): void {
  if (params.get('request') !== undefined)
    throw new RequestNotSupported('request objects are not supported; send the parameters themselves');
  if (params.get('request_uri') !== undefined)
    throw new RequestUriNotSupported('request_uri is not supported; send the parameters themselves');
  if (params.get('registration') !== undefined)
    throw new RegistrationNotSupported('the registration parameter is not supported');
}

const PROMPTS = new Set(['none', 'login', 'consent', 'select_account']);

/** OIDC Core §3.1.2.1: prompt is a space-separated set; none may not be combined. */
function parsePrompt(value: string | undefined): string[] {
  const prompt = [...new Set((value ?? '').split(' ').filter(Boolean))];
  for (const p of prompt) if (!PROMPTS.has(p)) throw new InvalidRequest(`prompt value ${p} is not supported`);
  if (prompt.includes('none') && prompt.length > 1)
    throw new InvalidRequest('prompt=none cannot be combined');
  return prompt;
}

/**
 * Validates everything after client and redirect_uri (RFC 6749 §4.1.1, OIDC Core §3.1.2.1,
 * RFC 7636, RFC 8707): response_type code, scope, audience, PKCE (S256; required for public
 * clients), prompt, max_age. Errors here redirect to the client.
 */
export async function parseAuthorizationRequest(
  deps: Pick<Deps, 'storage' | 'tenant'>,
  app: Application,
  params: Params,
  redirectUri: string,
  responseMode: ResponseMode,
): Promise<{ request: AuthorizationRequest; api: Api | null }> {
  refuseUnsupported(params);
  const raw = params.get('response_type');
  if (raw === undefined) throw new InvalidRequest('response_type is required');
  const responseType = responseTypeOf(raw);
  if (!responseType) throw new UnsupportedResponseType(`response_type ${raw} is not supported`);
  const withCode = responseType.includes('code');
  const implicit = responseType.some((p) => p !== 'code');
  if (withCode && !app.grantTypes.includes('authorization_code')) {
    throw new UnauthorizedClient('client is not allowed to use the authorization code flow');
  }
  if (implicit && !app.grantTypes.includes('implicit')) {
    throw new UnauthorizedClient(`client is not allowed to use response_type ${raw}`);
  }
  // OAuth 2.0 Multiple Response Types §5 / RFC 9700 §2.1.2: tokens never travel in the query.
  if (implicit && params.get('response_mode') === 'query') {
    throw new InvalidRequest(`response_mode query is not allowed with response_type ${raw}`);
  }
  const api = await audienceApi(deps, params);
  const scopes = userScopes(params.get('scope'), api);
  if (api) await userScopeCeiling(deps.storage, app, api);
  if (responseType.includes('id_token')) {
    // OIDC Core §3.2.2.1 / §3.3.2.11: an ID token from /authorize needs openid and a nonce.
    if (!scopes.includes('openid'))
      throw new InvalidRequest('scope must include openid for an id_token response');
    if (params.get('nonce') === undefined)
      throw new InvalidRequest('nonce is required when an ID token is returned');
  }
  const codeChallenge = checkChallenge(params.get('code_challenge'), params.get('code_challenge_method'));
  // OAuth 2.1 §4.1.1: PKCE for every client, unless a confidential one was allowed to go without.
  const pkceOptional = app.secretHash !== null && app.settings.pkceOptional === true;
  if (withCode && codeChallenge === undefined && !pkceOptional) {
    throw new InvalidRequest('code_challenge is required (PKCE, S256)');
  }
  const maxAgeText = params.get('max_age');
  if (maxAgeText !== undefined && !/^\d{1,9}$/.test(maxAgeText)) {
    throw new InvalidRequest('max_age must be a non-negative integer');
  }
  const request: AuthorizationRequest = {
    clientId: app.clientId,
    redirectUri,
    redirectUriSent: params.get('redirect_uri') !== undefined,
    responseType,
    responseMode,
    scopes,
    prompt: parsePrompt(params.get('prompt')),
  };
  const optional = {
    state: params.get('state'),
    nonce: params.get('nonce'),
    audience: api?.identifier,
    codeChallenge,
    maxAge: maxAgeText === undefined ? undefined : Number(maxAgeText),
    loginHint: params.get('login_hint'),
    screenHint: params.get('screen_hint') === 'signup' ? 'signup' : undefined,
    acrValues: params.get('acr_values'),
  };
  for (const [k, v] of Object.entries(optional))
    if (v !== undefined) (request as unknown as Record<string, unknown>)[k] = v;
  return { request, api };
}
