// A small relying party (a "regular web app") that signs people in with Sesame through
// openid-client: authorization code flow with PKCE, ID token validation, userinfo, logout.
//
//   SESAME_ISSUER=http://localhost:3000 CLIENT_ID=... CLIENT_SECRET=... node examples/web-app/server.mjs
//
// Register it first:  npx sesame apps create --name "Example app" --type web \
//   --callback http://localhost:4000/callback --logout-callback http://localhost:4000/
import { randomBytes } from 'node:crypto';
import { createServer } from 'node:http';
import * as client from 'openid-client';

const issuer = new URL(process.env.SESAME_ISSUER ?? 'http://localhost:3000');
const port = Number(process.env.PORT ?? 4000);
const base = process.env.APP_URL ?? `http://localhost:${port}`;
const scope = process.env.SCOPE ?? 'openid profile email offline_access';
const audience = process.env.AUDIENCE;
const { CLIENT_ID, CLIENT_SECRET } = process.env;
if (!CLIENT_ID || !CLIENT_SECRET) {
  console.error('set CLIENT_ID and CLIENT_SECRET (from `npx sesame apps create --type web ...`)');
  process.exit(1);
}

const options = issuer.protocol === 'http:' ? { execute: [client.allowInsecureRequests] } : undefined;
const config = await client.discovery(issuer, CLIENT_ID, CLIENT_SECRET, undefined, options);

/** Browser sessions of this example app, in memory (it is an example). */
const sessions = new Map();
const esc = (s) => String(s).replace(/[&<>"']/g, (ch) => `&#${ch.charCodeAt(0)};`);

function session(req, res) {
  const id = /(?:^|; )app_session=([^;]+)/.exec(req.headers.cookie ?? '')?.[1];
  if (id && sessions.has(id)) return sessions.get(id);
  const fresh = randomBytes(16).toString('hex');
  const s = {};
  sessions.set(fresh, s);
  res.setHeader('Set-Cookie', `app_session=${fresh}; HttpOnly; SameSite=Lax; Path=/`);
  return s;
}

/** The claims of a JWT access token, for display (the API that receives it verifies it). */
function accessClaims(token) {
  const payload = token?.split('.')[1];
  return payload ? JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')) : null;
}

function html(res, body) {
  res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
  res.end(`<!doctype html><meta charset="utf-8"><title>Example app</title><body>${body}</body>`);
}

createServer(async (req, res) => {
  try {
    const url = new URL(req.url ?? '/', base);
    const s = session(req, res);
    if (url.pathname === '/') {
      if (!s.user)
        return html(res, '<h1>Example app</h1><p><a id="login" href="/login">Sign in with Sesame</a></p>');
      return html(
        res,
        `<h1>Hello <span id="email">${esc(s.user.email ?? s.user.sub)}</span></h1>` +
          `<pre id="claims">${esc(JSON.stringify(s.claims, null, 2))}</pre>` +
          `<h2>Access token</h2><pre id="access-token">${esc(JSON.stringify(accessClaims(s.tokens.access_token), null, 2))}</pre>` +
          `<p id="refresh">${s.tokens.refresh_token ? 'refresh token received' : 'no refresh token'}</p>` +
          '<p><a id="logout" href="/logout">Sign out</a></p>',
      );
    }
    if (url.pathname === '/login') {
      s.verifier = client.randomPKCECodeVerifier();
      s.state = client.randomState();
      s.nonce = client.randomNonce();
      const params = {
        redirect_uri: `${base}/callback`,
        scope,
        state: s.state,
        nonce: s.nonce,
        code_challenge: await client.calculatePKCECodeChallenge(s.verifier),
        code_challenge_method: 'S256',
      };
      if (audience) params.audience = audience;
      res.writeHead(302, { location: client.buildAuthorizationUrl(config, params).href });
      return res.end();
    }
    if (url.pathname === '/callback') {
      const tokens = await client.authorizationCodeGrant(config, url, {
        pkceCodeVerifier: s.verifier,
        expectedState: s.state,
        expectedNonce: s.nonce,
      });
      const claims = tokens.claims();
      s.tokens = tokens;
      s.claims = claims;
      s.user = await client.fetchUserInfo(config, tokens.access_token, claims.sub);
      res.writeHead(302, { location: '/' });
      return res.end();
    }
    if (url.pathname === '/logout') {
      const idToken = s.tokens?.id_token;
      for (const k of Object.keys(s)) delete s[k];
      const target = idToken
        ? client.buildEndSessionUrl(config, { id_token_hint: idToken, post_logout_redirect_uri: `${base}/` })
            .href
        : '/';
      res.writeHead(302, { location: target });
      return res.end();
    }
    res.writeHead(404).end('not found');
  } catch (err) {
    res.writeHead(500, { 'content-type': 'text/plain' }).end(`sign-in failed: ${err.message}`);
  }
}).listen(port, () => console.log(`example app on ${base}`));
