import type { ConnectedApplication } from '../admin/my-account.js';
import type { SessionRecord } from '../storage/types.js';
import { invalidBy, NameInput } from './fields.js';
import { Layout } from './layout.js';

const Csrf = (p: { token: string }) => <input type="hidden" name="csrf" value={p.token} />;

const when = (seconds: number) => new Date(seconds * 1000).toISOString().replace('T', ' ').slice(0, 16);

export interface AccountView {
  nonce: string;
  csrf: string;
  name: string;
  email: string;
  emailVerified: boolean;
  minLength: number;
  applications: ConnectedApplication[];
  sessions: SessionRecord[];
  currentSession: string;
  /** Sign-ins of applications through other browsers (signed in or not) that still renew access. */
  otherSignIns: number;
  deletionEnabled: boolean;
  notice?: string;
  /** A form's refusal, shown under its section's heading; `field`: the input it is about. */
  error?: { section: 'profile' | 'password' | 'delete' | 'email'; message: string; field?: string };
}

const Problem = (p: { v: AccountView; section: NonNullable<AccountView['error']>['section'] }) =>
  p.v.error?.section === p.section ? (
    <p class="error" role="alert" id={`problem-${p.section}`}>
      {p.v.error.message}
    </p>
  ) : null;

/** The refusal's id for the input `field`, when it is about that input. */
const about = (v: AccountView, field: string) =>
  v.error?.field === field ? `problem-${v.error.section}` : undefined;

/** /account: the person's own profile, password, connected applications, sessions and deletion. */
export function AccountPage(v: AccountView) {
  return (
    <Layout title="Your account" nonce={v.nonce}>
      <h1>Your account</h1>
      {v.notice ? (
        <p class="notice" role="status">
          {v.notice}
        </p>
      ) : null}
      <h2>Profile</h2>
      <Problem v={v} section="profile" />
      <form method="post" action="/account/profile">
        <Csrf token={v.csrf} />
        <label for="name">Name</label>
        <NameInput value={v.name} problem={about(v, 'name')} />
        <button type="submit">Save</button>
      </form>
      <h2>Email</h2>
      <Problem v={v} section="email" />
      <p>
        {v.email} <span class="muted">{v.emailVerified ? '(verified)' : '(not verified)'}</span>
      </p>
      {v.emailVerified ? null : (
        <form method="post" action="/account/verification-email">
          <Csrf token={v.csrf} />
          <button type="submit" class="secondary">
            Send the verification email again
          </button>
        </form>
      )}
      <h2>Password</h2>
      <Problem v={v} section="password" />
      <form method="post" action="/account/password">
        <Csrf token={v.csrf} />
        <label for="current_password">Current password</label>
        <input
          id="current_password"
          name="current_password"
          type="password"
          autocomplete="current-password"
          required
          {...invalidBy(about(v, 'current_password'))}
        />
        <label for="password">New password</label>
        <input
          id="password"
          name="password"
          type="password"
          autocomplete="new-password"
          required
          minlength={v.minLength}
          {...invalidBy(about(v, 'password'))}
        />
        <p class="muted">
          At least {v.minLength} characters; not a common password. Your other sessions will be signed out.
        </p>
        <button type="submit">Change password</button>
      </form>
      <h2>Connected applications</h2>
      {v.applications.length === 0 ? <p class="muted">No application holds access to your account.</p> : null}
      <ul>
        {v.applications.map((a) => (
          <li>
            <strong>{a.name}</strong>{' '}
            <span class="muted">
              {a.grants
                .flatMap((g) => g.scopes)
                .filter(Boolean)
                .join(', ') || 'sign-in'}
            </span>
            <form method="post" action="/account/applications/revoke">
              <Csrf token={v.csrf} />
              <input type="hidden" name="client_id" value={a.clientId} />
              <button type="submit" class="secondary">
                Remove access of {a.name}
              </button>
            </form>
          </li>
        ))}
      </ul>
      <h2>Sessions</h2>
      <ul>
        {v.sessions.map((s) => (
          <li>
            {s.initialUserAgent ?? 'Unknown browser'}{' '}
            <span class="muted">
              from {s.initialIp ?? 'unknown address'}, since {when(s.createdAt)} UTC
            </span>
            {s.idHash === v.currentSession ? <strong> (this browser)</strong> : null}
          </li>
        ))}
      </ul>
      {v.sessions.length > 1 || v.otherSignIns > 0 ? (
        <form method="post" action="/account/sessions/revoke-others">
          {v.sessions.length > 1 ? null : (
            <p id="other-sign-ins">
              {v.otherSignIns === 1
                ? 'One sign-in of an application in a session that has ended can still renew its access.'
                : `${v.otherSignIns} sign-ins of applications in sessions that have ended can still renew their access.`}
            </p>
          )}
          <p class="muted">
            Lost a device, or signed in somewhere you should not have? Applications you signed in to there can
            no longer renew their access.
          </p>
          <Csrf token={v.csrf} />
          <button type="submit" class="secondary">
            Sign out all other sessions
          </button>
        </form>
      ) : null}
      {v.deletionEnabled ? (
        <>
          <h2>Delete account</h2>
          <Problem v={v} section="delete" />
          <p>This deletes your account and signs you out of every application. It cannot be undone.</p>
          <form method="post" action="/account/delete">
            <Csrf token={v.csrf} />
            <label for="delete_password">Your password</label>
            <input
              id="delete_password"
              name="password"
              type="password"
              autocomplete="current-password"
              required
              {...invalidBy(about(v, 'delete_password'))}
            />
            <button type="submit" class="secondary">
              Delete my account
            </button>
          </form>
        </>
      ) : null}
      <p class="links">
        <a href="/oidc/logout">Sign out</a>
      </p>
    </Layout>
  );
}
