import type { Logger } from 'pino';
import type { Config } from '../config/schema.js';
import { decrypt, encrypt } from '../keys/encryption.js';
import type { MessageKind, Repositories, Storage } from '../storage/types.js';
import type { Clock } from '../util/clock.js';
import { randomToken } from '../util/crypto.js';
import type { RenderedEmail } from './templates.js';
import { openTransport, type Transport } from './transport.js';

/** Seconds a claimed message is held by one delivery (longer than any SMTP timeout). */
const LEASE = 120;
/** The first retry waits this long; each later one twice as long, up to MAX_BACKOFF. */
const FIRST_BACKOFF = 30;
const MAX_BACKOFF = 3600;
/** A message still undelivered this long after it was queued is given up (its links are dead by then). */
const GIVE_UP_AFTER = 86_400;
/** Sent and failed messages stay this long (for GET /api/v2/jobs), then the janitor purges them. */
const KEEP = 7 * 86_400;
/** The kinds that are requests (`enqueueRequest`), run by a handler, never sent as email. */
const REQUESTS: ReadonlySet<MessageKind> = new Set(['password_reset_request']);
/**
 * A request is due a second after it was queued (the clock counts seconds, so 0 to 1 s of time),
 * and the queueing process looks 1 to 2 s after (ms), at random.
 */
const REQUEST_DUE = 1;
const REQUEST_KICK = [1000, 2000] as const;

/** Marks a request done in `tx`, the transaction of what it did: run once, or not at all. */
export type Settle = (tx: Repositories) => Promise<void>;
/** Runs a request; it should `settle` it in the transaction that does its work. */
export type RequestHandler = (payload: unknown, settle: Settle) => Promise<void>;

/** Seconds before attempt number `attempts + 1`: 30 s, 1 min, 2 min, … at most an hour. */
export function backoff(attempts: number): number {
  return Math.min(FIRST_BACKOFF * 2 ** Math.max(0, attempts - 1), MAX_BACKOFF);
}

/**
 * Whether trying again cannot help: the server refused this recipient or this message (a 5xx
 * reply to RCPT TO or to the message itself: no such mailbox, content refused), or the address
 * cannot be sent to at all. A 5xx anywhere else (a login refused, a sender not allowed) is the
 * setup's, which an operator fixes; such a message waits and goes out then, as in an outage.
 */
function isPermanent(err: unknown): boolean {
  const e = err as { responseCode?: number; command?: string; code?: string };
  const code = e.responseCode ?? 0;
  if (code >= 500 && code < 600) return e.command === 'RCPT TO' || e.command === 'DATA';
  return e.code === 'EENVELOPE' && e.command === 'API';
}

/**
 * The outbox worker. A request queues a message in its own transaction (`enqueue`), so the
 * message exists exactly when what caused it does; delivery happens afterwards, off the request
 * (`kick`, and a poll every email.pollInterval for retries and other instances' messages). A
 * failed delivery is retried with backoff (until `isPermanent` says it cannot help); a crash
 * only delays a message by its lease. The bodies are sealed at rest with the runtime's key and
 * emptied once sent.
 */
export class Mailer {
  private transport: Promise<Transport> | undefined;
  private running: Promise<number> | null = null;
  /** The run that follows the one in progress, shared by every call made during it. */
  private next: Promise<number> | null = null;
  private timer: NodeJS.Timeout | undefined;
  private stopped = false;
  /** What handles each kind of request (`enqueueRequest`), in this process. */
  private readonly handlers = new Map<MessageKind, RequestHandler>();

  constructor(
    private readonly deps: {
      storage: Storage;
      config: Config;
      clock: Clock;
      logger: Logger;
      /** Seals the bodies at rest: they carry live reset and verification links. */
      encryptionKey: Buffer;
    },
  ) {}

  /** Queues a message in `tx` (the transaction of what caused it); returns its id. Call `kick` after commit. */
  enqueue(tx: Repositories, kind: MessageKind, to: string, email: RenderedEmail): Promise<string> {
    return this.queue(tx, kind, to, email, 'pending', 0);
  }

  private async queue(
    tx: Repositories,
    kind: MessageKind,
    to: string,
    email: RenderedEmail,
    status: 'pending' | 'pending_request',
    /** Seconds from now before it is due. */
    delay: number,
  ): Promise<string> {
    const id = `msg_${randomToken(16)}`;
    const now = this.deps.clock.now();
    const due = now + delay;
    await tx.outbox.enqueue({
      id,
      kind,
      to,
      subject: email.subject,
      text: encrypt(this.deps.encryptionKey, email.text, `outbox:${id}:text`),
      html: encrypt(this.deps.encryptionKey, email.html, `outbox:${id}:html`),
      status,
      attempts: 0,
      nextAttemptAt: due,
      createdAt: now,
    });
    return id;
  }

