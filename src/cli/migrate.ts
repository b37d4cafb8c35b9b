import type { Command } from 'commander';
import { print, withRuntime } from './context.js';

/** `sesame migrate`: apply pending database migrations and exit. */
export function migrateCommand(program: Command): void {
  program
    .command('migrate')
    .description('apply pending database migrations')
    .option('--json', 'print one JSON object')
    .action(async (o, cmd) =>
      withRuntime(cmd, async (rt) => {
        const { dialect } = rt.storage;
        print(o.json, { database: dialect, applied: rt.applied }, () =>
          rt.applied.length > 0 ? `applied ${rt.applied.join(', ')}` : `database (${dialect}) is up to date`,
        );
      }),
    );
}
