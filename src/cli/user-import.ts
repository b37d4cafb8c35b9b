import { readFile } from 'node:fs/promises';
import type { Command } from 'commander';
import { ValidationError } from '../admin/errors.js';
import { CONNECTION_ID, importUsers, usersJson } from '../admin/user-import.js';
import type { JobRecord } from '../storage/types.js';
import { print, withRuntime } from './context.js';

/** A job as `users import --json` prints it: the Management API's fields, and its errors. */
const view = (j: JobRecord) => ({
  id: j.id,
  type: j.type,
  status: j.status,
  connection_id: j.connectionId,
  ...(j.externalId !== undefined ? { external_id: j.externalId } : {}),
  created_at: new Date(j.createdAt * 1000).toISOString(),
  summary: j.summary,
  errors: j.errors,
});

/** The summary, then one line per failed user: who (email, or place in the file), and why. */
function lines(j: JobRecord): string {
  const { total, inserted, updated, failed } = j.summary;
  const out = [`job: ${j.id}`, `${total} users: ${inserted} inserted, ${updated} updated, ${failed} failed`];
  for (const e of j.errors) {
    const who = typeof e.user.email === 'string' ? e.user.email : JSON.stringify(e.user);
    for (const why of e.errors)
      out.push(`  ${who}: ${why.code}${why.path ? ` (${why.path})` : ''}: ${why.message}`);
  }
  return out.join('\n');
}

/** `sesame users import FILE`: Auth0's bulk import, as `POST /api/v2/jobs/users-imports` runs it. */
export function userImportCommand(users: Command): void {
  users
    .command('import <file>')
    .description(
      "import users from a JSON file in Auth0's bulk import schema; bcrypt and argon2 password hashes are checked at sign-in, then hashed again with argon2id",
    )
    .option('--upsert', 'update users that exist already (by email) instead of counting them as failed')
    .option('--external-id <id>', 'an id of your own, kept with the job')
    .option('--json', 'print one JSON object (the job, with its errors)')
    .action(async (file: string, o, cmd) =>
      withRuntime(cmd, async (rt) => {
        let bytes: Uint8Array;
        try {
          bytes = await readFile(file);
        } catch (err) {
          throw new ValidationError(
            `${file}: cannot be read (${(err as NodeJS.ErrnoException).code ?? err})`,
          );
        }
        const users = usersJson(file, bytes);
        const job = await importUsers(rt.storage, rt.clock, {
          users,
          connectionId: CONNECTION_ID,
          upsert: Boolean(o.upsert),
          ...(o.externalId !== undefined ? { externalId: o.externalId } : {}),
        });
        print(o.json, view(job), () => lines(job));
      }),
    );
}
