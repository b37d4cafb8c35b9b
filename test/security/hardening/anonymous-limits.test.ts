// Issue #14 §8 (second half): anyone could make Sesame store rows without signing in — each
// GET /authorize that shows the login page stores an interaction, each POST /oauth/device/code a
// device code — as fast as they could send requests. Each client address (IPv6 per /64, behind
// SESAME_TRUSTED_PROXIES the forwarded client) now has a budget per clock minute:
// `session.interactionsPerMinute` interactions (default 60) and `device.codesPerMinute` device
// codes (default 20). Over it, /authorize answers a 429 page and /oauth/device/code a 429
// temporarily_unavailable, both with Retry-After, and nothing is stored; the budget starts again
// when the minute turns. In-process requests get their socket address through the Node server's
// `incoming` (as @hono/node-server passes it).
import { type Kysely, sql } from 'kysely';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { loadConfig } from '../../../src/config/load.js';
import { createServer } from '../../../src/server.js';
import { sqliteFile } from '../../../src/storage/sql/index.js';
import { openPostgres } from '../../../src/storage/sql/postgres.js';
import type { Database } from '../../../src/storage/sql/schema.js';
import { openSqlite } from '../../../src/storage/sql/sqlite.js';
import { deviceRequest } from '../../protocol/device/device.js';
import { inInteraction, UserAgent } from '../../protocol/sign-in/agent.js';
import { CALLBACK, webAuthorizationUrl, webConfig } from '../../protocol/sign-in/fixtures.js';
import { startTestApp, type TestApp } from '../../support/app.js';
import { describeEachBackend } from '../../support/databases.js';

const INTERACTIONS = 3;
const DEVICE_CODES = 2;
const PROXY = '10.0.0.1';

describe('hardening: the per-address budgets default to 60 sign-ins and 20 device codes a minute (#14 §8)', () => {
  it('session.interactionsPerMinute is 60 and device.codesPerMinute 20 unless configured', () => {
    const config = loadConfig({});
    expect(config.session.interactionsPerMinute).toBe(60);
    expect(config.device.codesPerMinute).toBe(20);
  });
});

