// The scenarios: for a server (its target description and prepared state), the load job that
// bench/lib/load.mjs runs, after a one-request check that the server does the intended work.
import { createHash, randomBytes } from 'node:crypto';
import {
  exchangeCode,
  FLOW_SCOPE,
  jwtHeader,
  jwtPayload,
  mintRefreshTokens,
  tokenRequest,
} from './browser.mjs';
import { basicAuth, request } from './http.mjs';
import { ACCOUNT, API, REDIRECT_URI, SCOPE } from './shared.mjs';

const FORM = 'application/x-www-form-urlencoded';

/**
 * Scenario ids, labels and which servers run them: Sesame on SQLite always, the peer unless
 * `peer: false`, Sesame on PostgreSQL when `pg`; `ceiling` only runs on bench/ceiling.mjs;
 * `allCpus`: Sesame may use every CPU (not pinned) during this one.
 */
export const SCENARIOS = [
  { id: 'healthz', label: 'GET /healthz (baseline)', peer: false },
  { id: 'cc-es256', label: '1. client credentials → JWT ES256', pg: true },
  { id: 'cc-rs256', label: '2. client credentials → JWT RS256' },
  { id: 'introspect', label: '3. introspection of an access token' },
  { id: 'refresh', label: '4. refresh token grant, rotation', pg: true },
  { id: 'code-flow', label: '5. code + PKCE flow, signed-in browser (flows/s)', pg: true },
  { id: 'discovery', label: '6a. discovery document' },
  { id: 'jwks', label: '6b. JWKS' },
  // argon2 runs on libuv's threads: on one core they would starve the event loop this measures
  { id: 'login-storm', label: '7. /healthz during a failed-login storm', peer: false, allCpus: true },
  { id: 'ceiling', label: 'ceiling: bare node:http form POST → JSON', ceiling: true },
];

function assert(cond, message) {
  if (!cond) throw new Error(message);
}

function clientCredentialsForm(resource) {
  return { grant_type: 'client_credentials', resource, scope: SCOPE.api };
}

/** Checks a JWT access token: signed with `alg`, for the API `aud`. */
function checkAccessToken(t, token, alg, aud) {
  const header = jwtHeader(token);
  const payload = jwtPayload(token);
  assert(header.alg === alg, `${t.name}: access token alg ${header.alg}, expected ${alg}`);
  assert(
    [payload.aud].flat().includes(aud),
    `${t.name}: access token aud ${JSON.stringify(payload.aud)}, expected ${aud}`,
  );
}

