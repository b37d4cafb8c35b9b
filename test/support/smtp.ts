import type { AddressInfo } from 'node:net';
import { type ParsedMail, simpleParser } from 'mailparser';
import { SMTPServer } from 'smtp-server';

export type { ParsedMail } from 'mailparser';

/** An SMTP server in this process that keeps every message it receives, parsed. */
export interface TestSmtp {
  /** `smtp://127.0.0.1:PORT`, for `email.smtpUrl`. */
  url: string;
  port: number;
  /** Every message received so far, in arrival order (kept across restart()). */
  messages: ParsedMail[];
  /** The first message (already received or still to come) matching `pred`; rejects after `timeoutMs` (default 5000). */
  waitFor(pred: (mail: ParsedMail) => boolean, timeoutMs?: number): Promise<ParsedMail>;
  /** Stops listening (connections are refused) and drops the open connections. */
  stop(): Promise<void>;
  /** Listens again on the same port (after stop()). */
  restart(): Promise<void>;
  /** Replies to refuse with while set: a login (AUTH, e.g. 535) or a recipient (RCPT TO, e.g. 550). */
  refuse: { auth?: number; rcpt?: number };
}

const refusal = (code: number, text: string) => Object.assign(new Error(text), { responseCode: code });

interface Waiter {
  pred: (mail: ParsedMail) => boolean;
  resolve: (mail: ParsedMail) => void;
}

/** Starts an SMTP server on 127.0.0.1:`port` (default: a free port). */
export async function startSmtp(port = 0): Promise<TestSmtp> {
  const messages: ParsedMail[] = [];
  let waiters: Waiter[] = [];
  let server: SMTPServer | undefined;
  const refuse: TestSmtp['refuse'] = {};

  const received = (mail: ParsedMail) => {
    messages.push(mail);
    const still: Waiter[] = [];
    for (const w of waiters) {
      if (w.pred(mail)) w.resolve(mail);
      else still.push(w);
    }
    waiters = still;
  };

  const listen = (p: number) =>
    new Promise<number>((resolve, reject) => {
      const s = new SMTPServer({
        secure: false,
        authOptional: true,
        allowInsecureAuth: true,
        disabledCommands: ['STARTTLS'],
        onAuth(auth, _session, callback) {
          if (refuse.auth) callback(refusal(refuse.auth, 'Invalid username or password'));
          else callback(null, { user: auth.username });
        },
        onRcptTo(_address, _session, callback) {
          if (refuse.rcpt) callback(refusal(refuse.rcpt, 'No such mailbox'));
          else callback();
        },
        logger: false,
        closeTimeout: 50,
        onData(stream, _session, callback) {
          simpleParser(stream)
            .then((mail) => {
              received(mail);
              callback();
            })
            .catch((err: Error) => callback(err));
        },
      });
      s.on('error', () => {});
      const net = s.listen(p, '127.0.0.1', () => {
        net.removeListener('error', reject);
        server = s;
        resolve((net.address() as AddressInfo).port);
      });
      net.once('error', reject);
    });

  const actualPort = await listen(port);

  const stop = () =>
    new Promise<void>((resolve) => {
      const s = server;
      server = undefined;
      if (!s) return resolve();
      // Drop live connections at once (a pooled client would otherwise keep delivering).
      for (const c of s.connections) {
        try {
          c.close();
        } catch {
          // already gone
        }
      }
      s.close(() => resolve());
    });

  return {
    url: `smtp://127.0.0.1:${actualPort}`,
    port: actualPort,
    messages,
    refuse,
    waitFor(pred, timeoutMs = 5000) {
      const found = messages.find(pred);
      if (found) return Promise.resolve(found);
      return new Promise<ParsedMail>((resolve, reject) => {
        const w: Waiter = {
          pred,
          resolve: (m) => {
            clearTimeout(timer);
            resolve(m);
          },
        };
        const timer = setTimeout(() => {
          waiters = waiters.filter((x) => x !== w);
          reject(new Error(`no matching email within ${timeoutMs} ms (${messages.length} received)`));
        }, timeoutMs);
        waiters.push(w);
      });
    },
    stop,
    async restart() {
      await stop();
      // The port may linger briefly after close; retry a few times.
      for (let i = 0; ; i++) {
        try {
          await listen(actualPort);
          return;
        } catch (err) {
          if (i >= 20) throw err;
          await new Promise((r) => setTimeout(r, 50));
        }
      }
    },
  };
}

