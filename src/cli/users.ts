import type { Command } from 'commander';
import { ValidationError } from '../admin/errors.js';
import { parseUserSearch, parseUserSort } from '../admin/user-search.js';
import {
  createUser,
  deleteUser,
  getUser,
  listUsers,
  setBlocked,
  setPassword,
  signOutEverywhere,
  type UserInput,
  updateUser,
} from '../admin/users.js';
import type { User, UserClaims } from '../storage/types.js';
import { confirm, FORCE, fieldLines, print, wholeNumber, withRuntime } from './context.js';
import { passwordOptions, readPassword } from './password.js';
import { userAccessCommands } from './user-access.js';
import { userImportCommand } from './user-import.js';

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

/** The profile claims `users create` and `users update` set, with their options. */
const PROFILE_OPTIONS = [
  ['--name', 'name', 'full name'],
  ['--given-name', 'given_name', 'given name'],
  ['--family-name', 'family_name', 'family name'],
  ['--nickname', 'nickname', 'nickname'],
  ['--picture', 'picture', 'picture URL'],
  ['--phone-number', 'phone_number', 'phone number (E.164, e.g. +14155550100)'],
  ['--locale', 'locale', 'locale, e.g. en-US'],
] as const;

/** What `--sort` takes, as the Management API's `sort` does. */
const USER_SORTS = 'created_at, updated_at, email, name, last_login or logins_count';

/** The Management API's search and sort, their refusals naming this command's options. */
function asOptions<T>(read: () => T): T {
  try {
    return read();
  } catch (err) {
    if (!(err instanceof ValidationError)) throw err;
    throw new ValidationError(err.message.replace(/^q: /, '--search: ').replace(/^sort: /, '--sort: '));
  }
}

/** A user as `users list` prints them: id, email, blocked, when they last signed in. */
const listLine = (u: User) =>
  `${u.id}  ${u.email}${u.blocked ? '  (blocked)' : ''}${
    u.lastLogin !== undefined ? `  last signed in ${new Date(u.lastLogin * 1000).toISOString()}` : ''
  }`;

/** Commander's key of an option: `--given-name` → `givenName`. */
const optionKey = (flag: string) => flag.slice(2).replace(/-([a-z])/g, (_, c: string) => c.toUpperCase());

/** `sesame users …`: people who sign in. */
export function usersCommand(program: Command): void {
  const users = program.command('users').description('manage users');
  userAccessCommands(users);
  userImportCommand(users);

  const create = users
    .command('create')
    .description('create a user; the email is the login name')
    .requiredOption('--email <email>', 'login name (normalised: trimmed, NFC, lowercased)');
  for (const [flag, , help] of PROFILE_OPTIONS) create.option(`${flag} <value>`, help);
  passwordOptions(
    create,
    'the password (at least password.minLength characters, default 8; at most 1024 bytes)',
  )
    .option('--email-verified', 'mark the email as verified')
    .option('--json', 'print one JSON object')
    .action(async (o, cmd) =>
      withRuntime(cmd, async (rt) => {
        const claims: UserClaims = { email_verified: Boolean(o.emailVerified) };
        for (const [flag, claim] of PROFILE_OPTIONS) {
          const v = o[optionKey(flag)] as string | undefined;
          if (v) claims[claim] = v;
        }
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
    .description('list users, oldest first unless --sort says otherwise')
    .option(
      '--search <q>',
      'text in the email or name, or one term: email:"a@b.c", email:prefix*, user_id:ID, name:"N", blocked:true, logins_count:[1 TO *], last_login:[* TO 2026-01-01]',
    )
    .option('--sort <field:order>', `${USER_SORTS}, :1 ascending or :-1 descending`)
    .option('--limit <n>', 'at most this many (1 to 1000); default every one')
    .option('--page <n>', 'with --limit: the page, from 0')
    .option('--json', 'print one JSON object')
    .action(async (o, cmd) =>
      withRuntime(cmd, async (rt) => {
        const query = asOptions(() => ({
          ...parseUserSearch(o.search),
          ...(o.sort !== undefined ? { sort: parseUserSort(o.sort)! } : {}),
        }));
        const limit = o.limit === undefined ? undefined : wholeNumber('--limit', o.limit, 1, 1000);
        if (o.page !== undefined && limit === undefined)
          throw new ValidationError('--page: give --limit too (the size of a page)');
        const page = o.page === undefined ? 0 : wholeNumber('--page', o.page, 0, 1_000_000);
        const slice = limit === undefined ? undefined : { offset: page * limit, limit };
        const { items, total } = await listUsers(rt.storage, query, slice);
        const list = items.map(view);
        print(o.json, { users: list, total: await total() }, () =>
          list.length === 0 ? 'no users' : items.map(listLine).join('\n'),
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
    .option(...FORCE)
    .option('--json', 'print one JSON object')
    .action(async (id: string, o, cmd) =>
      withRuntime(cmd, async (rt) => {
        const user = await getUser(rt.storage, id);
        await confirm(
          o,
          `Delete the user ${user.email} (${user.id})? Their sessions, tokens and consents end with them.`,
        );
        await deleteUser(rt.storage, rt.clock, user.id);
        print(o.json, { deleted: user.id }, () => `deleted ${user.email}`);
      }),
    );

  const update = users
    .command('update <id>')
    .description("change a user's email or profile, by id or email; an empty value removes a claim")
    .option('--email <email>', 'a new login name (unverified unless --email-verified comes with it)');
  for (const [flag, , help] of PROFILE_OPTIONS) update.option(`${flag} <value>`, help);
  update
    .option('--email-verified', 'mark the email as verified')
    .option('--no-email-verified', 'mark the email as not verified')
    .option('--json', 'print one JSON object')
    .action(async (id: string, o, cmd) =>
      withRuntime(cmd, async (rt) => {
        const input: UserInput = {};
        const claims: NonNullable<UserInput['claims']> = {};
        for (const [flag, claim] of PROFILE_OPTIONS) {
          const v = o[optionKey(flag)] as string | undefined;
          if (v !== undefined) claims[claim] = v === '' ? null : v;
        }
        if (o.emailVerified !== undefined) claims.email_verified = o.emailVerified;
        if (Object.keys(claims).length > 0) input.claims = claims;
        if (o.email !== undefined) input.email = o.email;
        if (Object.keys(input).length === 0)
          throw new ValidationError(
            `nothing to change: give --email, ${PROFILE_OPTIONS.map(([f]) => f).join(', ')} or --[no-]email-verified`,
          );
        const out = view(await updateUser(rt.storage, rt.clock, id, input, rt.config.password));
        print(o.json, out, () => fieldLines(out));
      }),
    );

  users
    .command('sign-out <id>')
    .description(
      'sign a user out everywhere, by id or email: their sessions end, and so do their refresh and access tokens',
    )
    .option('--json', 'print one JSON object')
    .action(async (id: string, o, cmd) =>
      withRuntime(cmd, async (rt) => {
        const user = await signOutEverywhere(rt.storage, rt.clock, id);
        print(o.json, { id: user.id, signed_out: true }, () => `${user.email} signed out everywhere`);
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
