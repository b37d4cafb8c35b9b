/** The repositories of self-service accounts (#15): the email outbox and single-use account links. */

/** What an email is about (and so which template made it). */
export type MessageKind =
  | 'email_verification'
  | 'password_reset'
  | 'password_changed'
  /** A reset asked for an address (no email itself: its handler may queue one). */
  | 'password_reset_request';

/** An email waiting in (or gone through) the outbox; bodies are rendered when it is queued. */
export interface OutboxMessage {
  id: string;
  kind: MessageKind;
  to: string;
  subject: string;
  /** The bodies, sealed (they carry live links); empty once the message is sent or given up. */
  text: string;
  html: string;
  /**
   * pending until sent; failed after the last retry. A request (`password_reset_request`) waits
   * as pending_request instead: a Sesame from before requests existed claims only pending rows,
   * and would take it for an email to nobody (a rolling upgrade runs both for a while).
   */
  status: 'pending' | 'pending_request' | 'sent' | 'failed';
  /** Delivery attempts begun (a claim counts one). */
  attempts: number;
  /** When a delivery may next be tried (also the end of a claim's lease). */
  nextAttemptAt: number;
  lastError?: string;
  createdAt: number;
  sentAt?: number;
}

export interface OutboxRepository {
  enqueue(message: OutboxMessage): Promise<void>;
  get(id: string): Promise<OutboxMessage | null>;
  /**
   * Takes the oldest due pending message for `lease` seconds (counting an attempt), or null:
   * atomic, so two instances never take the same one; an instance that dies holding it only
   * delays it by the lease.
   */
  claim(now: number, lease: number): Promise<OutboxMessage | null>;
  /**
   * Marks a message sent, if `attempt` (its attempts after the claim) is still the latest claim
   * (a sender whose lease ran out changes nothing); its bodies are emptied and it is purged
   * `keep` seconds later.
   */
  sent(id: string, attempt: number, now: number, keep: number): Promise<void>;
  /** Records a failed attempt of the claim `attempt`: retried at `retryAt`, or given up (failed) when that is null. */
  failed(
    id: string,
    attempt: number,
    error: string,
    retryAt: number | null,
    now: number,
    keep: number,
  ): Promise<void>;
}

/** What a single-use link lets its holder do. */
export type TicketKind = 'email_verification' | 'password_reset';

/** A single-use link, stored by the SHA-256 of its secret. */
export interface AccountTicket {
  hash: string;
  kind: TicketKind;
  userId: string;
  /** The email the link was sent to: a verification counts only while the user still has it. */
  email: string;
  /** Where the success page sends the person (Auth0's result_url). */
  resultUrl?: string;
  /** A password reset also marks the email verified (Auth0's mark_email_as_verified). */
  verifyEmail: boolean;
  /** The person asked for it (sign-up, forgot password, "send again"), not an administrator. */
  requested: boolean;
  createdAt: number;
  expiresAt: number;
  usedAt?: number;
}

export interface AccountTicketRepository {
  create(ticket: AccountTicket): Promise<void>;
  get(hash: string): Promise<AccountTicket | null>;
  /** Uses the ticket once, atomically: the ticket when it was of `kind`, unused and unexpired, else null. */
  use(hash: string, kind: TicketKind, now: number): Promise<AccountTicket | null>;
  /** Uses up every open ticket of `kind` of a user (a newer link, a sign-in); returns how many. */
  supersede(userId: string, kind: TicketKind, now: number): Promise<number>;
  /** How many tickets of `kind` the user asked for since `since` (their hourly email budget). */
  requestedSince(userId: string, kind: TicketKind, since: number): Promise<number>;
}
