// Server-side Node.js SDKs against a real Sesame process, with Chromium as the person's browser
// (issue #13: "Auth0's own SDKs, and the generic OIDC libraries, work against Sesame unmodified").
//
// Sesame runs with Auth0's form of the issuer, `http://localhost:PORT/` (trailing slash). Three
// Express 5 applications run in this process, each on its own port of localhost:
//
// - express-openid-connect 3.4.0, code flow with a client secret (`response_type: 'code'`);
// - express-openid-connect 3.4.0 with its defaults (`id_token` + `form_post`), for an application
//   with the implicit grant;
// - passport-openidconnect 0.1.2 (passport 0.7, express-session), configured from Sesame's
//   discovery document.
//
// Each signs a different person in (both registered through the CLI), shows what it knows of
// them, and signs them out through Sesame's end_session_endpoint with an id_token_hint; a new
// visit to a protected route then shows Sesame's login page again (the SSO session is gone).
// Every app and Sesame share the host `localhost` (cookies ignore ports), so cookie names differ
// and each flow runs in its own browser context.
import { randomBytes } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import express, {
  type Request as ExpressRequest,
  type Response as ExpressResponse,
  type NextFunction,
} from 'express';
import { auth, requiresAuth } from 'express-openid-connect';
import session from 'express-session';
import { decodeJwt } from 'jose';
import passportModule from 'passport';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from '../support/databases.js';
import { describePage, launchChromium, waitVisible } from './browser.js';
import { assertBuilt, freePort, runCliJson, type SesameProcess, startSesame } from './process.js';

const TEST_TIMEOUT = 90_000;
const PASSWORD = 'correct horse battery staple';
const ADA = { email: 'ada@example.com', name: 'Ada Lovelace' };
const GRACE = { email: 'grace@example.com', name: 'Grace Hopper' };

/** passport-openidconnect ships no types: the part of it this test uses. */
type VerifyDone = (err: Error | null, user?: Express.User | false) => void;
interface OidcStrategyOptions {
  issuer: string;
  authorizationURL: string;
  tokenURL: string;
  userInfoURL: string;
  clientID: string;
  clientSecret: string;
  callbackURL: string;
  scope: string[];
  nonce: boolean;
  skipUserProfile: boolean;
}
type OidcStrategyConstructor = new (
  options: OidcStrategyOptions,
  // the nine-argument form: the profiles from /userinfo and from the ID token apart
  verify: (
    issuer: string,
    userinfoProfile: PassportProfile | undefined,
    idTokenProfile: PassportProfile,
    context: unknown,
    idToken: string,
    accessToken: string,
    refreshToken: string | undefined,
    params: Record<string, unknown>,
    done: VerifyDone,
  ) => void,
) => passportModule.Strategy;
const OpenIDConnectStrategy = createRequire(import.meta.url)('passport-openidconnect')
  .Strategy as OidcStrategyConstructor;

/** The profile passport-openidconnect builds from the ID token and /userinfo. */
interface PassportProfile {
  id: string;
  displayName?: string;
  emails?: { value: string }[];
  _json?: Record<string, unknown>;
}

/** What the passport app keeps of a signed-in person. */
interface PassportUser {
  issuer: string;
  /** Built from the ID token's claims. */
  profile: PassportProfile;
  /** Built from /userinfo (its `_json` is the answer). */
  userinfo: PassportProfile | null;
  idToken: string;
  accessToken: string;
}

interface CreatedApp {
  client_id: string;
  client_secret: string;
  grant_types: string[];
}

/** A request a browser context made: method, URL, form body. */
interface Seen {
  method: string;
  url: string;
  body: string | null;
}

/** A request an SDK made to Sesame from this process (through express-openid-connect's customFetch). */
interface Fetched {
  method: string;
  url: string;
  authorization: string | null;
  body: string;
}

