import type { Command } from 'commander';
import { createUser, deleteUser, getUser, setBlocked, setPassword } from '../admin/users.js';
import type { User, UserClaims } from '../storage/types.js';
import { fieldLines, print, withRuntime } from './context.js';
import { passwordOptions, readPassword } from './password.js';
import { userAccessCommands } from './user-access.js';

const view = (u: User) => ({
  id: u.id,
  email: u.email,
  blocked: u.blocked,
  ...u.claims,
  created_at: u.createdAt,
  updated_at: u.updatedAt,
  ...(u.loginsCount !== undefined ? { logins_count: u.loginsCount } : {}),
  ...(u.lastLogin !== undefined ? { last_login: u.lastLogin } : {}),
  ...(u.lastIp !== undefined ? { last_ip: u.lastIp } : {}),
});

/** `sesame users …`: people who sign in. */
export function usersCommand(program: Command): void {
  const users = program.command('users').description('manage users');
  userAccessCommands(users);

  const create = users
    .command('create')
    .description('create a user; the email is the login name')
    .requiredOption('--email <email>', 'login name (normalised: trimmed, NFC, lowercased)');
  passwordOptions(
    create,
    'the password (at least password.minLength characters, default 8; at most 1024 bytes)',
  )
    .option('--name <name>', 'full name')
    .option('--given-name <name>', 'given name')
    .option('--family-name <name>', 'family name')
    .option('--nickname <name>', 'nickname')
    .option('--picture <url>', 'picture URL')
    .option('--phone-number <number>', 'phone number')
    .option('--locale <locale>', 'locale, e.g. en-US')
    .option('--email-verified', 'mark the email as verified')
    .option('--json', 'print one JSON object')
    .action(async (o, cmd) =>
      withRuntime(cmd, async (rt) => {
        const claims: UserClaims = { email_verified: Boolean(o.emailVerified) };
        if (o.name) claims.name = o.name;
        if (o.givenName) claims.given_name = o.givenName;
        if (o.familyName) claims.family_name = o.familyName;
        if (o.nickname) claims.nickname = o.nickname;
        if (o.picture) claims.picture = o.picture;
        if (o.phoneNumber) claims.phone_number = o.phoneNumber;
        if (o.locale) claims.locale = o.locale;
        const password = await readPassword(o);
        const user = await createUser(
          rt.storage,
          rt.clock,
          { email: o.email, password, claims },
          rt.config.password,
        );
        print(o.json, view(user), () => `id: ${user.id}\nemail: ${user.email}`);
      }),
    );

  users
    .command('list')
    .description('list users')
    .option('--json', 'print one JSON object')
    .action(async (o, cmd) =>
      withRuntime(cmd, async (rt) => {
        const list = (await rt.storage.users.list()).map(view);
        print(o.json, { users: list }, () =>
          list.length === 0
            ? 'no users'
            : list.map((u) => `${u.id}  ${u.email}${u.blocked ? '  (blocked)' : ''}`).join('\n'),
        );
      }),
    );

  users
    .command('show <id>')
    .description('show a user by id or email')
    .option('--json', 'print one JSON object')
    .action(async (id: string, o, cmd) =>
      withRuntime(cmd, async (rt) => {
        const out = view(await getUser(rt.storage, id));
        print(o.json, out, () => fieldLines(out));
      }),
    );

  users
    .command('delete <id>')
    .description('delete a user by id or email; their sessions, tokens and consents end with them')
    .option('--json', 'print one JSON object')
    .action(async (id: string, o, cmd) =>
      withRuntime(cmd, async (rt) => {
        const user = await getUser(rt.storage, id);
        await deleteUser(rt.storage, rt.clock, user.id);
        print(o.json, { deleted: user.id }, () => `deleted ${user.email}`);
      }),
    );

  const setPasswordCmd = users.command('set-password <id>').description("replace a user's password");
  passwordOptions(setPasswordCmd, 'the new password')
    .option('--json', 'print one JSON object')
    .action(async (id: string, o, cmd) =>
      withRuntime(cmd, async (rt) => {
        const user = await getUser(rt.storage, id);
        await setPassword(rt.storage, rt.clock, user.id, await readPassword(o), rt.config.password);
        print(o.json, { id: user.id, password_changed: true }, () => `password changed for ${user.email}`);
      }),
    );

  for (const [name, blocked] of [
    ['block', true],
    ['unblock', false],
  ] as const) {
    users
      .command(`${name} <id>`)
      .description(blocked ? 'block a user from signing in' : 'let a blocked user sign in again')
      .option('--json', 'print one JSON object')
      .action(async (id: string, o, cmd) =>
        withRuntime(cmd, async (rt) => {
          const user = await setBlocked(rt.storage, rt.clock, id, blocked);
          print(o.json, { id: user.id, blocked }, () => `${user.email} ${blocked ? 'blocked' : 'unblocked'}`);
        }),
      );
  }
}
