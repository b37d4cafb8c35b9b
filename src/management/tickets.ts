import { type OpenAPIHono, z } from '@hono/zod-openapi';
import { isEmail, normalizeEmail } from '../accounts/email.js';
import { checkHttpUrl } from '../admin/checks.js';
import { NotFoundError, ValidationError } from '../admin/errors.js';
import { emailTicket, issueTicket } from '../admin/tickets.js';
import { CONNECTION_ID, unknownConnection } from '../admin/user-import.js';
import { localUserId } from '../admin/user-search.js';
import { getUser } from '../admin/users.js';
import type { Deps } from '../http/context.js';
import type { TicketKind, User } from '../storage/types.js';
import type { ManagementEnv } from './auth.js';
import { actsOnPeer } from './delegation.js';
import { Job, verificationJobView } from './jobs.js';
import { jsonBody, operation } from './route.js';
import { CONNECTION } from './user-shapes.js';

const ttl = z
  .number()
  .int()
  .min(0)
  .max(2_592_000)
  .openapi({ description: 'Seconds the link works; 0 or absent: 1 hour (password) or 24 hours (email).' });
const common = {
  result_url: z.string().max(2048).openapi({ description: 'Where the success page sends the person.' }),
  user_id: z.string().max(64),
  client_id: z.string().max(64),
  organization_id: z.string().max(64).openapi({ description: 'Refused (400): Sesame has no organizations.' }),
  ttl_sec: ttl,
  includeEmailInRedirect: z.boolean().openapi({ description: 'Adds email=… to result_url.' }),
};
/** Auth0 requires both user_id and provider of an identity; connection_id may come too. */
const Identity = z
  .strictObject({
    user_id: z.string().max(64),
    provider: z.string().max(64),
    connection_id: z.string().max(64).optional(),
  })
  .openapi({ description: "The user's own identity only: provider auth0, user_id the user's." });
const PasswordChangeTicket = z
  .strictObject({
    ...common,
    connection_id: z.string().max(64).openapi({
      description: 'con_sesame_database (or its name), the one connection; another is refused (400).',
    }),
    identity: Identity,
    email: z
      .string()
      .max(320)
      .refine((e) => isEmail(e.trim()), 'Invalid email address')
      .openapi({ description: "The user's email (letters beyond ASCII too, as at sign-up)." }),
    mark_email_as_verified: z.boolean(),
  })
  .partial()
  .openapi('PasswordChangeTicketRequest');
const EmailVerificationTicket = z
  .strictObject({ ...common, identity: Identity })
  .partial()
  .required({ user_id: true })
  .openapi('EmailVerificationTicketRequest');
const Ticket = z.object({ ticket: z.string() }).openapi('Ticket');
const VerificationEmailJob = z
  .strictObject({
    user_id: z.string().max(64),
    client_id: z.string().max(64).optional(),
    organization_id: z
      .string()
      .max(64)
      .optional()
      .openapi({ description: 'Refused (400): Sesame has no organizations.' }),
    identity: Identity.optional(),
  })
  .openapi('VerificationEmailJobRequest');

const TAG = 'Tickets and jobs';

/**
 * What Auth0 takes here and Sesame cannot honour is refused, never dropped: an organization
 * (Sesame has none), another connection than its one database, another identity than the user's.
 */
function refuseForeign(b: {
  organization_id?: string | undefined;
  connection_id?: string | undefined;
  identity?: { provider?: string | undefined; connection_id?: string | undefined } | undefined;
}): void {
  if (b.organization_id !== undefined)
    throw new ValidationError('organization_id: Sesame has no organizations; leave it out');
  const ours = (id: string | undefined, field: string) => {
    if (id !== undefined && id !== CONNECTION_ID && id !== CONNECTION) throw unknownConnection(id, field);
  };
  ours(b.connection_id, 'connection_id');
  ours(b.identity?.connection_id, 'identity.connection_id');
  if (b.identity?.provider !== undefined && b.identity.provider !== 'auth0')
    throw new ValidationError("identity.provider: Sesame's users have one identity, of provider auth0");
}

