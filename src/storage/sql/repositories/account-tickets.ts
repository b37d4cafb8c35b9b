import type { Kysely, Selectable } from 'kysely';
import type { AccountTicket, AccountTicketRepository, TicketKind } from '../../types.js';
import type { Database } from '../schema.js';

type Row = Selectable<Database['account_tickets']>;

function toTicket(r: Row): AccountTicket {
  return {
    hash: r.hash,
    kind: r.kind as TicketKind,
    userId: r.user_id,
    email: r.email,
    ...(r.result_url !== null ? { resultUrl: r.result_url } : {}),
    verifyEmail: Number(r.verify_email) === 1,
    requested: Number(r.requested) === 1,
    createdAt: Number(r.created_at),
    expiresAt: Number(r.expires_at),
    ...(r.used_at !== null ? { usedAt: Number(r.used_at) } : {}),
  };
}

/** Single-use account links; using one is one conditional UPDATE … RETURNING (house rule 7). */
export function accountTicketRepository(db: Kysely<Database>): AccountTicketRepository {
  return {
    async create(t) {
      await db
        .insertInto('account_tickets')
        .values({
          hash: t.hash,
          kind: t.kind,
          user_id: t.userId,
          email: t.email,
          result_url: t.resultUrl ?? null,
          verify_email: t.verifyEmail ? 1 : 0,
          requested: t.requested ? 1 : 0,
          created_at: t.createdAt,
          expires_at: t.expiresAt,
          used_at: null,
        })
        .execute();
    },
    async get(hash) {
      const row = await db
        .selectFrom('account_tickets')
        .selectAll()
        .where('hash', '=', hash)
        .executeTakeFirst();
      return row ? toTicket(row) : null;
    },
    async use(hash, kind, now) {
      const row = await db
        .updateTable('account_tickets')
        .set({ used_at: now })
        .where('hash', '=', hash)
        .where('kind', '=', kind)
        .where('used_at', 'is', null)
        .where('expires_at', '>', now)
        .returningAll()
        .executeTakeFirst();
      return row ? toTicket(row) : null;
    },
    async requestedSince(userId, kind, since) {
      const row = await db
        .selectFrom('account_tickets')
        .select((eb) => eb.fn.countAll<string | number>().as('n'))
        .where('user_id', '=', userId)
        .where('kind', '=', kind)
        .where('requested', '=', 1)
        .where('created_at', '>', since)
        .executeTakeFirstOrThrow();
      return Number(row.n);
    },
    async supersede(userId, kind, now) {
      const res = await db
        .updateTable('account_tickets')
        .set({ used_at: now })
        .where('user_id', '=', userId)
        .where('kind', '=', kind)
        .where('used_at', 'is', null)
        .executeTakeFirst();
      return Number(res.numUpdatedRows);
    },
  };
}
