import { chmod, mkdir, open, rename, unlink } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import type { Logger } from 'pino';
import type { Config } from '../config/schema.js';
import { issuerBase } from '../protocol/issuer.js';
import type { OutboxMessage } from '../storage/types.js';
import { randomToken } from '../util/crypto.js';

/** Where a message goes once it leaves the outbox. */
export interface Transport {
  /** Hands the message over; rejects when it was not accepted (it is then retried). */
  send(message: OutboxMessage): Promise<void>;
  close(): void;
}

/** Milliseconds: a stalled server fails a send in well under the outbox's claim (mailer.ts LEASE). */
export const SMTP_TIMEOUTS = { connectionTimeout: 10_000, greetingTimeout: 10_000, socketTimeout: 30_000 };

/** The From of every message: email.from, else Sesame at the issuer's host. */
export function senderOf(config: Pick<Config, 'email' | 'issuer'>): string {
  return config.email.from ?? `Sesame <no-reply@${new URL(config.issuer).hostname}>`;
}

/** The issuer's links in a message's text, for the log of the file transport. */
function linksIn(text: string, issuer: string): string[] {
  const base = `${issuerBase(issuer)}/`;
  return text.split('\n').filter((line) => line.startsWith(base));
}

/**
 * SMTP through nodemailer (smtp:// upgrades with STARTTLS when the server offers it, smtps://
 * is TLS from the start), or, with no SMTP configured, each message as an .eml file in
 * DATA_DIR/outbox (readable by the owner only: the links in it are secrets) with its links
 * logged. nodemailer is loaded on first use.
 */
export async function openTransport(config: Config, logger: Logger): Promise<Transport> {
  const { default: nodemailer } = await import('nodemailer');
  const from = senderOf(config);
  const envelope = (m: OutboxMessage) => ({
    from,
    // One address object: nodemailer does not parse it as a list (a stored address is one mailbox).
    to: { name: '', address: m.to },
    subject: m.subject,
    text: m.text,
    html: m.html,
    messageId: `<${m.id}@${new URL(config.issuer).hostname}>`,
  });
  if (config.email.smtpUrl) {
    const smtp = nodemailer.createTransport({ url: config.email.smtpUrl, ...SMTP_TIMEOUTS });
    return {
      async send(m) {
        await smtp.sendMail(envelope(m));
      },
      close: () => smtp.close(),
    };
  }
  const files = nodemailer.createTransport({ streamTransport: true, buffer: true, newline: 'unix' });
  const dir = join(config.dataDir, 'outbox');
  return {
    async send(m) {
      const info = await files.sendMail(envelope(m));
      await mkdir(dir, { recursive: true, mode: 0o700 });
      const file = join(dir, `${m.createdAt}-${m.id}.eml`);
      await writeWhole(file, info.message as Buffer);
      logger.info(
        { to: m.to, subject: m.subject, file, links: linksIn(m.text, config.issuer) },
        'email written to the outbox directory (no SMTP server configured)',
      );
    },
    close: () => files.close(),
  };
}

/**
 * Writes `file` (mode 0600) so that a reader of the directory never sees it half-written: under
 * a hidden name of this process's own, synced to disk, then renamed. A failure leaves nothing.
 */
async function writeWhole(file: string, data: Buffer): Promise<void> {
  const partial = join(dirname(file), `.${basename(file)}.${process.pid}.${randomToken(6)}.partial`);
  try {
    const handle = await open(partial, 'wx', 0o600);
    try {
      await handle.writeFile(data);
      await handle.sync();
    } finally {
      await handle.close();
    }
    await chmod(partial, 0o600);
    await rename(partial, file);
  } catch (err) {
    await unlink(partial).catch(() => {});
    throw err;
  }
}