/** JSON inside a <pre>, safe for HTML. */
const jsonPage = (id: string, value: unknown) =>
  `<!doctype html><html><head><meta charset="utf-8"><title>${id}</title></head><body>` +
  `<pre id="${id}">${JSON.stringify(value, null, 2).replace(/&/g, '&amp;').replace(/</g, '&lt;')}</pre>` +
  '</body></html>';

/** A one-line page, for home and signed-out pages. */
const textPage = (id: string, text: string) =>
  `<!doctype html><html><head><meta charset="utf-8"><title>${id}</title></head><body>` +
  `<p id="${id}">${text.replace(/&/g, '&amp;').replace(/</g, '&lt;')}</p></body></html>`;

/** Error handler shared by the apps: the failure is shown as "sign-in failed: …" (waitVisible fails on it). */
const showErrors = (err: Error, _req: ExpressRequest, res: ExpressResponse, _next: NextFunction) => {
  res
    .status(500)
    .type('html')
    .send(textPage('error', `sign-in failed: ${err.name}: ${err.message}`));
};

/** Serves an Express app on 127.0.0.1:port (what `localhost` resolves to here). */
async function listen(app: express.Express, port: number): Promise<Server> {
  const server = createServer(app);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => resolve());
  });
  return server;
}

describe('Node.js SDKs against a real Sesame (issuer with a trailing slash)', () => {
  let db: TestDatabase | undefined;
  let sesame: SesameProcess | undefined;
  let browser: Browser | undefined;
  const servers: Server[] = [];
  const contexts: BrowserContext[] = [];
  /** `http://localhost:PORT/`, exactly as configured. */
  let issuer: string;
  /** The issuer's origin, where Sesame's pages and endpoints are. */
  let sesameOrigin: string;
  let discovery: Record<string, unknown>;
  let adaId: string;
  let graceId: string;
  const pageErrors: string[] = [];
  const logs = () => `page errors: ${JSON.stringify(pageErrors)}\nsesame stderr:\n${sesame?.stderr() ?? ''}`;

  // express-openid-connect, code flow
  let codeUrl: string;
  let codeApp: CreatedApp;
  const codeFetched: Fetched[] = [];
  // express-openid-connect, its default id_token + form_post
  let implicitUrl: string;
  let implicitApp: CreatedApp;
  const implicitFetched: Fetched[] = [];
  // passport-openidconnect
  let passportUrl: string;
  let passportApp: CreatedApp;

  /** A fetch that records what express-openid-connect (openid-client) asks Sesame. */
  const recordingFetch =
    (into: Fetched[]): typeof fetch =>
    async (input, init) => {
      const url = input instanceof Request ? input.url : String(input);
      into.push({
        method: init?.method ?? 'GET',
        url,
        authorization: new Headers(init?.headers).get('authorization'),
        body: typeof init?.body === 'string' ? init.body : init?.body ? String(init.body) : '',
      });
      return fetch(input, init);
    };

  beforeAll(async () => {
    assertBuilt();
    db = await createTestDatabase('sqlite');
    const port = await freePort();
    issuer = `http://localhost:${port}/`;
    sesameOrigin = `http://localhost:${port}`;
    const env = {
      SESAME_PORT: String(port),
      SESAME_HOST: '127.0.0.1',
      SESAME_ISSUER: issuer,
      SESAME_DATA_DIR: join(db.dataDir, 'data'),
      SESAME_LOG_LEVEL: 'warn',
    };
    sesame = startSesame(env);
    await sesame.waitReady(`${sesameOrigin}/readyz`);
    discovery = (await (await fetch(`${sesameOrigin}/.well-known/openid-configuration`)).json()) as Record<
      string,
      unknown
    >;

    adaId = (
      await runCliJson<{ id: string }>(
        ['users', 'create', '--email', ADA.email, '--password', PASSWORD, '--name', ADA.name],
        env,
      )
    ).id;
    graceId = (
      await runCliJson<{ id: string }>(
        ['users', 'create', '--email', GRACE.email, '--password', PASSWORD, '--name', GRACE.name],
        env,
      )
    ).id;

    const [codePort, implicitPort, passportPort] = [await freePort(), await freePort(), await freePort()];
    codeUrl = `http://localhost:${codePort}`;
    implicitUrl = `http://localhost:${implicitPort}`;
    passportUrl = `http://localhost:${passportPort}`;
    const register = (name: string, url: string, callbackPath: string, extra: string[] = []) =>
      runCliJson<CreatedApp>(
        [
          'apps',
          'create',
          '--name',
          name,
          '--type',
          'web',
          '--callback',
          `${url}${callbackPath}`,
          '--logout-callback',
          `${url}/signed-out`,
          ...extra,
        ],
        env,
      );
    codeApp = await register('Express code flow', codeUrl, '/callback');
    implicitApp = await register('Express id_token', implicitUrl, '/callback', [
      '--grant',
      'authorization_code',
      '--grant',
      'implicit',
    ]);
    // passport-openidconnect 0.1.2 cannot send PKCE, and Sesame requires it by default (#14 §11):
    // its web application is registered with PKCE optional, as an old library needs.
    passportApp = await register('Passport app', passportUrl, '/auth/callback', ['--no-require-pkce']);

    // 1. express-openid-connect, code flow with a client secret.
    {
      const app = express();
      app.use(
        auth({
          issuerBaseURL: issuer,
          baseURL: codeUrl,
          clientID: codeApp.client_id,
          clientSecret: codeApp.client_secret,
          secret: randomBytes(32).toString('base64url'),
          authRequired: false,
          idpLogout: true,
          authorizationParams: { response_type: 'code', scope: 'openid profile email' },
          routes: { postLogoutRedirect: '/signed-out' },
          session: { name: 'codeAppSession' },
          transactionCookie: { name: 'code_auth_verification' },
          customFetch: recordingFetch(codeFetched),
        }),
      );
      app.get('/', (req, res) => {
        res.type('html').send(textPage('home', req.oidc.isAuthenticated() ? 'signed in' : 'signed out'));
      });
      app.get('/signed-out', (req, res) => {
        res.type('html').send(textPage('signed-out', `authenticated: ${req.oidc.isAuthenticated()}`));
      });
      app.get('/profile', requiresAuth(), async (req, res, next) => {
        try {
          const userinfo = await req.oidc.fetchUserInfo();
          res.type('html').send(
            jsonPage('profile', {
              user: req.oidc.user,
              idTokenClaims: req.oidc.idTokenClaims,
              idToken: req.oidc.idToken,
              accessToken: req.oidc.accessToken?.access_token,
              tokenType: req.oidc.accessToken?.token_type,
              userinfo,
            }),
          );
        } catch (err) {
          next(err);
        }
      });
      app.use(showErrors);
      servers.push(await listen(app, codePort));
    }

    // 2. express-openid-connect with its defaults: response_type id_token, response_mode form_post.
    {
      const app = express();
      app.use(
        auth({
          issuerBaseURL: issuer,
          baseURL: implicitUrl,
          clientID: implicitApp.client_id,
          secret: randomBytes(32).toString('base64url'),
          authRequired: false,
          idpLogout: true,
          routes: { postLogoutRedirect: '/signed-out' },
          session: { name: 'implicitAppSession' },
          transactionCookie: { name: 'implicit_auth_verification' },
          customFetch: recordingFetch(implicitFetched),
        }),
      );
      app.get('/signed-out', (req, res) => {
        res.type('html').send(textPage('signed-out', `authenticated: ${req.oidc.isAuthenticated()}`));
      });
      app.get('/profile', requiresAuth(), (req, res) => {
        res.type('html').send(
          jsonPage('profile', {
            user: req.oidc.user,
            idTokenClaims: req.oidc.idTokenClaims,
            idToken: req.oidc.idToken,
            accessToken: req.oidc.accessToken?.access_token ?? null,
          }),
        );
      });
      app.use(showErrors);
      servers.push(await listen(app, implicitPort));
    }

    // 3. passport-openidconnect, configured from the discovery document.
    {
      const passport = new passportModule.Passport();
      passport.use(
        'openidconnect',
        new OpenIDConnectStrategy(
          {
            issuer: discovery.issuer as string,
            authorizationURL: discovery.authorization_endpoint as string,
            tokenURL: discovery.token_endpoint as string,
            userInfoURL: discovery.userinfo_endpoint as string,
            clientID: passportApp.client_id,
            clientSecret: passportApp.client_secret,
            callbackURL: `${passportUrl}/auth/callback`,
            scope: ['profile', 'email'],
            nonce: true,
            skipUserProfile: false,
          },
          (iss, userinfo, profile, _context, idToken, accessToken, _refreshToken, _params, done) => {
            const user: PassportUser = {
              issuer: iss,
              profile,
              userinfo: userinfo ?? null,
              idToken,
              accessToken,
            };
            done(null, user as Express.User);
          },
        ),
      );
      passport.serializeUser((user, done) => done(null, user));
      passport.deserializeUser((user: Express.User, done) => done(null, user));

      const app = express();
      app.use(
        session({
          name: 'passport.sid',
          secret: randomBytes(32).toString('base64url'),
          resave: false,
          saveUninitialized: false,
        }),
      );
      app.use(passport.initialize());
      app.use(passport.session());
      app.get('/login', passport.authenticate('openidconnect'));
      app.get('/auth/callback', (req, res, next) => {
        passport.authenticate(
          'openidconnect',
          (err: Error | null, user: Express.User | false, info: unknown) => {
            if (err) return next(err);
            if (!user) return next(new Error(`no user: ${JSON.stringify(info)}`));
            req.logIn(user, (e) => (e ? next(e) : res.redirect('/profile')));
          },
        )(req, res, next);
      });
      app.get('/profile', (req, res) => {
        if (!req.user) {
          res.redirect('/login');
          return;
        }
        res.type('html').send(jsonPage('profile', req.user));
      });
      app.get('/logout', (req, res, next) => {
        const user = req.user as PassportUser | undefined;
        req.logout((err) => {
          if (err) return next(err);
          const end = new URL(discovery.end_session_endpoint as string);
          if (user) end.searchParams.set('id_token_hint', user.idToken);
          end.searchParams.set('post_logout_redirect_uri', `${passportUrl}/signed-out`);
          res.redirect(end.href);
        });
      });
      app.get('/signed-out', (req, res) => {
        res.type('html').send(textPage('signed-out', `authenticated: ${req.isAuthenticated()}`));
      });
      app.use(showErrors);
      servers.push(await listen(app, passportPort));
    }

    browser = await launchChromium();
  }, 180_000);

  afterAll(async () => {
    for (const c of contexts) await c.close().catch(() => {});
    await browser?.close().catch(() => {});
    for (const server of servers) {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
    await sesame?.kill();
    await db?.drop().catch(() => {});
  });

  /** A fresh browser (its own cookies) that records every request it makes. */
  async function newBrowserContext(): Promise<{ page: Page; seen: Seen[] }> {
    if (!browser) throw new Error('no browser');
    const context = await browser.newContext();
    contexts.push(context);
    context.setDefaultTimeout(20_000);
    context.setDefaultNavigationTimeout(20_000);
    const seen: Seen[] = [];
    context.on('request', (r) => seen.push({ method: r.method(), url: r.url(), body: r.postData() }));
    context.on('page', (p) => p.on('pageerror', (err) => pageErrors.push(`${p.url()}: ${err.message}`)));
    return { page: await context.newPage(), seen };
  }

  /** Waits until the page is at `origin` + `path`. */
  async function at(page: Page, origin: string, path: string, what: string): Promise<void> {
    try {
      await page.waitForURL((u) => u.origin === origin && u.pathname === path, { timeout: 20_000 });
    } catch {
      throw new Error(`${what}: expected ${origin}${path}\n${await describePage(page)}\n${logs()}`);
    }
  }

  /** On Sesame's login page: signs `email` in and allows the consent page if it comes. */
  async function signInOnSesame(page: Page, email: string, appOrigin: string): Promise<void> {
    await at(page, sesameOrigin, '/u/login', 'the application sends the browser to Sesame’s login page');
    await page.getByLabel('Email').fill(email);
    await page.getByLabel('Password').fill(PASSWORD);
    await page.getByRole('button', { name: 'Sign in' }).click();
    try {
      await page.waitForURL(
        (u) => (u.origin === sesameOrigin && u.pathname === '/u/consent') || u.origin === appOrigin,
        { timeout: 20_000 },
      );
    } catch {
      throw new Error(`after login: neither consent nor the app\n${await describePage(page)}\n${logs()}`);
    }
    if (new URL(page.url()).pathname === '/u/consent' && new URL(page.url()).origin === sesameOrigin) {
      await page.getByRole('button', { name: 'Allow' }).click();
    }
  }

  /** The JSON an app shows in `<pre id=profile>`. */
  async function shownProfile<T>(page: Page, what: string): Promise<T> {
    await waitVisible(page, '#profile', what, logs, /^sign-in failed/, 20_000);
    return JSON.parse(await page.locator('#profile').innerText()) as T;
  }

  /** The requests a browser made to Sesame's `path`. */
  const toSesame = (seen: Seen[], path: string) =>
    seen.filter((r) => {
      const u = new URL(r.url);
      return u.origin === sesameOrigin && u.pathname === path;
    });

  /** After logout: a protected route sends the browser to Sesame's login page again (no SSO session). */
  async function protectedRouteAsksLogin(page: Page, route: string): Promise<void> {
    await page.goto(route);
    await at(
      page,
      sesameOrigin,
      '/u/login',
      'after logout, the protected route shows Sesame’s login page again',
    );
    await page.getByLabel('Password').waitFor({ state: 'visible' });
  }

  it('publishes discovery under the issuer exactly as configured, without double slashes', () => {
    expect(discovery.issuer).toBe(issuer);
    for (const key of [
      'authorization_endpoint',
      'token_endpoint',
      'userinfo_endpoint',
      'jwks_uri',
      'end_session_endpoint',
    ]) {
      const value = discovery[key] as string;
      expect(value.startsWith(`${sesameOrigin}/`), key).toBe(true);
      expect(value.slice('http://'.length), key).not.toContain('//');
    }
    expect(discovery.end_session_endpoint).toBe(`${sesameOrigin}/oidc/logout`);
    expect(discovery.response_modes_supported).toEqual(expect.arrayContaining(['form_post']));
  });

  it(
    'express-openid-connect (code flow, client secret): sign-in, req.oidc.user, access token, IdP logout',
    async () => {
      const { page, seen } = await newBrowserContext();
      await page.goto(`${codeUrl}/profile`);
      await signInOnSesame(page, ADA.email, codeUrl);
      await at(page, codeUrl, '/profile', 'after the callback, the protected route');
      const shown = await shownProfile<{
        user: Record<string, unknown>;
        idTokenClaims: Record<string, unknown>;
        idToken: string;
        accessToken: string;
        tokenType: string;
        userinfo: Record<string, unknown>;
      }>(page, 'the protected route shows req.oidc.user');

      // The person the app sees is the one who signed in.
      expect(shown.user).toMatchObject({ sub: adaId, email: ADA.email, name: ADA.name });
      expect(shown.user.sub).not.toBe(graceId);
      expect(shown.idTokenClaims).toMatchObject({ iss: issuer, aud: codeApp.client_id, sub: adaId });
      // An access token good for /userinfo (no audience asked), fetched by the SDK.
      expect(shown.tokenType).toMatch(/^bearer$/i);
      expect(decodeJwt(shown.accessToken)).toMatchObject({ iss: issuer, sub: adaId });
      expect(shown.userinfo).toMatchObject({ sub: adaId, email: ADA.email });

      // The browser's side: a code flow with PKCE, answered with RFC 9207's iss byte for byte.
      const authorize = toSesame(seen, '/authorize');
      expect(authorize.length).toBeGreaterThanOrEqual(1);
      const asked = new URL(authorize[0]?.url ?? '').searchParams;
      expect(asked.get('response_type')).toBe('code');
      expect(asked.get('client_id')).toBe(codeApp.client_id);
      expect(asked.get('code_challenge_method')).toBe('S256');
      const callback = seen.find((r) => r.url.startsWith(`${codeUrl}/callback`));
      expect(callback).toBeDefined();
      const answer = new URL(callback?.url ?? '').searchParams;
      expect(answer.get('code')).toEqual(expect.any(String));
      expect(answer.get('iss')).toBe(issuer);

      // The SDK's side: discovery under the issuer, the code redeemed with the secret (Basic).
      expect(codeFetched[0]?.url).toBe(`${sesameOrigin}/.well-known/openid-configuration`);
      const tokenCalls = codeFetched.filter((f) => f.url === discovery.token_endpoint);
      expect(tokenCalls).toHaveLength(1);
      expect(tokenCalls[0]?.method).toBe('POST');
      // client_secret_basic, each part form-urlencoded (RFC 6749 §2.3.1), as openid-client sends it
      const basic = /^Basic (.+)$/.exec(tokenCalls[0]?.authorization ?? '')?.[1] ?? '';
      const [id, secret] = Buffer.from(basic, 'base64').toString('utf8').split(':');
      expect(decodeURIComponent(id ?? '')).toBe(codeApp.client_id);
      expect(decodeURIComponent(secret ?? '')).toBe(codeApp.client_secret);
      const tokenForm = new URLSearchParams(tokenCalls[0]?.body);
      expect(tokenForm.get('grant_type')).toBe('authorization_code');
      expect(tokenForm.get('code')).toBe(answer.get('code'));
      expect(tokenForm.get('code_verifier')).toEqual(expect.any(String));
      expect(codeFetched.some((f) => f.url === discovery.userinfo_endpoint)).toBe(true);

      // Logout through the SDK: Sesame's end_session_endpoint with the ID token as hint.
      seen.length = 0;
      await page.goto(`${codeUrl}/logout`);
      await at(page, codeUrl, '/signed-out', 'the IdP logout returns to the app');
      expect(await page.locator('#signed-out').innerText()).toBe('authenticated: false');
      const logout = toSesame(seen, '/oidc/logout');
      expect(logout).toHaveLength(1);
      const logoutParams = new URL(logout[0]?.url ?? '').searchParams;
      expect(logoutParams.get('id_token_hint')).toBe(shown.idToken);
      expect(logoutParams.get('post_logout_redirect_uri')).toBe(`${codeUrl}/signed-out`);

      await protectedRouteAsksLogin(page, `${codeUrl}/profile`);
    },
    TEST_TIMEOUT,
  );

  it(
    'express-openid-connect defaults (id_token + form_post, implicit grant): sign-in and IdP logout',
    async () => {
      expect(implicitApp.grant_types).toContain('implicit');
      const { page, seen } = await newBrowserContext();
      await page.goto(`${implicitUrl}/profile`);
      await signInOnSesame(page, GRACE.email, implicitUrl);
      await at(page, implicitUrl, '/profile', 'after the form_post callback, the protected route');
      const shown = await shownProfile<{
        user: Record<string, unknown>;
        idTokenClaims: Record<string, unknown>;
        idToken: string;
        accessToken: string | null;
      }>(page, 'the protected route shows req.oidc.user');

      expect(shown.user).toMatchObject({ sub: graceId, email: GRACE.email, name: GRACE.name });
      expect(shown.user.sub).not.toBe(adaId);
      expect(shown.idTokenClaims).toMatchObject({ iss: issuer, aud: implicitApp.client_id, sub: graceId });
      expect(shown.accessToken).toBeNull();

      const authorize = toSesame(seen, '/authorize');
      expect(authorize.length).toBeGreaterThanOrEqual(1);
      const asked = new URL(authorize[0]?.url ?? '').searchParams;
      expect(asked.get('response_type')).toBe('id_token');
      expect(asked.get('response_mode')).toBe('form_post');
      expect(asked.get('nonce')).toEqual(expect.any(String));
      // The ID token came in a POST to the callback (form_post), never through the token endpoint.
      const posted = seen.filter((r) => r.method === 'POST' && r.url === `${implicitUrl}/callback`);
      expect(posted).toHaveLength(1);
      const form = new URLSearchParams(posted[0]?.body ?? '');
      expect(form.get('id_token')).toBe(shown.idToken);
      expect(form.get('iss')).toBe(issuer);
      expect(implicitFetched.some((f) => f.url === discovery.token_endpoint)).toBe(false);

      seen.length = 0;
      await page.goto(`${implicitUrl}/logout`);
      await at(page, implicitUrl, '/signed-out', 'the IdP logout returns to the app');
      expect(await page.locator('#signed-out').innerText()).toBe('authenticated: false');
      const logout = toSesame(seen, '/oidc/logout');
      expect(logout).toHaveLength(1);
      expect(new URL(logout[0]?.url ?? '').searchParams.get('id_token_hint')).toBe(shown.idToken);

      await protectedRouteAsksLogin(page, `${implicitUrl}/profile`);
    },
    TEST_TIMEOUT,
  );

  it(
    'passport-openidconnect (configured from discovery): sign-in, profile, logout at end_session_endpoint',
    async () => {
      const { page, seen } = await newBrowserContext();
      await page.goto(`${passportUrl}/profile`);
      await signInOnSesame(page, ADA.email, passportUrl);
      await at(page, passportUrl, '/profile', 'after the callback, the profile page');
      const shown = await shownProfile<PassportUser>(page, 'the profile page shows the passport user');

      expect(shown.issuer).toBe(issuer);
      expect(shown.profile.id).toBe(adaId);
      expect(shown.profile.id).not.toBe(graceId);
      expect(shown.profile.displayName).toBe(ADA.name);
      expect(shown.profile.emails).toEqual([{ value: ADA.email }]);
      // The profile was also read from /userinfo with the access token (skipUserProfile: false).
      expect(shown.userinfo).toMatchObject({
        id: adaId,
        displayName: ADA.name,
        emails: [{ value: ADA.email }],
      });
      expect(shown.userinfo?._json).toMatchObject({ sub: adaId, email: ADA.email, name: ADA.name });
      expect(decodeJwt(shown.idToken)).toMatchObject({ iss: issuer, aud: passportApp.client_id, sub: adaId });

      const authorize = toSesame(seen, '/authorize');
      expect(authorize.length).toBeGreaterThanOrEqual(1);
      const asked = new URL(authorize[0]?.url ?? '').searchParams;
      expect(asked.get('response_type')).toBe('code');
      expect(asked.get('scope')).toBe('openid profile email');
      expect(asked.get('code_challenge')).toBeNull(); // a confidential client without PKCE

      seen.length = 0;
      await page.goto(`${passportUrl}/logout`);
      await at(page, passportUrl, '/signed-out', 'the logout returns to the app');
      expect(await page.locator('#signed-out').innerText()).toBe('authenticated: false');
      const logout = toSesame(seen, '/oidc/logout');
      expect(logout).toHaveLength(1);
      expect(new URL(logout[0]?.url ?? '').searchParams.get('id_token_hint')).toBe(shown.idToken);

      await protectedRouteAsksLogin(page, `${passportUrl}/profile`);
    },
    TEST_TIMEOUT,
  );
});
