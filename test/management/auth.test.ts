import { createHash, generateKeyPairSync, sign } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MANAGEMENT_SCOPES, managementIdentifier } from '../../src/admin/system.js';
import { startTestApp, type TestApp } from '../support/app.js';
import { describeEachBackend } from '../support/databases.js';
import {
  ALL_SCOPES,
  type Answer,
  type Call,
  caller,
  expectError,
  expectStatus,
  type ManagementCredentials,
  managementToken,
  newApi,
  postToken,
} from './support.js';

/** Every operation of the contract and the scope it needs; `{id}` stands for an id that does not exist. */
const ROUTES: [method: string, path: string, scope: string][] = [
  ['GET', '/clients', 'read:clients'],
  ['POST', '/clients', 'create:clients'],
  ['GET', '/clients/{id}', 'read:clients'],
  ['PATCH', '/clients/{id}', 'update:clients'],
  ['DELETE', '/clients/{id}', 'delete:clients'],
  ['POST', '/clients/{id}/rotate-secret', 'update:clients'],
  ['GET', '/resource-servers', 'read:resource_servers'],
  ['POST', '/resource-servers', 'create:resource_servers'],
  ['GET', '/resource-servers/{id}', 'read:resource_servers'],
  ['PATCH', '/resource-servers/{id}', 'update:resource_servers'],
  ['DELETE', '/resource-servers/{id}', 'delete:resource_servers'],
  ['GET', '/client-grants', 'read:client_grants'],
  ['POST', '/client-grants', 'create:client_grants'],
  ['PATCH', '/client-grants/{id}', 'update:client_grants'],
  ['DELETE', '/client-grants/{id}', 'delete:client_grants'],
  ['GET', '/users', 'read:users'],
  ['POST', '/users', 'create:users'],
  ['GET', '/users/{id}', 'read:users'],
  ['PATCH', '/users/{id}', 'update:users'],
  ['DELETE', '/users/{id}', 'delete:users'],
  ['GET', '/users-by-email?email=nobody%40example.com', 'read:users'],
  ['GET', '/grants', 'read:grants'],
  ['DELETE', '/grants/{id}', 'delete:grants'],
  ['DELETE', '/grants?user_id={id}', 'delete:grants'],
  ['GET', '/users/{id}/sessions', 'read:sessions'],
  ['DELETE', '/users/{id}/sessions', 'delete:sessions'],
  ['GET', '/sessions/{id}', 'read:sessions'],
  ['DELETE', '/sessions/{id}', 'delete:sessions'],
  ['POST', '/sessions/{id}/revoke', 'delete:sessions'],
  ['GET', '/users/{id}/refresh-tokens', 'read:refresh_tokens'],
  ['DELETE', '/users/{id}/refresh-tokens', 'delete:refresh_tokens'],
  ['GET', '/refresh-tokens/{id}', 'read:refresh_tokens'],
  ['DELETE', '/refresh-tokens/{id}', 'delete:refresh_tokens'],
  ['GET', '/keys/signing', 'read:signing_keys'],
  ['GET', '/keys/signing/{id}', 'read:signing_keys'],
  ['POST', '/keys/signing/rotate', 'create:signing_keys'],
  ['PUT', '/keys/signing/{id}/revoke', 'update:signing_keys'],
  ['GET', '/tenants/settings', 'read:tenant_settings'],
  ['PATCH', '/tenants/settings', 'update:tenant_settings'],
  ['GET', '/stats/daily', 'read:stats'],
  ['GET', '/stats/active-users', 'read:stats'],
  ['GET', '/connections', 'read:connections'],
  ['GET', '/connections/{id}', 'read:connections'],
  ['POST', '/jobs/users-imports', 'create:users'],
  ['GET', '/roles', 'read:roles'],
  ['POST', '/roles', 'create:roles'],
  ['GET', '/roles/{id}', 'read:roles'],
  ['PATCH', '/roles/{id}', 'update:roles'],
  ['DELETE', '/roles/{id}', 'delete:roles'],
  ['GET', '/roles/{id}/permissions', 'read:roles'],
  ['POST', '/roles/{id}/permissions', 'update:roles'],
  ['DELETE', '/roles/{id}/permissions', 'update:roles'],
  ['GET', '/users/{id}/permissions', 'read:users'],
  ['POST', '/users/{id}/permissions', 'update:users'],
  ['DELETE', '/users/{id}/permissions', 'update:users'],
  ['POST', '/tickets/password-change', 'create:user_tickets'],
  ['POST', '/tickets/email-verification', 'create:user_tickets'],
  ['POST', '/jobs/verification-email', 'update:users'],
];

