import { userClaims } from '../../accounts/claims.js';
import { entitle } from '../../grants/rbac.js';
import { tokenAudience } from '../../grants/user-tokens.js';
import type { Deps } from '../../http/context.js';
import { ACR } from '../../protocol/claims.js';
import { formatScope } from '../../protocol/scope.js';
import type { Application, SessionRecord, User } from '../../storage/types.js';
import { browserFlowLifetime, issueAccessToken } from '../../tokens/access-token.js';
import { issueIdToken } from '../../tokens/id-token.js';
import { opaqueToken } from '../../tokens/opaque.js';
import { randomToken } from '../../util/crypto.js';
import { merged } from '../../util/merged.js';
import type { AuthorizationRequest } from './request.js';

/**
 * What an authorized request returns, by response type (OIDC Core §3.1.2.5, §3.2.2.5,
 * §3.3.2.5): a code bound to everything the token request must match; an access token with a
 * short lifetime; an ID token with nonce, at_hash and c_hash. Never a refresh token.
 */
export async function authorizedFields(
  deps: Deps,
  app: Application,
  req: AuthorizationRequest,
  current: { session: SessionRecord; user: User },
): Promise<Record<string, string>> {
  const now = deps.clock.now();
  const grantId = randomToken(16);
  const fields: Record<string, string> = {};
  const { user, session } = current;
  if (req.responseType.includes('code')) {
    const code = opaqueToken();
    const payload: Record<string, unknown> = {
      userId: user.id,
      redirectUri: req.redirectUri,
      redirectUriSent: req.redirectUriSent,
      scopes: req.scopes,
      authTime: session.authTime,
      sid: session.sid,
    };
    if (req.audience !== undefined) payload.audience = req.audience;
    if (req.codeChallenge !== undefined) payload.codeChallenge = req.codeChallenge;
    if (req.nonce !== undefined) payload.nonce = req.nonce;
    if (req.acrValues !== undefined) payload.acr = ACR;
    await deps.storage.authorizationCodes.create({
      hash: code.hash,
      clientId: app.clientId,
      grantId,
      expiresAt: now + deps.config.authorizationCode.lifetime,
      payload,
      consumedAt: null,
    });
    fields.code = code.value;
  }
  if (req.responseType.includes('token')) {
    const api = await tokenAudience(deps, req.audience);
    const lifetime = browserFlowLifetime(api, deps.config.accessToken.implicitLifetime);
    const entitled = await entitle(deps.storage, app, req.audience ? api : null, user.id, req.scopes);
    const at = await issueAccessToken(deps.keys, {
      issuer: deps.config.issuer,
      api: merged(api, { tokenLifetime: lifetime }),
      subject: user.id,
      clientId: app.clientId,
      scopes: req.scopes,
      ...(entitled.permissions ? { permissions: entitled.permissions } : {}),
      now,
    });
    await deps.storage.grantTokens.add(grantId, at.jti, at.expiresAt, {
      userId: user.id,
      clientId: app.clientId,
      audience: req.audience ?? '',
    });
    fields.access_token = at.token;
    fields.token_type = 'Bearer';
    fields.expires_in = String(at.expiresIn);
    if (req.scopes.length > 0) fields.scope = formatScope(req.scopes);
  }
  if (req.responseType.includes('id_token')) {
    // OIDC Core §5.4: with no access token to reach userinfo, the scope's claims go in the ID token.
    const claims = req.responseType.length === 1 ? userClaims(user, req.scopes) : {};
    fields.id_token = await issueIdToken(deps.keys, {
      issuer: deps.config.issuer,
      clientId: app.clientId,
      alg: app.settings.idTokenSigningAlg ?? 'RS256',
      lifetime: deps.config.idToken.lifetime,
      now,
      subject: user.id,
      authTime: session.authTime,
      sid: session.sid,
      claims,
      ...(req.nonce !== undefined ? { nonce: req.nonce } : {}),
      ...(req.acrValues !== undefined ? { acr: ACR } : {}),
      ...(fields.access_token !== undefined ? { accessToken: fields.access_token } : {}),
      ...(fields.code !== undefined ? { code: fields.code } : {}),
    });
  }
  return fields;
}