/** The job for one scenario (without the mode-independent fields run.mjs adds), after its check. */
export async function prepareJob(id, t, state) {
  const m2mAuth = basicAuth(t.m2m.id, t.m2m.secret);
  const webAuth = t.web && basicAuth(t.web.id, t.web.secret);
  const get = (path) => ({ mode: 'fixed', method: 'GET', path });
  const post = (path, authorization, form) => ({
    mode: 'fixed',
    method: 'POST',
    path,
    headers: { authorization, 'content-type': FORM },
    body: new URLSearchParams(form).toString(),
  });
  switch (id) {
    case 'healthz':
    case 'discovery':
    case 'jwks': {
      const path = t.paths[id];
      const res = await request(`${t.base}${path}`);
      assert(res.status === 200, `${t.name}: GET ${path} → ${res.status}`);
      return get(path);
    }
    case 'ceiling': {
      // the client-credentials request of scenario 1, byte for byte the same size
      const form = clientCredentialsForm(API.es256);
      const res = await request(`${t.base}${t.paths.token}`, { form, basic: [t.m2m.id, t.m2m.secret] });
      assert(res.status === 200 && JSON.parse(res.body).access_token, `${t.name}: POST → ${res.status}`);
      return post(t.paths.token, m2mAuth, form);
    }
    case 'cc-es256':
    case 'cc-rs256': {
      const [resource, alg] = id === 'cc-es256' ? [API.es256, 'ES256'] : [API.rs256, 'RS256'];
      const form = clientCredentialsForm(resource);
      checkAccessToken(t, (await tokenRequest(t, t.m2m, form)).access_token, alg, resource);
      return post(t.paths.token, m2mAuth, form);
    }
    case 'introspect': {
      const token = (await tokenRequest(t, t.m2m, clientCredentialsForm(t.introspectResource))).access_token;
      const form = { token };
      const res = await request(`${t.base}${t.paths.introspect}`, { form, basic: [t.m2m.id, t.m2m.secret] });
      assert(
        res.status === 200 && JSON.parse(res.body).active === true,
        `${t.name}: introspection ${res.body}`,
      );
      return post(t.paths.introspect, m2mAuth, form);
    }
    case 'refresh': {
      const tokens = await mintRefreshTokens(t, state.jar, state.poolSize);
      // the check spends one token and puts the one it gets in its place
      const res = await tokenRequest(t, t.web, { grant_type: 'refresh_token', refresh_token: tokens.pop() });
      assert(res.refresh_token && res.id_token, `${t.name}: refresh gave ${Object.keys(res)}`);
      checkAccessToken(t, res.access_token, 'ES256', API.es256);
      tokens.push(res.refresh_token);
      return {
        mode: 'refresh',
        path: t.paths.token,
        headers: { authorization: webAuth, 'content-type': FORM },
        tokens,
      };
    }
    case 'code-flow': {
      const flow = {
        base: t.base,
        authorizePath: t.paths.authorize,
        tokenPath: t.paths.token,
        // the browser's cookies now (the peer renews its session cookie after interactions)
        cookie: state.jar.header(t.paths.authorize),
        clientId: t.web.id,
        authorization: webAuth,
        redirectUri: REDIRECT_URI,
        scope: FLOW_SCOPE,
        resource: API.es256,
      };
      await checkFlow(t, flow);
      return { mode: 'flow', flow };
    }
    case 'login-storm': {
      const { cookie, csrf } = state.login;
      const form = { csrf, email: ACCOUNT.email, password: 'not the password' };
      const res = await request(`${t.base}/u/login`, { form, headers: { cookie } });
      assert(res.status === 400, `${t.name}: failed login → ${res.status}: ${res.body.slice(0, 200)}`);
      return {
        ...post('/u/login', undefined, form),
        headers: { cookie, 'content-type': FORM },
        expectStatus: 400,
      };
    }
    default:
      throw new Error(`unknown scenario ${id}`);
  }
}

/** One flow exactly as the load generator runs it: the session cookie alone must get a code. */
async function checkFlow(t, f) {
  const verifier = randomBytes(32).toString('base64url');
  const q = new URLSearchParams({
    response_type: 'code',
    client_id: f.clientId,
    redirect_uri: f.redirectUri,
    scope: f.scope,
    resource: f.resource,
    state: 'check',
    code_challenge: createHash('sha256').update(verifier).digest('base64url'),
    code_challenge_method: 'S256',
  });
  const res = await request(`${t.base}${f.authorizePath}?${q}`, { headers: { cookie: f.cookie } });
  const location = res.headers.location ?? '';
  assert(location.startsWith(REDIRECT_URI), `${t.name}: authorize → ${res.status} ${location}`);
  const code = new URL(location).searchParams.get('code');
  assert(code, `${t.name}: no code in ${location}`);
  const tokens = await exchangeCode(t, { code, verifier });
  assert(tokens.id_token, `${t.name}: no ID token from the code flow`);
  assert(jwtHeader(tokens.id_token).alg === 'RS256', `${t.name}: ID token not RS256`);
  checkAccessToken(t, tokens.access_token, 'ES256', API.es256);
}

/** A pending login (interaction cookie and CSRF token) that failed logins can be posted to. */
export async function pendingLogin(t) {
  const q = new URLSearchParams({
    response_type: 'code',
    client_id: t.web.id,
    redirect_uri: REDIRECT_URI,
    scope: 'openid',
    code_challenge: 'E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM',
    code_challenge_method: 'S256',
  });
  const res = await request(`${t.base}${t.paths.authorize}?${q}`);
  const cookie = (res.headers['set-cookie'] ?? []).map((c) => c.split(';')[0]).join('; ');
  const login = res.headers.location ?? '';
  assert(/^\/u\/login(\?|$)/.test(login) && cookie, `${t.name}: authorize → ${res.status}`);
  const page = await request(`${t.base}${login}`, { headers: { cookie } });
  const csrf = /name="csrf" value="([^"]+)"/.exec(page.body)?.[1];
  assert(csrf, `${t.name}: no CSRF token on the login page`);
  return { cookie, csrf };
}
