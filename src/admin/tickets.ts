import { EMAILS_PER_HOUR } from '../accounts/budgets.js';
import { hashPassword } from '../accounts/password.js';
import { type PolicyRefusal, refusePassword } from '../accounts/password-policy.js';
import { accountCounter } from '../accounts/throttle.js';
import type { Config } from '../config/schema.js';
import type { Mailer, Settle } from '../email/mailer.js';
import { passwordChangedEmail, resetEmail, verificationEmail } from '../email/templates.js';
import { writeEvent } from '../events/log.js';
import { endpointUrl } from '../protocol/issuer.js';
import type { AccountTicket, Repositories, Storage, TicketKind, User } from '../storage/types.js';
import type { Clock } from '../util/clock.js';
import { randomToken, sha256 } from '../util/crypto.js';
import { type Brand, brandOf } from './branding.js';
import { endUserTokens } from './revoke.js';
import type { TenantSettingsReader } from './settings.js';
import { heldUser } from './users.js';

/** What the account links need: storage, the clock, the issuer, the tenant's brand, the outbox. */
export interface AccountDeps {
  storage: Storage;
  clock: Clock;
  config: Config;
  tenant: TenantSettingsReader;
  mail: Mailer;
}

/** How long a link works unless a Management API ticket says otherwise (#15). */
export const LIFETIMES: Record<TicketKind, number> = { email_verification: 86_400, password_reset: 3600 };

const PATHS: Record<TicketKind, string> = {
  email_verification: '/u/email-verification',
  password_reset: '/u/reset-password',
};

/** Why a link does not work, as the page says it. */
export type TicketProblem = 'unknown' | 'used' | 'expired';

export interface TicketOptions {
  ttl?: number;
  resultUrl?: string;
  verifyEmail?: boolean;
  /** The person asked for it: it counts toward their hourly budget (`emailTicket`'s perHour). */
  requested?: boolean;
}

/**
 * Makes a single-use link for `user` in `tx`: a 256-bit secret, stored only as its SHA-256. A
 * new password-reset link ends the older ones, also one made at the same moment. Links always
 * start with the issuer.
 */
export async function issueTicket(
  tx: Repositories,
  deps: Pick<AccountDeps, 'clock' | 'config'>,
  kind: TicketKind,
  user: User,
  opts: TicketOptions = {},
): Promise<string> {
  const now = deps.clock.now();
  if (kind === 'password_reset') {
    // Held, so a link made at the same moment is committed, and ended here, before this one is.
    await tx.users.hold(user.id);
    await tx.accountTickets.supersede(user.id, kind, now);
  }
  const token = randomToken(32);
  await tx.accountTickets.create({
    hash: sha256(token),
    kind,
    userId: user.id,
    email: user.email,
    ...(opts.resultUrl ? { resultUrl: opts.resultUrl } : {}),
    verifyEmail: opts.verifyEmail === true,
    requested: opts.requested === true,
    createdAt: now,
    expiresAt: now + (opts.ttl ?? LIFETIMES[kind]),
  });
  return `${endpointUrl(deps.config.issuer, PATHS[kind])}?ticket=${token}`;
}

/**
 * Queues the email carrying a new link of `kind` to the user in `tx`; returns the outbox
 * message id. The brand is read before the transaction (`emailBrand`): on SQLite the
 * transaction holds the only connection, so nothing in it may read through another.
 * `requested`: the person asked for it (not an administrator), so it counts toward their budget.
 */
export async function sendTicketEmail(
  deps: AccountDeps,
  kind: TicketKind,
  user: User,
  tx: Repositories,
  brand: Brand,
  requested: boolean,
): Promise<string> {
  const link = await issueTicket(tx, deps, kind, user, { requested });
  const email =
    kind === 'email_verification'
      ? verificationEmail(brand, link, LIFETIMES.email_verification)
      : resetEmail(brand, link, LIFETIMES.password_reset);
  const id = await deps.mail.enqueue(tx, kind, user.email, email);
  await writeEvent(tx.logs, deps.clock, {
    type: kind === 'email_verification' ? 'svr' : 'scpr',
    userId: user.id,
    userName: user.email,
  });
  return id;
}

/** Queues in `tx` the notice that the user's password changed, with the way back should it not be them. */
export async function notifyPasswordChanged(
  deps: Pick<AccountDeps, 'mail' | 'config'>,
  tx: Repositories,
  user: User,
  brand: Brand,
): Promise<void> {
  const link = endpointUrl(deps.config.issuer, '/u/forgot-password');
  await deps.mail.enqueue(tx, 'password_changed', user.email, passwordChangedEmail(brand, link));
}

/** The tenant's brand for an email, read outside any transaction. */
export async function emailBrand(deps: Pick<AccountDeps, 'tenant'>): Promise<Brand> {
  return brandOf(await deps.tenant.get());
}

/**
 * Queues the email in one transaction with its link and event, then starts delivery. With
 * `perHour` the person asked for it: nothing (null) when they asked for that many links of `kind`
 * in the last hour. Without it an administrator did, and it does not use up the person's budget.
 */
export async function emailTicket(
  deps: AccountDeps,
  kind: TicketKind,
  user: User,
  /** `settle`: what asked for it (a queued request) is marked done in the same transaction. */
  opts: { perHour?: number; settle?: Settle } = {},
): Promise<string | null> {
  const brand = await emailBrand(deps);
  const id = await deps.storage.transaction(async (tx) => {
    if (opts.perHour !== undefined) {
      // The user's row is held, so two requests at once cannot both see room in the budget.
      await tx.users.hold(user.id);
      const since = deps.clock.now() - 3600;
      if ((await tx.accountTickets.requestedSince(user.id, kind, since)) >= opts.perHour) return null;
    }
    const sent = await sendTicketEmail(deps, kind, user, tx, brand, opts.perHour !== undefined);
    await opts.settle?.(tx);
    return sent;
  });
  if (id !== null) deps.mail.kick();
  return id;
}

