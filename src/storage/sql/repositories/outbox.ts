import { type Kysely, type Selectable, sql } from 'kysely';
import type { MessageKind, OutboxMessage, OutboxRepository } from '../../types.js';
import type { Database } from '../schema.js';

type Row = Selectable<Database['outbox']>;

function toMessage(r: Row): OutboxMessage {
  return {
    id: r.id,
    kind: r.kind as MessageKind,
    to: r.to_address,
    subject: r.subject,
    text: r.text_body,
    html: r.html_body,
    status: r.status as OutboxMessage['status'],
    attempts: Number(r.attempts),
    nextAttemptAt: Number(r.next_attempt_at),
    ...(r.last_error !== null ? { lastError: r.last_error } : {}),
    createdAt: Number(r.created_at),
    ...(r.sent_at !== null ? { sentAt: Number(r.sent_at) } : {}),
  };
}

/**
 * The statuses of a message not yet sent nor given up (account-repositories.ts), in the order
 * claims take them: requests first (they are few, and lead to emails).
 */
const WAITING = ['pending_request', 'pending'] as const;

/** The email outbox: a claim is one UPDATE … RETURNING, so instances never send one message twice at once. */
export function outboxRepository(db: Kysely<Database>, dialect: 'sqlite' | 'postgres'): OutboxRepository {
  const lock = sql.raw(dialect === 'postgres' ? 'for update skip locked' : '');
  return {
    async enqueue(m) {
      await db
        .insertInto('outbox')
        .values({
          id: m.id,
          kind: m.kind,
          to_address: m.to,
          subject: m.subject,
          text_body: m.text,
          html_body: m.html,
          status: m.status,
          attempts: m.attempts,
          next_attempt_at: m.nextAttemptAt,
          last_error: null,
          created_at: m.createdAt,
          sent_at: null,
          purge_after: null,
        })
        .execute();
    },
    async get(id) {
      const row = await db.selectFrom('outbox').selectAll().where('id', '=', id).executeTakeFirst();
      return row ? toMessage(row) : null;
    },
    async claim(now, lease) {
      // One status at a time, each read in the order of the (status, next_attempt_at) index: a
      // claim over both at once would sort every waiting row (a backlog after an outage).
      for (const status of WAITING) {
        const due = sql<string>`(select id from outbox where status = ${status} and next_attempt_at <= ${now} order by next_attempt_at limit 1 ${lock})`;
        const row = await db
          .updateTable('outbox')
          .set({ attempts: sql`attempts + 1`, next_attempt_at: now + lease })
          .where('id', '=', due)
          .where('status', '=', status)
          .returningAll()
          .executeTakeFirst();
        if (row) return toMessage(row);
      }
      return null;
    },
    async sent(id, attempt, now, keep) {
      await db
        .updateTable('outbox')
        .set({
          status: 'sent',
          sent_at: now,
          last_error: null,
          purge_after: now + keep,
          text_body: '',
          html_body: '',
        })
        .where('id', '=', id)
        .where('attempts', '=', attempt)
        .where('status', 'in', WAITING)
        .execute();
    },
    async failed(id, attempt, error, retryAt, now, keep) {
      await db
        .updateTable('outbox')
        .set(
          retryAt === null
            ? {
                status: 'failed',
                last_error: error.slice(0, 1000),
                purge_after: now + keep,
                text_body: '',
                html_body: '',
              }
            : { last_error: error.slice(0, 1000), next_attempt_at: retryAt },
        )
        .where('id', '=', id)
        .where('attempts', '=', attempt)
        .where('status', 'in', WAITING)
        .execute();
    },
  };
}