/** Routes that accept any one of several scope sets (Auth0's alternatives), each set listed. */
const ALTERNATIVES: [method: string, path: string, alternatives: string[][]][] = [
  ['GET', '/roles/{id}/users', [['read:users', 'read:roles'], ['read:role_members']]],
  ['POST', '/roles/{id}/users', [['update:roles'], ['create:role_members']]],
  ['GET', '/users/{id}/roles', [['read:users', 'read:roles'], ['read:role_members']]],
  ['POST', '/users/{id}/roles', [['update:users'], ['create:role_members']]],
  ['DELETE', '/users/{id}/roles', [['update:users'], ['delete:role_members']]],
  ['GET', '/logs', [['read:logs'], ['read:logs_users']]],
  ['GET', '/logs/{id}', [['read:logs'], ['read:logs_users']]],
  ['GET', '/users/{id}/logs', [['read:logs'], ['read:logs_users']]],
  ['GET', '/jobs/{id}', [['read:users'], ['create:users']]],
];

const HAS_BODY = new Set(['POST', 'PATCH', 'PUT']);
const MISSING_ID = 'doesnotexist0000';

/** A route of the table with the placeholder filled in. */
const pathOf = (path: string) => path.replaceAll('{id}', MISSING_ID);

const b64 = (v: unknown) => Buffer.from(JSON.stringify(v)).toString('base64url');