  /**
   * Queues in `tx` a request that may lead to mail, such as a password reset asked for an
   * address: durable like a message, and alike whatever the request finds later (no address, the
   * payload sealed), so that neither the answer nor its time depends on it. The handler of its
   * kind runs it off the request, after `kickLater`; a failure is retried like a delivery. It
   * waits as pending_request, which a Sesame from before requests existed never claims.
   */
  enqueueRequest(tx: Repositories, kind: MessageKind, payload: unknown): Promise<string> {
    const body = { subject: '', text: JSON.stringify(payload), html: '' };
    return this.queue(tx, kind, '', body, 'pending_request', REQUEST_DUE);
  }

  /** How requests of `kind` are handled (with the payload given to `enqueueRequest`). */
  handle(kind: MessageKind, handler: RequestHandler): void {
    this.handlers.set(kind, handler);
  }

  /**
   * A delivery run a little later, at a random moment (after a commit that queued a request):
   * its work then falls on no request in particular, so none of them is slower for it.
   */
  kickLater(): void {
    const [min, max] = REQUEST_KICK;
    setTimeout(() => this.kick(), min + Math.random() * (max - min)).unref();
  }

  /** Starts a delivery run soon, without waiting for it (after a commit that queued mail). */
  kick(): void {
    if (this.stopped) return;
    setImmediate(() => {
      if (this.stopped) return;
      this.deliverDue().catch((err) => this.deps.logger.warn({ err }, 'email delivery run failed'));
    });
  }

  /**
   * Sends every message due now; returns how many were sent. One run at a time: a call during a
   * run (which may have looked before this call's messages were due) waits for the run after it,
   * and answers with that run's count.
   */
  deliverDue(): Promise<number> {
    if (!this.running) {
      this.running = this.run().finally(() => {
        this.running = null;
      });
      return this.running;
    }
    this.next ??= this.running
      .catch(() => 0)
      .then(() => {
        this.next = null;
        return this.stopped ? 0 : this.deliverDue();
      });
    return this.next;
  }

  private async run(): Promise<number> {
    const { storage, clock, logger, config } = this.deps;
    let sent = 0;
    while (!this.stopped) {
      const m = await storage.outbox.claim(clock.now(), LEASE);
      if (!m) return sent;
      try {
        const key = this.deps.encryptionKey;
        const text = decrypt(key, m.text, `outbox:${m.id}:text`);
        if (REQUESTS.has(m.kind)) {
          const settle = (tx: Repositories) => tx.outbox.sent(m.id, m.attempts, clock.now(), KEEP);
          await this.request(m.kind, text, settle);
          // (a no-op when the handler settled it already)
          await storage.outbox.sent(m.id, m.attempts, clock.now(), KEEP);
          continue;
        }
        this.transport ??= openTransport(config, logger);
        const open = { ...m, text, html: decrypt(key, m.html, `outbox:${m.id}:html`) };
        await (await this.transport).send(open);
        await storage.outbox.sent(m.id, m.attempts, clock.now(), KEEP);
        sent++;
      } catch (err) {
        const now = clock.now();
        const retryAt =
          isPermanent(err) || now - m.createdAt >= GIVE_UP_AFTER ? null : now + backoff(m.attempts);
        const error = (err as Error).message ?? String(err);
        await storage.outbox.failed(m.id, m.attempts, error, retryAt, now, KEEP);
        if (retryAt === null) logger.error({ id: m.id, to: m.to, error }, 'email given up');
        else logger.warn({ id: m.id, to: m.to, error, retryAt }, 'email not delivered; will retry');
      }
    }
    return sent;
  }

  /** Runs a request (`enqueueRequest`) by the handler of its kind. */
  private async request(kind: MessageKind, payload: string, settle: Settle): Promise<void> {
    const handler = this.handlers.get(kind);
    if (!handler) throw new Error(`no handler for requests of kind ${kind} in this process`);
    await handler(JSON.parse(payload), settle);
  }

  /** Polls the outbox every email.pollInterval seconds (retries, messages of other instances). */
  start(): void {
    this.stopped = false;
    this.timer ??= setInterval(() => this.kick(), this.deps.config.email.pollInterval * 1000);
    this.timer.unref();
    this.kick();
  }

  /** Stops polling and waits for a run in progress; closes the transport. */
  async stop(): Promise<void> {
    this.stopped = true;
    clearInterval(this.timer);
    this.timer = undefined;
    await this.running?.catch(() => undefined);
    const transport = this.transport;
    this.transport = undefined;
    if (transport) (await transport.catch(() => null))?.close();
  }
}
