import type { Context } from 'hono';
import { EMAILS_PER_HOUR, spendAddressBudget } from '../accounts/budgets.js';
import { isPersonName } from '../accounts/claims.js';
import { checkPassword, refuseWhenBusy } from '../accounts/password.js';
import { refusePassword } from '../accounts/password-policy.js';
import { ConflictError } from '../admin/errors.js';
import {
  changeOwnPassword,
  connectedApplications,
  deleteOwnAccount,
  disconnectApplication,
  otherBrowsersSignIns,
  signOutOtherBrowsers,
} from '../admin/my-account.js';
import { sessionLifetimes } from '../admin/settings.js';
import { emailBrand, emailTicket, notifyPasswordChanged } from '../admin/tickets.js';
import { heldUser } from '../admin/users.js';
import { clientIp, clientOrigin } from '../http/client-ip.js';
import type { AppEnv, Deps } from '../http/context.js';
import type { Cookies } from '../http/cookies.js';
import { PageError, page } from '../http/page.js';
import { seeOther } from '../http/respond.js';
import type { Repositories, SessionRecord, User } from '../storage/types.js';
import { AccountPage, type AccountView } from '../ui/account.js';
import { DonePage } from '../ui/self-service.js';
import { sha256 } from '../util/crypto.js';
import { checkCsrf } from './authorize/interaction.js';
import { endSession, loadSession, sessionCsrf, signedInOrLogin } from './authorize/session.js';
import { SIGNUP_MESSAGES } from './signup.js';

const NOTICES: Record<string, string> = {
  profile: 'Your profile is saved.',
  password: 'Your password is changed. Your other sessions are signed out.',
  verification: 'A verification email is on its way.',
  verified: 'Your email is already verified: no email was sent.',
  revoked: 'The application no longer has access to your account.',
  sessions:
    'Your other sessions are signed out, and the applications you signed in to there can no longer renew their access.',
};

/** The signed-in person, or a 303 to the login page that comes back to /account. */

async function render(
  deps: Deps,
  c: Context,
  who: { user: User; session: SessionRecord; csrf: string },
  status = 200,
  extra: Pick<AccountView, 'notice' | 'error'> & { typedName?: string } = {},
  headers: Record<string, string> = {},
) {
  const { typedName, ...shown } = extra;
  const now = deps.clock.now();
  const view: Omit<AccountView, 'nonce'> = {
    csrf: who.csrf,
    // a refused name stays in the field, as typed
    name: typedName ?? who.user.claims.name ?? '',
    email: who.user.email,
    emailVerified: who.user.claims.email_verified === true,
    minLength: deps.config.password.minLength,
    applications: await connectedApplications(deps.storage, who.user.id, now),
    sessions: await deps.storage.sessions.listForUser(
      who.user.id,
      now,
      { offset: 0, limit: 50 },
      (await sessionLifetimes(deps)).idle,
    ),
    currentSession: who.session.idHash,
    otherSignIns: await otherBrowsersSignIns(deps.storage, who.user.id, who.session.sid, now),
    deletionEnabled: (await deps.tenant.get()).account_deletion_enabled !== false,
    ...shown,
  };
  return page(c, (nonce) => AccountPage({ nonce, ...view }), status, headers);
}

/** GET /account: the person's own account (signing in first when needed). */
export function accountPage(deps: Deps, cookies: Cookies) {
  return async (c: Context<AppEnv>) => {
    const s = await signedInOrLogin(deps, cookies, c, '/account', 'account');
    if (s.redirect) return s.redirect;
    const who = { ...s.current, csrf: s.csrf };
    const what = c.req.query('done') ?? '';
    const notice = Object.hasOwn(NOTICES, what) ? NOTICES[what] : undefined;
    return render(deps, c, who, 200, notice ? { notice } : {});
  };
}

const done = (c: Context, what: string) => seeOther(c, `/account?done=${what}`);

