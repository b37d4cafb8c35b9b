import pg from 'pg';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { createAdmin } from '../../src/admin/console.js';
import type { User } from '../../src/storage/types.js';
import { startTestApp, type TestApp } from '../support/app.js';
import { describeEachBackend } from '../support/databases.js';
import { type Call, caller, expectError, expectStatus, managementToken, unique } from './support.js';

/*
 * PATCH /users/{id} by a caller weaker than the person (src/management/delegation.ts): an email or
 * a block sent back as it is takes nothing over, so it passes without the peer check; the change
 * then holds only while both stay as read. One that changed meanwhile (another admin's write,
 * committed while this one waited for the row) makes it a 409, never a way past the check.
 */
describeEachBackend('Management API: a weaker caller sending back what is there', (backend) => {
  let t: TestApp;
  let weak: Call;
  let strong: User;
  const path = () => `/users/${encodeURIComponent(strong.id)}`;
  beforeAll(async () => {
    t = await startTestApp(backend);
    weak = caller(t, (await managementToken(t, ['update:users', 'read:users'])).token);
    strong = await createAdmin(t.rt.storage, t.clock, {
      email: `${unique('admin')}@example.com`,
      password: 'x'.repeat(12),
    });
  });
  afterAll(async () => t?.close());

  it('an unchanged email or block passes; a changed one is refused (403)', async () => {
    const same = await weak('PATCH', path(), {
      body: { email: strong.email.toUpperCase(), blocked: false, name: 'Kept As Is' },
    });
    expectStatus(same, 200);
    expect(same.body).toMatchObject({ email: strong.email, blocked: false, name: 'Kept As Is' });
    expectError(await weak('PATCH', path(), { body: { blocked: true } }), 403, 'insufficient_scope');
    expectError(
      await weak('PATCH', path(), { body: { email: `${unique('other')}@example.com` } }),
      403,
      'insufficient_scope',
    );
    expect(await t.rt.storage.users.get(strong.id)).toMatchObject({ email: strong.email, blocked: false });
  });

  it.runIf(backend === 'postgres')(
    'a block committed while the PATCH waits for the row makes it 409, and the block stands',
    async () => {
      const other = new pg.Client({ connectionString: t.rt.config.databaseUrl });
      await other.connect();
      try {
        // another admin blocks the person; not committed yet
        await other.query('begin');
        await other.query('update users set blocked = 1 where id = $1', [strong.id]);
        const patch = weak('PATCH', path(), { body: { blocked: false, name: 'Sneaked In' } });
        // until the PATCH waits for that row lock (it read the block as false, so it skipped the check)
        for (let tries = 0; ; tries++) {
          const { rows } = await other.query(
            // this database's sessions only: other test files share the server
            "select count(*)::int as n from pg_locks l join pg_stat_activity a using (pid) where not l.granted and l.locktype = 'transactionid' and a.datname = current_database()",
          );
          if (rows[0].n > 0) break;
          if (tries > 200) throw new Error('the PATCH never waited for the row');
          await new Promise((r) => setTimeout(r, 25));
        }
        await other.query('commit');
        const answer = await patch;
        expectError(answer, 409);
        expect(answer.body.message).toMatch(/changed/i);
      } finally {
        await other.end();
      }
      expect(await t.rt.storage.users.get(strong.id)).toMatchObject({
        blocked: true,
        claims: { name: 'Kept As Is' },
      });
    },
  );
});