/** An identity's user_id names the user the link is for, or it is refused. */
function sameIdentity(identity: { user_id?: string | undefined } | undefined, user: User): void {
  if (identity?.user_id !== undefined && localUserId(identity.user_id) !== user.id)
    throw new ValidationError("identity.user_id: not the identity of the ticket's user");
}

/** /tickets/password-change, /tickets/email-verification, /jobs/verification-email. */
export function ticketRoutes(app: OpenAPIHono<ManagementEnv>, deps: Deps): void {
  const ticket = async (
    kind: TicketKind,
    user: User,
    b: { result_url?: string; ttl_sec?: number; includeEmailInRedirect?: boolean; client_id?: string },
    verifyEmail = false,
  ) => {
    if (b.client_id && !(await deps.storage.applications.get(b.client_id)))
      throw new NotFoundError(`client ${b.client_id} not found`);
    let resultUrl = b.result_url === undefined ? undefined : checkHttpUrl('result_url', b.result_url);
    if (resultUrl && b.includeEmailInRedirect) {
      const url = new URL(resultUrl);
      url.searchParams.set('email', user.email);
      resultUrl = url.href;
    }
    const opts = {
      ...(b.ttl_sec ? { ttl: b.ttl_sec } : {}),
      ...(resultUrl ? { resultUrl } : {}),
      verifyEmail,
    };
    return deps.storage.transaction((tx) => issueTicket(tx, deps, kind, user, opts));
  };
  const userOf = async (id: string | undefined, email?: string) => {
    if (id !== undefined) {
      const user = await deps.storage.users.get(localUserId(id));
      if (!user) throw new NotFoundError(`user ${id} not found`);
      // both named: they must name one person, else the ticket would be for someone not meant
      if (email !== undefined && normalizeEmail(email) !== user.email)
        throw new ValidationError(`email: not the email of user ${id} (send user_id or email)`);
      return user;
    }
    if (email !== undefined) return getUser(deps.storage, email);
    throw new ValidationError('user_id: required (or email)');
  };
  app.openapi(
    operation({
      method: 'post',
      path: '/tickets/password-change',
      scope: 'create:user_tickets',
      tag: TAG,
      summary: 'Create a password-change link',
      description: 'A single-use link to /u/reset-password an admin can send; nothing is emailed.',
      request: jsonBody(PasswordChangeTicket),
      status: 201,
      response: Ticket,
    }),
    async (c) => {
      const b = c.req.valid('json');
      refuseForeign(b);
      const user = await userOf(b.user_id, b.email);
      sameIdentity(b.identity, user);
      await actsOnPeer(c, deps, user.id);
      return c.json(
        { ticket: await ticket('password_reset', user, b, b.mark_email_as_verified === true) },
        201,
      );
    },
  );
  app.openapi(
    operation({
      method: 'post',
      path: '/tickets/email-verification',
      scope: 'create:user_tickets',
      tag: TAG,
      summary: 'Create an email-verification link',
      description: 'A single-use link to /u/email-verification an admin can send; nothing is emailed.',
      request: jsonBody(EmailVerificationTicket),
      status: 201,
      response: Ticket,
    }),
    async (c) => {
      const b = c.req.valid('json');
      refuseForeign(b);
      const user = await userOf(b.user_id);
      sameIdentity(b.identity, user);
      return c.json({ ticket: await ticket('email_verification', user, b) }, 201);
    },
  );
  app.openapi(
    operation({
      method: 'post',
      path: '/jobs/verification-email',
      scope: 'update:users',
      tag: TAG,
      summary: 'Send a verification email',
      description:
        'Queues the email (through the outbox, retried until delivered); GET /jobs/{id} tells when it is sent.',
      request: jsonBody(VerificationEmailJob),
      status: 201,
      response: Job,
    }),
    async (c) => {
      const b = c.req.valid('json');
      refuseForeign(b);
      const user = await userOf(b.user_id);
      sameIdentity(b.identity, user);
      if (b.client_id && !(await deps.storage.applications.get(b.client_id)))
        throw new NotFoundError(`client ${b.client_id} not found`);
      // An admin's request is not held to the person's hourly budget, nor counted in it.
      const id = (await emailTicket(deps, 'email_verification', user)) as string;
      return c.json(verificationJobView(id, 'pending', deps.clock.now()), 201);
    },
  );
}