/** A password reset asked for an address on the forgot-password page, and from where. */
export interface ResetRequest {
  email: string;
  origin: { ip: string; userAgent?: string };
}

/**
 * Runs a reset request (queued by the page, run off it by the outbox): a known, unblocked account
 * gets a link unless it had EMAILS_PER_HOUR already; otherwise an `fcpr` event says why none was
 * sent.
 */
export async function runResetRequest(
  deps: AccountDeps,
  request: ResetRequest,
  settle: Settle,
): Promise<void> {
  const { email, origin } = request;
  const user = await deps.storage.users.getByEmail(email);
  const sent =
    user && !user.blocked
      ? await emailTicket(deps, 'password_reset', user, { perHour: EMAILS_PER_HOUR, settle })
      : null;
  if (sent !== null) return;
  const reason = !user
    ? 'no such user'
    : user.blocked
      ? 'the user is blocked'
      : 'too many reset emails this hour';
  await deps.storage.transaction(async (tx) => {
    await writeEvent(tx.logs, deps.clock, {
      ...origin,
      type: 'fcpr',
      userName: email,
      ...(user ? { userId: user.id } : {}),
      description: `No reset link sent: ${reason}`,
    });
    await settle(tx);
  });
}

/** Why the link behind `token` does not work now, or its ticket when it does (nothing is used up). */
export async function openTicket(
  deps: Pick<AccountDeps, 'storage' | 'clock'>,
  kind: TicketKind,
  token: string,
): Promise<AccountTicket | TicketProblem> {
  const ticket = /^[A-Za-z0-9_-]{43}$/.test(token)
    ? await deps.storage.accountTickets.get(sha256(token))
    : null;
  if (!ticket || ticket.kind !== kind) return 'unknown';
  if (ticket.usedAt !== undefined) return 'used';
  if (ticket.expiresAt <= deps.clock.now()) return 'expired';
  const user = await deps.storage.users.get(ticket.userId);
  // A link sent to an address the user no longer has proves nothing about them; a blocked
  // account's links wait until it is unblocked.
  if (!user || user.blocked || user.email !== ticket.email) return 'unknown';
  return ticket;
}

/** Uses a verification link: the user's email_verified becomes true. */
export async function verifyEmail(
  deps: AccountDeps,
  token: string,
): Promise<{ user: User; ticket: AccountTicket } | TicketProblem> {
  const open = await openTicket(deps, 'email_verification', token);
  if (typeof open === 'string') return open;
  return deps.storage.transaction(async (tx) => {
    const now = deps.clock.now();
    // The user first, then the link: every path that holds both holds them in that order.
    const user = await heldUser(tx, open.userId);
    // blocked meanwhile: the link waits, unused, until the account is unblocked
    if (user?.blocked) return 'unknown';
    const ticket = user ? await tx.accountTickets.use(open.hash, 'email_verification', now) : null;
    if (!ticket || !user) return 'used';
    if (user.email !== ticket.email) return 'unknown';
    const claims = { ...user.claims, email_verified: true };
    await tx.users.update(user.id, { claims }, now);
    await writeEvent(tx.logs, deps.clock, { type: 'sv', userId: user.id, userName: user.email });
    return { user: { ...user, claims }, ticket };
  });
}

/**
 * Uses a password-reset link: the policy is checked first (a refused password leaves the link
 * usable); then, in one transaction, the link is used, the password replaced, other reset links
 * ended and (unless the tenant turned password_reset_ends_sessions off) every session and
 * token of the person ended.
 */
export async function resetPassword(
  deps: AccountDeps,
  token: string,
  password: string,
): Promise<{ user: User; ticket: AccountTicket } | TicketProblem | PolicyRefusal> {
  const open = await openTicket(deps, 'password_reset', token);
  if (typeof open === 'string') return open;
  const refusal = await refusePassword(password, {
    minLength: deps.config.password.minLength,
    email: open.email,
  });
  if (refusal) return refusal;
  const passwordHash = await hashPassword(password);
  const endSessions = (await deps.tenant.get()).password_reset_ends_sessions !== false;
  const brand = await emailBrand(deps);
  const result = await deps.storage.transaction(async (tx) => {
    const now = deps.clock.now();
    // The user first, then the link (as issueTicket, updateUser and the account page hold them).
    const user = await heldUser(tx, open.userId);
    if (user?.blocked) return 'unknown';
    const ticket = user ? await tx.accountTickets.use(open.hash, 'password_reset', now) : null;
    if (!ticket || !user) return 'used';
    if (user.email !== ticket.email) return 'unknown';
    const claims = ticket.verifyEmail ? { ...user.claims, email_verified: true } : user.claims;
    await tx.users.update(user.id, ticket.verifyEmail ? { passwordHash, claims } : { passwordHash }, now);
    await tx.accountTickets.supersede(user.id, 'password_reset', now);
    if (endSessions) await endUserTokens(tx, user.id, now);
    await writeEvent(tx.logs, deps.clock, {
      type: 'scp',
      userId: user.id,
      userName: user.email,
      details: { by: 'reset' },
    });
    await notifyPasswordChanged(deps, tx, user, brand);
    return { user: { ...user, passwordHash, claims }, ticket };
  });
  if (typeof result !== 'string') deps.mail.kick();
  // Whoever reads the mailbox is the owner: a lock others' guessing put on the account goes.
  if (typeof result !== 'string') await deps.storage.loginAttempts.clear(accountCounter(result.user.email));
  return result;
}
