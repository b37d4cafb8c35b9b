// Issue #15: the repositories of self-service accounts, on both databases. The outbox
// (storage.outbox): a claim takes one due pending message for a lease, atomically, so two
// instances never send one message at once; sent and failed transitions. Account links
// (storage.accountTickets): use() is single-use under concurrency, refuses expired and
// wrong-kind tickets, supersede() ends the open ones, countSince() counts what was given. The
// janitor (purgeExpired) purges sent and given-up emails after their keep time, never a pending
// one, and account links a day after they expire.
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/config/load.js';
import type { Config } from '../../src/config/schema.js';
import { purgeExpired } from '../../src/storage/janitor.js';
import type { AccountTicket, OutboxMessage, Storage, TicketKind, User } from '../../src/storage/types.js';
import { randomToken, sha256 } from '../../src/util/crypto.js';
import { TestClock } from '../support/app.js';
import { createTestDatabase, describeEachBackend, type TestDatabase } from '../support/databases.js';

const T0 = 1_700_000_000;
/** Later than any time a test uses: a claim at FAR takes every pending message. */
const FAR = 9_000_000_000;
const LEASE = 120;
const KEEP = 7 * 86_400;
const DAY = 86_400;

const tag = () =>
  `t${randomToken(12)
    .toLowerCase()
    .replace(/[^a-z0-9]/g, '0')}`;

function message(overrides: Partial<OutboxMessage> = {}): OutboxMessage {
  return {
    id: `msg_${randomToken(16)}`,
    kind: 'email_verification',
    to: `${tag()}@example.com`,
    subject: 'Verify your email for Sesame',
    text: 'Open this link:\nhttps://sesame.test/u/email-verification?ticket=abc\n',
    html: '<p><a href="https://sesame.test/u/email-verification?ticket=abc">Verify</a></p>',
    status: 'pending',
    attempts: 0,
    nextAttemptAt: T0,
    createdAt: T0,
    ...overrides,
  };
}

function ticket(userId: string, overrides: Partial<AccountTicket> = {}): AccountTicket {
  return {
    hash: sha256(randomToken(32)),
    kind: 'password_reset',
    userId,
    email: `${tag()}@example.com`,
    verifyEmail: false,
    requested: true,
    createdAt: T0,
    expiresAt: T0 + 3600,
    ...overrides,
  };
}

async function newUser(storage: Storage): Promise<User> {
  const u: User = {
    id: `user-${tag()}`,
    email: `${tag()}@example.com`,
    passwordHash: '$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHQ$aGFzaGhhc2hoYXNo',
    blocked: false,
    claims: { email_verified: false },
    appMetadata: {},
    userMetadata: {},
    createdAt: T0,
    updatedAt: T0,
  };
  await storage.users.create(u);
  return u;
}

/** A fresh database for one describe block. */
function useDatabase(backend: 'sqlite' | 'postgres') {
  const clock = new TestClock(T0);
  const ctx = {} as { db: TestDatabase; storage: Storage; clock: TestClock };
  beforeAll(async () => {
    ctx.db = await createTestDatabase(backend);
    ctx.storage = ctx.db.open(clock);
    ctx.clock = clock;
    await ctx.storage.migrate();
  });
  afterAll(async () => {
    await ctx.storage?.close();
    await ctx.db?.drop();
  });
  return ctx;
}

