import { expect, it } from 'vitest';
import { describeEachBackend } from '../support/databases.js';
import { migrationDatabase, upTo } from './migration-fixture.js';

/** Migration 014 scrubs ticket links that earlier log events of the Management API had kept. */
describeEachBackend('migration 014: ticket links in stored log events', (backend) => {
  const env = migrationDatabase(backend);

  it('replaces the ticket of each stored ticket event with [redacted]; nothing else changes', async () => {
    const raw = env.raw();
    const migration = await upTo(raw, '014-redact-tickets');
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
    await migration.up(raw);
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
