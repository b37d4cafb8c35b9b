import { decodeProtectedHeader } from 'jose';
import { beforeAll, expect, it } from 'vitest';
import { openTicket } from '../../src/admin/tickets.js';
import type { Api } from '../../src/storage/types.js';
import { describeEachBackend } from '../support/databases.js';
import { ok, resourcesApp } from './resources-fixture.js';
import type { Call } from './support.js';

/** The statuses of answers, sorted, for requests sent at once. */
const statuses = (answers: { status: number }[]) => answers.map((a) => a.status).sort();

/**
 * Requests sent at once that the API's own checks cannot tell apart: the database decides, and
 * the loser gets Auth0's 409, never a 500 and never the winner's row changed; and changes to one
 * document (the tenant settings) each keep their keys.
 */
describeEachBackend('Management API: writes at once', (backend) => {
  const env = resourcesApp(backend);
  let call: Call;
  let api: Api;
  beforeAll(() => {
    ({ call, api } = env);
  });
  const newUser = async (tag: string) =>
    ok(
      await call('POST', '/users', {
        body: {
          connection: 'Username-Password-Authentication',
          email: `${tag}-${Date.now()}@example.com`,
          password: 'a long enough password',
        },
      }),
      201,
    );

  it('one role name: one 200, the rest 409', async () => {
    const name = `Clerks ${Date.now()}`;
    const answers = await Promise.all([1, 2, 3, 4].map(() => call('POST', '/roles', { body: { name } })));
    expect(statuses(answers)).toEqual([200, 409, 409, 409]);
  });

  it('renaming two roles to one name at once: one 200, one 409', async () => {
    const first = ok(await call('POST', '/roles', { body: { name: `A ${Date.now()}` } }));
    const second = ok(await call('POST', '/roles', { body: { name: `B ${Date.now()}` } }));
    const name = `Same ${Date.now()}`;
    const answers = await Promise.all(
      [first, second].map((r) => call('PATCH', `/roles/${r.id}`, { body: { name } })),
    );
    expect(statuses(answers)).toEqual([200, 409]);
  });

  it('one API identifier: one 201, the rest 409', async () => {
    const identifier = `https://same-${Date.now()}.example/`;
    const answers = await Promise.all(
      [1, 2, 3, 4].map((i) => call('POST', '/resource-servers', { body: { name: `API ${i}`, identifier } })),
    );
    expect(statuses(answers)).toEqual([201, 409, 409, 409]);
  });

  it('one client grant: one 201, the rest 409, and the winner keeps its scopes', async () => {
    const app = ok(
      await call('POST', '/clients', { body: { name: 'Robot', app_type: 'non_interactive' } }),
      201,
    );
    const scopes = [['read:things'], ['write:things'], ['read:things', 'write:things']];
    const answers = await Promise.all(
      scopes.map((scope) =>
        call('POST', '/client-grants', {
          body: { client_id: app.client_id, audience: api.identifier, scope },
        }),
      ),
    );
    expect(statuses(answers)).toEqual([201, 409, 409]);
    const winner = answers.find((a) => a.status === 201)!.body;
    const [stored] = ok(await call('GET', '/client-grants', { query: { client_id: app.client_id } }));
    expect(stored).toMatchObject({ id: winner.id, scope: winner.scope });
  });

  it('renaming two users to one email at once: one 200, one 409', async () => {
    const [a, b] = [await newUser('first'), await newUser('second')];
    const email = `taken-${Date.now()}@example.com`;
    const answers = await Promise.all(
      [a, b].map((u) => call('PATCH', `/users/${encodeURIComponent(u.user_id)}`, { body: { email } })),
    );
    expect(statuses(answers)).toEqual([200, 409]);
  });

  it('password-change tickets made at once: only one stays usable', async () => {
    const user = await newUser('tickets');
    const answers = await Promise.all(
      [1, 2, 3, 4].map(() => call('POST', '/tickets/password-change', { body: { user_id: user.user_id } })),
    );
    const { storage, clock } = env.t.rt;
    const open = await Promise.all(
      answers.map(async (a) => {
        const token = new URL(ok(a, 201).ticket).searchParams.get('ticket')!;
        return typeof (await openTicket({ storage, clock }, 'password_reset', token)) !== 'string';
      }),
    );
    expect(open.filter(Boolean)).toHaveLength(1);
  });

  it('a permission given while its scope is removed from the API does not outlive the scope', async () => {
    const scopes = Array.from({ length: 12 }, (_, i) => `do:thing${i}`);
    const identifier = `https://scopes-${Date.now()}.example/`;
    const created = ok(
      await call('POST', '/resource-servers', {
        body: { name: 'Scopes', identifier, scopes: scopes.map((value) => ({ value })) },
      }),
      201,
    );
    const role = ok(await call('POST', '/roles', { body: { name: `Doers ${Date.now()}` } }));
    const user = await newUser('doer');
    const given = (scope: string) => ({
      permissions: [{ resource_server_identifier: identifier, permission_name: scope }],
    });
    const later = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
    for (const [i, scope] of scopes.entries()) {
      const left = scopes.slice(i + 1).map((value) => ({ value }));
      const answers = await Promise.all([
        call('PATCH', `/resource-servers/${created.id}`, { body: { scopes: left } }),
        later(i % 4).then(() => call('POST', `/roles/${role.id}/permissions`, { body: given(scope) })),
        later(i % 3).then(() =>
          call('POST', `/users/${encodeURIComponent(user.user_id)}/permissions`, { body: given(scope) }),
        ),
      ]);
      expect(answers[0].status).toBe(200);
      for (const a of answers.slice(1)) expect([201, 400]).toContain(a.status);
    }
    expect(ok(await call('GET', `/roles/${role.id}/permissions`))).toEqual([]);
    expect(ok(await call('GET', `/users/${encodeURIComponent(user.user_id)}/permissions`))).toEqual([]);
  });

  it('permissions naming two APIs in opposite orders at once: every request 201 (no deadlock)', async () => {
    const make = async (tag: string) =>
      ok(
        await call('POST', '/resource-servers', {
          body: {
            name: tag,
            identifier: `https://${tag}-${Date.now()}.example/`,
            scopes: [{ value: 'use' }],
          },
        }),
        201,
      ).identifier as string;
    const [a, b] = [await make('first'), await make('second')];
    const perms = (...ids: string[]) => ({
      permissions: ids.map((id) => ({ resource_server_identifier: id, permission_name: 'use' })),
    });
    for (let round = 0; round < 6; round++) {
      const roles = await Promise.all(
        [1, 2, 3, 4].map(async (i) =>
          ok(await call('POST', '/roles', { body: { name: `Both ${round} ${i} ${Date.now()}` } })),
        ),
      );
      const answers = await Promise.all(
        roles.map((r, i) =>
          call('POST', `/roles/${r.id}/permissions`, { body: i % 2 ? perms(a, b) : perms(b, a) }),
        ),
      );
      expect(statuses(answers)).toEqual([201, 201, 201, 201]);
    }
  });

  it('one signing key revoked twice at once: one 200 and one 400, and one event', async () => {
    // Not the key that signed this test's token, which would stop working.
    const { kid: signer } = decodeProtectedHeader(env.admin.token);
    const keys = ok(await call('GET', '/keys/signing'));
    const { kid } = keys.find((k: { kid: string; revoked: boolean }) => k.kid !== signer && !k.revoked);
    const answers = await Promise.all([1, 2].map(() => call('PUT', `/keys/signing/${kid}/revoke`)));
    expect(statuses(answers)).toEqual([200, 400]);
    const logs = ok(await call('GET', '/logs', { query: { q: 'type:signing_key_revoked', per_page: 100 } }));
    expect(logs.filter((e: { details?: { kid?: string } }) => e.details?.kid === kid)).toHaveLength(1);
  });

  it('tenant settings changed at once each keep their key', async () => {
    const bodies = [
      { friendly_name: 'Acme' },
      { support_email: 'help@acme.example' },
      { signup_enabled: true },
      { primary_color: '#123456' },
      { session_lifetime: 12 },
    ];
    const answers = await Promise.all(bodies.map((body) => call('PATCH', '/tenants/settings', { body })));
    for (const a of answers) expect(a.status).toBe(200);
    expect(ok(await call('GET', '/tenants/settings'))).toMatchObject(Object.assign({}, ...bodies));
  });
});