/**
 * A wrong current password counts like a failed sign-in of the account (so a stolen session
 * cannot be used to guess it): after login.accountFailures in login.window, a 429 page.
 */
async function currentPasswordOk(deps: Deps, user: User, password: string): Promise<boolean> {
  const key = `account-password:${user.id}`;
  const now = deps.clock.now();
  const attempts = deps.storage.loginAttempts;
  const tooMany = (wait: number) =>
    new PageError(
      'Too many attempts',
      'Too many wrong passwords. Try again later.',
      429,
      { 'Retry-After': String(Math.max(1, wait)) },
      { href: '/account', text: 'Back to your account' },
    );
  const wait = await attempts.lockedFor(key, now);
  if (wait > 0) throw tooMany(wait);
  // Counted before the check (one atomic upsert), so guesses sent at once are all counted;
  // unless argon2's queue is full (503), when nothing would be checked.
  refuseWhenBusy();
  const { window, accountFailures, lockSeconds } = deps.config.login;
  const used = await attempts.recordFailure(key, now, window, accountFailures, lockSeconds);
  if (used > accountFailures) throw tooMany(await attempts.lockedFor(key, now));
  if (!(await checkPassword(user.passwordHash, password))) return false;
  await attempts.clear(key);
  return true;
}

type Action = (
  deps: Deps,
  cookies: Cookies,
  c: Context<AppEnv>,
  who: { user: User; session: SessionRecord; csrf: string },
) => Promise<Response>;

/** A POST of /account: signed in (else 403: a form of a session that ended), CSRF checked. */
function accountAction(deps: Deps, cookies: Cookies, action: Action) {
  return async (c: Context<AppEnv>): Promise<Response> => {
    const current = await loadSession(deps, cookies, c);
    if (!current)
      throw new PageError('Forbidden', 'You are not signed in. Open your account page again.', 403);
    const csrf = sessionCsrf(cookies, c, 'account') as string;
    checkCsrf(csrf, c.get('params').get('csrf'));
    return action(deps, cookies, c, { ...current, csrf });
  };
}

/** The page for an account whose password or state changed while a form of it was open. */
const changed = () =>
  new PageError('Forbidden', 'Your account changed meanwhile (a new password?). Sign in again.', 403);

const profile: Action = async (deps, _cookies, c, who) => {
  const typed = c.get('params').get('name') ?? '';
  const name = typed.trim();
  if (!isPersonName(name)) {
    const error = { section: 'profile' as const, message: SIGNUP_MESSAGES.name, field: 'name' };
    return render(deps, c, who, 400, { error, typedName: typed });
  }
  // Only the name changes: the row is held and read again, so a verification landing meanwhile stays.
  await deps.storage.transaction(async (tx) => {
    const fresh = await heldUser(tx, who.user.id);
    if (!fresh) return;
    const claims = { ...fresh.claims };
    if (name) claims.name = name;
    else delete claims.name;
    await tx.users.update(fresh.id, { claims }, deps.clock.now());
  });
  return done(c, 'profile');
};

const password: Action = async (deps, _cookies, c, who) => {
  const params = c.get('params');
  const fail = (message: string, field: string) =>
    render(deps, c, who, 400, { error: { section: 'password', message, field } });
  if (!(await currentPasswordOk(deps, who.user, params.get('current_password') ?? ''))) {
    await deps.events.record({
      ...clientOrigin(c),
      type: 'fcp',
      userId: who.user.id,
      userName: who.user.email,
      description: 'Wrong current password',
    });
    return fail('Your current password is not correct.', 'current_password');
  }
  const next = params.get('password') ?? '';
  const refusal = await refusePassword(next, {
    minLength: deps.config.password.minLength,
    email: who.user.email,
  });
  if (refusal) return fail(refusal.message, 'password');
  const brand = await emailBrand(deps);
  const notify = (tx: Repositories) => notifyPasswordChanged(deps, tx, who.user, brand);
  if (!(await changeOwnPassword(deps.storage, deps.clock, who.user, who.session.idHash, next, notify)))
    throw changed();
  deps.mail.kick();
  return done(c, 'password');
};