/** The addresses a parsed header names (To, From), lower-cased. */
export function addressesOf(field: ParsedMail['to'] | ParsedMail['from']): string[] {
  if (!field) return [];
  const list = Array.isArray(field) ? field : [field];
  return list.flatMap((a) => a.value.map((v) => (v.address ?? '').toLowerCase()));
}

/** Whether `mail` was sent to `email`. */
export function sentTo(mail: ParsedMail, email: string): boolean {
  return addressesOf(mail.to).includes(email.toLowerCase());
}

/**
 * The first link in the text part that starts with `issuer` + `pathPrefix` (e.g. '/u/reset-password'),
 * or undefined. `issuer` defaults to the tests' issuer, https://sesame.test.
 */
export function linkIn(
  mail: ParsedMail,
  pathPrefix: string,
  issuer = 'https://sesame.test',
): string | undefined {
  const text = mail.text ?? '';
  const start = issuer + pathPrefix;
  for (const m of text.matchAll(/https?:\/\/[^\s<>"')\]]+/g)) {
    if (m[0].startsWith(start)) return m[0];
  }
  return undefined;
}

/** A row of the `outbox` table, as stored (snake_case columns; numbers as numbers). */
export interface OutboxRow {
  id: string;
  kind: string;
  to_address: string;
  subject: string;
  status: string;
  attempts: number;
  next_attempt_at: number;
  last_error: string | null;
  created_at: number;
  sent_at: number | null;
}

/**
 * The rows of the `outbox` table (oldest first), read straight from the database `databaseUrl`
 * names (sqlite:PATH or postgres://…), optionally only those to `to`.
 */
export async function outboxRows(databaseUrl: string, to?: string): Promise<OutboxRow[]> {
  const columns =
    'id, kind, to_address, subject, status, attempts, next_attempt_at, last_error, created_at, sent_at';
  let rows: Record<string, unknown>[];
  if (/^postgres(ql)?:\/\//.test(databaseUrl)) {
    const pg = (await import('pg')).default;
    const c = new pg.Client({ connectionString: databaseUrl });
    await c.connect();
    try {
      const r = to
        ? await c.query(`select ${columns} from outbox where to_address = $1 order by created_at, id`, [to])
        : await c.query(`select ${columns} from outbox order by created_at, id`);
      rows = r.rows;
    } finally {
      await c.end();
    }
  } else {
    const Database = (await import('better-sqlite3')).default;
    const db = new Database(databaseUrl.replace(/^sqlite:/, ''), { readonly: true, fileMustExist: true });
    try {
      rows = (
        to
          ? db.prepare(`select ${columns} from outbox where to_address = ? order by created_at, id`).all(to)
          : db.prepare(`select ${columns} from outbox order by created_at, id`).all()
      ) as Record<string, unknown>[];
    } finally {
      db.close();
    }
  }
  const num = (v: unknown) => (v === null || v === undefined ? null : Number(v));
  return rows.map((r) => ({
    id: String(r.id),
    kind: String(r.kind),
    to_address: String(r.to_address),
    subject: String(r.subject),
    status: String(r.status),
    attempts: Number(r.attempts),
    next_attempt_at: Number(r.next_attempt_at),
    last_error: (r.last_error as string | null) ?? null,
    created_at: Number(r.created_at),
    sent_at: num(r.sent_at),
  }));
}
