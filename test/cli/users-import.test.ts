// `sesame users import FILE`: Auth0's bulk import from the CLI (the same work as
// POST /api/v2/jobs/users-imports), on both databases.
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { hash as bcryptHash } from '@node-rs/bcrypt';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { checkPassword } from '../../src/accounts/password.js';
import { systemClock } from '../../src/util/clock.js';
import { assertBuilt, runCli } from '../e2e/process.js';
import { createTestDatabase, describeEachBackend, type TestDatabase } from '../support/databases.js';

const PASSWORD = 'correct horse battery staple';

beforeAll(() => assertBuilt());

describeEachBackend('sesame users import', (backend) => {
  let db: TestDatabase;
  let env: Record<string, string | undefined>;
  let dir: string;

  beforeAll(async () => {
    db = await createTestDatabase(backend);
    env = { SESAME_DATA_DIR: db.dataDir, SESAME_DATABASE_URL: db.url, SESAME_LOG_LEVEL: 'warn' };
    expect((await runCli(['migrate', '--json'], env)).code).toBe(0);
    dir = await mkdtemp(join(tmpdir(), 'sesame-import-'));
  });
  afterAll(async () => {
    await db.drop();
    await rm(dir, { recursive: true, force: true });
  });

  const fileOf = async (name: string, text: string) => {
    const path = join(dir, name);
    await writeFile(path, text);
    return path;
  };

  it('imports, prints the summary and each failure, and --upsert updates', { timeout: 60_000 }, async () => {
    const hash = await bcryptHash(PASSWORD, 10);
    const file = await fileOf(
      'users.json',
      JSON.stringify([
        { email: 'ivy@cli-import.example', password_hash: hash, user_id: 'ivy-1', name: 'Ivy' },
        {
          email: 'jon@cli-import.example',
          custom_password_hash: { algorithm: 'sha1', hash: { value: 'x' } },
        },
      ]),
    );
    const human = await runCli(['users', 'import', file], env);
    expect(human.code, human.stderr).toBe(0);
    expect(human.stdout).toMatch(/^job: job_\S+\n2 users: 1 inserted, 0 updated, 1 failed\n/);
    expect(human.stdout).toContain('jon@cli-import.example: ENUM_MISMATCH (custom_password_hash.algorithm)');
    expect(human.stdout).not.toContain(hash);

    const storage = db.open(systemClock);
    try {
      const ivy = await storage.users.get('ivy-1');
      expect(ivy).toMatchObject({
        email: 'ivy@cli-import.example',
        passwordHash: hash,
        claims: { name: 'Ivy' },
      });
      expect(await checkPassword(ivy?.passwordHash, PASSWORD)).toBe(true);
      expect(await checkPassword(ivy?.passwordHash, 'wrong')).toBe(false);
    } finally {
      await storage.close();
    }

    const again = await fileOf(
      'again.json',
      JSON.stringify([{ email: 'IVY@cli-import.example', name: 'Ivy B' }]),
    );
    const refused = await runCli(['users', 'import', again, '--json'], env);
    expect(refused.code, refused.stderr).toBe(0);
    expect(JSON.parse(refused.stdout)).toMatchObject({
      type: 'users_import',
      status: 'completed',
      summary: { total: 1, inserted: 0, updated: 0, failed: 1 },
      errors: [{ user: { email: 'IVY@cli-import.example' }, errors: [{ code: 'DUPLICATED_USER' }] }],
    });
    const upserted = JSON.parse((await runCli(['users', 'import', again, '--upsert', '--json'], env)).stdout);
    expect(upserted.summary).toEqual({ total: 1, inserted: 0, updated: 1, failed: 0 });
    const shown = JSON.parse((await runCli(['users', 'show', 'ivy-1', '--json'], env)).stdout);
    expect(shown.name).toBe('Ivy B');
  });

  it('refuses a file it cannot read, or that is not a JSON array of users, in one line', async () => {
    for (const [path, message] of [
      [join(dir, 'missing.json'), /missing\.json: cannot be read \(ENOENT\)/],
      [await fileOf('bad.json', '[{"email"'), /bad\.json: the file is not JSON/],
      [await fileOf('object.json', '{"email":"a@b.c"}'), /users: the file must hold a JSON array/],
    ] as const) {
      const res = await runCli(['users', 'import', path], env);
      expect(res.code).not.toBe(0);
      expect(res.stdout).toBe('');
      expect(res.stderr).toMatch(/^error: /);
      expect(res.stderr).toMatch(message);
    }
  });
});