describeEachBackend('Management API: authentication and scopes', (backend) => {
  let t: TestApp;
  let admin: ManagementCredentials;
  let call: Call;
  let audience: string;

  beforeAll(async () => {
    t = await startTestApp(backend);
    audience = managementIdentifier(t.issuer);
    admin = await managementToken(t);
    call = caller(t, admin.token);
  });
  afterAll(async () => t?.close());

  /** Asserts RFC 6750 §3's 401 invalid_token with a challenge naming the error. */
  function expectInvalidToken(answer: Answer): void {
    expectError(answer, 401, 'invalid_token');
    expect(answer.body.error).toBe('Unauthorized');
    const challenge = answer.headers.get('www-authenticate') ?? '';
    expect(challenge).toMatch(/^Bearer /);
    expect(challenge).toContain('realm="sesame"');
    expect(challenge).toContain('error="invalid_token"');
  }

  it('is registered as the system API with every scope of the contract', async () => {
    expect(audience).toBe('https://sesame.test/api/v2/');
    const api = await t.rt.storage.apis.getByIdentifier(audience);
    expect(api?.isSystem).toBe(true);
    expect(api?.id).toBe('api_sesame_management');
    expect(api?.name).toBe('Sesame Management API');
    expect(api?.scopes.map((s) => s.name).sort()).toEqual(Object.keys(MANAGEMENT_SCOPES).sort());
  });

  it('answers a call with a valid token', async () => {
    const answer = await call('GET', '/clients');
    expectStatus(answer, 200);
    expect(Array.isArray(answer.body)).toBe(true);
  });

  describe('401', () => {
    it('without a token: missing_token, WWW-Authenticate Bearer realm="sesame"', async () => {
      const answer = await call('GET', '/clients', { token: null });
      expectError(answer, 401, 'missing_token');
      expect(answer.body.error).toBe('Unauthorized');
      expect(answer.headers.get('www-authenticate')).toBe('Bearer realm="sesame"');
    });

    it('without a token on a body route, before reading the body', async () => {
      const answer = await call('POST', '/clients', { token: null, body: { name: 'No token' } });
      expectError(answer, 401, 'missing_token');
      expect((await t.rt.storage.applications.list()).some((a) => a.name === 'No token')).toBe(false);
    });

    it.each([
      ['another scheme', `Basic ${Buffer.from('a:b').toString('base64')}`],
      ['the scheme alone', 'Bearer'],
      ['the scheme and a space', 'Bearer '],
      ['two tokens', 'Bearer abc def'],
      ['a token with a quote', 'Bearer abc"def'],
      ['no scheme', 'abc.def.ghi'],
      ['a token that is not a JWT', 'Bearer not-a-jwt'],
      ['a three-part token of garbage', 'Bearer aaaa.bbbb.cccc'],
    ])('with a malformed Authorization header (%s): invalid_token', async (_name, header) => {
      const answer = await call('GET', '/clients', { token: null, headers: { authorization: header } });
      expectInvalidToken(answer);
    });

    it('with a token for another API (an ordinary resource server): invalid_token', async () => {
      const api = await newApi(t);
      const m2m = await t.createM2m(api);
      const answer0 = await postToken(t, {
        grant_type: 'client_credentials',
        client_id: m2m.clientId,
        client_secret: m2m.clientSecret,
        audience: api.identifier,
      });
      expect(answer0.status).toBe(200);
      const answer = await call('GET', '/clients', { token: answer0.body.access_token! });
      expectInvalidToken(answer);
    });

    it('with an unsigned token (alg none) claiming the Management API audience: invalid_token', async () => {
      const now = t.clock.now();
      const claims = {
        iss: t.issuer,
        sub: admin.clientId,
        aud: audience,
        client_id: admin.clientId,
        scope: ALL_SCOPES.join(' '),
        iat: now,
        exp: now + 3600,
        jti: 'forged-none',
      };
      const token = `${b64({ alg: 'none', typ: 'at+jwt' })}.${b64(claims)}.`;
      expectInvalidToken(await call('GET', '/clients', { token }));
    });

    it('with a token signed by a foreign key under a real kid: invalid_token', async () => {
      const real = await postToken(t, {
        grant_type: 'client_credentials',
        client_id: admin.clientId,
        client_secret: admin.clientSecret,
        audience,
      });
      const [h, p] = real.body.access_token!.split('.') as [string, string];
      const header = JSON.parse(Buffer.from(h, 'base64url').toString()) as { alg: string };
      expect(header.alg).toBe('ES256');
      const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
      const signature = sign('sha256', Buffer.from(`${h}.${p}`), {
        key: privateKey,
        dsaEncoding: 'ieee-p1363',
      });
      const token = `${h}.${p}.${signature.toString('base64url')}`;
      expectInvalidToken(await call('GET', '/clients', { token }));
    });

    it('with a real token whose payload was changed: invalid_token', async () => {
      const [h, p, s] = admin.token.split('.') as [string, string, string];
      const payload = JSON.parse(Buffer.from(p, 'base64url').toString()) as Record<string, unknown>;
      payload.jti = createHash('sha256').update('other').digest('base64url');
      expectInvalidToken(await call('GET', '/clients', { token: `${h}.${b64(payload)}.${s}` }));
    });

    it('with an expired token: invalid_token (and the token works until then)', async () => {
      const creds = await managementToken(t, ['read:clients']);
      const saved = t.clock.t;
      try {
        const { exp } = JSON.parse(Buffer.from(creds.token.split('.')[1]!, 'base64url').toString()) as {
          exp: number;
        };
        expect(exp - saved).toBe(86400);
        t.clock.t = exp - 1;
        expectStatus(await call('GET', '/clients', { token: creds.token }), 200);
        t.clock.t = exp;
        expectInvalidToken(await call('GET', '/clients', { token: creds.token }));
        t.clock.t = exp + 3600;
        expectInvalidToken(await call('GET', '/clients', { token: creds.token }));
      } finally {
        t.clock.t = saved;
      }
    });

    it('with a token revoked at /oauth/revoke by its application: invalid_token', async () => {
      const creds = await managementToken(t, ['read:clients']);
      expectStatus(await call('GET', '/clients', { token: creds.token }), 200);
      const res = await t.fetch(`${t.issuer}/oauth/revoke`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({
          token: creds.token,
          client_id: creds.clientId,
          client_secret: creds.clientSecret,
        }),
      });
      expect(res.status).toBe(200);
      expectInvalidToken(await call('GET', '/clients', { token: creds.token }));
    });

    it('with a token of an application deleted since: invalid_token', async () => {
      const creds = await managementToken(t, ['read:clients']);
      expectStatus(await call('GET', '/clients', { token: creds.token }), 200);
      expectStatus(await call('DELETE', `/clients/${creds.clientId}`), 204);
      expectInvalidToken(await call('GET', '/clients', { token: creds.token }));
    });

    it('with a token of an application that deleted itself: invalid_token afterwards', async () => {
      const creds = await managementToken(t, ['read:clients', 'delete:clients']);
      expectStatus(await call('DELETE', `/clients/${creds.clientId}`, { token: creds.token }), 204);
      expectInvalidToken(await call('GET', '/clients', { token: creds.token }));
    });
  });

  it('an application’s token gives only what its client grant gives now: shrunk or deleted, at once', async () => {
    const bot = await managementToken(t, ['read:clients', 'create:client_grants', 'delete:client_grants']);
    const mine = (method: string, path: string, body?: unknown) =>
      call(method, path, { token: bot.token, ...(body === undefined ? {} : { body }) });
    expectStatus(await mine('GET', '/clients'), 200);
    const [grant] = (await call('GET', '/client-grants', { query: { client_id: bot.clientId, audience } }))
      .body;
    expectStatus(
      await call('PATCH', `/client-grants/${grant.id}`, { body: { scope: ['read:clients'] } }),
      200,
    );
    expectStatus(await mine('GET', '/clients'), 200);
    expectError(await mine('DELETE', `/client-grants/${grant.id}`), 403, 'insufficient_scope');
    expectStatus(await call('DELETE', `/client-grants/${grant.id}`), 204);
    expectError(await mine('GET', '/clients'), 403, 'insufficient_scope');
    // Nor can it give itself a grant back with the token it still holds.
    const back = { client_id: bot.clientId, audience, scope: ALL_SCOPES };
    expectError(await mine('POST', '/client-grants', back), 403, 'insufficient_scope');
  });

  describe('403 insufficient_scope', () => {
    /** Tokens by the one scope they lack (every other scope granted), made once each. */
    const lacking = new Map<string, Promise<ManagementCredentials>>();
    const tokenLacking = (scope: string) => {
      let p = lacking.get(scope);
      if (!p) {
        p = managementToken(
          t,
          ALL_SCOPES.filter((s) => s !== scope),
        );
        lacking.set(scope, p);
      }
      return p;
    };
    let noScopes: ManagementCredentials;
    beforeAll(async () => {
      noScopes = await managementToken(t, []);
    });

    it('covers every scope of the contract but read:client_keys', () => {
      const used = new Set([...ROUTES.map((r) => r[2]), ...ALTERNATIVES.flatMap((r) => r[2].flat())]);
      expect([...used].sort()).toEqual(ALL_SCOPES.filter((s) => s !== 'read:client_keys').sort());
    });

    it.each(ALTERNATIVES)(
      '%s %s takes any one of its scope sets, and nothing less',
      async (method, path, alts) => {
        for (const set of alts) {
          const creds = await managementToken(t, set);
          const answer = await call(method, pathOf(path), { token: creds.token });
          expect(answer.status, `${set.join('+')}: ${answer.text}`).not.toBe(403);
          expect(answer.status, answer.text).toBeLessThan(500);
          for (const one of set.length > 1 ? set : []) {
            const partial = await managementToken(t, [one]);
            expectStatus(await call(method, pathOf(path), { token: partial.token }), 403);
          }
        }
        const others = ALL_SCOPES.filter((s) => !alts.flat().includes(s));
        const refused = await call(method, pathOf(path), { token: (await managementToken(t, others)).token });
        expectStatus(refused, 403);
        expect(refused.body.errorCode).toBe('insufficient_scope');
      },
    );

    /** Exactly Auth0's body for a missing scope. */
    function expectInsufficientScope(answer: Answer, scope: string): void {
      expectStatus(answer, 403);
      expect(answer.text).toBe(
        JSON.stringify({
          statusCode: 403,
          error: 'Forbidden',
          message: `Insufficient scope, expected any of: ${scope}`,
          errorCode: 'insufficient_scope',
        }),
      );
      expect(answer.headers.get('content-type') ?? '').toMatch(/^application\/json/);
    }

    it.each(ROUTES)('%s %s refuses a token with every scope but %s', async (method, path, scope) => {
      const creds = await tokenLacking(scope);
      const answer = await call(method, pathOf(path), {
        token: creds.token,
        ...(HAS_BODY.has(method) ? { body: {} } : {}),
      });
      expectInsufficientScope(answer, scope);
    });

    it.each(ROUTES)('%s %s refuses a token without any scope (%s)', async (method, path, scope) => {
      const answer = await call(method, pathOf(path), {
        token: noScopes.token,
        ...(HAS_BODY.has(method) ? { body: {} } : {}),
      });
      expectInsufficientScope(answer, scope);
    });

    it.each(ROUTES)('%s %s lets a token with only %s through', async (method, path, scope) => {
      const creds = await managementToken(t, [scope]);
      const answer = await call(method, pathOf(path), {
        token: creds.token,
        ...(HAS_BODY.has(method) ? { body: {} } : {}),
      });
      expect(answer.status, answer.text).not.toBe(401);
      expect(answer.status, answer.text).not.toBe(403);
      expect(answer.status, answer.text).toBeLessThan(500);
      // a 404 here must be the API's "no such resource", not an unknown route
      if (answer.status === 404) expect(answer.body?.errorCode, answer.text).toBe('inexistent_resource');
    });
  });

  describe('without a token', () => {
    it('serves GET /openapi.json (OpenAPI 3.1)', async () => {
      const answer = await call('GET', '/openapi.json', { token: null });
      expectStatus(answer, 200);
      expect(String(answer.body.openapi)).toMatch(/^3\.1\./);
      expect(Object.keys(answer.body.paths ?? {})).toEqual(expect.arrayContaining(['/clients', '/users']));
    });

    it('serves GET /docs from Sesame itself (no CDN)', async () => {
      const answer = await call('GET', '/docs', { token: null });
      expectStatus(answer, 200);
      expect(answer.headers.get('content-type') ?? '').toMatch(/^text\/html/);
      expect(answer.text).not.toMatch(/https?:\/\/(cdn|unpkg|cdnjs)\./);
    });

    it('only those: other paths ending in /docs or /openapi.json want a token, and name none with one', async () => {
      for (const [method, path] of [
        ['GET', '/users/docs'],
        ['GET', '/clients/docs'],
        ['GET', '/clients/openapi.json'],
        ['GET', '/roles/docs/users'],
        ['GET', '/users/docs/roles'],
      ] as const) {
        expectError(await call(method, path, { token: null }), 401, 'missing_token');
        expectError(await call(method, path), 404, 'inexistent_resource');
      }
      // an unknown Swagger UI file: the API's own 404 body
      expectError(await call('GET', '/docs/nope.js', { token: null }), 404, 'inexistent_resource');
    });
  });
});