const verification: Action = async (deps, _cookies, c, who) => {
  // Verified meanwhile (the link used in another tab): say so, rather than that an email is coming.
  if (who.user.claims.email_verified === true) return done(c, 'verified');
  const now = deps.clock.now();
  const wait = await spendAddressBudget(
    deps.storage.loginAttempts,
    'verification',
    clientIp(c),
    deps.config.login,
    now,
  );
  const sent =
    wait > 0 ? null : await emailTicket(deps, 'email_verification', who.user, { perHour: EMAILS_PER_HOUR });
  if (sent === null) {
    // The account's budget frees up an hour after its oldest email of the hour, at the latest.
    const retry = wait > 0 ? wait : 3600;
    const message = 'Too many verification emails were asked for. Try again later.';
    return render(
      deps,
      c,
      who,
      429,
      { error: { section: 'email', message } },
      { 'Retry-After': String(retry) },
    );
  }
  return done(c, 'verification');
};

const revoke: Action = async (deps, _cookies, c, who) => {
  const params = c.get('params');
  const grant = params.get('grant_id');
  const consent = grant ? await deps.storage.consents.getById(grant) : null;
  const clientId = consent?.userId === who.user.id ? consent.clientId : (params.get('client_id') ?? '');
  if (!(await disconnectApplication(deps.storage, deps.clock, who.user, clientId))) {
    throw new PageError('Not found', 'That application has no access to your account.', 404);
  }
  return done(c, 'revoked');
};

const sessions: Action = async (deps, cookies, c, who) => {
  // this browser's console session stays, as its sign-in does
  const consoleCookie = cookies.get(c, 'console');
  const keepConsole = consoleCookie ? sha256(consoleCookie) : undefined;
  const keep = { id: who.user.id, keepSession: who.session, keepConsole };
  await deps.storage.transaction((tx) => signOutOtherBrowsers(tx, keep, deps.clock.now()));
  return done(c, 'sessions');
};

const remove: Action = async (deps, cookies, c, who) => {
  if ((await deps.tenant.get()).account_deletion_enabled === false) {
    throw new PageError('Forbidden', 'Accounts cannot be deleted here. Ask the support.', 403);
  }
  if (!(await currentPasswordOk(deps, who.user, c.get('params').get('password') ?? ''))) {
    return render(deps, c, who, 400, {
      error: { section: 'delete', message: 'Your password is not correct.', field: 'delete_password' },
    });
  }
  let deleted: boolean;
  try {
    deleted = await deleteOwnAccount(deps.storage, deps.clock, who.user);
  } catch (err) {
    if (!(err instanceof ConflictError)) throw err;
    const message = 'You are the last administrator of this tenant: make someone else one before you go.';
    return render(deps, c, who, 409, { error: { section: 'delete', message } });
  }
  if (!deleted) throw changed();
  await endSession(deps, cookies, c);
  return seeOther(c, '/account/deleted');
};

/** GET /account/deleted: the last page of a deleted account. */
export function accountDeletedPage() {
  return async (c: Context<AppEnv>) =>
    page(c, (nonce) =>
      DonePage({
        nonce,
        title: 'Account deleted',
        message: 'Your account has been deleted. You are signed out.',
      }),
    );
}

/** The POST handlers of /account, by path. */
export function accountActions(deps: Deps, cookies: Cookies) {
  return {
    '/account/profile': accountAction(deps, cookies, profile),
    '/account/password': accountAction(deps, cookies, password),
    '/account/verification-email': accountAction(deps, cookies, verification),
    '/account/applications/revoke': accountAction(deps, cookies, revoke),
    '/account/sessions/revoke-others': accountAction(deps, cookies, sessions),
    '/account/delete': accountAction(deps, cookies, remove),
  };
}
