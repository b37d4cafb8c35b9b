// POST /api/v2/users with verify_email: true makes the user and queues the verification email in
// one transaction: when the email cannot be queued, there is no user either, so the same request
// sent again succeeds (it was a 500 with the user saved, and then a 409 for ever). The failure is
// real: a trigger on the outbox table, made through a second connection to the SQLite file.
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from '../support/app.js';
import { type Call, caller, managementToken } from './support.js';

describe('POST /users with verify_email: the user and the email, both or neither', () => {
  let t: TestApp;
  let call: Call;
  let db: Database.Database;

  beforeAll(async () => {
    t = await startTestApp('sqlite');
    call = caller(t, (await managementToken(t)).token);
    db = new Database((t.rt.config.databaseUrl ?? '').slice('sqlite:'.length));
  });
  afterAll(async () => {
    db?.close();
    await t?.close();
  });

  it('no outbox row, no user; once the outbox takes rows again the same request makes both', async () => {
    const body = {
      connection: 'Username-Password-Authentication',
      email: 'verify-me@example.com',
      password: 'a long enough password',
      verify_email: true,
    };
    db.exec(
      `CREATE TRIGGER refuse_mail BEFORE INSERT ON outbox BEGIN SELECT RAISE(ABORT, 'mail refused'); END`,
    );
    const failed = await call('POST', '/users', { body });
    expect(failed.status, failed.text).toBeGreaterThanOrEqual(500);
    expect(await t.rt.storage.users.getByEmail(body.email)).toBeNull();

    db.exec('DROP TRIGGER refuse_mail');
    const created = await call('POST', '/users', { body });
    expect(created.status, created.text).toBe(201);
    const outbox = db.prepare('SELECT count(*) AS n FROM outbox WHERE to_address = ?').get(body.email) as {
      n: number;
    };
    expect(outbox.n).toBe(1);
  });
});
