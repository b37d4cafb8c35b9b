import { afterAll, beforeAll, expect, it } from 'vitest';
import type { LogEvent } from '../../src/storage/types.js';
import { startTestApp, type TestApp } from '../support/app.js';
import { describeEachBackend } from '../support/databases.js';
import { ALL_SCOPES, type Call, caller, expectError, expectStatus, managementToken } from './support.js';

const DAY = 86_400_000;
/** Noon UTC on 2026-11-20: "today" for these tests. */
const NOW = Date.UTC(2026, 10, 20, 12);

describeEachBackend('Management API: /stats', (backend) => {
  let t: TestApp;
  let call: Call;
  let seq = 0;

  const event = (type: string, at: number, userId?: string): LogEvent => ({
    logId: `${String(at).padStart(13, '0')}stats${String(++seq).padStart(6, '0')}`,
    date: at,
    type,
    description: type,
    details: {},
    ...(userId ? { userId } : {}),
  });

  beforeAll(async () => {
    t = await startTestApp(backend);
    t.clock.t = NOW / 1000;
    call = caller(t, (await managementToken(t)).token);
    const twoDaysAgo = NOW - 2 * DAY;
    await t.rt.storage.logs.insert([
      // two days ago: two sign-ins of two people, a sign-up, a wrong password, an API call
      event('s', twoDaysAgo - 3_600_000, 'usr_a'),
      event('s', twoDaysAgo + 3_600_000, 'usr_b'),
      event('ss', twoDaysAgo, 'usr_b'),
      event('fp', twoDaysAgo + 7_200_000, 'usr_a'),
      event('sapi', twoDaysAgo + 9_000_000),
      // today: usr_a again, an unknown user, a locked account; the password grant's sign-in of
      // usr_d (counted, as logins_count counts it) and a refused request (any refusal: not counted)
      event('s', NOW - 60_000, 'usr_a'),
      event('fu', NOW - 50_000),
      event('limit_wc', NOW - 40_000, 'usr_c'),
      event('sepft', NOW - 30_000, 'usr_d'),
      event('fepft', NOW - 20_000, 'usr_d'),
      event('seccft', NOW - 10_000),
      // 40 days ago: outside the default range and the active users' 30 days
      event('s', NOW - 40 * DAY, 'usr_old'),
      event('ss', NOW - 40 * DAY, 'usr_old'),
    ]);
  });
  afterAll(async () => t?.close());

  it('GET /stats/daily: the last 30 days up to today, oldest first, every day present, counted from the log', async () => {
    const answer = await call('GET', '/stats/daily');
    expectStatus(answer, 200);
    const days = answer.body as Record<string, unknown>[];
    expect(days).toHaveLength(30);
    expect(days[0]!.date).toBe('2026-10-22T00:00:00.000Z');
    expect(days[29]!.date).toBe('2026-11-20T00:00:00.000Z');
    const twoDaysAgo = days.find((d) => d.date === '2026-11-18T00:00:00.000Z');
    expect(twoDaysAgo).toEqual({
      date: '2026-11-18T00:00:00.000Z',
      logins: 2,
      signups: 1,
      leaked_passwords: 0,
      failed_logins: 1,
      created_at: '2026-11-18T11:00:00.000Z',
      updated_at: '2026-11-18T14:00:00.000Z',
    });
    expect(days[29]).toMatchObject({ logins: 2, signups: 0, failed_logins: 2 });
    // a day without events has only the counts
    expect(days[28]).toEqual({
      date: '2026-11-19T00:00:00.000Z',
      logins: 0,
      signups: 0,
      leaked_passwords: 0,
      failed_logins: 0,
    });
    const sum = (k: string) => days.reduce((n, d) => n + (d[k] as number), 0);
    expect([sum('logins'), sum('signups'), sum('failed_logins')]).toEqual([4, 1, 3]);
  });

  it('from and to (YYYYMMDD, both included); days after today are left out', async () => {
    const range = await call('GET', '/stats/daily', { query: { from: '20261010', to: '20261018' } });
    expectStatus(range, 200);
    expect(range.body).toHaveLength(9);
    expect(range.body[1]).toMatchObject({ date: '2026-10-11T00:00:00.000Z', logins: 1, signups: 1 });
    const ahead = await call('GET', '/stats/daily', { query: { from: '20261118', to: '20261231' } });
    expect(ahead.body.map((d: { date: string }) => d.date.slice(0, 10))).toEqual([
      '2026-11-18',
      '2026-11-19',
      '2026-11-20',
    ]);
    const future = await call('GET', '/stats/daily', { query: { from: '20261201', to: '20261202' } });
    expect(future.body).toEqual([]);
    const one = await call('GET', '/stats/daily', { query: { from: '20261118', to: '20261118' } });
    expect(one.body).toHaveLength(1);
  });

  it('refuses a malformed day, a range backwards or longer than 366 days: 400 invalid_query_string', async () => {
    for (const query of <Record<string, string>[]>[
      { from: '2026-11-01' },
      { to: '20261301' },
      { from: '20260230' },
      { from: 'yesterday' },
      { from: '20261120', to: '20261119' },
      { from: '20251119', to: '20261120' },
    ]) {
      const answer = await call('GET', '/stats/daily', { query });
      expectError(answer, 400, 'invalid_query_string');
    }
    const longest = await call('GET', '/stats/daily', { query: { from: '20251120', to: '20261120' } });
    expectStatus(longest, 200);
    expect(longest.body).toHaveLength(366);
  });

  it('GET /stats/active-users: how many different people signed in during the last 30 days', async () => {
    const answer = await call('GET', '/stats/active-users');
    expectStatus(answer, 200);
    expect(answer.body).toBe(3);
  });

  it('needs read:stats', async () => {
    const others = ALL_SCOPES.filter((s) => s !== 'read:stats');
    const without = caller(t, (await managementToken(t, others)).token);
    expectError(await without('GET', '/stats/daily'), 403, 'insufficient_scope');
    expectError(await without('GET', '/stats/active-users'), 403, 'insufficient_scope');
  });
});
