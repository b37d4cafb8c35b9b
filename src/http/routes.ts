import type { Handler, MiddlewareHandler } from 'hono';
import { accountActions, accountDeletedPage, accountPage } from '../endpoints/account.js';
import { authorizeEndpoint, resumeEndpoint } from '../endpoints/authorize/index.js';
import { consentPage, consentSubmit } from '../endpoints/consent.js';
import { activateConfirm, activatePage, activateSubmit } from '../endpoints/device/activate.js';
import { deviceAuthorizationEndpoint } from '../endpoints/device/authorization.js';
import { discoveryEndpoint } from '../endpoints/discovery.js';
import { emailVerificationPage, emailVerificationSubmit } from '../endpoints/email-verification.js';
import { auth0LogoutEndpoint, endSessionEndpoint } from '../endpoints/end-session.js';
import { healthEndpoint, readyEndpoint } from '../endpoints/health.js';
import { introspectionEndpoint } from '../endpoints/introspect.js';
import { jwksEndpoint } from '../endpoints/jwks.js';
import { loginPage, loginSubmit } from '../endpoints/login.js';
import {
  forgotPasswordPage,
  forgotPasswordSubmit,
  resetPasswordPage,
  resetPasswordSubmit,
} from '../endpoints/password-reset.js';
import { revocationEndpoint } from '../endpoints/revoke.js';
import { signupPage, signupSubmit } from '../endpoints/signup.js';
import { TOKEN_REPEATABLE, tokenEndpoint } from '../endpoints/token/index.js';
import { userinfoEndpoint } from '../endpoints/userinfo.js';
import { ANY_NAME } from '../protocol/params.js';
import type { AppEnv, Deps } from './context.js';
import { Cookies } from './cookies.js';
import { clientCors, publicCors } from './middleware/cors.js';
import { againAsGetFromOtherSites } from './middleware/cross-site-post.js';
import { parseBody, parseForm, parsePageForm } from './middleware/parse-form.js';

/** One route: a path and, per method, the middleware and handler that serve it. */
export interface Route {
  path: string;
  methods: Partial<Record<'GET' | 'POST' | 'OPTIONS', [...MiddlewareHandler<AppEnv>[], Handler<AppEnv>]>>;
}

/** Every route Sesame serves, in one table. Other methods on these paths get 405 with Allow. */
export function routes(deps: Deps): Route[] {
  const form = parseForm(deps.config.bodyLimit);
  // RFC 8707 §2: `resource` may repeat where a grant is asked for (more than one API: invalid_target)
  const resourceForm = parseForm(deps.config.bodyLimit, TOKEN_REPEATABLE);
  const pageForm = parsePageForm(deps.config.bodyLimit);
  const anyRepeated = parsePageForm(deps.config.bodyLimit, ANY_NAME);
  const cookies = new Cookies(deps.config.issuer);
  const authorize = authorizeEndpoint(deps, cookies);
  const logout = endSessionEndpoint(deps, cookies);
  const asGet = againAsGetFromOtherSites(cookies);
  const userinfo = userinfoEndpoint(deps);
  // CORS (issue #13): public documents for any origin; the browser's calls for registered origins.
  const open = publicCors('GET');
  const postCors = clientCors(deps, 'POST');
  const userinfoCors = clientCors(deps, 'GET, POST');
  const preflightOnly = () => new Response(null, { status: 204 });
  return [
    { path: '/authorize', methods: { GET: [authorize], POST: [anyRepeated, asGet, authorize] } },
    { path: '/authorize/resume', methods: { GET: [resumeEndpoint(deps, cookies)] } },
    {
      path: '/u/login',
      methods: { GET: [loginPage(deps, cookies)], POST: [pageForm, loginSubmit(deps, cookies)] },
    },
    {
      path: '/u/signup',
      methods: { GET: [signupPage(deps, cookies)], POST: [pageForm, signupSubmit(deps, cookies)] },
    },
    {
      path: '/u/forgot-password',
      methods: {
        GET: [forgotPasswordPage(deps, cookies)],
        POST: [pageForm, forgotPasswordSubmit(deps, cookies)],
      },
    },
    {
      path: '/u/reset-password',
      methods: {
        GET: [resetPasswordPage(deps, cookies)],
        POST: [pageForm, resetPasswordSubmit(deps, cookies)],
      },
    },
    {
      path: '/u/email-verification',
      methods: {
        GET: [emailVerificationPage(deps, cookies)],
        POST: [pageForm, emailVerificationSubmit(deps, cookies)],
      },
    },
    { path: '/account', methods: { GET: [accountPage(deps, cookies)] } },
    { path: '/account/deleted', methods: { GET: [accountDeletedPage()] } },
    ...Object.entries(accountActions(deps, cookies)).map(([path, action]) => ({
      path,
      methods: { POST: [pageForm, action] as [MiddlewareHandler<AppEnv>, Handler<AppEnv>] },
    })),
    {
      path: '/u/consent',
      methods: { GET: [consentPage(deps, cookies)], POST: [pageForm, consentSubmit(deps, cookies)] },
    },
    { path: '/oauth/device/code', methods: { POST: [resourceForm, deviceAuthorizationEndpoint(deps)] } },
    {
      path: '/activate',
      methods: { GET: [activatePage(deps, cookies)], POST: [pageForm, activateSubmit(deps, cookies)] },
    },
    { path: '/activate/confirm', methods: { POST: [pageForm, activateConfirm(deps, cookies)] } },
    {
      path: '/userinfo',
      methods: {
        GET: [userinfoCors, userinfo],
        POST: [userinfoCors, userinfo],
        OPTIONS: [userinfoCors, preflightOnly],
      },
    },
    { path: '/oidc/logout', methods: { GET: [logout], POST: [pageForm, asGet, logout] } },
    { path: '/v2/logout', methods: { GET: [auth0LogoutEndpoint(deps, cookies)] } },
    {
      path: '/.well-known/openid-configuration',
      methods: { GET: [open, discoveryEndpoint(deps.config, 'openid')], OPTIONS: [open, preflightOnly] },
    },
    {
      path: '/.well-known/oauth-authorization-server',
      methods: { GET: [open, discoveryEndpoint(deps.config, 'oauth')], OPTIONS: [open, preflightOnly] },
    },
    {
      path: '/.well-known/jwks.json',
      methods: { GET: [open, jwksEndpoint(deps)], OPTIONS: [open, preflightOnly] },
    },
    {
      path: '/oauth/token',
      methods: {
        POST: [postCors, parseBody(deps.config.bodyLimit, TOKEN_REPEATABLE), tokenEndpoint(deps)],
        OPTIONS: [postCors, preflightOnly],
      },
    },
    { path: '/oauth/introspect', methods: { POST: [form, introspectionEndpoint(deps)] } },
    {
      path: '/oauth/revoke',
      methods: {
        POST: [postCors, parseBody(deps.config.bodyLimit), revocationEndpoint(deps)],
        OPTIONS: [postCors, preflightOnly],
      },
    },
    { path: '/healthz', methods: { GET: [healthEndpoint()] } },
    { path: '/readyz', methods: { GET: [readyEndpoint(deps)] } },
    { path: '/favicon.ico', methods: { GET: [noIcon] } },
  ];
}

/** Browsers ask every site for an icon: Sesame has none, which is said without a 404 (kept a week). */
const noIcon: Handler<AppEnv> = (c) => c.body(null, 204, { 'Cache-Control': 'public, max-age=604800' });
