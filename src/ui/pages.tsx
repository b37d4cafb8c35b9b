import { EmailInput } from './fields.js';
import { AppName, Layout } from './layout.js';

/** A hidden CSRF field (every form carries one). */
const Csrf = (p: { token: string }) => <input type="hidden" name="csrf" value={p.token} />;

/** The scopes asked for, each by its description. */
const ScopeList = (p: { scopes: { name: string; description: string }[] }) => (
  <ul>
    {p.scopes.map((s) => (
      <li>
        {s.description} <span class="muted">({s.name})</span>
      </li>
    ))}
  </ul>
);

/** Allow and Deny, posted as `decision`. */
const Decision = () => (
  <>
    <button type="submit" name="decision" value="allow">
      Allow
    </button>
    <button type="submit" name="decision" value="deny" class="secondary">
      Deny
    </button>
  </>
);

export function LoginPage(p: {
  nonce: string;
  csrf: string;
  /** The query naming this sign-in (`?i=…`) for the page's forms and links: another begun since in the browser does not take its place. */
  at?: string;
  /** The application signed in to; none: the tenant's name. */
  appName?: string | undefined;
  email?: string;
  error?: string;
  /** Offer sign-up (the tenant allows it and the application does not hide it). */
  signup?: boolean;
  /** prompt=select_account with someone signed in: offer to go on as them. */
  signedInAs?: string;
}) {
  return (
    <Layout title="Sign in" nonce={p.nonce}>
      <h1>
        Sign in to continue to <AppName name={p.appName} />
      </h1>
      {p.error ? (
        <p class="error" role="alert">
          {p.error}
        </p>
      ) : null}
      {p.signedInAs !== undefined ? (
        <>
          <form method="post" action={`/u/login${p.at ?? ''}`}>
            <Csrf token={p.csrf} />
            <input type="hidden" name="continue" value="yes" />
            <button type="submit">Continue as {p.signedInAs}</button>
          </form>
          <h2>Or use another account</h2>
        </>
      ) : null}
      <form method="post" action={`/u/login${p.at ?? ''}`}>
        <Csrf token={p.csrf} />
        <label for="email">Email</label>
        <EmailInput autocomplete="username" value={p.email} />
        <label for="password">Password</label>
        <input id="password" name="password" type="password" autocomplete="current-password" required />
        <button type="submit">Sign in</button>
      </form>
      <p class="links">
        <a href={`/u/forgot-password${p.at ?? ''}`}>Forgot your password?</a>
        {p.signup ? <a href={`/u/signup${p.at ?? ''}`}>Sign up</a> : null}
      </p>
    </Layout>
  );
}

export function ConsentPage(p: {
  nonce: string;
  csrf: string;
  /** The query naming this sign-in (`?i=…`) for the page's forms and links: another begun since in the browser does not take its place. */
  at?: string;
  appName: string;
  apiName?: string;
  scopes: { name: string; description: string }[];
}) {
  return (
    <Layout title="Allow access" nonce={p.nonce}>
      <h1>{p.appName} wants to access your account</h1>
      {p.apiName ? <p>It asks for access to {p.apiName}:</p> : <p>It asks for:</p>}
      <ScopeList scopes={p.scopes} />
      <form method="post" action={`/u/consent${p.at ?? ''}`}>
        <Csrf token={p.csrf} />
        <Decision />
      </form>
    </Layout>
  );
}

export function ErrorPage(p: {
  nonce: string;
  title: string;
  message: string;
  link?: { href: string; text: string } | { href: string; text: string }[] | undefined;
}) {
  const links = p.link === undefined ? [] : [p.link].flat();
  return (
    <Layout title={p.title} nonce={p.nonce}>
      <h1>{p.title}</h1>
      <p role="alert">{p.message}</p>
      {links.length > 0 ? (
        <p class="links">
          {links.map((l) => (
            <a href={l.href}>{l.text}</a>
          ))}
        </p>
      ) : null}
    </Layout>
  );
}

export function LogoutPage(p: {
  nonce: string;
  csrf?: string;
  done: boolean;
  /** Fields the confirmation form sends back (client_id, post_logout_redirect_uri, state). */
  carry?: Record<string, string>;
  /** Why the person was not sent back to the application. */
  problem?: string;
  /** The person chose to stay signed in (and there is no application to go back to). */
  stayed?: boolean;
  /** The "Stay signed in" link (confirm=no). */
  stay?: string;
}) {
  return (
    <Layout title="Sign out" nonce={p.nonce}>
      {p.stayed ? (
        <>
          <h1>You are still signed in</h1>
          <p>You can close this window.</p>
        </>
      ) : p.done ? (
        <>
          <h1>You are signed out</h1>
          {p.problem ? (
            <p class="error" role="alert">
              You were not sent back to the application: {p.problem}.
            </p>
          ) : null}
          <p>You can close this window.</p>
        </>
      ) : (
        <>
          <h1>Sign out?</h1>
          <form method="post" action="/oidc/logout">
            <Csrf token={p.csrf ?? ''} />
            <input type="hidden" name="confirm" value="yes" />
            {Object.entries(p.carry ?? {}).map(([name, value]) => (
              <input type="hidden" name={name} value={value} />
            ))}
            <button type="submit">Sign out</button>
          </form>
          {p.stay ? (
            <p class="links">
              <a href={p.stay}>Stay signed in</a>
            </p>
          ) : null}
        </>
      )}
    </Layout>
  );
}

