// JSON bodies that no Management API field may hold, whatever the route: nesting deep enough to
// exhaust a recursive walk, lone UTF-16 surrogates (not storable as UTF-8: two distinct names
// became one), and prototype keys hidden behind JSON escapes; and the audit event's body cap
// when the body has no Content-Length.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { redact } from '../../src/events/redact.js';
import { startTestApp, type TestApp } from '../support/app.js';
import { describeEachBackend } from '../support/databases.js';
import {
  type Call,
  caller,
  expectError,
  expectStatus,
  type ManagementCredentials,
  managementToken,
  managementUrl,
  toAnswer,
  unique,
} from './support.js';

const CONNECTION = 'Username-Password-Authentication';
const nested = (depth: number, open = '[', close = ']') => `${open.repeat(depth)}${close.repeat(depth)}`;

describeEachBackend('Management API: hostile JSON bodies', (backend) => {
  let t: TestApp;
  let admin: ManagementCredentials;
  let call: Call;

  beforeAll(async () => {
    t = await startTestApp(backend);
    admin = await managementToken(t);
    call = caller(t, admin.token);
  });
  afterAll(async () => t?.close());

  const newUser = (extra: string) =>
    `{"connection":"${CONNECTION}","email":"${unique('deep')}@bodies.test","password":"a long enough password",${extra}}`;

  describe('duplicate keys', () => {
    it('a key twice in one object → 400 naming it, and nothing is made (JSON.parse would keep the last)', async () => {
      const [first, second] = [unique('first'), unique('second')];
      const answer = await call('POST', '/roles', { body: `{"name":"${first}","name":"${second}"}` });
      expectError(answer, 400, 'invalid_body');
      expect(answer.body.message).toBe('Payload validation error: name: the key appears twice in one object');
      for (const name of [first, second]) {
        const listed = await call('GET', '/roles', { query: { name_filter: name } });
        expect(listed.body).toEqual([]);
      }
      const nested = await call('POST', '/users', {
        body: newUser('"app_metadata":{"plan":"a","plan":"b"}'),
      });
      expectError(nested, 400, 'invalid_body');
      expect(nested.body.message).toContain('app_metadata.plan: the key appears twice');
    });
  });

  describe('content codings', () => {
    it('a body with a Content-Encoding Sesame does not decode → 415 naming it, and nothing is made', async () => {
      for (const coding of ['gzip', 'x-bogus', 'br, gzip']) {
        const name = unique('coded');
        const answer = await call('POST', '/roles', {
          body: JSON.stringify({ name }),
          headers: { 'content-encoding': coding },
        });
        expectError(answer, 415, 'unsupported_media_type');
        expect(answer.body.message).toContain(`Content-Encoding ${coding} is not supported`);
        expect(answer.headers.get('accept-encoding')).toBe('identity');
        const listed = await call('GET', '/roles', { query: { name_filter: name } });
        expect(listed.body).toEqual([]);
      }
      // a request without a body has nothing coded: the header changes nothing
      const read = await call('GET', '/roles', { headers: { 'content-encoding': 'gzip' } });
      expectStatus(read, 200);
      // identity is no coding at all
      const plain = await call('POST', '/roles', {
        body: JSON.stringify({ name: unique('plain') }),
        headers: { 'content-encoding': 'identity' },
      });
      expectStatus(plain, 200);
    });
  });

  describe('nesting', () => {
    it('arrays 20,000 deep beside a word the prototype check looks for → 400, not a stack overflow', async () => {
      const body = `{"description":"prototype","x":${nested(20_000)}}`;
      const answer = await call('PATCH', '/roles/rol_sesame_admin', { body });
      expectError(answer, 400, 'invalid_body');
      expect(answer.body.message).toContain('nested deeper than 32 levels');
    });

    it.each([
      ['arrays', 3_000, '[', ']'],
      ['objects', 5_000, '{"a":', '}'],
    ])('app_metadata with %s %i deep → 400, and no user is made', async (_kind, depth, open, close) => {
      const email = `${unique('deep')}@bodies.test`;
      const body = newUser(`"app_metadata":{"a":${nested(depth, open, close)}}`).replace(
        /"email":"[^"]+"/,
        `"email":"${email}"`,
      );
      expectError(await call('POST', '/users', { body }), 400, 'invalid_body');
      const found = await call('GET', '/users-by-email', { query: { email } });
      expectStatus(found, 200);
      expect(found.body).toEqual([]);
    });

    it('32 levels are fine (user_metadata)', async () => {
      const body = newUser(`"user_metadata":{"a":${nested(30)}}`);
      expectStatus(await call('POST', '/users', { body }), 201);
    });
  });

  describe('lone surrogates', () => {
    it('an API identifier with a lone surrogate → 400, and two of them cannot become one audience', async () => {
      const before = (await call('GET', '/resource-servers')).body.length;
      for (const s of ['\\ud800', '\\udfff']) {
        const answer = await call('POST', '/resource-servers', {
          body: `{"identifier":"urn:s${s}","name":"S"}`,
        });
        expectError(answer, 400, 'invalid_body');
        expect(answer.body.message).toContain('lone surrogate');
      }
      expect((await call('GET', '/resource-servers')).body).toHaveLength(before);
    });

    it('a role name or a metadata key with one → 400; a real pair (an emoji) is fine', async () => {
      expectError(await call('POST', '/roles', { body: '{"name":"q\\udbff"}' }), 400, 'invalid_body');
      expectError(
        await call('POST', '/users', { body: newUser('"user_metadata":{"k\\ud800":1}') }),
        400,
        'invalid_body',
      );
      const pair = await call('POST', '/roles', { body: `{"name":"${unique('sushi')} \\ud83c\\udf63"}` });
      expectStatus(pair, 200);
      expect(pair.body.name).toContain('🍣');
    });
  });

  describe('prototype keys behind JSON escapes', () => {
    it.each(['\\u005f_proto__', '\\u0063onstructor', 'proto\\u0074ype'])(
      'app_metadata key %s → 400 key not allowed, and no user is made',
      async (key) => {
        const email = `${unique('proto')}@bodies.test`;
        const body = `{"connection":"${CONNECTION}","email":"${email}","password":"a long enough password","app_metadata":{"${key}":{"isAdmin":true},"k":1}}`;
        const answer = await call('POST', '/users', { body });
        expectError(answer, 400, 'invalid_body');
        expect(answer.body.message).toContain('key not allowed');
        expect((await call('GET', '/users-by-email', { query: { email } })).body).toEqual([]);
      },
    );
  });

  describe("metadata keys with . or $ (Auth0's rule)", () => {
    it('are refused on a creation and a change, at any depth; a key sent as null may still be removed', async () => {
      const email = `${unique('dots')}@bodies.test`;
      const base = { connection: CONNECTION, email, password: 'a long enough password' };
      const nested = [{ ok: { 'inner.key': 1 } }, { ok: { 'inner.key': null } }];
      for (const metadata of [{ 'preference.color': 'pink' }, { $x: 1 }, ...nested]) {
        const answer = await call('POST', '/users', { body: { ...base, user_metadata: metadata } });
        expectError(answer, 400, 'invalid_body');
        expect(answer.body.message).toMatch(/must not contain \. or \$/);
      }
      expect((await call('GET', '/users-by-email', { query: { email } })).body).toEqual([]);
      const made = await call('POST', '/users', { body: { ...base, app_metadata: { plan: 'gold' } } });
      expectStatus(made, 201);
      const path = `/users/${encodeURIComponent(made.body.user_id)}`;
      expectError(await call('PATCH', path, { body: { app_metadata: { 'a.b': 1 } } }), 400, 'invalid_body');
      const removal = await call('PATCH', path, { body: { app_metadata: { 'a.b': null, tier: 2 } } });
      expectStatus(removal, 200);
      expect(removal.body.app_metadata).toEqual({ plan: 'gold', tier: 2 });
    });
  });

  describe('the audit event of a write', () => {
    it('keeps no body over 8 KiB, also one streamed without Content-Length', async () => {
      const name = 'A'.repeat(60_000);
      const chunk = new TextEncoder().encode(`{"name":"${name}"}`);
      const stream = new ReadableStream<Uint8Array>({
        start(controller) {
          controller.enqueue(chunk);
          controller.close();
        },
      });
      await t.rt.events.flush();
      const res = await t.fetch(managementUrl(t, '/roles'), {
        method: 'POST',
        headers: { authorization: `Bearer ${admin.token}`, 'content-type': 'application/json' },
        body: stream,
        duplex: 'half',
      } as RequestInit);
      expect(res.headers.get('content-length')).toBeNull();
      expectError(await toAnswer(res), 400, 'invalid_body');
      await t.rt.events.flush();
      const [event] = await t.rt.storage.logs.list({ types: ['fapi'] }, { offset: 0, limit: 1 });
      expect(event?.details).toMatchObject({
        request: { method: 'POST', path: '/api/v2/roles', body: '[too large to keep]' },
      });
      expect(JSON.stringify(event?.details)).not.toContain(name.slice(0, 9000));
    });
  });
});

describe('redact', () => {
  it('cuts nesting of arrays as of objects (an event is never too deep to store)', () => {
    let deep: unknown = 'leaf';
    for (let i = 0; i < 5_000; i++) deep = [deep];
    const out = redact({ a: deep });
    expect(() => JSON.stringify(out)).not.toThrow();
    expect(JSON.stringify(out).length).toBeLessThan(100);
  });
});
