import { expect, it } from 'vitest';
import { describeEachBackend } from '../support/databases.js';
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
