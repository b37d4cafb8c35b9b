// Setup work that a browser and a client application would do, identical for both servers:
// sign in through the authorization endpoint (Sesame's login and consent pages, the peer's
// page-less interaction), exchange codes, mint refresh tokens and access tokens.
import { createHash } from 'node:crypto';
import { CookieJar, randomB64, request } from './http.mjs';
import { ACCOUNT, API, REDIRECT_URI, SCOPE } from './shared.mjs';

/** Scopes of the code-flow scenario, and of the sign-in that mints refresh tokens. */
export const FLOW_SCOPE = `openid profile ${SCOPE.api}`;
export const OFFLINE_SCOPE = `openid offline_access ${SCOPE.api}`;

/** An HTML error page as one line of text. */
const text = (html) =>
  html
    .replace(/<style[\s\S]*?<\/style>/g, '')
    .replace(/<[^>]+>/g, ' ')
    .replace(/\s+/g, ' ')
    .trim()
    .slice(0, 400);

const sha256b64 = (s) => createHash('sha256').update(s).digest('base64url');

/**
 * Runs /authorize in a browser (`jar`), filling in a login page and allowing a consent page
 * when the server shows one, until the redirect to the client; returns the code and its PKCE verifier.
 */
export async function authorizeInBrowser(t, jar, { scope, resource = API.es256, prompt }) {
  const verifier = randomB64(32);
  const params = {
    response_type: 'code',
    client_id: t.web.id,
    redirect_uri: REDIRECT_URI,
    scope,
    resource,
    state: randomB64(12),
    nonce: randomB64(12),
    code_challenge: sha256b64(verifier),
    code_challenge_method: 'S256',
    ...(prompt ? { prompt } : {}),
  };
  let url = `${t.base}${t.paths.authorize}?${new URLSearchParams(params)}`;
  for (let hop = 0; hop < 12; hop++) {
    const res = await request(url, { jar });
    if (res.status >= 300 && res.status < 400) {
      const location = res.headers.location ?? '';
      if (location.startsWith(REDIRECT_URI)) {
        const code = new URL(location).searchParams.get('code');
        if (!code) throw new Error(`${t.name}: authorization failed: ${location}`);
        return { code, verifier };
      }
      url = new URL(location, url).href;
      continue;
    }
    const csrf = /name="csrf" value="([^"]+)"/.exec(res.body)?.[1];
    if (res.status === 200 && csrf) {
      const path = new URL(url).pathname;
      const form =
        path === '/u/login'
          ? { csrf, email: ACCOUNT.email, password: ACCOUNT.password }
          : { csrf, decision: 'allow' };
      const post = await request(url, { jar, form });
      if (post.status !== 303 && post.status !== 302) {
        throw new Error(`${t.name}: POST ${path} → ${post.status}: ${text(post.body)}`);
      }
      url = new URL(post.headers.location, url).href;
      continue;
    }
    throw new Error(`${t.name}: GET ${url} → ${res.status}: ${text(res.body)}`);
  }
  throw new Error(`${t.name}: too many redirects from ${t.paths.authorize}`);
}

/** POST the token endpoint as the web client; returns the JSON, throwing unless 200. */
export async function tokenRequest(t, client, form) {
  const res = await request(`${t.base}${t.paths.token}`, { form, basic: [client.id, client.secret] });
  if (res.status !== 200) throw new Error(`${t.name}: token ${form.grant_type} → ${res.status}: ${res.body}`);
  return JSON.parse(res.body);
}

export function exchangeCode(t, { code, verifier }) {
  return tokenRequest(t, t.web, {
    grant_type: 'authorization_code',
    code,
    redirect_uri: REDIRECT_URI,
    code_verifier: verifier,
  });
}

/**
 * A browser that has signed in once and granted the code-flow scopes and the offline ones
 * (Sesame: its login and consent pages; the peer: its interaction, without pages); its jar.
 */
export async function signedInBrowser(t) {
  const jar = new CookieJar();
  const grant = await authorizeInBrowser(t, jar, {
    scope: `${FLOW_SCOPE} ${OFFLINE_SCOPE}`,
    prompt: 'consent',
  });
  await exchangeCode(t, grant);
  return { jar };
}

/**
 * `n` refresh tokens, each from its own code flow (a family of its own), `concurrency` at a
 * time (the peer: one at a time, since each of its interactions renews the session cookie).
 */
export async function mintRefreshTokens(t, jar, n, concurrency = t.mintConcurrency ?? 4) {
  const tokens = [];
  const worker = async () => {
    while (tokens.length < n) {
      const grant = await authorizeInBrowser(t, jar, { scope: OFFLINE_SCOPE, prompt: t.offlinePrompt });
      const res = await exchangeCode(t, grant);
      if (!res.refresh_token) throw new Error(`${t.name}: no refresh token in ${JSON.stringify(res)}`);
      tokens.push(res.refresh_token);
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  return tokens.slice(0, n);
}

/** The payload of a JWT, unverified (to check what a scenario issues). */
export function jwtPayload(token) {
  return JSON.parse(Buffer.from(token.split('.')[1], 'base64url').toString());
}

export function jwtHeader(token) {
  return JSON.parse(Buffer.from(token.split('.')[0], 'base64url').toString());
}
