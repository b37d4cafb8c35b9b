import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from '../support/app.js';
import { describeEachBackend } from '../support/databases.js';
import {
  type Answer,
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

/** Never a 500: an answer below 500 whose body is the documented error shape when it is an error. */
function expectHandled(answer: Answer, what: string): void {
  expect(answer.status, `${what}: ${answer.status} ${answer.text.slice(0, 500)}`).toBeLessThan(500);
  if (answer.status >= 400) {
    expect(answer.body, `${what}: ${answer.text.slice(0, 500)}`).toEqual(
      expect.objectContaining({
        statusCode: answer.status,
        error: expect.any(String),
        message: expect.any(String),
      }),
    );
  }
}

describeEachBackend('Management API: hostile input', (backend) => {
  let t: TestApp;
  let admin: ManagementCredentials;
  let call: Call;
  let userId: string;
  let clientId: string;

  beforeAll(async () => {
    t = await startTestApp(backend);
    admin = await managementToken(t);
    call = caller(t, admin.token);
    const user = await call('POST', '/users', {
      body: {
        connection: CONNECTION,
        email: `${unique('target')}@hostile.test`,
        password: 'a long enough password',
      },
    });
    expectStatus(user, 201);
    userId = user.body.user_id;
    const app = await call('POST', '/clients', {
      body: { name: 'Target', callbacks: ['https://t.example/cb'] },
    });
    expectStatus(app, 201);
    clientId = app.body.client_id;
  });
  afterAll(async () => t?.close());

  describe('bodies of the wrong shape: 400 invalid_body naming the field', () => {
    it.each([
      ['POST', '/clients', { name: 123 }, 'name'],
      ['POST', '/clients', { name: 'ok', callbacks: 'https://a.example/cb' }, 'callbacks'],
      ['POST', '/clients', { name: 'ok', callbacks: [1, 2] }, 'callbacks'],
      ['POST', '/clients', { name: 'ok', is_first_party: 'yes' }, 'is_first_party'],
      ['POST', '/clients', { name: 'ok', app_type: 'mainframe' }, 'app_type'],
      ['POST', '/clients', { name: 'ok', client_metadata: { k: 5 } }, 'client_metadata'],
      ['POST', '/clients', { name: 'ok', jwt_configuration: { alg: 'none' } }, 'jwt_configuration'],
      ['POST', '/resource-servers', { identifier: 42, name: 'x' }, 'identifier'],
      [
        'POST',
        '/resource-servers',
        { identifier: 'https://a.example/', token_lifetime: '60' },
        'token_lifetime',
      ],
      ['POST', '/resource-servers', { identifier: 'https://b.example/', scopes: ['read'] }, 'scopes'],
      ['POST', '/users', { connection: CONNECTION, email: ['a@b.c'], password: 'long password' }, 'email'],
      ['POST', '/client-grants', { client_id: 'x', audience: 'https://a.example/', scope: 'read' }, 'scope'],
      ['PATCH', '/tenants/settings', { session_lifetime: 'forever' }, 'session_lifetime'],
      ['PATCH', '/tenants/settings', { signup_enabled: 'true' }, 'signup_enabled'],
    ] as const)('%s %s %j', async (method, path, body, field) => {
      const answer = await call(method, path, { body });
      expectError(answer, 400, 'invalid_body');
      expect(answer.body.message).toContain(field);
    });

    it('PATCH /users/{id} with wrong types names the field', async () => {
      for (const [body, field] of [
        [{ blocked: 'no' }, 'blocked'],
        [{ name: { first: 'x' } }, 'name'],
        [{ app_metadata: [1, 2] }, 'app_metadata'],
        [{ password: 12345678 }, 'password'],
      ] as const) {
        const answer = await call('PATCH', `/users/${userId}`, { body });
        expectError(answer, 400, 'invalid_body');
        expect(answer.body.message).toContain(field);
      }
    });

    it.each([
      ['POST', '/clients', { name: 'ok', bogus_field: 1 }, 'bogus_field'],
      [
        'POST',
        '/clients',
        { name: 'ok', jwt_configuration: { alg: 'RS256', lifetime_in_seconds: 1 } },
        'lifetime_in_seconds',
      ],
      ['PATCH', '/clients/{client}', { client_secret: 'mine' }, 'client_secret'],
      ['PATCH', '/clients/{client}', { client_id: 'other' }, 'client_id'],
      [
        'POST',
        '/resource-servers',
        { identifier: 'https://u.example/', name: 'u', is_system: true },
        'is_system',
      ],
      [
        'POST',
        '/users',
        { connection: CONNECTION, email: 'u@u.test', password: 'long password', password_hash: 'x' },
        'password_hash',
      ],
      ['PATCH', '/users/{user}', { user_id: 'usr_other' }, 'user_id'],
      ['PATCH', '/tenants/settings', { flags: { enable_everything: true } }, 'flags'],
    ] as const)('%s %s refuses an unknown field (%j)', async (method, path, body, field) => {
      const answer = await call(method, path.replace('{client}', clientId).replace('{user}', userId), {
        body,
      });
      expectError(answer, 400, 'invalid_body');
      expect(answer.body.message).toContain('unknown or unsupported field');
      expect(answer.body.message).toContain(field);
    });

    it('strings with a NUL character are refused or stored, never a 500', async () => {
      const failures: string[] = [];
      const nul = 'a\u0000b';
      for (const [method, path, body] of [
        ['POST', '/clients', { name: nul }],
        ['POST', '/clients', { name: 'ok', description: nul }],
        ['POST', '/clients', { name: 'ok', client_metadata: { k: nul } }],
        ['POST', '/resource-servers', { identifier: `https://nul.example/${nul}`, name: 'n' }],
        ['POST', '/resource-servers', { identifier: 'https://nul2.example/', name: nul }],
        ['POST', '/users', { connection: CONNECTION, email: `${nul}@nul.test`, password: 'long password' }],
        [
          'POST',
          '/users',
          { connection: CONNECTION, email: 'nul3@nul.test', password: 'long password', name: nul },
        ],
        ['PATCH', '/users/{user}', { user_metadata: { k: nul } }],
        ['PATCH', '/users/{user}', { app_metadata: { [nul]: 1 } }],
        ['PATCH', '/users/{user}', { nickname: nul }],
        ['PATCH', '/tenants/settings', { friendly_name: nul }],
        ['POST', '/client-grants', { client_id: nul, audience: 'https://a.example/', scope: [] }],
      ] as const) {
        const answer = await call(method, path.replace('{user}', userId), { body });
        if (answer.status >= 500)
          failures.push(`${method} ${path} ${JSON.stringify(body)} → ${answer.status}`);
      }
      expect(failures).toEqual([]);
    });

    it('refuses a JSON body that is not UTF-8, storing nothing (it was kept with U+FFFD)', async () => {
      const email = `latin1-${Math.random().toString(36).slice(2)}@example.com`;
      const bytes = Buffer.concat([
        Buffer.from(
          `{"email":"${email}","password":"correct horse battery","connection":"${CONNECTION}","name":"Ren`,
        ),
        Buffer.from([0xe9]),
        Buffer.from('e"}'),
      ]);
      const res = await t.fetch(`${t.issuer}/api/v2/users`, {
        method: 'POST',
        headers: { authorization: `Bearer ${admin.token}`, 'content-type': 'application/json' },
        body: bytes,
      });
      expectError(await toAnswer(res), 400, 'invalid_body');
      expect(await t.rt.storage.users.getByEmail(email)).toBeNull();
      // the same in UTF-8 is fine
      const ok = await call('POST', '/users', {
        body: { email, password: 'correct horse battery', connection: CONNECTION, name: 'Ren\u00e9e' },
      });
      expect(ok.status).toBe(201);
      expect(ok.body.name).toBe('Ren\u00e9e');
    });

    it('refuses a body that is not an object', async () => {
      for (const body of ['[]', '"name"', '42', 'null', 'true']) {
        const answer = await call('POST', '/clients', { body });
        expectError(answer, 400, 'invalid_body');
      }
    });
  });

  describe('prototype pollution', () => {
    const bodies: [string, string, string][] = [
      ['POST', '/clients', '{"__proto__": {"x":1}}'],
      ['PATCH', '/users/{user}', '{"constructor": {"x":1}}'],
      ['POST', '/clients', '{"name":"p1","__proto__":{"polluted":1}}'],
      ['POST', '/clients', '{"__proto__":{"polluted":1}}'],
      ['POST', '/clients', '{"name":"p2","constructor":{"prototype":{"polluted":1}}}'],
      ['POST', '/clients', '{"name":"p3","client_metadata":{"__proto__":{"polluted":"1"}}}'],
      ['POST', '/clients', '{"name":"p4","client_metadata":{"constructor":"x"}}'],
      ['POST', '/clients', '{"name":"p5","jwt_configuration":{"alg":"RS256","__proto__":{"polluted":1}}}'],
      [
        'POST',
        '/users',
        `{"connection":"${CONNECTION}","email":"pp1@hostile.test","password":"long password","app_metadata":{"__proto__":{"polluted":1}}}`,
      ],
      [
        'POST',
        '/users',
        `{"connection":"${CONNECTION}","email":"pp2@hostile.test","password":"long password","user_metadata":{"a":{"constructor":{"prototype":{"polluted":1}}}}}`,
      ],
      ['PATCH', '/users/{user}', '{"__proto__":{"polluted":1}}'],
      ['PATCH', '/users/{user}', '{"user_metadata":{"__proto__":{"polluted":1}}}'],
      ['PATCH', '/users/{user}', '{"app_metadata":{"nested":{"__proto__":{"polluted":1}}}}'],
      ['PATCH', '/tenants/settings', '{"__proto__":{"polluted":1}}'],
      [
        'POST',
        '/resource-servers',
        '{"identifier":"https://pp.example/","name":"pp","constructor":{"polluted":1}}',
      ],
      [
        'POST',
        '/client-grants',
        '{"client_id":"x","audience":"https://a.example/","scope":[],"__proto__":{"polluted":1}}',
      ],
    ];

    it.each(bodies)('%s %s %s: 400, and nothing is polluted', async (method, path, body) => {
      const answer = await call(method, path.replace('{user}', userId), { body });
      expectError(answer, 400, 'invalid_body');
      expect(({} as Record<string, unknown>).x).toBeUndefined();
      expect(({} as Record<string, unknown>).polluted).toBeUndefined();
      expect((Object.prototype as Record<string, unknown>).polluted).toBeUndefined();
    });

    it('stored nothing from the refused requests', async () => {
      const clients = await call('GET', '/clients', { query: { per_page: 100 } });
      expect(clients.body.map((c: { name: string }) => c.name)).not.toEqual(
        expect.arrayContaining([expect.stringMatching(/^p\d$/)]),
      );
      const user = await call('GET', `/users/${userId}`);
      expect(JSON.stringify(user.body)).not.toContain('polluted');
      const settings = await call('GET', '/tenants/settings');
      expect(JSON.stringify(settings.body)).not.toContain('polluted');
    });
  });

  describe('sizes', () => {
    it('refuses 100 000 callbacks with a 4xx, not a 500', async () => {
      const callbacks = Array.from({ length: 100_000 }, (_, i) => `https://a.example/cb${i}`);
      const answer = await call('POST', '/clients', { body: { name: 'Huge', callbacks } });
      expect(answer.status, answer.text.slice(0, 300)).toBeGreaterThanOrEqual(400);
      expect(answer.status).toBeLessThan(500);
    });

    it('refuses a long array that fits in the body limit with 400', async () => {
      const callbacks = Array.from({ length: 2000 }, (_, i) => `https://a.co/${i}`);
      expect(JSON.stringify(callbacks).length).toBeLessThan(60_000);
      const answer = await call('POST', '/clients', { body: { name: 'Long', callbacks } });
      expectError(answer, 400, 'invalid_body');
      expect(answer.body.message).toContain('callbacks');
      const scopes = Array.from({ length: 1500 }, (_, i) => ({ value: `s${i}`, description: '' }));
      expect(JSON.stringify(scopes).length).toBeLessThan(60_000);
      const rs = await call('POST', '/resource-servers', {
        body: { identifier: 'https://many-scopes.example/', name: 'Many', scopes },
      });
      expect(rs.status).toBeGreaterThanOrEqual(400);
      expect(rs.status).toBeLessThan(500);
    });

    it('refuses a body over 64 KiB with 413', async () => {
      const answer = await call('POST', '/clients', {
        body: { name: 'Big', description: 'x'.repeat(70_000) },
      });
      expectError(answer, 413);
      const patch = await call('PATCH', `/users/${userId}`, {
        body: { user_metadata: { blob: 'y'.repeat(66_000) } },
      });
      expectError(patch, 413);
    });

    it('refuses a streamed body over 64 KiB without Content-Length with 413', async () => {
      const chunk = new TextEncoder().encode(`{"name":"Streamed","description":"${'z'.repeat(8_000)}`);
      let sent = 0;
      const stream = new ReadableStream<Uint8Array>({
        pull(controller) {
          if (sent++ < 10) controller.enqueue(chunk);
          else {
            controller.enqueue(new TextEncoder().encode('"}'));
            controller.close();
          }
        },
      });
      const res = await t.fetch(managementUrl(t, '/clients'), {
        method: 'POST',
        headers: { authorization: `Bearer ${admin.token}`, 'content-type': 'application/json' },
        body: stream,
        duplex: 'half',
      } as RequestInit);
      const answer = await toAnswer(res);
      expectError(answer, 413);
    });

    it('accepts a 16 KB body, well under the limit', async () => {
      const answer = await call('PATCH', `/users/${userId}`, {
        body: { user_metadata: { blob: 'k'.repeat(16_000) } },
      });
      expectStatus(answer, 200);
      expectStatus(await call('PATCH', `/users/${userId}`, { body: { user_metadata: { blob: null } } }), 200);
    });
  });

  describe('content types and malformed JSON', () => {
    it('refuses text/plain with 415', async () => {
      const answer = await call('POST', '/clients', {
        body: '{"name":"plain"}',
        headers: { 'content-type': 'text/plain' },
      });
      expectError(answer, 415);
    });

    it('refuses form-encoded bodies with 415', async () => {
      const answer = await call('PATCH', `/users/${userId}`, {
        body: 'name=x',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
      });
      expectError(answer, 415);
    });

    it('accepts application/json; charset=utf-8', async () => {
      const answer = await call('POST', '/clients', {
        body: JSON.stringify({ name: 'Charset ok' }),
        headers: { 'content-type': 'application/json; charset=utf-8' },
      });
      expectStatus(answer, 201);
    });

    it.each([
      '{"name":',
      '{name: "x"}',
      "{'name':'x'}",
      '{"name":"x",}',
      '',
      '\u0000',
      '{"name":"x"}{"name":"y"}',
    ])('refuses malformed JSON %j with 400', async (body) => {
      const answer = await call('POST', '/clients', {
        body,
        headers: { 'content-type': 'application/json' },
      });
      expectError(answer, 400);
    });
  });

  describe('query strings', () => {
    it.each([
      ['/clients', { per_page: 1000 }, 'per_page'],
      ['/clients', { per_page: 0 }, 'per_page'],
      ['/clients', { page: -1 }, 'page'],
      ['/clients', { page: 'one' }, 'page'],
      ['/clients', { page: '1e3' }, 'page'],
      ['/clients', { include_totals: 'maybe' }, 'include_totals'],
      ['/clients', { app_type: 'mainframe' }, 'app_type'],
      ['/users', { per_page: 101 }, 'per_page'],
      ['/users', { sort: 'password_hash:1' }, 'sort'],
      ['/users', { sort: 'email:2' }, 'sort'],
      ['/users', { q: 'x'.repeat(400) }, 'q'],
      ['/resource-servers', { page: '9999999999999' }, 'page'],
      ['/client-grants', { take: 1000 }, 'take'],
      ['/client-grants', { from: 'not-a-checkpoint' }, 'from'],
      ['/grants', { per_page: -5 }, 'per_page'],
    ] as const)('GET %s %j → 400 invalid_query_string naming %s', async (path, query, field) => {
      const answer = await call('GET', path, { query });
      expectError(answer, 400, 'invalid_query_string');
      expect(answer.body.message).toContain(field);
    });

    it('an operation that names no query parameter takes none: one sent is refused by name', async () => {
      const cases: [string, string, Record<string, string>, string][] = [
        ['GET', '/keys/signing', { page: '0' }, 'page'],
        ['GET', '/stats/active-users', { anything: '1' }, 'anything'],
        ['GET', `/roles/rol_sesame_admin`, { fields: 'name' }, 'fields'],
        ['PATCH', `/users/${userId}`, { dry_run: 'true' }, 'dry_run'],
      ];
      for (const [method, path, query, field] of cases) {
        const answer = await call(method as 'GET', path, {
          query,
          ...(method === 'PATCH' ? { body: {} } : {}),
        });
        expectError(answer, 400, 'invalid_query_string');
        expect(answer.body.message, `${method} ${path}`).toContain(field);
      }
      // where Auth0 documents fields and include_fields, they work
      const settings = await call('GET', '/tenants/settings', {
        query: { fields: 'session_lifetime', include_fields: 'true' },
      });
      expect(Object.keys(settings.body), settings.text).toEqual(['session_lifetime']);
      const api = await call('GET', '/resource-servers', { query: { per_page: '1' } });
      const one = await call('GET', `/resource-servers/${api.body[0].id}`, {
        query: { fields: 'name,identifier' },
      });
      expect(Object.keys(one.body).sort()).toEqual(['identifier', 'name']);
    });

    it('refuses bad checkpoint queries on user sessions and refresh tokens', async () => {
      for (const path of [`/users/${userId}/sessions`, `/users/${userId}/refresh-tokens`]) {
        for (const query of [{ take: '1000' }, { take: '-1' }, { from: 'abc' }] as Record<string, string>[]) {
          const answer = await call('GET', path, { query });
          expectError(answer, 400, 'invalid_query_string');
        }
      }
    });

    it('a path parameter that fails its schema is 400 invalid_uri (Auth0: "Path validation error")', async () => {
      for (const path of ['/users/', '/clients/', '/roles/', '/logs/']) {
        const answer = await call('GET', `${path}${'x'.repeat(65)}`);
        expectError(answer, 400, 'invalid_uri');
        expect(answer.body.message, path).toMatch(/^Path validation error: id: /);
      }
    });

    it('treats LIKE wildcards and quotes in q as text', async () => {
      for (const q of ['%', '_', '%@%', '\\', "' or 1=1 --", 'email:%*', 'email:_*', 'email:"%"']) {
        const answer = await call('GET', '/users', { query: { q } });
        expectStatus(answer, 200);
        expect(answer.body, `q=${q}`).toEqual([]);
      }
      // read as Auth0's OR, which Sesame's search does not take: refused, not text
      expectError(await call('GET', '/users', { query: { q: "' OR 1=1 --" } }), 400, 'invalid_query_string');
    });
  });

  describe('unknown ids: 404 inexistent_resource', () => {
    it.each([
      ['GET', '/clients/nope'],
      ['PATCH', '/clients/nope'],
      ['DELETE', '/clients/nope'],
      ['POST', '/clients/nope/rotate-secret'],
      ['GET', '/resource-servers/nope'],
      ['GET', `/resource-servers/${encodeURIComponent('https://nope.example/')}`],
      ['PATCH', '/resource-servers/nope'],
      ['DELETE', '/resource-servers/nope'],
      ['PATCH', '/client-grants/nope'],
      ['DELETE', '/client-grants/nope'],
      ['GET', '/users/nope'],
      ['PATCH', '/users/nope'],
      ['DELETE', '/grants/nope'],
      ['GET', '/users/nope/sessions'],
      ['DELETE', '/users/nope/sessions'],
      ['GET', '/sessions/nope'],
      ['DELETE', '/sessions/nope'],
      ['GET', '/users/nope/refresh-tokens'],
      ['DELETE', '/users/nope/refresh-tokens'],
      ['GET', '/refresh-tokens/nope'],
      ['DELETE', '/refresh-tokens/nope'],
      ['GET', '/keys/signing/nope'],
      ['PUT', '/keys/signing/nope/revoke'],
    ])('%s %s', async (method, path) => {
      const body =
        method === 'PATCH' && path.startsWith('/client-grants')
          ? { scope: [] }
          : method === 'PATCH'
            ? {}
            : undefined;
      const answer = await call(method, path, body === undefined ? {} : { body });
      expectError(answer, 404, 'inexistent_resource');
    });

    it('an unknown path under /api/v2 is a JSON 404, behind the token check', async () => {
      expectError(await call('GET', '/no-such-endpoint'), 404);
      expectError(await call('GET', '/no-such-endpoint', { token: null }), 401, 'missing_token');
    });

    it('a method a known path does not answer is 405 with Allow (RFC 9110 §15.5.6), behind the token check', async () => {
      const cases = [
        ['PUT', '/clients', 'GET, POST, HEAD'],
        ['DELETE', '/users', 'GET, POST, HEAD'],
        ['POST', `/users/${userId}`, 'GET, PATCH, DELETE, HEAD'],
        ['GET', '/tickets/password-change', 'POST'],
      ] as const;
      for (const [method, path, allow] of cases) {
        const answer = await call(method, path, { body: method === 'GET' ? undefined : {} });
        expectError(answer, 405, 'method_not_allowed');
        const got = (answer.headers.get('allow') ?? '').split(', ').sort();
        expect(got, `${method} ${path}`).toEqual(allow.split(', ').sort());
      }
      expectError(await call('PUT', '/clients', { token: null }), 401, 'missing_token');
    });

    it('a query parameter the operation does not name is a 400 naming it, never ignored', async () => {
      for (const [path, query, name] of [
        ['/users', { foo: 'bar' }, 'foo'],
        ['/users', { q: 'x', per_pag: '5' }, 'per_pag'],
        ['/client-grants', { allow_any_organization: 'true' }, 'allow_any_organization'],
        [`/users/${userId}`, { fields: 'email', includ_fields: 'false' }, 'includ_fields'],
        ['/logs', { user_id: userId }, 'user_id'],
        ['/roles', { name: 'x' }, 'name'],
      ] as const) {
        const answer = await call('GET', path, { query });
        expectError(answer, 400, 'invalid_query_string');
        expect(answer.body.message, path).toContain(name);
      }
      expectStatus(
        await call('GET', '/users', { query: { q: 'x', per_page: '5', include_totals: 'true' } }),
        200,
      );
    });

    it('ids with odd characters are 404s or 400s, never 500s', async () => {
      const failures: string[] = [];
      const ids = [
        "'; drop table users; --",
        '%00',
        'a%00b',
        '..%2F..%2Fetc',
        'x'.repeat(5000),
        '%E2%80%AE',
        '{}',
        '%FF',
      ];
      for (const id of ids) {
        for (const [method, path] of [
          ['GET', `/users/${id}`],
          ['PATCH', `/users/${id}`],
          ['DELETE', `/users/${id}`],
          ['GET', `/users/${id}/sessions`],
          ['GET', `/users/${id}/refresh-tokens`],
          ['GET', `/clients/${id}`],
          ['GET', `/resource-servers/${id}`],
          ['PATCH', `/client-grants/${id}`],
          ['DELETE', `/grants/${id}`],
          ['GET', `/sessions/${id}`],
          ['GET', `/refresh-tokens/${id}`],
          ['GET', `/keys/signing/${id}`],
        ] as const) {
          const answer = await call(method, path, method === 'PATCH' ? { body: {} } : {});
          // deleting a user that is not there is done (Auth0's 204)
          if (
            method === 'DELETE' &&
            path.startsWith('/users/') &&
            answer.status === 204 &&
            answer.text === ''
          )
            continue;
          if (answer.status >= 500 || answer.status < 400 || typeof answer.body?.statusCode !== 'number') {
            failures.push(`${method} ${path.slice(0, 60)} → ${answer.status} ${answer.text.slice(0, 120)}`);
          }
        }
      }
      for (const [path, query] of [
        ['/users-by-email', { email: 'a\u0000b@x.test' }],
        ['/users', { q: 'a\u0000b' }],
        ['/users', { q: 'email:"a\u0000b@x.test"' }],
        ['/users', { q: 'email:a\u0000*' }],
        ['/grants', { user_id: 'a\u0000b' }],
        ['/client-grants', { client_id: 'a\u0000b' }],
        ['/client-grants', { audience: 'https://a\u0000b/' }],
      ] as const) {
        const answer = await call('GET', path, { query });
        if (answer.status >= 500)
          failures.push(
            `GET ${path} ${JSON.stringify(query)} → ${answer.status} ${answer.text.slice(0, 120)}`,
          );
      }
      expect(failures).toEqual([]);
      // a NUL in the path is the path's mistake, one in the query the query's
      expectError(await call('GET', '/users/a%00b'), 400, 'invalid_uri');
      // so is percent-encoding that decodes to nothing (not hex, cut short, not UTF-8)
      for (const bad of ['%ZZ', 'a%', '%E2%82', '%FF'])
        expectError(await call('GET', `/users/${bad}`), 400, 'invalid_uri');
      expectError(await call('GET', '/users?q=%ZZ'), 400, 'invalid_query_string');
      // what decodes is no mistake: an encoded | in an Auth0 id, an encoded space
      expectError(await call('GET', '/users/auth0%7Cusr_nobody'), 404);
      expect((await call('GET', '/users?q=no%20one%20here')).status).toBe(200);
      expectError(
        await call('GET', '/users-by-email', { query: { email: 'a\u0000b@x.test' } }),
        400,
        'invalid_query_string',
      );
    });
  });

  describe('never a 500 (property tests)', () => {
    const CLIENT_KEYS = [
      'name',
      'app_type',
      'description',
      'logo_uri',
      'callbacks',
      'allowed_logout_urls',
      'web_origins',
      'grant_types',
      'token_endpoint_auth_method',
      'is_first_party',
      'jwt_configuration',
      'client_metadata',
      'oidc_conformant',
      'allow_offline_access',
      '__proto__',
      'constructor',
      'toString',
    ];
    const USER_KEYS = [
      'email',
      'name',
      'given_name',
      'family_name',
      'nickname',
      'picture',
      'email_verified',
      'blocked',
      'app_metadata',
      'user_metadata',
      'connection',
      '__proto__',
      'constructor',
    ];

    /** Plausible values: right and wrong types, odd strings, nesting. */
    const value = fc.oneof(
      fc.jsonValue({ maxDepth: 3 }),
      fc.constantFrom('regular_web', 'spa', 'native', 'non_interactive', 'RS256', 'none', ''),
      fc.constantFrom('https://a.example/cb', 'http://localhost:3000', 'javascript:alert(1)', 'x\u0000y'),
      fc.array(fc.oneof(fc.webUrl(), fc.string()), { maxLength: 5 }),
      fc.dictionary(fc.string({ maxLength: 8 }), fc.string({ maxLength: 8 }), { maxKeys: 4 }),
      fc.string({ unit: 'binary', maxLength: 40 }),
    );
    const bodyOf = (keys: string[]) =>
      fc.oneof(
        { weight: 6, arbitrary: fc.dictionary(fc.constantFrom(...keys), value, { maxKeys: 6 }) },
        { weight: 1, arbitrary: fc.jsonValue({ maxDepth: 2 }) },
      );

    it('POST /clients with random JSON answers < 500', async () => {
      await fc.assert(
        fc.asyncProperty(bodyOf(CLIENT_KEYS), async (body) => {
          const answer = await call('POST', '/clients', { body: JSON.stringify(body) });
          expectHandled(answer, `POST /clients ${JSON.stringify(body).slice(0, 300)}`);
        }),
        { numRuns: 120 },
      );
      expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    });

    it('PATCH /users/{id} with random JSON answers < 500', async () => {
      await fc.assert(
        fc.asyncProperty(bodyOf(USER_KEYS), async (body) => {
          const answer = await call('PATCH', `/users/${userId}`, { body: JSON.stringify(body) });
          expectHandled(answer, `PATCH /users ${JSON.stringify(body).slice(0, 300)}`);
        }),
        { numRuns: 120 },
      );
    });

    it('random query strings on GET /users answer < 500', async () => {
      await fc.assert(
        fc.asyncProperty(
          fc.dictionary(
            fc.constantFrom('q', 'sort', 'page', 'per_page', 'include_totals', 'search_engine', 'fields'),
            fc.oneof(fc.string({ maxLength: 30 }), fc.integer().map(String)),
            { maxKeys: 4 },
          ),
          async (query) => {
            const answer = await call('GET', '/users', { query });
            expectHandled(answer, `GET /users ${JSON.stringify(query)}`);
          },
        ),
        { numRuns: 120 },
      );
    });
  });
});
