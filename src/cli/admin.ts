import type { Command } from 'commander';
import { createAdmin } from '../admin/console.js';
import { print, withRuntime } from './context.js';
import { passwordOptions, readPassword } from './password.js';

/** `sesame admin create`: a person who holds Sesame Admin (every Management API permission). */
export function adminCommand(program: Command): void {
  const admin = program.command('admin').description('manage the administrators of the console');
  const create = admin
    .command('create')
    .description('create a user who holds the Sesame Admin role (signs in to /console)')
    .requiredOption('--email <email>', 'login name');
  passwordOptions(
    create,
    'the password (at least password.minLength characters, default 8; at most 1024 bytes)',
  )
    .option('--name <name>', 'full name')
    .option('--json', 'print one JSON object')
    .action(async (o, cmd) =>
      withRuntime(cmd, async (rt) => {
        const user = await createAdmin(
          rt.storage,
          rt.clock,
          {
            email: o.email,
            password: await readPassword(o),
            name: o.name,
          },
          rt.config.password,
        );
        const out = { id: user.id, email: user.email, roles: ['Sesame Admin'] };
        print(o.json, out, () => `id: ${user.id}\nemail: ${user.email}\nrole: Sesame Admin`);
      }),
    );
}
