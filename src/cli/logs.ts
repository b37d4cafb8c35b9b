import type { Command } from 'commander';
import { normalizeEmail } from '../accounts/email.js';
import { NotFoundError, ValidationError } from '../admin/errors.js';
import { logsAfter, logView } from '../admin/logs.js';
import { localUserId } from '../admin/user-search.js';
import { isEventType } from '../events/types.js';
import type { LogEvent, LogFilter } from '../storage/types.js';
import { collect, visible, wholeNumber, withRuntime } from './context.js';

const line = (e: LogEvent): string =>
  [
    new Date(e.date).toISOString(),
    e.type.padEnd(8),
    e.description,
    e.userName ?? e.userId ?? '',
    e.clientName ?? e.clientId ?? '',
    e.ip ?? '',
  ]
    .filter((part, i) => i < 3 || part !== '')
    .join('  ');

/** `sesame logs`: the latest log events, oldest first; --follow keeps printing new ones. */
export function logsCommand(program: Command): void {
  program
    .command('logs')
    .description('show log events (sign-ins, failures, tokens, admin changes), oldest first')
    .option('--type <type>', 'only this event type, e.g. s, fp, seacft, sapi (repeatable)', collect)
    .option('--user <user>', 'only events of this user (id or email)')
    .option('--client <client_id>', 'only events of this application')
    .option('--limit <n>', 'how many of the latest events (at most 1000)', '50')
    .option('--follow', 'keep printing new events as they are written (Ctrl-C stops)')
    .option('--json', 'one JSON object per line')
    .action(async (o, cmd) =>
      withRuntime(cmd, async (rt) => {
        const limit = wholeNumber('--limit', o.limit, 1, 1000);
        for (const t of o.type ?? []) {
          if (!isEventType(t)) throw new ValidationError(`--type: ${t} is not an event type Sesame records`);
        }
        const filter: LogFilter = {};
        if (o.type) filter.types = o.type;
        if (o.client) filter.clientId = o.client;
        if (o.user) {
          const user = o.user.includes('@')
            ? await rt.storage.users.getByEmail(normalizeEmail(o.user))
            : await rt.storage.users.get(localUserId(o.user));
          // an id stands as given (a deleted user's events are kept); an unknown email is a mistake
          if (!user && o.user.includes('@')) throw new NotFoundError(`user ${o.user} not found`);
          filter.userId = user?.id ?? localUserId(o.user);
        }
        const hostname = new URL(rt.config.issuer).hostname;
        const show = (e: LogEvent) =>
          process.stdout.write(`${o.json ? JSON.stringify(logView(e, hostname)) : visible(line(e))}\n`);
        // in the order an export goes, so that following on from the last one misses nothing
        const latest = await rt.storage.logs.newest(filter, limit);
        latest.forEach(show);
        if (!o.follow) return;
        let last = latest.at(-1)?.logId ?? (await rt.storage.logs.newest({}, 1))[0]?.logId;
        let stop = false;
        process.once('SIGINT', () => {
          stop = true;
        });
        // A reader that went away (`| head -1`) shows as EPIPE on the next write, not as `destroyed`.
        process.stdout.on('error', () => {
          stop = true;
        });
        // until Ctrl-C, or until the reader of the output goes away
        while (!stop && !process.stdout.destroyed) {
          await new Promise((resolve) => setTimeout(resolve, 1000));
          for (;;) {
            const batch = await logsAfter(rt.storage, filter, last, 100);
            batch.forEach(show);
            if (batch.length > 0) last = batch.at(-1)!.logId;
            if (batch.length < 100) break;
          }
        }
      }),
    );
}