describeEachBackend(
  'hardening: per-address budgets for interactions and device codes (#14 §8)',
  (backend) => {
    let t: TestApp;
    let db: Kysely<Database>;
    let server: ReturnType<typeof createServer>;
    let authorizeUrl: () => Promise<URL>;
    let tv: { clientId: string };

    beforeAll(async () => {
      t = await startTestApp(backend, {
        session: { interactionsPerMinute: INTERACTIONS },
        device: { codesPerMinute: DEVICE_CODES },
        trustedProxies: [`${PROXY}/32`],
      });
      const file = sqliteFile(t.rt.config);
      db = file === null ? openPostgres(t.rt.config.databaseUrl as string, 2) : openSqlite(file);
      server = createServer(t.rt);
      const web = await t.createApp({ name: 'Web', type: 'web', callbacks: [CALLBACK] });
      const config = await webConfig(t, web);
      authorizeUrl = async () => (await webAuthorizationUrl(config)).url;
      tv = await t.createApp({ name: 'TV', type: 'native' });
    });
    afterAll(async () => {
      await db?.destroy();
      await t?.close();
    });

    // Each test starts at the first second of a clock minute, with every budget whole.
    beforeEach(() => {
      t.clock.advance(60 - (t.clock.now() % 60));
    });

    /** Sesame as reached from socket address `ip`, with `headers` as the Node server sees them. */
    function from(ip: string, headers: Record<string, string> = {}): TestApp {
      const env = { incoming: { socket: { remoteAddress: ip }, headers } };
      const fetch = async (input: string | URL | Request, init?: RequestInit) => {
        const req = input instanceof Request && !init ? input : new Request(input, init);
        for (const [k, v] of Object.entries(headers)) req.headers.set(k, v);
        return server.fetch(req, env);
      };
      return { ...t, fetch };
    }

    const interactions = async () =>
      Number(
        (await sql<{ n: number | string }>`select count(*) as n from interactions`.execute(db)).rows[0]?.n,
      );
    const deviceCodes = async () =>
      Number(
        (await sql<{ n: number | string }>`select count(*) as n from device_codes`.execute(db)).rows[0]?.n,
      );

    /** A new browser (no cookies) at `where` opens an authorization request. */
    const authorize = async (where: TestApp) => new UserAgent(where).get(await authorizeUrl());

    /** Asserts that the login page was started: 303 to /u/login. */
    function expectLoginPage(res: Response, what: string) {
      expect([res.status, res.headers.get('location')], what).toEqual([303, inInteraction('/u/login')]);
    }

    /** Asserts the 429 page: HTML, Retry-After until the minute turns, no redirect, no interaction cookie. */
    async function expectTooMany(res: Response, what: string) {
      const html = await res.text();
      expect(res.status, `${what}: ${html.slice(0, 300)}`).toBe(429);
      expect(res.headers.get('location')).toBeNull();
      expect(res.headers.get('content-type')).toMatch(/^text\/html/);
      expect(res.headers.get('retry-after')).toBe(String(60 - (t.clock.now() % 60)));
      expect(res.headers.getSetCookie().join('\n')).not.toMatch(/interaction/);
    }

    /** Spends the interaction budget of `where`. */
    async function spend(where: TestApp) {
      for (let i = 0; i < INTERACTIONS; i++) expectLoginPage(await authorize(where), `sign-in ${i + 1}`);
    }

    describe('GET /authorize', () => {
      it('an address may start interactionsPerMinute sign-ins a minute; then 429 with Retry-After, and nothing is stored', async () => {
        const client = from('198.51.100.1');
        const before = await interactions();
        await spend(client);
        expect(await interactions()).toBe(before + INTERACTIONS);
        for (let i = 0; i < 10; i++)
          await expectTooMany(await authorize(client), `sign-in over the budget ${i}`);
        // the interactions table did not grow past the budget
        expect(await interactions()).toBe(before + INTERACTIONS);
      });

      it('the budget starts again when the clock minute turns, not before', async () => {
        const client = from('198.51.100.2');
        await spend(client);
        await expectTooMany(await authorize(client), 'over the budget');
        t.clock.advance(59);
        await expectTooMany(await authorize(client), 'a second before the minute turns');
        t.clock.advance(1);
        const before = await interactions();
        await spend(client);
        expect(await interactions()).toBe(before + INTERACTIONS);
        await expectTooMany(await authorize(client), 'over the new minute’s budget');
      });

      it('another address is not affected; IPv6 addresses are counted per /64', async () => {
        await spend(from('2001:db8:1:2::1'));
        await expectTooMany(await authorize(from('2001:db8:1:2::1')), 'the same address');
        await expectTooMany(await authorize(from('2001:db8:1:2:ffff:ffff:ffff:ffff')), 'the same /64');
        expectLoginPage(await authorize(from('2001:db8:1:3::1')), 'another /64');
        expectLoginPage(await authorize(from('198.51.100.3')), 'an IPv4 address');
      });

      it('behind a trusted proxy each forwarded client has its own budget; an untrusted peer cannot choose one', async () => {
        const viaProxy = (client: string) => from(PROXY, { 'x-forwarded-for': client });
        await spend(viaProxy('203.0.113.1'));
        await expectTooMany(await authorize(viaProxy('203.0.113.1')), 'the forwarded client over its budget');
        expectLoginPage(await authorize(viaProxy('203.0.113.2')), 'another client through the same proxy');
        expectLoginPage(await authorize(from(PROXY)), 'the proxy itself');

        // a peer that is not a trusted proxy: its own address counts, whatever it forwards
        const spoofer = '198.51.100.4';
        for (let i = 0; i < INTERACTIONS; i++) {
          expectLoginPage(
            await authorize(from(spoofer, { 'x-forwarded-for': `192.0.2.${i + 1}` })),
            `spoof ${i}`,
          );
        }
        await expectTooMany(
          await authorize(from(spoofer, { 'x-forwarded-for': '192.0.2.99' })),
          'spoofed again',
        );
      });
    });

    describe('POST /oauth/device/code', () => {
      const ask = (where: TestApp) => deviceRequest(where, { client_id: tv.clientId, scope: 'openid' });

      /** Asserts RFC 6749's temporarily_unavailable with status 429 and Retry-After until the minute turns. */
      function expectTooMany(answer: Awaited<ReturnType<typeof ask>>, what: string) {
        expect([answer.status, answer.body.error], `${what}: ${JSON.stringify(answer.body)}`).toEqual([
          429,
          'temporarily_unavailable',
        ]);
        expect(answer.headers.get('content-type')).toMatch(/^application\/json/);
        expect(answer.headers.get('retry-after')).toBe(String(60 - (t.clock.now() % 60)));
        expect(answer.body.device_code).toBeUndefined();
      }

      it('an address may ask for codesPerMinute device codes a minute; then 429, and nothing is stored', async () => {
        const device = from('198.51.100.10');
        const before = await deviceCodes();
        for (let i = 0; i < DEVICE_CODES; i++) {
          const answer = await ask(device);
          expect(answer.status, JSON.stringify(answer.body)).toBe(200);
        }
        for (let i = 0; i < 5; i++) expectTooMany(await ask(device), `device code over the budget ${i}`);
        expect(await deviceCodes()).toBe(before + DEVICE_CODES);
      });

      it('another address is not affected, and the budget starts again when the minute turns', async () => {
        const device = from('2001:db8:9:9::1');
        for (let i = 0; i < DEVICE_CODES; i++) expect((await ask(device)).status).toBe(200);
        expectTooMany(await ask(from('2001:db8:9:9::2')), 'the same /64');
        expect((await ask(from('2001:db8:9:a::1'))).status).toBe(200);
        expect((await ask(from('198.51.100.11'))).status).toBe(200);
        t.clock.advance(30);
        expectTooMany(await ask(device), 'half a minute later');
        t.clock.advance(30);
        expect((await ask(device)).status).toBe(200);
      });

      it('the device-code budget and the sign-in budget are apart', async () => {
        const both = from('198.51.100.12');
        for (let i = 0; i < DEVICE_CODES; i++) expect((await ask(both)).status).toBe(200);
        expectTooMany(await ask(both), 'over the device-code budget');
        await spend(both);
      });
    });
  },
);