describeEachBackend('accounts storage contract', (backend) => {
  describe('outbox', () => {
    const ctx = useDatabase(backend);

    /** Takes every pending message out of the way (sent, purged never within the tests' times). */
    beforeEach(async () => {
      for (
        let m = await ctx.storage.outbox.claim(FAR, LEASE);
        m;
        m = await ctx.storage.outbox.claim(FAR, LEASE)
      ) {
        await ctx.storage.outbox.sent(m.id, m.attempts, FAR, KEEP);
      }
    });

    it('enqueues and gets a message with every field intact; an unknown id is null', async () => {
      const m = message({ kind: 'password_reset', subject: 'Reset your password for Acme — ünïcode' });
      await ctx.storage.outbox.enqueue(m);
      expect(await ctx.storage.outbox.get(m.id)).toEqual(m);
      expect(await ctx.storage.outbox.get(`msg_${randomToken(16)}`)).toBeNull();
      await expect(ctx.storage.outbox.enqueue({ ...m, to: 'other@example.com' })).rejects.toThrow();
    });

    it('claim takes the oldest due message, counts an attempt and holds it for the lease', async () => {
      const later = message({ nextAttemptAt: T0 + 10, createdAt: T0 - 5 });
      const first = message({ nextAttemptAt: T0 + 5 });
      const notDue = message({ nextAttemptAt: T0 + 1000 });
      for (const m of [later, first, notDue]) await ctx.storage.outbox.enqueue(m);

      // Nothing is due before T0 + 5.
      expect(await ctx.storage.outbox.claim(T0 + 4, LEASE)).toBeNull();

      const now = T0 + 20;
      const a = await ctx.storage.outbox.claim(now, LEASE);
      expect(a).toEqual({ ...first, attempts: 1, nextAttemptAt: now + LEASE });
      expect(await ctx.storage.outbox.get(first.id)).toEqual(a);
      const b = await ctx.storage.outbox.claim(now + 1, LEASE);
      expect(b?.id).toBe(later.id);
      expect(b?.attempts).toBe(1);
      expect(b?.nextAttemptAt).toBe(now + 1 + LEASE);
      // The third one is not due; the two claimed ones are held.
      expect(await ctx.storage.outbox.claim(now + 1, LEASE)).toBeNull();
      expect(await ctx.storage.outbox.claim(now + LEASE - 1, LEASE)).toBeNull();

      // When the lease ends (the instance died holding it), the message is claimable again.
      const again = await ctx.storage.outbox.claim(now + LEASE, LEASE);
      expect(again?.id).toBe(first.id);
      expect(again?.attempts).toBe(2);
      expect(again?.nextAttemptAt).toBe(now + 2 * LEASE);
      expect(again?.status).toBe('pending');
      expect(await ctx.storage.outbox.claim(now + LEASE, LEASE)).toBeNull();
      expect((await ctx.storage.outbox.claim(now + LEASE + 1, LEASE))?.id).toBe(later.id);
    });

    it('concurrent claims (two instances) never return the same message', async () => {
      const other = ctx.db.open(ctx.clock);
      try {
        const queued = Array.from({ length: 8 }, (_, i) => message({ nextAttemptAt: T0 + i }));
        for (const m of queued) await ctx.storage.outbox.enqueue(m);
        const now = T0 + 100;
        const results = await Promise.all(
          Array.from({ length: 20 }, (_, i) => (i % 2 === 0 ? ctx.storage : other).outbox.claim(now, LEASE)),
        );
        const taken = results.filter((r): r is OutboxMessage => r !== null);
        expect(taken).toHaveLength(8);
        expect(new Set(taken.map((m) => m.id)).size).toBe(8);
        expect(new Set(taken.map((m) => m.id))).toEqual(new Set(queued.map((m) => m.id)));
        for (const m of taken) expect(m.attempts).toBe(1);
        expect(await ctx.storage.outbox.claim(now, LEASE)).toBeNull();

        // One message, ten claims at once: exactly one gets it.
        const one = message({ nextAttemptAt: T0 });
        await ctx.storage.outbox.enqueue(one);
        const race = await Promise.all(
          Array.from({ length: 10 }, (_, i) => (i % 2 === 0 ? ctx.storage : other).outbox.claim(now, LEASE)),
        );
        expect(race.filter((r) => r !== null).map((r) => r?.id)).toEqual([one.id]);
        expect((await ctx.storage.outbox.get(one.id))?.attempts).toBe(1);
      } finally {
        await other.close();
      }
    });

    it('sent: status sent with its time, error cleared, never claimed again', async () => {
      const m = message();
      await ctx.storage.outbox.enqueue(m);
      const claimed = await ctx.storage.outbox.claim(T0 + 1, LEASE);
      expect(claimed?.id).toBe(m.id);
      await ctx.storage.outbox.failed(m.id, 1, 'connection refused', T0 + 31, T0 + 1, KEEP);
      const retried = await ctx.storage.outbox.claim(T0 + 31, LEASE);
      expect(retried?.id).toBe(m.id);
      await ctx.storage.outbox.sent(m.id, 2, T0 + 32, KEEP);
      const stored = await ctx.storage.outbox.get(m.id);
      expect(stored).toEqual({
        ...m,
        text: '',
        html: '',
        status: 'sent',
        attempts: 2,
        nextAttemptAt: T0 + 31 + LEASE,
        sentAt: T0 + 32,
      });
      expect(stored?.lastError).toBeUndefined();
      expect(await ctx.storage.outbox.claim(FAR, LEASE)).toBeNull();
    });

    it('failed with a retry time: still pending, with the error, claimable from that time only', async () => {
      const m = message();
      await ctx.storage.outbox.enqueue(m);
      await ctx.storage.outbox.claim(T0, LEASE);
      await ctx.storage.outbox.failed(m.id, 1, 'ECONNREFUSED 127.0.0.1:25', T0 + 30, T0, KEEP);
      expect(await ctx.storage.outbox.get(m.id)).toEqual({
        ...m,
        status: 'pending',
        attempts: 1,
        nextAttemptAt: T0 + 30,
        lastError: 'ECONNREFUSED 127.0.0.1:25',
      });
      expect(await ctx.storage.outbox.claim(T0 + 29, LEASE)).toBeNull();
      const again = await ctx.storage.outbox.claim(T0 + 30, LEASE);
      expect(again?.id).toBe(m.id);
      expect(again?.attempts).toBe(2);
    });

    it('failed for good (no retry time): status failed, never claimed again; a long error is stored', async () => {
      const m = message();
      await ctx.storage.outbox.enqueue(m);
      await ctx.storage.outbox.claim(T0, LEASE);
      const long = `550 ${'x'.repeat(5000)}`;
      await ctx.storage.outbox.failed(m.id, 1, long, null, T0 + 3, KEEP);
      const stored = await ctx.storage.outbox.get(m.id);
      expect(stored?.status).toBe('failed');
      expect(stored?.attempts).toBe(1);
      expect(stored?.sentAt).toBeUndefined();
      expect(stored?.lastError?.startsWith('550 xxx')).toBe(true);
      expect(await ctx.storage.outbox.claim(FAR, LEASE)).toBeNull();
    });

    it('a request (pending_request) is claimed, retried and settled like a pending message', async () => {
      const request = message({
        kind: 'password_reset_request',
        to: '',
        status: 'pending_request',
        nextAttemptAt: T0 + 1,
      });
      const email = message({ nextAttemptAt: T0 + 2 });
      for (const m of [request, email]) await ctx.storage.outbox.enqueue(m);
      expect(await ctx.storage.outbox.get(request.id)).toEqual(request);

      const first = await ctx.storage.outbox.claim(T0 + 5, LEASE);
      expect(first).toEqual({ ...request, attempts: 1, nextAttemptAt: T0 + 5 + LEASE });
      expect((await ctx.storage.outbox.claim(T0 + 5, LEASE))?.id).toBe(email.id);
      await ctx.storage.outbox.sent(email.id, 1, T0 + 6, KEEP);

      await ctx.storage.outbox.failed(request.id, 1, 'database unavailable', T0 + 40, T0 + 6, KEEP);
      const waiting = await ctx.storage.outbox.get(request.id);
      expect(waiting?.status).toBe('pending_request');
      expect(waiting?.lastError).toBe('database unavailable');
      expect(await ctx.storage.outbox.claim(T0 + 39, LEASE)).toBeNull();
      expect((await ctx.storage.outbox.claim(T0 + 40, LEASE))?.attempts).toBe(2);
      await ctx.storage.outbox.sent(request.id, 2, T0 + 41, KEEP);
      expect((await ctx.storage.outbox.get(request.id))?.status).toBe('sent');
      expect(await ctx.storage.outbox.claim(FAR, LEASE)).toBeNull();
    });
  });

  describe('account tickets', () => {
    const ctx = useDatabase(backend);

    it('creates and gets a ticket with every field intact; an unknown hash is null', async () => {
      const u = await newUser(ctx.storage);
      const plain = ticket(u.id, { kind: 'email_verification', email: u.email });
      const full = ticket(u.id, {
        resultUrl: 'https://app.example/after?x=1',
        verifyEmail: true,
        expiresAt: T0 + 86_400,
      });
      await ctx.storage.accountTickets.create(plain);
      await ctx.storage.accountTickets.create(full);
      expect(await ctx.storage.accountTickets.get(plain.hash)).toEqual(plain);
      expect(await ctx.storage.accountTickets.get(full.hash)).toEqual(full);
      expect(await ctx.storage.accountTickets.get(sha256('nothing'))).toBeNull();
      await expect(ctx.storage.accountTickets.create({ ...plain, kind: 'password_reset' })).rejects.toThrow();
    });

    it('use() gives the ticket once, with its use time; a second use is null', async () => {
      const u = await newUser(ctx.storage);
      const t = ticket(u.id);
      await ctx.storage.accountTickets.create(t);
      expect(await ctx.storage.accountTickets.use(t.hash, 'password_reset', T0 + 10)).toEqual({
        ...t,
        usedAt: T0 + 10,
      });
      expect(await ctx.storage.accountTickets.use(t.hash, 'password_reset', T0 + 11)).toBeNull();
      expect((await ctx.storage.accountTickets.get(t.hash))?.usedAt).toBe(T0 + 10);
    });

    it('10 parallel use() calls (two instances): exactly one gets the ticket', async () => {
      const other = ctx.db.open(ctx.clock);
      try {
        const u = await newUser(ctx.storage);
        for (let round = 0; round < 3; round++) {
          const t = ticket(u.id, { kind: round % 2 ? 'email_verification' : 'password_reset' });
          await ctx.storage.accountTickets.create(t);
          const results = await Promise.all(
            Array.from({ length: 10 }, (_, i) =>
              (i % 2 === 0 ? ctx.storage : other).accountTickets.use(t.hash, t.kind, T0 + 20 + i),
            ),
          );
          const winners = results.filter((r) => r !== null);
          expect(winners).toHaveLength(1);
          expect(winners[0]?.hash).toBe(t.hash);
          expect((await ctx.storage.accountTickets.get(t.hash))?.usedAt).toBe(winners[0]?.usedAt);
        }
      } finally {
        await other.close();
      }
    });

    it('use() of an expired ticket, or as another kind, is null and uses nothing up', async () => {
      const u = await newUser(ctx.storage);
      const t = ticket(u.id, { kind: 'email_verification', expiresAt: T0 + 100 });
      await ctx.storage.accountTickets.create(t);
      // A verification link on the reset page.
      expect(await ctx.storage.accountTickets.use(t.hash, 'password_reset', T0 + 1)).toBeNull();
      expect((await ctx.storage.accountTickets.get(t.hash))?.usedAt).toBeUndefined();
      // At its expiry it no longer works.
      expect(await ctx.storage.accountTickets.use(t.hash, 'email_verification', T0 + 100)).toBeNull();
      expect(await ctx.storage.accountTickets.use(t.hash, 'email_verification', T0 + 5000)).toBeNull();
      expect((await ctx.storage.accountTickets.get(t.hash))?.usedAt).toBeUndefined();
      // A second before, it does.
      expect((await ctx.storage.accountTickets.use(t.hash, 'email_verification', T0 + 99))?.usedAt).toBe(
        T0 + 99,
      );
      expect(await ctx.storage.accountTickets.use(sha256('unknown'), 'email_verification', T0)).toBeNull();
    });

    it('supersede() uses up the open tickets of one kind of one user only, and counts them', async () => {
      const u = await newUser(ctx.storage);
      const someoneElse = await newUser(ctx.storage);
      const open1 = ticket(u.id);
      const open2 = ticket(u.id, { createdAt: T0 + 1 });
      const used = ticket(u.id);
      const verification = ticket(u.id, { kind: 'email_verification' });
      const theirs = ticket(someoneElse.id);
      for (const t of [open1, open2, used, verification, theirs]) await ctx.storage.accountTickets.create(t);
      await ctx.storage.accountTickets.use(used.hash, 'password_reset', T0 + 5);

      expect(await ctx.storage.accountTickets.supersede(u.id, 'password_reset', T0 + 50)).toBe(2);
      expect((await ctx.storage.accountTickets.get(open1.hash))?.usedAt).toBe(T0 + 50);
      expect((await ctx.storage.accountTickets.get(open2.hash))?.usedAt).toBe(T0 + 50);
      expect((await ctx.storage.accountTickets.get(used.hash))?.usedAt).toBe(T0 + 5);
      expect((await ctx.storage.accountTickets.get(verification.hash))?.usedAt).toBeUndefined();
      expect((await ctx.storage.accountTickets.get(theirs.hash))?.usedAt).toBeUndefined();
      expect(await ctx.storage.accountTickets.use(open1.hash, 'password_reset', T0 + 51)).toBeNull();
      expect(await ctx.storage.accountTickets.supersede(u.id, 'password_reset', T0 + 60)).toBe(0);
      expect(await ctx.storage.accountTickets.use(theirs.hash, 'password_reset', T0 + 61)).not.toBeNull();
    });

    it('requestedSince() counts the tickets of a kind a user asked for after a time, used or not', async () => {
      const u = await newUser(ctx.storage);
      const v = await newUser(ctx.storage);
      const kinds: [TicketKind, number][] = [
        ['password_reset', T0 - 3600],
        ['password_reset', T0 + 10],
        ['password_reset', T0 + 20],
        ['password_reset', T0 + 30],
        ['email_verification', T0 + 20],
      ];
      for (const [kind, createdAt] of kinds) {
        await ctx.storage.accountTickets.create(
          ticket(u.id, { kind, createdAt, expiresAt: createdAt + 3600 }),
        );
      }
      await ctx.storage.accountTickets.create(ticket(v.id, { createdAt: T0 + 20 }));
      // An administrator's links are kept as such and never counted.
      const admins = ticket(u.id, { createdAt: T0 + 20, requested: false });
      await ctx.storage.accountTickets.create(admins);
      expect((await ctx.storage.accountTickets.get(admins.hash))?.requested).toBe(false);
      await ctx.storage.accountTickets.supersede(u.id, 'password_reset', T0 + 40);
      expect(await ctx.storage.accountTickets.requestedSince(u.id, 'password_reset', T0)).toBe(3);
      expect(await ctx.storage.accountTickets.requestedSince(u.id, 'password_reset', T0 + 10)).toBe(2);
      expect(await ctx.storage.accountTickets.requestedSince(u.id, 'password_reset', T0 - 7200)).toBe(4);
      expect(await ctx.storage.accountTickets.requestedSince(u.id, 'email_verification', T0)).toBe(1);
      expect(await ctx.storage.accountTickets.requestedSince(u.id, 'password_reset', T0 + 30)).toBe(0);
      expect(await ctx.storage.accountTickets.requestedSince(v.id, 'password_reset', T0)).toBe(1);
      expect(await ctx.storage.accountTickets.requestedSince('nobody', 'password_reset', 0)).toBe(0);
    });

    it('a deleted user takes their tickets along', async () => {
      const u = await newUser(ctx.storage);
      const t = ticket(u.id);
      await ctx.storage.accountTickets.create(t);
      expect(await ctx.storage.users.delete(u.id)).toBe(true);
      expect(await ctx.storage.accountTickets.get(t.hash)).toBeNull();
    });
  });

  describe('janitor (purgeExpired)', () => {
    const ctx = useDatabase(backend);
    let config: Config;
    beforeAll(() => {
      config = parseConfig({
        issuer: 'https://sesame.test',
        dataDir: ctx.db.dataDir,
        databaseUrl: ctx.db.url,
        secret: 'test-secret-that-is-at-least-32-characters',
        logLevel: 'silent',
      });
    });

    it('purges sent and given-up emails after their keep time, never a pending one', async () => {
      const sentMsg = message();
      const givenUp = message();
      const pending = message({ createdAt: T0 - 400 * DAY, nextAttemptAt: T0 - 400 * DAY });
      const retrying = message({ createdAt: T0 - 400 * DAY, nextAttemptAt: T0 - 400 * DAY });
      const claimed = message({ createdAt: T0 - 400 * DAY, nextAttemptAt: T0 - 400 * DAY });
      for (const m of [sentMsg, givenUp, pending, retrying, claimed]) await ctx.storage.outbox.enqueue(m);
      // Claimed in order of next_attempt_at: pending, retrying, claimed (same time) then the others.
      const ids = new Set<string>();
      for (let i = 0; i < 5; i++) {
        const m = await ctx.storage.outbox.claim(T0, LEASE);
        if (m) ids.add(m.id);
      }
      expect(ids.size).toBe(5);
      await ctx.storage.outbox.sent(sentMsg.id, 1, T0 + 10, KEEP);
      await ctx.storage.outbox.failed(givenUp.id, 1, 'gave up', null, T0 + 10, KEEP);
      await ctx.storage.outbox.failed(retrying.id, 1, 'try later', T0 + 400 * DAY, T0 + 10, KEEP);
      await ctx.storage.outbox.failed(pending.id, 1, 'try later', T0 + 20, T0 + 10, KEEP);
      // `claimed` stays held by its lease, as by an instance that died.

      expect((await purgeExpired(ctx.storage, config, T0 + 10 + KEEP - 1)).outbox).toBeUndefined();
      for (const m of [sentMsg, givenUp, pending, retrying, claimed]) {
        expect(await ctx.storage.outbox.get(m.id), m.id).not.toBeNull();
      }
      expect((await purgeExpired(ctx.storage, config, T0 + 10 + KEEP)).outbox).toBe(2);
      expect(await ctx.storage.outbox.get(sentMsg.id)).toBeNull();
      expect(await ctx.storage.outbox.get(givenUp.id)).toBeNull();

      // Pending messages stay however old they are.
      expect((await purgeExpired(ctx.storage, config, T0 + 1000 * DAY)).outbox).toBeUndefined();
      for (const m of [pending, retrying, claimed]) {
        expect((await ctx.storage.outbox.get(m.id))?.status, m.id).toBe('pending');
      }
    });

    it('purges account links a day after they expire, used or not', async () => {
      const u = await newUser(ctx.storage);
      const open = ticket(u.id, { expiresAt: T0 + 3600 });
      const used = ticket(u.id, { expiresAt: T0 + 3600 });
      const later = ticket(u.id, { kind: 'email_verification', expiresAt: T0 + DAY });
      for (const t of [open, used, later]) await ctx.storage.accountTickets.create(t);
      await ctx.storage.accountTickets.use(used.hash, 'password_reset', T0 + 1);

      // Expired, but within the day a late click still learns why the link fails.
      expect((await purgeExpired(ctx.storage, config, T0 + 3600 + DAY - 1)).account_tickets).toBeUndefined();
      for (const t of [open, used, later])
        expect(await ctx.storage.accountTickets.get(t.hash)).not.toBeNull();

      expect((await purgeExpired(ctx.storage, config, T0 + 3600 + DAY)).account_tickets).toBe(2);
      expect(await ctx.storage.accountTickets.get(open.hash)).toBeNull();
      expect(await ctx.storage.accountTickets.get(used.hash)).toBeNull();
      expect(await ctx.storage.accountTickets.get(later.hash)).not.toBeNull();

      expect((await purgeExpired(ctx.storage, config, T0 + 2 * DAY)).account_tickets).toBe(1);
      expect(await ctx.storage.accountTickets.get(later.hash)).toBeNull();
    });
  });
});
