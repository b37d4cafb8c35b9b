// node-oidc-provider configured for the same work as Sesame in the benchmark: the same two
// clients, the same APIs as resource indicators with JWT access tokens (ES256 and RS256), ID
// tokens RS256, client credentials, introspection, revocation, refresh-token rotation, PKCE.
//
// No dev interactions: /interaction/:uid completes login and consent through the provider's
// interaction and Grant APIs without rendering any page, so that a browser that has been through
// it once (a session and a grant) gets codes straight from /auth. It signs in the one bench
// account without a password: this server exists only for the benchmark, on 127.0.0.1.
//
//   PEER_PORT PEER_HOST PEER_ISSUER PEER_M2M_SECRET PEER_WEB_SECRET  node bench/peer/server.mjs
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { createServer } from 'node:http';
import Provider, { errors } from 'oidc-provider';
import { ACCOUNT, API, CLIENT, REDIRECT_URI, SCOPE } from '../lib/shared.mjs';
import { BenchAdapter } from './adapter.mjs';

const port = Number(process.env.PEER_PORT ?? 3100);
const host = process.env.PEER_HOST ?? '127.0.0.1';
const issuer = process.env.PEER_ISSUER ?? `http://${host}:${port}`;
const m2mSecret = process.env.PEER_M2M_SECRET;
const webSecret = process.env.PEER_WEB_SECRET;
if (!m2mSecret || !webSecret) {
  console.error('set PEER_M2M_SECRET and PEER_WEB_SECRET');
  process.exit(2);
}

const jwk = (alg, type, opts) => ({
  ...generateKeyPairSync(type, opts).privateKey.export({ format: 'jwk' }),
  alg,
  use: 'sig',
  kid: `${alg.toLowerCase()}-bench`,
});
const keys = [jwk('RS256', 'rsa', { modulusLength: 2048 }), jwk('ES256', 'ec', { namedCurve: 'P-256' })];

/** Resource servers, one per API identifier (the same identifiers Sesame's APIs have). */
const RESOURCE_SERVERS = {
  [API.es256]: { accessTokenFormat: 'jwt', jwt: { sign: { alg: 'ES256' } } },
  [API.rs256]: { accessTokenFormat: 'jwt', jwt: { sign: { alg: 'RS256' } } },
  // Introspection refuses JWTs (they are self-contained), so the introspection scenario asks
  // about an opaque client-credentials token of this API.
  [API.opaque]: { accessTokenFormat: 'opaque' },
};

const OIDC_SCOPES = ['openid', 'profile', 'email', 'offline_access'];

const provider = new Provider(issuer, {
  adapter: BenchAdapter,
  clients: [
    {
      client_id: CLIENT.m2m,
      client_secret: m2mSecret,
      grant_types: ['client_credentials'],
      response_types: [],
      redirect_uris: [],
      token_endpoint_auth_method: 'client_secret_basic',
    },
    {
      client_id: CLIENT.web,
      client_secret: webSecret,
      grant_types: ['authorization_code', 'refresh_token'],
      response_types: ['code'],
      redirect_uris: [REDIRECT_URI],
      token_endpoint_auth_method: 'client_secret_basic',
      id_token_signed_response_alg: 'RS256',
    },
  ],
  jwks: { keys },
  cookies: { keys: [randomBytes(32).toString('base64url')] },
  claims: { openid: ['sub'], profile: ['name'], email: ['email', 'email_verified'] },
  scopes: OIDC_SCOPES,
  findAccount(_ctx, sub) {
    if (sub !== ACCOUNT.id) return undefined;
    return {
      accountId: sub,
      claims: async () => ({ sub, name: ACCOUNT.name, email: ACCOUNT.email, email_verified: true }),
    };
  },
  features: {
    devInteractions: { enabled: false },
    clientCredentials: { enabled: true },
    introspection: { enabled: true },
    revocation: { enabled: true },
    resourceIndicators: {
      enabled: true,
      defaultResource: (_ctx, _client, oneOf) => oneOf,
      useGrantedResource: () => true,
      getResourceServerInfo(_ctx, indicator) {
        const rs = RESOURCE_SERVERS[indicator];
        if (!rs) throw new errors.InvalidTarget();
        return { scope: SCOPE.api, audience: indicator, accessTokenTTL: 86400, ...rs };
      },
    },
  },
  pkce: { required: () => true },
  rotateRefreshToken: true,
  interactions: { url: (_ctx, interaction) => `/interaction/${interaction.uid}` },
  ttl: {
    AccessToken: (_ctx, token) => token.resourceServer?.accessTokenTTL ?? 3600,
    ClientCredentials: (_ctx, token) => token.resourceServer?.accessTokenTTL ?? 3600,
    AuthorizationCode: 60,
    IdToken: 3600,
    RefreshToken: 14 * 86400,
    Interaction: 900,
    Session: 7 * 86400,
    Grant: 14 * 86400,
  },
});

/**
 * GET /interaction/:uid: log the bench account in (when asked) and grant every scope requested
 * (the OIDC ones, and the API's scope for the requested resource), then back to /auth/:uid.
 */
async function interaction(req, res) {
  try {
    const details = await provider.interactionDetails(req, res);
    const { prompt, params, session, grantId } = details;
    const accountId = session?.accountId ?? ACCOUNT.id;
    const grant = grantId
      ? await provider.Grant.find(grantId)
      : new provider.Grant({ accountId, clientId: params.client_id });
    const requested = String(params.scope ?? '').split(' ');
    grant.addOIDCScope(requested.filter((s) => OIDC_SCOPES.includes(s)).join(' '));
    if (params.resource) grant.addResourceScope(String(params.resource), SCOPE.api);
    const result = { consent: { grantId: await grant.save() } };
    if (prompt.name === 'login') result.login = { accountId };
    await provider.interactionFinished(req, res, result, { mergeWithLastSubmission: false });
  } catch (err) {
    res.statusCode = 500;
    res.end(String(err?.stack ?? err));
  }
}

const callback = provider.callback();
const server = createServer((req, res) => {
  if (req.method === 'GET' && req.url?.startsWith('/interaction/')) return void interaction(req, res);
  callback(req, res);
});
server.listen(port, host, () => console.log(`oidc-provider listening on ${issuer}`));
const stop = () => server.close(() => process.exit(0));
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
