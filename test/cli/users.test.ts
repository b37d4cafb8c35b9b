import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { checkPassword } from '../../src/accounts/password.js';
import { systemClock } from '../../src/util/clock.js';
import { assertBuilt, type CliResult, runCli } from '../e2e/process.js';
import { session } from '../storage/contract-records.js';
import { createTestDatabase, describeEachBackend, type TestDatabase } from '../support/databases.js';
import { refreshToken } from '../support/records.js';

type Env = Record<string, string | undefined>;

/** A user as `sesame users … --json` prints it. */
interface UserView {
  id: string;
  email: string;
  blocked: boolean;
  email_verified: boolean;
  name?: string;
  given_name?: string;
  family_name?: string;
  created_at: number;
  updated_at: number;
}

const PASSWORD = 'correct horse battery staple';
const USER_ID = /^usr_[A-Za-z0-9_-]+$/;
const SUBCOMMANDS = [
  'create',
  'list',
  'show',
  'update',
  'delete',
  'set-password',
  'block',
  'unblock',
  'sign-out',
  'import',
];

/** A failed command: non-zero exit, nothing on stdout, one `error:` message on stderr matching `message`. */
function expectFailure(res: CliResult, message: RegExp): void {
  expect(res.code, `stdout: ${res.stdout}\nstderr: ${res.stderr}`).not.toBe(0);
  expect(res.stdout).toBe('');
  expect(res.stderr).toMatch(/^error: /);
  expect(res.stderr).toMatch(message);
  expect(res.stderr).not.toMatch(/\n\s+at /); // a message, not a stack trace
}

let counter = 0;
/** An email no other test of the run uses. */
const uniqueEmail = (tag = 'user') => `${tag}-${Date.now().toString(36)}-${++counter}@example.com`;

beforeAll(() => assertBuilt());

