import type { Kysely } from 'kysely';
import pino from 'pino';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { createUser } from '../../src/admin/users.js';
import { parseConfig } from '../../src/config/load.js';
import { openRuntime } from '../../src/runtime.js';
import { sqliteFile } from '../../src/storage/sql/index.js';
import { openPostgres } from '../../src/storage/sql/postgres.js';
import type { Database } from '../../src/storage/sql/schema.js';
import { openSqlite } from '../../src/storage/sql/sqlite.js';
import { createTestDatabase, describeEachBackend, type TestDatabase } from '../support/databases.js';
import { migrationDatabase, upTo } from './migration-fixture.js';

/** Migration 017 stores emails whose domain was kept in punycode with the domain in Unicode. */
describeEachBackend('migration 017: email domains in Unicode', (backend) => {
  const env = migrationDatabase(backend);

  it('converts punycode domains, leaves one whose Unicode spelling is taken, and follows open links', async () => {
    const raw = env.raw();
    const migration = await upTo(raw, '017-unicode-domains');
    const user = (id: string, email: string) => ({
      id,
      email,
      password_hash: '',
      blocked: 0,
      claims: '{}',
      name: '',
      app_metadata: '{}',
      user_metadata: '{}',
      created_at: 1,
      updated_at: 1,
    });
    await raw
      .insertInto('users')
      .values([
        user('u1', 'zoe@xn--bcher-kva.example'),
        user('u2', 'ann@m\u00fcller.example'),
        user('u3', 'ann@xn--mller-kva.example'), // the same mailbox as u2, made through a browser
        user('u4', 'plain@example.com'),
        user('u5', 'odd@xn--.example'), // not a punycode label at all: left as it is
      ])
      .execute();
    await raw
      .insertInto('account_tickets')
      .values({
        hash: 'h1',
        kind: 'email_verification',
        user_id: 'u1',
        email: 'zoe@xn--bcher-kva.example',
        result_url: null,
        verify_email: 0,
        requested: 1,
        created_at: 1,
        expires_at: 2,
        used_at: null,
      })
      .execute();
    await migration.up(raw);
    const emails = Object.fromEntries(
      (await raw.selectFrom('users').select(['id', 'email']).orderBy('id').execute()).map((r) => [
        r.id,
        r.email,
      ]),
    );
    expect(emails).toEqual({
      u1: 'zoe@b\u00fccher.example',
      u2: 'ann@m\u00fcller.example',
      u3: 'ann@xn--mller-kva.example',
      u4: 'plain@example.com',
      u5: 'odd@xn--.example',
    });
    const ticket = await raw.selectFrom('account_tickets').select('email').executeTakeFirstOrThrow();
    expect(ticket.email).toBe('zoe@b\u00fccher.example');
  });
});

const PASSWORD = 'correct horse battery 7';

describeEachBackend('migration 017: the accounts it leaves in punycode are named in a warning', (backend) => {
  let db: TestDatabase;
  beforeAll(async () => {
    db = await createTestDatabase(backend);
  });
  afterAll(() => db?.drop());

  it('when it runs: each left account with its id, and what to do', async () => {
    const config = parseConfig({
      issuer: 'https://sesame.test',
      dataDir: db.dataDir,
      databaseUrl: db.url,
      secret: 'test-secret-that-is-at-least-32-characters',
      logLevel: 'silent',
    });
    const first = await openRuntime(config, { logger: pino({ level: 'silent' }) });
    const ann = await createUser(first.storage, first.clock, {
      email: 'ann@m\u00fcller.example',
      password: PASSWORD,
    });
    const twin = await createUser(first.storage, first.clock, {
      email: 'twin@example.com',
      password: PASSWORD,
    });
    const zoe = await createUser(first.storage, first.clock, {
      email: 'zoe@example.com',
      password: PASSWORD,
    });
    await first.storage.close();
    // as an older version stored them: a browser's punycode, for a mailbox another account has,
    // and one nobody else has (which the migration moves); 017 not run yet
    const file = sqliteFile({ databaseUrl: db.url, dataDir: db.dataDir });
    const raw = (file === null ? openPostgres(db.url, 1) : openSqlite(file)) as Kysely<Database>;
    await raw
      .updateTable('users')
      .set({ email: 'ann@xn--mller-kva.example' })
      .where('id', '=', twin.id)
      .execute();
    await raw
      .updateTable('users')
      .set({ email: 'zoe@xn--bcher-kva.example' })
      .where('id', '=', zoe.id)
      .execute();
    await raw.deleteFrom('sesame_migrations').where('name', '=', '017-unicode-domains').execute();
    await raw.destroy();

    const lines: Record<string, unknown>[] = [];
    const logger = pino({ level: 'info' }, { write: (l: string) => void lines.push(JSON.parse(l)) });
    const again = await openRuntime(config, { logger });
    try {
      expect(again.applied).toEqual(['017-unicode-domains']);
      const warning = lines.find((l) => l.level === 40 && String(l.msg).includes('xn--'));
      expect(warning, JSON.stringify(lines)).toBeDefined();
      expect(warning?.users).toEqual([{ id: twin.id, email: 'ann@xn--mller-kva.example' }]);
      expect(String(warning?.msg)).toMatch(/^1 account\(s\) keep an email .* sesame users delete ID\)$/);
      expect((await again.storage.users.get(zoe.id))?.email).toBe('zoe@b\u00fccher.example');
      expect((await again.storage.users.get(ann.id))?.email).toBe('ann@m\u00fcller.example');
    } finally {
      await again.storage.close();
    }
  });
});
