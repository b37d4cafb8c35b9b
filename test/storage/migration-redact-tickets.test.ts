import type { Kysely } from 'kysely';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { sqliteFile } from '../../src/storage/sql/index.js';
import { migrations } from '../../src/storage/sql/migrations/index.js';
import { openPostgres } from '../../src/storage/sql/postgres.js';
import type { Database } from '../../src/storage/sql/schema.js';
import { openSqlite } from '../../src/storage/sql/sqlite.js';
import { createTestDatabase, describeEachBackend, type TestDatabase } from '../support/databases.js';

/** Migration 014 scrubs ticket links that earlier log events of the Management API had kept. */
describeEachBackend('migration 014: ticket links in stored log events', (backend) => {
  let db: TestDatabase;
  let raw: Kysely<Database>;
  beforeAll(async () => {
    db = await createTestDatabase(backend);
    const file = sqliteFile({ databaseUrl: db.url, dataDir: db.dataDir });
    raw = (file === null ? openPostgres(db.url, 1) : openSqlite(file)) as Kysely<Database>;
  });
  afterAll(async () => {
    await raw?.destroy();
    await db?.drop();
  });

  it('replaces the ticket of each stored ticket event with [redacted]; nothing else changes', async () => {
    const index = migrations.findIndex((m) => m.name === '014-redact-tickets');
    expect(index).toBeGreaterThan(0);
    for (const m of migrations.slice(0, index)) await m.up(raw);
    const link = 'https://id.example/u/reset-password?ticket=live-secret-ticket-value';
    const row = (logId: string, description: string, details: unknown) => ({
      log_id: logId,
      date: 1,
      type: 'sapi',
      description,
      details: JSON.stringify(details),
    });
    const ticketDetails = (path: string) => ({
      request: { method: 'POST', path, body: { user_id: 'usr_1' } },
      response: { statusCode: 201, body: { ticket: link } },
    });
    const other = {
      request: { method: 'POST', path: '/api/v2/roles' },
      response: { statusCode: 200, body: { ticket: 'kept' } },
    };
    await raw
      .insertInto('logs')
      .values([
        row(
          'a',
          'Success API operation: POST /api/v2/tickets/password-change',
          ticketDetails('/api/v2/tickets/password-change'),
        ),
        row(
          'b',
          'Success API operation: POST /api/v2/tickets/email-verification',
          ticketDetails('/api/v2/tickets/email-verification'),
        ),
        row('c', 'Success API operation: POST /api/v2/roles', other),
        row('d', 'Success API operation: POST /api/v2/tickets/password-change', 'not an object'),
      ])
      .execute();
    await migrations[index]!.up(raw);
    const after = new Map(
      (await raw.selectFrom('logs').select(['log_id', 'details']).execute()).map((r) => [
        r.log_id,
        JSON.parse(r.details),
      ]),
    );
    for (const id of ['a', 'b']) expect(after.get(id).response.body).toEqual({ ticket: '[redacted]' });
    expect(after.get('a').request.body).toEqual({ user_id: 'usr_1' });
    expect(after.get('c')).toEqual(other);
    expect(after.get('d')).toBe('not an object');
  });
});