describeEachBackend('sesame users', (backend) => {
  const databases: TestDatabase[] = [];
  let db: TestDatabase;
  let env: Env;

  async function freshDb(): Promise<{ db: TestDatabase; env: Env }> {
    const d = await createTestDatabase(backend);
    databases.push(d);
    const e: Env = { SESAME_DATA_DIR: d.dataDir, SESAME_DATABASE_URL: d.url, SESAME_LOG_LEVEL: 'warn' };
    // create the data dir's secret and the schema first, alone (concurrent first runs race on it)
    const migrated = await runCli(['migrate', '--json'], e);
    expect(migrated.code, migrated.stderr).toBe(0);
    return { db: d, env: e };
  }

  /**
   * Runs `sesame ...args` on `e` (default: the shared database); no output of any command may
   * hold a password hash (an argon2 PHC string).
   */
  async function sesame(args: string[], e: Env = env): Promise<CliResult> {
    const res = await runCli(args, e);
    expect(res.stdout + res.stderr, `sesame ${args.join(' ')}`).not.toMatch(/\$argon2/);
    return res;
  }
  async function json<T>(args: string[], e: Env = env): Promise<T> {
    const res = await sesame([...args, '--json'], e);
    expect(res.code, `sesame ${args.join(' ')}\nstderr: ${res.stderr}`).toBe(0);
    expect(res.stderr).toBe('');
    return JSON.parse(res.stdout) as T;
  }
  const create = (email: string, ...extra: string[]) =>
    json<UserView>(['users', 'create', '--email', email, '--password', PASSWORD, ...extra]);

  /** The stored password hash of a user, read from the database itself. */
  async function storedHash(id: string): Promise<string | undefined> {
    const storage = db.open(systemClock);
    try {
      return (await storage.users.get(id))?.passwordHash;
    } finally {
      await storage.close();
    }
  }

  beforeAll(async () => {
    ({ db, env } = await freshDb());
  });
  afterAll(async () => {
    await Promise.all(databases.map((d) => d.drop()));
  });

  describe.concurrent('create', { timeout: 90_000 }, () => {
    it('--json prints one JSON object: id, normalised email, every claim given, no password hash', async () => {
      const res = await sesame([
        'users',
        'create',
        '--email',
        '  Ada@Example.COM ',
        '--password',
        PASSWORD,
        '--name',
        'Ada Lovelace',
        '--given-name',
        'Ada',
        '--family-name',
        'Lovelace',
        '--email-verified',
        '--json',
      ]);
      expect(res.code, res.stderr).toBe(0);
      expect(res.stderr).toBe('');
      const user = JSON.parse(res.stdout) as UserView; // the whole of stdout is one JSON value
      expect(user).toEqual({
        id: expect.stringMatching(USER_ID),
        email: 'ada@example.com',
        blocked: false,
        email_verified: true,
        name: 'Ada Lovelace',
        given_name: 'Ada',
        family_name: 'Lovelace',
        created_at: expect.any(Number),
        updated_at: expect.any(Number),
      });
      expect(res.stdout).not.toMatch(/argon2|password/i);
      const hash = await storedHash(user.id);
      expect(hash).toMatch(/^\$argon2id\$/);
      expect(res.stdout).not.toContain((hash as string).split('$').pop());
      expect(await checkPassword(hash, PASSWORD)).toBe(true);
    });

    it('NFC-normalises the email: “e” + U+0301 is stored composed, and found by either spelling', async () => {
      const local = `jose${Date.now().toString(36)}${++counter}`;
      const decomposed = `${local}e\u0301@Example.com`;
      const composed = `${local}\u00e9@example.com`;
      const user = await create(decomposed);
      expect(user.email).toBe(composed);
      expect(user.email.normalize('NFC')).toBe(user.email);
      expect((await json<UserView>(['users', 'show', decomposed])).id).toBe(user.id);
      expect((await json<UserView>(['users', 'show', composed.toUpperCase()])).id).toBe(user.id);
    });

    it('without --email-verified the email is not verified, and no name claims are set', async () => {
      const user = await create(uniqueEmail('plain'));
      expect(user.email_verified).toBe(false);
      expect(user).not.toHaveProperty('name');
      expect(user).not.toHaveProperty('given_name');
    });

    it('without --json prints the id and the email', async () => {
      const email = uniqueEmail('human');
      const res = await sesame(['users', 'create', '--email', email, '--password', PASSWORD]);
      expect(res.code, res.stderr).toBe(0);
      expect(res.stdout).toMatch(/^id: usr_[A-Za-z0-9_-]+\nemail: /);
      expect(res.stdout).toContain(`email: ${email}`);
      expect(res.stdout).not.toMatch(/argon2|password/i);
    });

    it('a duplicate email (in another case, with spaces) → non-zero exit naming the email; one user remains', async () => {
      const email = uniqueEmail('dup');
      const first = await create(email);
      const again = await sesame([
        'users',
        'create',
        '--email',
        `  ${email.toUpperCase()} `,
        '--password',
        'another password',
      ]);
      expectFailure(again, new RegExp(email.replace(/[.+]/g, '\\$&')));
      const { users } = await json<{ users: UserView[] }>(['users', 'list']);
      expect(users.filter((u) => u.email === email).map((u) => u.id)).toEqual([first.id]);
      // the first user's password was not replaced by the refused create
      expect(await checkPassword(await storedHash(first.id), PASSWORD)).toBe(true);
    });

    it.each([
      ['not-an-email', 'no @'],
      ['ada lovelace@example.com', 'a space'],
      ['a@b@example.com', 'two @'],
      ['   ', 'blank'],
    ])('an invalid email %j (%s) → non-zero exit naming the email', async (email) => {
      const res = await sesame(['users', 'create', '--email', email, '--password', PASSWORD]);
      expectFailure(res, /email/);
      expectFailure(res, /not an email address/);
    });

    it('a password of 7 characters → non-zero exit naming password; 8 characters is enough', async () => {
      const email = uniqueEmail('short');
      expectFailure(
        await sesame(['users', 'create', '--email', email, '--password', 'seven77']),
        /password: must be at least 8 characters/,
      );
      const list = await json<{ users: UserView[] }>(['users', 'list']);
      expect(list.users.map((u) => u.email)).not.toContain(email);
      const user = await json<UserView>(['users', 'create', '--email', email, '--password', 'eight8x!']);
      expect(await checkPassword(await storedHash(user.id), 'eight8x!')).toBe(true);
    });

    it('a password over 1024 bytes (1025 × “a”) → non-zero exit naming password; 1024 bytes is accepted', async () => {
      const email = uniqueEmail('long');
      expectFailure(
        await sesame(['users', 'create', '--email', email, '--password', 'a'.repeat(1025)]),
        /password: must be at most 1024 bytes/,
      );
      const user = await json<UserView>([
        'users',
        'create',
        '--email',
        email,
        '--password',
        'a'.repeat(1024),
      ]);
      expect(await checkPassword(await storedHash(user.id), 'a'.repeat(1024))).toBe(true);
    });

    it('counts bytes, not characters: 342 × “€” (1026 bytes) is refused naming password', async () => {
      expectFailure(
        await sesame(['users', 'create', '--email', uniqueEmail('euro'), '--password', '€'.repeat(342)]),
        /password: must be at most 1024 bytes/,
      );
    });

    it('--email and --password are required', async () => {
      const noPassword = await sesame(['users', 'create', '--email', uniqueEmail('nopw')]);
      expect(noPassword.code).not.toBe(0);
      expect(noPassword.stderr).toMatch(/--password/);
      const noEmail = await sesame(['users', 'create', '--password', PASSWORD]);
      expect(noEmail.code).not.toBe(0);
      expect(noEmail.stderr).toMatch(/--email/);
    });
  });

  describe.concurrent('list, show, delete', { timeout: 90_000 }, () => {
    it('list on an empty database says so; then lists every user with its blocked flag', async () => {
      const fresh = (await freshDb()).env;
      expect(await json<{ users: UserView[] }>(['users', 'list'], fresh)).toEqual({ users: [], total: 0 });
      const empty = await sesame(['users', 'list'], fresh);
      expect([empty.code, empty.stdout]).toEqual([0, 'no users\n']);

      const a = await json<UserView>(
        ['users', 'create', '--email', 'a@example.com', '--password', PASSWORD, '--name', 'A'],
        fresh,
      );
      const b = await json<UserView>(
        ['users', 'create', '--email', 'b@example.com', '--password', PASSWORD],
        fresh,
      );
      await json(['users', 'block', b.id], fresh);

      const { users } = await json<{ users: UserView[] }>(['users', 'list'], fresh);
      expect(users.map((u) => [u.id, u.email, u.blocked]).sort()).toEqual(
        [
          [a.id, 'a@example.com', false],
          [b.id, 'b@example.com', true],
        ].sort(),
      );
      expect(users.find((u) => u.id === a.id)).toEqual(a);
      const human = await sesame(['users', 'list'], fresh);
      expect(human.code).toBe(0);
      expect(human.stdout).toContain(`${a.id}  a@example.com\n`);
      expect(human.stdout).toContain(`${b.id}  b@example.com  (blocked)`);
      expect(human.stdout + JSON.stringify(users)).not.toMatch(/argon2|password/i);
    });

    it("list --search, --sort, --limit and --page: the Management API's search, in pages, with the total", async () => {
      const { db: listDb, env: fresh } = await freshDb();
      for (const local of ['carol', 'alice', 'bob'])
        await json<UserView>(
          ['users', 'create', '--email', `${local}@list.example`, '--password', PASSWORD, '--name', local],
          fresh,
        );
      await json<UserView>(
        ['users', 'create', '--email', 'zed@other.example', '--password', PASSWORD],
        fresh,
      );
      const emails = (r: { users: UserView[] }) => r.users.map((u) => u.email.split('@')[0]);
      const list = (...args: string[]) =>
        json<{ users: UserView[]; total: number }>(['users', 'list', ...args], fresh);
      const all = await list('--search', 'list.example', '--sort', 'email:1');
      expect([emails(all), all.total]).toEqual([['alice', 'bob', 'carol'], 3]);
      const p0 = await list('--search', 'email:*', '--sort', 'email:-1', '--limit', '2');
      expect(p0.total).toBe(4);
      const p1 = await list('--sort', 'email:-1', '--limit', '2', '--page', '1');
      expect([emails(p0), emails(p1)]).toEqual([
        ['zed', 'carol'],
        ['bob', 'alice'],
      ]);
      expect(emails(await list('--search', 'email:bo*'))).toEqual(['bob']);
      expect(emails(await list('--search', 'name:"ALICE"'))).toEqual(['alice']);
      expectFailure(
        await sesame(['users', 'list', '--search', 'last_ip:192.0.2.1'], fresh),
        /^error: --search: cannot search by last_ip/,
      );
      expectFailure(
        await sesame(['users', 'list', '--sort', 'password:1'], fresh),
        /^error: --sort: must be FIELD:1/,
      );
      expectFailure(
        await sesame(['users', 'list', '--limit', '0'], fresh),
        /--limit: a whole number from 1 to 1000/,
      );
      expectFailure(
        await sesame(['users', 'list', '--limit', '5', '--page', '-1'], fresh),
        /--page: a whole number from 0/,
      );
      expectFailure(await sesame(['users', 'list', '--page', '1'], fresh), /--page: give --limit too/);
      expectFailure(await sesame(['users', 'list', '--sort', ''], fresh), /^error: --sort: must be FIELD:1/);
      const storage = listDb.open(systemClock);
      try {
        const bob = await storage.users.getByEmail('bob@list.example');
        await storage.users.recordLogin(bob!.id, 1_796_000_000, '192.0.2.7');
      } finally {
        await storage.close();
      }
      const text = await sesame(['users', 'list', '--search', 'email:bob@list.example'], fresh);
      expect(text.stdout).toMatch(
        /^usr_\S+ {2}bob@list\.example {2}last signed in 2026-11-30T00:53:20\.000Z\n$/,
      );
      expect(await list('--search', 'email:bob@list.example')).toMatchObject({
        users: [{ logins_count: 1, last_login: 1_796_000_000, last_ip: '192.0.2.7' }],
      });
      expect(emails(await list('--search', 'logins_count:0', '--sort', 'email:1'))).toEqual([
        'alice',
        'carol',
        'zed',
      ]);
    });

    it('show by id and by email (any case, spaces) gives the same user; the human form has one field a line', async () => {
      const email = uniqueEmail('show');
      const user = await create(email, '--name', 'Shown Person');
      expect(await json<UserView>(['users', 'show', user.id])).toEqual(user);
      // Auth0's form of the id, as the Management API takes it
      expect(await json<UserView>(['users', 'show', `auth0|${user.id}`])).toEqual(user);
      expect(await json<UserView>(['users', 'show', ` ${email.toUpperCase()}  `])).toEqual(user);
      const human = await sesame(['users', 'show', email]);
      expect(human.code, human.stderr).toBe(0);
      expect(human.stdout).toContain(`id: ${user.id}\n`);
      expect(human.stdout).toContain(`email: ${email}\n`);
      expect(human.stdout).toContain('name: Shown Person\n');
      expect(human.stdout).toContain('blocked: false\n');
      expect(human.stdout).not.toMatch(/argon2|password/i);
    });

    it('delete by id: show and list no longer find the user', async () => {
      const user = await create(uniqueEmail('del'));
      expect(await json(['users', 'delete', user.id])).toEqual({ deleted: user.id });
      expectFailure(await sesame(['users', 'show', user.id]), new RegExp(`user ${user.id} not found`));
      expectFailure(await sesame(['users', 'show', user.email]), /not found/);
      const { users } = await json<{ users: UserView[] }>(['users', 'list']);
      expect(users.map((u) => u.id)).not.toContain(user.id);
      expect(await storedHash(user.id)).toBeUndefined();
    });

    it('delete by email; the email can then be used again', async () => {
      const email = uniqueEmail('del-email');
      const user = await create(email);
      const res = await sesame(['users', 'delete', email]);
      expect([res.code, res.stdout]).toEqual([0, `deleted ${email}\n`]);
      expectFailure(await sesame(['users', 'show', user.id]), /not found/);
      const again = await create(email);
      expect(again.id).not.toBe(user.id);
    });
  });

  describe.concurrent('set-password, block, unblock', { timeout: 90_000 }, () => {
    it('set-password replaces the password: the new one checks, the old one no longer does', async () => {
      const user = await create(uniqueEmail('pw'));
      const before = await storedHash(user.id);
      const res = await json(['users', 'set-password', user.id, '--password', 'a brand new password']);
      expect(res).toEqual({ id: user.id, password_changed: true });
      const after = await storedHash(user.id);
      expect(after).not.toBe(before);
      expect(after).toMatch(/^\$argon2id\$v=19\$m=7168,t=5,p=1\$/);
      expect(await checkPassword(after, 'a brand new password')).toBe(true);
      expect(await checkPassword(after, PASSWORD)).toBe(false);
    });

    it('set-password by email, human output', async () => {
      const email = uniqueEmail('pw-email');
      const user = await create(email);
      const res = await sesame(['users', 'set-password', email, '--password', 'by email 12345']);
      expect([res.code, res.stdout]).toEqual([0, `password changed for ${email}\n`]);
      expect(await checkPassword(await storedHash(user.id), 'by email 12345')).toBe(true);
    });

    it('set-password with a short or an over-long password → non-zero naming password; the old one stays', async () => {
      const user = await create(uniqueEmail('pw-bad'));
      expectFailure(
        await sesame(['users', 'set-password', user.id, '--password', 'short']),
        /password: must be at least 8 characters/,
      );
      expectFailure(
        await sesame(['users', 'set-password', user.id, '--password', 'a'.repeat(1025)]),
        /password: must be at most 1024 bytes/,
      );
      expect(await checkPassword(await storedHash(user.id), PASSWORD)).toBe(true);
    });

    it('block then unblock, by id and by email; show follows', async () => {
      const email = uniqueEmail('block');
      const user = await create(email);
      expect(await json(['users', 'block', user.id])).toEqual({ id: user.id, blocked: true });
      expect((await json<UserView>(['users', 'show', user.id])).blocked).toBe(true);
      expect(await json(['users', 'unblock', email.toUpperCase()])).toEqual({ id: user.id, blocked: false });
      expect((await json<UserView>(['users', 'show', user.id])).blocked).toBe(false);

      const human = await sesame(['users', 'block', email]);
      expect([human.code, human.stdout]).toEqual([0, `${email} blocked\n`]);
      const unblocked = await sesame(['users', 'unblock', user.id]);
      expect([unblocked.code, unblocked.stdout]).toEqual([0, `${email} unblocked\n`]);
      expect((await json<UserView>(['users', 'show', email])).blocked).toBe(false);
    });

    it('block keeps the password: unblocked, the same password still checks', async () => {
      const user = await create(uniqueEmail('block-pw'));
      await json(['users', 'block', user.id]);
      await json(['users', 'unblock', user.id]);
      expect(await checkPassword(await storedHash(user.id), PASSWORD)).toBe(true);
    });
  });

  describe.concurrent('update, sign-out', { timeout: 90_000 }, () => {
    it('update sets and removes claims by id or email; a new email is unverified unless --email-verified', async () => {
      const email = uniqueEmail('upd');
      const user = await create(email, '--name', 'Old Name', '--nickname', 'old', '--email-verified');
      const changed = await json<UserView & Record<string, unknown>>([
        'users',
        'update',
        email.toUpperCase(),
        '--name',
        'New Name',
        '--given-name',
        'New',
        '--nickname',
        '',
        '--phone-number',
        '+14155550100',
        '--locale',
        'en-GB',
      ]);
      expect(changed).toMatchObject({
        id: user.id,
        email,
        name: 'New Name',
        given_name: 'New',
        phone_number: '+14155550100',
        locale: 'en-GB',
        email_verified: true,
      });
      expect(changed).not.toHaveProperty('nickname');
      const moved = uniqueEmail('upd-moved');
      expect(await json<UserView>(['users', 'update', user.id, '--email', moved])).toMatchObject({
        email: moved,
        email_verified: false,
      });
      const kept = uniqueEmail('upd-kept');
      expect(
        await json<UserView>(['users', 'update', user.id, '--email', kept, '--email-verified']),
      ).toMatchObject({ email: kept, email_verified: true });
      expect(await json<UserView>(['users', 'update', kept, '--no-email-verified'])).toMatchObject({
        email_verified: false,
      });
      const human = await sesame(['users', 'update', user.id, '--family-name', 'Person']);
      expect(human.code, human.stderr).toBe(0);
      expect(human.stdout).toContain('family_name: Person\n');
    });

    it('update refuses nothing to change, a bad claim and a taken email, and changes nothing', async () => {
      const user = await create(uniqueEmail('upd-bad'), '--name', 'Stays');
      const other = await create(uniqueEmail('upd-other'));
      expectFailure(await sesame(['users', 'update', user.id]), /nothing to change: give --email, --name/);
      expectFailure(
        await sesame(['users', 'update', user.id, '--phone-number', 'call me']),
        /phone_number: /,
      );
      expectFailure(
        await sesame(['users', 'update', user.id, '--email', other.email.toUpperCase()]),
        /email: a user with .* exists already/,
      );
      const after = await json<UserView>(['users', 'show', user.id]);
      expect(after).toMatchObject({ email: user.email, name: 'Stays', updated_at: user.updated_at });
      expect(after).not.toHaveProperty('phone_number');
    });

    it("sign-out ends the user's sessions and refresh tokens, nobody else's", async () => {
      const user = await create(uniqueEmail('out'));
      const bystander = await create(uniqueEmail('out-by'));
      const now = Math.floor(Date.now() / 1000);
      const live = { authTime: now, createdAt: now, lastSeenAt: now, expiresAt: now + 3600 };
      const storage = db.open(systemClock);
      try {
        for (const u of [user, bystander]) {
          await storage.sessions.create(session({ ...live, userId: u.id }));
          await storage.refreshTokens.create(
            refreshToken({
              userId: u.id,
              createdAt: now,
              expiresAt: now + 3600,
              familyExpiresAt: now + 86_400,
            }),
          );
        }
      } finally {
        await storage.close();
      }
      expect(await sesame(['users', 'sign-out', user.email])).toMatchObject({
        code: 0,
        stdout: `${user.email} signed out everywhere\n`,
      });
      expect(await json(['users', 'sign-out', user.id])).toEqual({ id: user.id, signed_out: true });
      const after = db.open(systemClock);
      try {
        expect(await after.sessions.listForUser(user.id, now)).toEqual([]);
        expect(await after.refreshTokens.listLive({ userId: user.id }, now)).toEqual([]);
        expect(await after.sessions.listForUser(bystander.id, now)).toHaveLength(1);
        expect(await after.refreshTokens.listLive({ userId: bystander.id }, now)).toHaveLength(1);
      } finally {
        await after.close();
      }
    });
  });

  describe.concurrent('an unknown user', { timeout: 90_000 }, () => {
    it.each([
      ['show'],
      ['delete'],
      ['block'],
      ['unblock'],
      ['set-password', '--password', 'a good password'],
      ['update', '--name', 'Nobody'],
      ['sign-out'],
    ])('users %s → non-zero exit, “not found”, by id and by email', async (command, ...rest) => {
      for (const who of ['usr_doesnotexist', 'nobody-at-all@example.com']) {
        const res = await sesame(['users', command, who, ...rest]);
        expectFailure(res, new RegExp(`user ${who} not found`));
      }
    });
  });

  describe.concurrent('--help', { timeout: 90_000 }, () => {
    it('sesame users --help exits 0 and lists every subcommand', async () => {
      const res = await sesame(['users', '--help'], {});
      expect(res.code, res.stderr).toBe(0);
      expect(res.stdout).toMatch(/^Usage: sesame users/);
      for (const name of SUBCOMMANDS) expect(res.stdout).toMatch(new RegExp(`^ {2}${name}\\b`, 'm'));
    });

    it.each(SUBCOMMANDS)('sesame users %s --help exits 0 and prints its usage', async (name) => {
      const res = await sesame(['users', name, '--help'], {});
      expect(res.code, res.stderr).toBe(0);
      expect(res.stderr).toBe('');
      expect(res.stdout).toMatch(new RegExp(`^Usage: sesame users ${name}`));
      expect(res.stdout).toContain('--json');
    });
  });
});
