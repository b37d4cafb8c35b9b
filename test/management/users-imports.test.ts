// Auth0's bulk users import (POST /jobs/users-imports, GET /jobs/{id}, GET /jobs/{id}/errors)
// and its connection (GET /connections), driven by the unmodified auth0 SDK where it can be:
// imported bcrypt and argon2 hashes sign in, and are then hashed again with argon2id.
import { hash as argon2Hash } from '@node-rs/argon2';
import { hash as bcryptHash } from '@node-rs/bcrypt';
import { ManagementClient } from 'auth0';
import { decodeJwt } from 'jose';
import { beforeAll, expect, it } from 'vitest';
import { createAdmin } from '../../src/admin/console.js';
import type { TestApp } from '../support/app.js';
import { describeEachBackend } from '../support/databases.js';
import { ok, resourcesApp } from './resources-fixture.js';
import { type Call, expectError, managementToken, postToken, toAnswer } from './support.js';

const CONNECTION_ID = 'con_sesame_database';
const PASSWORD = 'correct horse battery staple';

describeEachBackend('Management API: users imports', (backend) => {
  const env = resourcesApp(backend);
  let t: TestApp;
  let call: Call;
  let mgmt: ManagementClient;
  let web: { clientId: string; clientSecret?: string };
  let bcrypted: string;

  beforeAll(async () => {
    ({ t, call } = env);
    mgmt = new ManagementClient({
      domain: new URL(t.issuer).host,
      token: () => env.admin.token,
      fetch: t.fetch as typeof fetch,
      maxRetries: 0,
    });
    web = await t.createApp({
      name: 'Imported people',
      type: 'web',
      callbacks: ['https://imported.example/cb'],
      grants: ['password'],
    });
    bcrypted = await bcryptHash(PASSWORD, 10);
  });

  const emailAt = (users: unknown[], i: number) => (users[i] as { email: string }).email;
  const unique = (tag: string) => `${tag}-${Math.random().toString(36).slice(2, 10)}@import.example`;
  const file = (users: unknown) =>
    new File([JSON.stringify(users)], 'users.json', { type: 'application/json' });
  const signIn = (email: string, password: string) =>
    postToken(t, {
      grant_type: 'password',
      username: email,
      password,
      scope: 'openid',
      client_id: web.clientId,
      client_secret: web.clientSecret as string,
    });

  /** POSTs a users import as multipart/form-data, with `token` (default: every scope). */
  async function post(fields: Record<string, string | File>, token = env.admin.token) {
    const form = new FormData();
    for (const [k, v] of Object.entries(fields)) form.append(k, v);
    return toAnswer(
      await t.fetch(`${t.issuer}/api/v2/jobs/users-imports`, {
        method: 'POST',
        headers: { authorization: `Bearer ${token}` },
        body: form,
      }),
    );
  }

  it('imports through the SDK: inserted users, and each failure with its code and path, without hashes', async () => {
    const ann = unique('ann');
    const bob = unique('bob');
    const id = `legacy-${Math.random().toString(36).slice(2, 10)}`;
    const users: unknown[] = [
      {
        email: ann.toUpperCase(),
        email_verified: true,
        user_id: `auth0|${id}`,
        given_name: 'Ann',
        password_hash: bcrypted,
        app_metadata: { plan: 'gold' },
      },
      { email: bob, name: 'Bob' },
      { email: unique('carl'), password_hash: 'not-a-hash' },
      { email: unique('dora'), custom_password_hash: { algorithm: 'md5', hash: { value: 'abc' } } },
      { email: unique('eve'), username: 'eve' },
      { email: ann },
      { email: 'not an email' },
      { email: unique('fay'), name: 'Fay\u0000' },
      { email: unique('gus'), user_id: id },
      'nobody',
      { email: unique('hal'), name: 'Hal\u202Eb' },
      { email: unique('ida'), picture: 'javascript:alert(1)' },
    ];
    const job = await mgmt.jobs.usersImports.create({
      users: file(users),
      connection_id: CONNECTION_ID,
      external_id: 'batch-1',
    });
    expect(job).toMatchObject({
      type: 'users_import',
      status: 'completed',
      connection_id: CONNECTION_ID,
      external_id: 'batch-1',
      summary: { total: 12, inserted: 2, updated: 0, failed: 10 },
    });
    expect(job.id).toMatch(/^job_/);
    expect(await mgmt.jobs.get(job.id)).toMatchObject({ id: job.id, summary: job.summary });

    const errors = (await mgmt.jobs.errors.get(job.id)) as {
      user: Record<string, unknown>;
      errors: unknown[];
    }[];
    const byWhat = errors.map((e) => [e.user.email ?? e.user.value, e.errors]);
    expect(byWhat).toEqual([
      [emailAt(users, 2), [expect.objectContaining({ code: 'INVALID_FORMAT', path: 'password_hash' })]],
      [
        emailAt(users, 3),
        [expect.objectContaining({ code: 'ENUM_MISMATCH', path: 'custom_password_hash.algorithm' })],
      ],
      [emailAt(users, 4), [expect.objectContaining({ code: 'OBJECT_ADDITIONAL_PROPERTIES' })]],
      [ann, [expect.objectContaining({ code: 'DUPLICATED_USER', path: 'email' })]],
      ['not an email', [expect.objectContaining({ code: 'INVALID_FORMAT', path: 'email' })]],
      [emailAt(users, 7), [expect.objectContaining({ code: 'INVALID_FORMAT', path: 'name' })]],
      [emailAt(users, 8), [expect.objectContaining({ code: 'DUPLICATED_USER', path: 'user_id' })]],
      ['nobody', [expect.objectContaining({ code: 'INVALID_TYPE' })]],
      // a field the account's own checks refuse is named too
      [emailAt(users, 10), [expect.objectContaining({ code: 'INVALID_FORMAT', path: 'name' })]],
      [emailAt(users, 11), [expect.objectContaining({ code: 'INVALID_FORMAT', path: 'picture' })]],
    ]);
    // the user as given, never its hash
    expect(JSON.stringify(errors)).not.toContain('not-a-hash');
    expect(errors[1]!.user).not.toHaveProperty('custom_password_hash');

    // the user_id is kept (without auth0|, as Sesame writes every id), with the profile given
    const stored = ok(await call('GET', `/users/${encodeURIComponent(`auth0|${id}`)}`));
    expect(stored).toMatchObject({
      user_id: id,
      email: ann,
      email_verified: true,
      given_name: 'Ann',
      app_metadata: { plan: 'gold' },
      blocked: false,
    });
    expect(ok(await call('GET', '/users', { query: { q: `email:"${bob}"` } }))[0]).toMatchObject({
      name: 'Bob',
      email_verified: false,
    });
  });

  it('a bcrypt hash signs in, and is then replaced by argon2id; a user without a hash cannot sign in', async () => {
    const email = unique('hashed');
    const none = unique('none');
    const job = await mgmt.jobs.usersImports.create({
      users: file([{ email, password_hash: bcrypted }, { email: none }]),
      connection_id: CONNECTION_ID,
    });
    expect(job.summary).toMatchObject({ inserted: 2, failed: 0 });
    const user = await t.rt.storage.users.getByEmail(email);
    expect(user?.passwordHash).toBe(bcrypted);

    expect((await signIn(email, 'wrong password')).body.error).toBe('invalid_grant');
    expect((await t.rt.storage.users.getByEmail(email))?.passwordHash).toBe(bcrypted);
    const first = await signIn(email, PASSWORD);
    expect(first.status, JSON.stringify(first.body)).toBe(200);
    expect(decodeJwt(first.body.id_token as string).sub).toBe(user?.id);
    expect((await t.rt.storage.users.getByEmail(email))?.passwordHash).toMatch(
      /^\$argon2id\$v=19\$m=7168,t=5,p=1\$/,
    );
    expect((await signIn(email, PASSWORD)).status).toBe(200);

    expect((await t.rt.storage.users.getByEmail(none))?.passwordHash).toBe('');
    for (const password of ['x', PASSWORD])
      expect((await signIn(none, password)).body.error).toBe('invalid_grant');
  });

  it('an argon2 hash (custom_password_hash) signs in; parameters past the limits are refused', async () => {
    const email = unique('argon');
    const value = await argon2Hash(PASSWORD, { memoryCost: 19456, timeCost: 2, parallelism: 1 });
    const heavy = value.replace('m=19456', 'm=1048576');
    const job = await mgmt.jobs.usersImports.create({
      users: file([
        { email, custom_password_hash: { algorithm: 'argon2', hash: { value, encoding: 'utf8' } } },
        { email: unique('heavy'), custom_password_hash: { algorithm: 'argon2', hash: { value: heavy } } },
        {
          email: unique('both'),
          password_hash: bcrypted,
          custom_password_hash: { algorithm: 'bcrypt', hash: { value: bcrypted } },
        },
      ]),
      connection_id: CONNECTION_ID,
    });
    expect(job.summary).toMatchObject({ total: 3, inserted: 1, failed: 2 });
    const errors = (await mgmt.jobs.errors.get(job.id)) as { errors: { code: string; path: string }[] }[];
    expect(errors.map((e) => e.errors[0]?.path)).toEqual([
      'custom_password_hash.hash.value',
      'password_hash',
    ]);
    expect((await signIn(email, PASSWORD)).status).toBe(200);
    expect((await t.rt.storage.users.getByEmail(email))?.passwordHash).toMatch(/^\$argon2id\$v=19\$m=7168,/);
  });

  it('a file of many users: each stored once, and of two with one user_id or email the first in the file wins', async () => {
    const tag = Math.random().toString(36).slice(2, 8);
    const users: { email: string; user_id?: string }[] = Array.from({ length: 60 }, (_, i) => ({
      email: unique(`many${i}`),
    }));
    users[3]!.user_id = `same-${tag}`;
    users[57]!.user_id = `same-${tag}`;
    users.push({ email: users[10]!.email.toUpperCase() });
    const job = await mgmt.jobs.usersImports.create({ users: file(users), connection_id: CONNECTION_ID });
    expect(job.summary).toEqual({ total: 61, inserted: 59, updated: 0, failed: 2 });
    const errors = (await mgmt.jobs.errors.get(job.id)) as { user: { email: string }; errors: unknown[] }[];
    expect(errors.map((e) => [e.user.email, e.errors])).toEqual([
      [users[57]!.email, [expect.objectContaining({ code: 'DUPLICATED_USER', path: 'user_id' })]],
      [users[60]!.email, [expect.objectContaining({ code: 'DUPLICATED_USER', path: 'email' })]],
    ]);
    expect((await t.rt.storage.users.get(`same-${tag}`))?.email).toBe(users[3]!.email);
    for (const [i, u] of users.slice(0, 60).entries())
      expect(await t.rt.storage.users.getByEmail(u.email), u.email).toSatisfy(
        (found) => (i === 57) === !found,
      );
  });

  it('upsert updates users that exist (by email); without it they fail as duplicated', async () => {
    const email = unique('upsert');
    await mgmt.jobs.usersImports.create({
      users: file([{ email, given_name: 'Old', app_metadata: { a: 1 }, password_hash: bcrypted }]),
      connection_id: CONNECTION_ID,
    });
    const before = await t.rt.storage.users.getByEmail(email);
    const again = [{ email, given_name: 'New', blocked: true, app_metadata: { b: 2 } }];
    const refused = await mgmt.jobs.usersImports.create({ users: file(again), connection_id: CONNECTION_ID });
    expect(refused.summary).toMatchObject({ updated: 0, failed: 1 });
    const updated = await mgmt.jobs.usersImports.create({
      users: file(again),
      connection_id: CONNECTION_ID,
      upsert: true,
    });
    expect(updated.summary).toMatchObject({ inserted: 0, updated: 1, failed: 0 });
    expect(await mgmt.jobs.errors.get(updated.id)).toBeUndefined(); // 204: no errors
    const after = ok(await call('GET', `/users/${before?.id}`));
    expect(after).toMatchObject({ given_name: 'New', blocked: true, app_metadata: { a: 1, b: 2 } });
    expect((await signIn(email, PASSWORD)).body.error).toBe('invalid_grant'); // blocked
  });

  it('refuses a request it cannot run, with Auth0-shaped errors', async () => {
    const users = file([{ email: unique('x') }]);
    expectError(await post({ users, connection_id: 'con_other' }), 400);
    expect((await post({ users, connection_id: 'con_other' })).body.message).toContain(CONNECTION_ID);
    expectError(await post({ connection_id: CONNECTION_ID }), 400);
    expectError(await post({ users: new File(['{"a"'], 'u.json'), connection_id: CONNECTION_ID }), 400);
    expectError(await post({ users: file({ email: 'a@b.c' }), connection_id: CONNECTION_ID }), 400);
    expectError(await post({ users: file([]), connection_id: CONNECTION_ID }), 400);
    expectError(await post({ users, connection_id: CONNECTION_ID, upsert: 'yes' }), 400);
    expectError(await post({ users, connection_id: CONNECTION_ID, nope: 'x' }), 400);
    // a file of Auth0's 500 KB passes the body limit (64 KB here); one past it is 413
    const big = Array.from({ length: 4000 }, (_, i) => ({
      email: `big-${i}-${Math.random()}@import.example`,
    }));
    const text = JSON.stringify(big);
    expect(text.length).toBeGreaterThan(200 * 1024);
    expect(text.length).toBeLessThan(500 * 1024);
    const accepted = ok(
      await post({ users: new File([text], 'big.json'), connection_id: CONNECTION_ID }),
      201,
    );
    expect(accepted.summary).toMatchObject({ total: 4000, inserted: 4000 });
    const tooBig = new File([' '.repeat(500 * 1024 + 1), '[]'], 'too-big.json');
    expectError(await post({ users: tooBig, connection_id: CONNECTION_ID }), 413);
    // sent as JSON: 415 naming the type it takes
    const asJson = await call('POST', '/jobs/users-imports', { body: { connection_id: CONNECTION_ID } });
    expectError(asJson, 415, 'unsupported_media_type');
    expect(asJson.body.message).toMatch(/multipart\/form-data/);
    expectError(await call('GET', '/jobs/job_doesnotexist'), 404);
    expectError(await call('GET', '/jobs/job_doesnotexist/errors'), 404);
    // read:users reads a job; creating one takes create:users
    const reader = await managementToken(t, ['read:users']);
    expectError(await post({ users, connection_id: CONNECTION_ID }, reader.token), 403);
    const read = await call('GET', `/jobs/${accepted.id}`, { token: reader.token });
    expect(ok(read).summary.inserted).toBe(4000);
  });

  it('upsert is update:users work, and takes over no one holding Management API permissions the caller lacks', async () => {
    const admin = await createAdmin(t.rt.storage, t.clock, {
      email: unique('admin'),
      password: 'x'.repeat(12),
    });
    const before = await t.rt.storage.users.get(admin.id);
    const creator = await managementToken(t, ['create:users', 'read:users']);
    const hijack = file([{ email: admin.email, password_hash: bcrypted, blocked: true }]);
    const refused = await post(
      { users: hijack, connection_id: CONNECTION_ID, upsert: 'true' },
      creator.token,
    );
    expectError(refused, 403, 'insufficient_scope');
    expect(refused.body.message).toContain('update:users');
    // with update:users, but not the admin's other permissions: that user fails, nothing changes
    const updater = await managementToken(t, ['create:users', 'update:users', 'read:users']);
    const job = ok(
      await post({ users: hijack, connection_id: CONNECTION_ID, upsert: 'true' }, updater.token),
      201,
    );
    expect(job.summary).toMatchObject({ updated: 0, failed: 1 });
    const errors = ok(await call('GET', `/jobs/${job.id}/errors`));
    expect(errors[0].errors[0]).toMatchObject({ code: 'FORBIDDEN' });
    expect(errors[0].errors[0].message).toContain('only a caller holding them all');
    expect(await t.rt.storage.users.get(admin.id)).toEqual(before);
    // a name alone takes nothing over: it passes
    const renamed = ok(
      await post(
        {
          users: file([{ email: admin.email, name: 'Renamed Admin', blocked: false }]),
          connection_id: CONNECTION_ID,
          upsert: 'true',
        },
        updater.token,
      ),
      201,
    );
    expect(renamed.summary).toMatchObject({ updated: 1, failed: 0 });
    expect((await t.rt.storage.users.get(admin.id))?.passwordHash).toBe(before?.passwordHash);
  });

  it('refuses ids that could pass for an email or an application, and keeps no unknown field', async () => {
    const job = ok(
      await post({
        users: file([
          { email: unique('at'), user_id: 'admin@corp.example' },
          { email: unique('dot'), user_id: '..' },
          { email: unique('app'), user_id: web.clientId },
          { email: unique('plain'), password: 'hunter2 in the clear' },
          { email: unique('cheap'), password_hash: await bcryptHash(PASSWORD, 4) },
        ]),
        connection_id: CONNECTION_ID,
      }),
      201,
    );
    expect(job.summary).toMatchObject({ inserted: 0, failed: 5 });
    const errors = ok(await call('GET', `/jobs/${job.id}/errors`));
    expect(errors.map((e: { errors: { path: string }[] }) => e.errors[0]!.path)).toEqual([
      'user_id',
      'user_id',
      'user_id',
      '',
      'password_hash',
    ]);
    expect(errors[3].user.password).toBe('[not kept]');
    expect(JSON.stringify(errors)).not.toContain('hunter2');
    // a file that is not UTF-8, and a NUL in a form field, are refused before anything is imported
    const latin1 = new File(
      [Buffer.from([0x5b, 0x7b, 0x22, 0x65, 0x22, 0x3a, 0x22, 0xe9, 0x22, 0x7d, 0x5d])],
      'l.json',
    );
    expect((await post({ users: latin1, connection_id: CONNECTION_ID })).body.message).toContain('not UTF-8');
    const nul = await post({
      users: file([{ email: unique('nul') }]),
      connection_id: CONNECTION_ID,
      external_id: 'a\u0000b',
    });
    expectError(nul, 400);
    expect(nul.body.message).toContain('external_id');
  });

  it('lists its one connection, as the SDK reads it (checkpoint paging) and by page', async () => {
    const page = await mgmt.connections.list({ strategy: ['auth0'] });
    expect(page.data.map((k) => [k.id, k.name, k.strategy])).toEqual([
      [CONNECTION_ID, 'Username-Password-Authentication', 'auth0'],
    ]);
    expect(ok(await call('GET', '/connections', { query: { strategy: 'google-oauth2' } }))).toEqual([]);
    expect(ok(await call('GET', '/connections', { query: { include_totals: 'true' } }))).toMatchObject({
      total: 1,
      connections: [{ id: CONNECTION_ID }],
    });
    const first = ok(await call('GET', '/connections', { query: { take: '1' } }));
    expect(first.connections).toEqual([expect.objectContaining({ id: CONNECTION_ID })]);
    expect(ok(await call('GET', '/connections', { query: { from: first.next } }))).toEqual({
      connections: [],
    });
    expectError(await call('GET', '/connections', { query: { take: '0' } }), 400);
    expectError(await call('GET', '/connections', { query: { from: 'junk' } }), 400);
    expect(ok(await call('GET', `/connections/${CONNECTION_ID}`, { query: { fields: 'id,name' } }))).toEqual({
      id: CONNECTION_ID,
      name: 'Username-Password-Authentication',
    });
    expectError(await call('GET', '/connections/con_nope'), 404);
  });
});
