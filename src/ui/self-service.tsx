import { forHowLong } from '../util/clock.js';
import { EmailInput, invalidBy, NameInput } from './fields.js';
import { AppName, Layout } from './layout.js';

/** A hidden CSRF field. */
const Csrf = (p: { token: string }) => <input type="hidden" name="csrf" value={p.token} />;

/** The id of a page's message saying what was refused, which the field it is about points to. */
const PROBLEM = 'problem';

const Problem = (p: { error?: string | undefined }) =>
  p.error ? (
    <p class="error" role="alert" id={PROBLEM}>
      {p.error}
    </p>
  ) : null;

/** The problem's id for the field it is about, or undefined. */
const about = (field: string, p: { error?: string | undefined; field?: string | undefined }) =>
  p.error && p.field === field ? PROBLEM : undefined;

/** The new-password field with what the policy asks for. */
const NewPassword = (p: { minLength: number; label?: string; problem?: string | undefined }) => (
  <>
    <label for="password">{p.label ?? 'Password'}</label>
    <input
      id="password"
      name="password"
      type="password"
      autocomplete="new-password"
      required
      minlength={p.minLength}
      {...invalidBy(p.problem)}
    />
    <p class="muted">At least {p.minLength} characters; not a common password.</p>
  </>
);

export function SignupPage(p: {
  nonce: string;
  csrf: string;
  /** The query naming this sign-in (`?i=…`) for the page's forms and links: another begun since in the browser does not take its place. */
  at?: string;
  /** The application signed up for; none: the tenant's name. */
  appName?: string | undefined;
  minLength: number;
  name?: string;
  email?: string;
  error?: string;
  /** The field the error is about. */
  field?: 'name' | 'email' | 'password';
}) {
  return (
    <Layout title="Sign up" nonce={p.nonce}>
      <h1>
        Create your account for <AppName name={p.appName} />
      </h1>
      <Problem error={p.error} />
      <form method="post" action={`/u/signup${p.at ?? ''}`}>
        <Csrf token={p.csrf} />
        <label for="name">Name</label>
        <NameInput value={p.name ?? ''} problem={about('name', p)} />
        <label for="email">Email</label>
        <EmailInput autocomplete="email" value={p.email} problem={about('email', p)} />
        <NewPassword minLength={p.minLength} problem={about('password', p)} />
        <button type="submit">Sign up</button>
      </form>
      <p class="links">
        <a href={`/u/login${p.at ?? ''}`}>Already have an account? Sign in</a>
      </p>
    </Layout>
  );
}

export function ForgotPasswordPage(p: {
  nonce: string;
  csrf: string;
  email?: string;
  error?: string;
  /** The query naming the application sign-in it was opened from (`?i=…`), kept for the way back. */
  at?: string;
}) {
  return (
    <Layout title="Reset your password" nonce={p.nonce}>
      <h1>Reset your password</h1>
      <p>Enter the email of your account: we will send it a link to choose a new password.</p>
      <Problem error={p.error} />
      <form method="post" action={`/u/forgot-password${p.at ?? ''}`}>
        <Csrf token={p.csrf} />
        <label for="email">Email</label>
        <EmailInput autocomplete="username" value={p.email} problem={p.error ? PROBLEM : undefined} />
        <button type="submit">Send the link</button>
      </form>
    </Layout>
  );
}

/** The one answer to a reset request, whether the account exists or not. */
export function CheckEmailPage(p: {
  nonce: string;
  /** The query naming the application sign-in to go back to (`?i=…`); null: none is waiting. */
  back: string | null;
  lifetime: number;
}) {
  return (
    <Layout title="Check your email" nonce={p.nonce}>
      <h1>Check your email</h1>
      <p role="status">
        {`If an account exists for that email, a link to reset its password is on its way. The link works for ${forHowLong(p.lifetime)}.`}
      </p>
      {p.back !== null ? (
        <p class="links">
          <a href={`/u/login${p.back}`}>Back to sign in</a>
        </p>
      ) : null}
    </Layout>
  );
}

export function ResetPasswordPage(p: {
  nonce: string;
  csrf: string;
  ticket: string;
  minLength: number;
  error?: string;
}) {
  return (
    <Layout title="Choose a new password" nonce={p.nonce}>
      <h1>Choose a new password</h1>
      <Problem error={p.error} />
      <form method="post" action="/u/reset-password">
        <Csrf token={p.csrf} />
        <input type="hidden" name="ticket" value={p.ticket} />
        <NewPassword minLength={p.minLength} label="New password" problem={p.error ? PROBLEM : undefined} />
        <button type="submit">Change my password</button>
      </form>
    </Layout>
  );
}

export function VerifyEmailPage(p: { nonce: string; csrf: string; ticket: string; email: string }) {
  return (
    <Layout title="Verify your email" nonce={p.nonce}>
      <h1>Verify your email</h1>
      <p>Confirm that {p.email} is your email address.</p>
      <form method="post" action="/u/email-verification">
        <Csrf token={p.csrf} />
        <input type="hidden" name="ticket" value={p.ticket} />
        <button type="submit">Verify my email</button>
      </form>
    </Layout>
  );
}

/** A finished step: a title, what happened, and where to go next. */
export function DonePage(p: {
  nonce: string;
  title: string;
  message: string;
  link?: { href: string; text: string };
}) {
  return (
    <Layout title={p.title} nonce={p.nonce}>
      <h1>{p.title}</h1>
      <p role="status">{p.message}</p>
      {p.link ? (
        <p class="links">
          <a href={p.link.href}>{p.link.text}</a>
        </p>
      ) : null}
    </Layout>
  );
}