/** OAuth 2.0 Form Post Response Mode: posts the response to the client; a button without JavaScript. */
export function FormPostPage(p: { nonce: string; action: string; fields: Record<string, string> }) {
  return (
    <Layout title="Continue" nonce={p.nonce}>
      <form method="post" action={p.action} id="response">
        {Object.entries(p.fields).map(([name, value]) => (
          <input type="hidden" name={name} value={value} />
        ))}
        <noscript>
          <p>JavaScript is off: press the button to continue.</p>
        </noscript>
        <button type="submit">Continue</button>
      </form>
      {/* A fixed script (nothing of the request in it), so it is written unescaped. */}
      <script
        nonce={p.nonce}
        dangerouslySetInnerHTML={{ __html: 'document.getElementById("response").submit()' }}
      />
    </Layout>
  );
}

/** The script of the web_message page: fixed text, the data comes from the element's attributes. */
const POST_MESSAGE = [
  'var el = document.getElementById("response");',
  'var target = window.opener || (window.parent !== window ? window.parent : null);',
  'var origin = el.getAttribute("data-origin");',
  'if (target && origin) target.postMessage({ type: "authorization_response", response: JSON.parse(el.getAttribute("data-response")) }, origin);',
].join('\n');

/** response_mode=web_message: posts the response to the opener or parent window at `origin`. */
export function WebMessagePage(p: { nonce: string; origin: string; response: Record<string, string> }) {
  return (
    <Layout title="Signing in" nonce={p.nonce}>
      <p id="response" data-origin={p.origin} data-response={JSON.stringify(p.response)}>
        Returning to the application…
      </p>
      {/* A fixed script (nothing of the request in it), so it is written unescaped. */}
      <script nonce={p.nonce} dangerouslySetInnerHTML={{ __html: POST_MESSAGE }} />
    </Layout>
  );
}

/** RFC 8628 §3.3: the person enters (or confirms) the code their device shows. */
export function ActivatePage(p: { nonce: string; csrf: string; userCode?: string; error?: string }) {
  return (
    <Layout title="Connect a device" nonce={p.nonce}>
      <h1>Connect a device</h1>
      <p>Enter the code shown on your device.</p>
      {p.error ? (
        <p class="error" role="alert">
          {p.error}
        </p>
      ) : null}
      <form method="post" action="/activate">
        <Csrf token={p.csrf} />
        <label for="user_code">Code</label>
        <input
          id="user_code"
          name="user_code"
          type="text"
          autocomplete="off"
          autocapitalize="characters"
          required
          value={p.userCode ?? ''}
        />
        <button type="submit">Continue</button>
      </form>
    </Layout>
  );
}

/**
 * The device's application and the scopes it asks for, with Allow and Deny, and the warning of
 * RFC 8628 §5.4 against remote phishing: a code someone else sent is theirs, not the person's.
 */
export function DeviceConfirmPage(p: {
  nonce: string;
  csrf: string;
  userCode: string;
  appName: string;
  apiName?: string;
  scopes: { name: string; description: string }[];
}) {
  return (
    <Layout title="Allow the device" nonce={p.nonce}>
      <h1>Allow {p.appName} on your device?</h1>
      <p>
        Code <strong>{p.userCode}</strong>.{' '}
        {p.apiName ? `It asks for access to ${p.apiName}:` : 'It asks for:'}
      </p>
      <ScopeList scopes={p.scopes} />
      <p class="warning" role="note">
        Only allow this if you started signing in to {p.appName} yourself, on a device that is with you now.
        If someone sent you this code or asked you to enter it, choose Deny: allowing would give them access
        to your account.
      </p>
      <form method="post" action="/activate/confirm">
        <Csrf token={p.csrf} />
        <input type="hidden" name="user_code" value={p.userCode} />
        <Decision />
      </form>
    </Layout>
  );
}

/** After the decision: go back to the device. */
export function DeviceDonePage(p: { nonce: string; approved: boolean }) {
  return (
    <Layout title={p.approved ? 'Device connected' : 'Device denied'} nonce={p.nonce}>
      <h1>{p.approved ? 'Device connected' : 'Request denied'}</h1>
      <p>{p.approved ? 'You can return to your device now.' : 'The device was not given access.'}</p>
    </Layout>
  );
}
