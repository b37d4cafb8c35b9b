import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Management as M, ManagementClient } from 'auth0';
import { Agent } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestTls, type TestTls } from '../support/tls.js';
import * as proc from './process.js';
import { errorBody, refusal } from './sdk.js';

/**
 * Roles, permissions and the event log through the unmodified `auth0` SDK (v7) against a real
 * `sesame start` over HTTPS: RBAC settings of an API, roles and their members, a person's
 * permissions with their sources, and the `sapi`/`fapi` events every write leaves behind.
 */

const PASSWORD = 'rbac pass phrase 7 horses';
const ORDERS = 'https://orders.example/api';
const ADMIN_ROLE = 'rol_sesame_admin';
const perm = (permission_name: string) => ({ resource_server_identifier: ORDERS, permission_name });
const CLERK = { name: 'Order clerk', description: 'Handles orders' };
const MANAGER = { name: 'Order manager', description: 'Runs orders' };

type Body = Record<string, unknown>;
type Log = M.Log & { log_id: string; date: string; details: { request: Req; response: Res } };
type Req = { method: string; path: string; body?: Body };
type Res = { statusCode: number; body?: Body };
type Source = { source_id: string; source_name: string; source_type: string };
type UserPermission = { permission_name?: string; sources: Source[] };

/** Every item of an SDK list, following its pages. */
async function all<T>(page: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const item of page) {
    out.push(item);
    if (out.length > 1000) throw new Error('paging does not end');
  }
  return out;
}

describe('e2e: roles, permissions and logs through the auth0 SDK over HTTPS [sqlite]', {
  timeout: 90_000,
}, () => {
  let tls: TestTls;
  let dataRoot: string;
  let agent: Agent;
  let issuer: string;
  let server: proc.SesameProcess;
  let mgmt: ManagementClient;
  let admin: { client_id: string; client_secret: string };
  /** Management API requests the SDK made, in order. */
  const requests: URL[] = [];

  /** Node's fetch, trusting the test CA through an undici dispatcher; records /api/v2 URLs. */
  const httpsFetch: typeof fetch = (input, init) => {
    const url = new URL(input instanceof Request ? input.url : String(input));
    if (url.pathname.startsWith('/api/v2/')) requests.push(url);
    return fetch(input, { ...init, dispatcher: agent } as RequestInit);
  };
  /** The query parameter `name` of each request to `path` since the `since`th. */
  const sent = (since: number, path: string, name: string) =>
    requests
      .slice(since)
      .filter((u) => u.pathname === path)
      .map((u) => u.searchParams.get(name));

  beforeAll(async () => {
    proc.assertBuilt();
    tls = await createTestTls();
    agent = new Agent({ connect: { ca: tls.caPem } });
    dataRoot = await mkdtemp(join(tmpdir(), 'sesame-mgmt-rbac-'));
    let env: Record<string, string> = {};
    // a port free a moment ago may be taken by another test's server before ours binds it: retry
    for (let attempt = 1; ; attempt++) {
      const port = await proc.freePort();
      issuer = `https://localhost:${port}`;
      env = {
        SESAME_PORT: String(port),
        SESAME_HOST: '127.0.0.1',
        SESAME_ISSUER: issuer,
        SESAME_DATA_DIR: join(dataRoot, `data-${attempt}`),
        SESAME_TLS_CERT: tls.cert,
        SESAME_TLS_KEY: tls.key,
      };
      server = proc.startSesame(env);
      const up = () =>
        httpsFetch(`${issuer}/readyz`, { signal: AbortSignal.timeout(2_000) }).then(
          (res) => res.arrayBuffer().then(() => res.status === 200 || undefined),
          () => undefined, // not listening yet
        );
      const ready = await proc.eventually(async () => (server.exit() ? false : up()), 30_000, 'ready', 100);
      if (ready) break;
      const output = `${server.stdout()}${server.stderr()}`;
      if (attempt >= 3 || !output.includes('EADDRINUSE')) {
        throw new Error(`sesame exited ${JSON.stringify(server.exit())} before it was ready\n${output}`);
      }
    }
    admin = await proc.runCliJson(['apps', 'create', '--type', 'm2m', '--name', 'SDK admin'], env);
    const scopes = ['--api', `${issuer}/api/v2/`, '--all-scopes'];
    await proc.runCliJson(['apps', 'authorize', ...scopes, '--', admin.client_id], env);
    const { client_id: clientId, client_secret: clientSecret } = admin;
    const domain = new URL(issuer).host;
    mgmt = new ManagementClient({ domain, clientId, clientSecret, maxRetries: 0, fetch: httpsFetch });
  });

  afterAll(async () => {
    try {
      const early = server?.exit();
      if (early) console.error(`sesame exited early: ${JSON.stringify(early)}\n${server.stderr()}`);
      else if (server) await server.stop('SIGTERM', 5_000);
    } finally {
      await proc.killAll();
      await agent?.close();
      await tls?.cleanup();
      if (dataRoot) await rm(dataRoot, { recursive: true, force: true });
    }
  });

  // state built up by the sequence below
  let startedAt: string;
  let apiId: string;
  let roleId: string;
  let ada: string;
  let bob: string;
  let webSecret: string;

  it('creates an API that enforces RBAC with the rfc9068_profile_authz dialect', async () => {
    startedAt = new Date().toISOString(); // after the CLI set-up, whose writes are logged too
    const rbac = { enforce_policies: true, token_dialect: 'rfc9068_profile_authz' } as const;
    const api = await mgmt.resourceServers.create({
      name: 'Orders',
      identifier: ORDERS,
      scopes: ['read', 'write', 'delete', 'admin'].map((v) => ({ value: `${v}:orders`, description: v })),
      ...rbac,
    });
    expect(api).toMatchObject({ identifier: ORDERS, ...rbac });
    expect(api.subject_type_authorization?.user).toEqual({ policy: 'allow_all' });
    apiId = api.id!;
  });

  it('creates, updates and reads a role; 409 for a name taken', async () => {
    const role = await mgmt.roles.create(CLERK);
    expect(role).toEqual({ id: expect.stringMatching(/^rol_/), ...CLERK });
    roleId = role.id!;
    expect(await mgmt.roles.update(roleId, MANAGER)).toEqual({ id: roleId, ...MANAGER });
    expect(await mgmt.roles.get(roleId)).toEqual({ id: roleId, ...MANAGER });

    const dup = await refusal(mgmt.roles.create({ name: MANAGER.name }));
    expect(dup).toBeInstanceOf(M.ConflictError);
    expect(errorBody(dup)).toMatchObject({ statusCode: 409, errorCode: 'conflict' });
  });

  it('filters roles by name and pages through more than 50 of them with for await', async () => {
    const bulk = Array.from({ length: 55 }, (_, i) => `Bulk ${String(i).padStart(2, '0')}`);
    for (let i = 0; i < bulk.length; i += 11) {
      await Promise.all(bulk.slice(i, i + 11).map((name) => mgmt.roles.create({ name })));
    }
    const mine = await mgmt.roles.list({ name_filter: 'order MAN' });
    expect(mine.data).toEqual([{ id: roleId, ...MANAGER }]);
    expect(mine.response).toMatchObject({ start: 0, limit: 50, total: 1 });

    const since = requests.length;
    const first = await mgmt.roles.list({ name_filter: 'bulk' });
    expect(first.data).toHaveLength(50);
    expect(first.response.total).toBe(55);
    expect((await all(first)).map((r) => r.name).sort()).toEqual(bulk);
    // page 0 of 50, page 1 of 5, then the empty page 2 that ends the iteration
    expect(sent(since, '/api/v2/roles', 'page')).toEqual(['0', '1', '2']);

    const every = (await all(await mgmt.roles.list({ per_page: 20 }))).map((r) => r.id);
    expect(new Set(every).size).toBe(57); // the 55, the one above and Sesame Admin
    expect(every).toEqual(expect.arrayContaining([ADMIN_ROLE, roleId]));
  });

  it("gives the role permissions, lists them, takes one away; 400 for what is not the API's scope", async () => {
    await mgmt.roles.permissions.add(roleId, {
      permissions: ['read', 'write', 'delete'].map((v) => perm(`${v}:orders`)),
    });
    const listed = (await mgmt.roles.permissions.list(roleId)).data;
    expect(listed).toHaveLength(3);
    const deletion = { ...perm('delete:orders'), resource_server_name: 'Orders', description: 'delete' };
    expect(listed).toContainEqual(deletion);
    await mgmt.roles.permissions.delete(roleId, { permissions: [perm('delete:orders')] });
    const names = async () =>
      (await mgmt.roles.permissions.list(roleId)).data.map((p) => p.permission_name).sort();
    expect(await names()).toEqual(['read:orders', 'write:orders']);

    const bad = await refusal(mgmt.roles.permissions.add(roleId, { permissions: [perm('fly:orders')] }));
    expect(bad).toBeInstanceOf(M.BadRequestError);
    expect(bad.statusCode).toBe(400);
    expect(errorBody(bad).message).toContain('fly:orders');
    expect(await names()).toEqual(['read:orders', 'write:orders']);
  });

  it('assigns the role from both sides; its members page by checkpoint', async () => {
    const create = (email: string, name: string) =>
      mgmt.users.create({ connection: 'Username-Password-Authentication', email, password: PASSWORD, name });
    ada = (await create('ada@example.com', 'Ada Lovelace')).user_id!;
    bob = (await create('bob@example.org', 'Bob Builder')).user_id!;
    await mgmt.users.roles.assign(ada, { roles: [roleId] });
    await mgmt.roles.users.assign(roleId, { users: [bob] });

    const since = requests.length;
    const first = await mgmt.roles.users.list(roleId, { take: 1 });
    expect(first.data).toHaveLength(1);
    expect(first.hasNextPage()).toBe(true);
    expect((await all(first)).sort((a, b) => a.email!.localeCompare(b.email!))).toEqual([
      { user_id: ada, email: 'ada@example.com', name: 'Ada Lovelace' },
      { user_id: bob, email: 'bob@example.org', name: 'Bob Builder' },
    ]);
    // the first page without `from`, then each `next` handed back, until an answer without one
    const froms = sent(since, `/api/v2/roles/${roleId}/users`, 'from');
    expect(froms).toEqual([null, expect.any(String), expect.any(String)]);

    const roles = await mgmt.users.roles.list(ada);
    expect(roles.data).toEqual([{ id: roleId, ...MANAGER }]);
    expect(roles.response).toMatchObject({ total: 1 });
  });

  it("lists a user's permissions with their sources; direct ones and the role come off", async () => {
    await mgmt.users.permissions.create(ada, { permissions: [perm('read:orders'), perm('admin:orders')] });
    const sources = async () => {
      const items = (await mgmt.users.permissions.list(ada)).data as UserPermission[];
      return Object.fromEntries(items.map((p) => [p.permission_name, p.sources]));
    };
    const direct = { source_id: '', source_name: '', source_type: 'DIRECT' };
    const viaRole = { source_id: roleId, source_name: MANAGER.name, source_type: 'ROLE' };
    const before = await sources();
    expect(Object.keys(before).sort()).toEqual(['admin:orders', 'read:orders', 'write:orders']);
    expect(before['admin:orders']).toEqual([direct]);
    expect(before['write:orders']).toEqual([viaRole]);
    expect(before['read:orders']).toHaveLength(2);
    expect(before['read:orders']).toEqual(expect.arrayContaining([direct, viaRole]));
    const [one] = (await mgmt.users.permissions.list(ada)).data;
    expect(one).toMatchObject({ resource_server_identifier: ORDERS, resource_server_name: 'Orders' });

    await mgmt.users.permissions.delete(ada, { permissions: [perm('read:orders'), perm('admin:orders')] });
    expect(await sources()).toEqual({ 'read:orders': [viaRole], 'write:orders': [viaRole] });

    await mgmt.users.roles.delete(ada, { roles: [roleId] });
    expect((await mgmt.users.roles.list(ada)).data).toEqual([]);
    expect(await sources()).toEqual({});
    expect((await mgmt.roles.users.list(roleId)).data.map((u) => u.user_id)).toEqual([bob]);
  });

  it('deletes the role; Sesame Admin cannot be deleted', async () => {
    await mgmt.roles.delete(roleId);
    expect(await refusal(mgmt.roles.get(roleId))).toBeInstanceOf(M.NotFoundError);
    expect((await mgmt.users.roles.list(bob)).data).toEqual([]);

    const refused = await refusal(mgmt.roles.delete(ADMIN_ROLE));
    expect(refused).toBeInstanceOf(M.ForbiddenError);
    expect(errorBody(refused)).toMatchObject({ statusCode: 403, errorCode: 'operation_not_supported' });
    expect(await mgmt.roles.get(ADMIN_ROLE)).toMatchObject({ id: ADMIN_ROLE, name: 'Sesame Admin' });
  });

  it("changes the API's RBAC settings and reads them back; a partial update keeps the rest", async () => {
    const sta = { user: { policy: 'require_client_grant' }, client: { policy: 'deny_all' } } as const;
    const settings = {
      enforce_policies: false,
      token_dialect: 'access_token',
      subject_type_authorization: sta,
    } as const;
    expect(await mgmt.resourceServers.update(apiId, settings)).toMatchObject(settings);
    expect(await mgmt.resourceServers.get(apiId)).toMatchObject(settings);
    const next = { enforce_policies: true, token_dialect: 'rfc9068_profile' } as const;
    await mgmt.resourceServers.update(apiId, next);
    expect(await mgmt.resourceServers.get(apiId)).toMatchObject({ ...settings, ...next });
  });

  it('grants an application access for people (subject_type user) and filters grants by it', async () => {
    const web = await mgmt.clients.create({
      name: 'Web',
      app_type: 'regular_web',
      callbacks: ['https://rp.example/'],
    });
    webSecret = web.client_secret!;
    expect(webSecret).toEqual(expect.any(String));
    const request = { client_id: web.client_id!, audience: ORDERS, scope: ['read:orders'] };
    const grant = await mgmt.clientGrants.create({ ...request, subject_type: 'user' });
    expect(grant).toMatchObject({ ...request, subject_type: 'user' });
    const forPeople = await all(await mgmt.clientGrants.list({ subject_type: 'user' }));
    expect(forPeople.map((g) => g.id)).toEqual([grant.id]);
    const forClients = await all(await mgmt.clientGrants.list({ subject_type: 'client' }));
    expect(forClients.map((g) => g.client_id)).toContain(admin.client_id);
    expect(forClients.map((g) => g.id)).not.toContain(grant.id);
    expect(forClients.every((g) => g.subject_type === 'client')).toBe(true);
  });

  describe('logs', () => {
    let writes: Log[];
    const find = (events: Log[], method: string, path: string) =>
      events.filter((e) => e.details.request.method === method && e.details.request.path === path);
    const line = ({ details: { request, response } }: Log) =>
      `${request.method} ${request.path} ${response.statusCode}`;

    it('logs.list finds the sapi events of the writes above, newest first, by `search`', async () => {
      const since = requests.length;
      const search = `type:sapi AND date:[${startedAt} TO *]`;
      writes = (await all(await mgmt.logs.list({ search, sort: 'date:-1', per_page: 100 }))) as Log[];
      expect(sent(since, '/api/v2/logs', 'search')[0]).toBe(search);
      expect(writes.length).toBeGreaterThan(70);
      expect(new Set(writes.map((e) => e.type))).toEqual(new Set(['sapi']));
      const callers = new Set(writes.map((e) => `${e.client_id} ${e.client_name}`));
      expect(callers).toEqual(new Set([`${admin.client_id} SDK admin`]));
      const dates = writes.map((e) => Date.parse(e.date));
      expect(dates).toEqual([...dates].sort((a, b) => b - a));
      expect(writes.every((e) => new Date(e.date).toISOString() === e.date)).toBe(true);

      const roleWrites = find(writes, 'POST', '/api/v2/roles');
      expect(roleWrites).toHaveLength(56);
      const created = roleWrites.find((e) => e.details.request.body?.name === CLERK.name);
      expect(created?.details.response).toEqual({ statusCode: 200, body: { id: roleId, ...CLERK } });
      const taken = find(writes, 'DELETE', `/api/v2/roles/${roleId}/permissions`);
      expect(taken.map((e) => e.details.request.body)).toEqual([{ permissions: [perm('delete:orders')] }]);
      expect(find(writes, 'DELETE', `/api/v2/roles/${roleId}`)).toHaveLength(1);
      const users = find(writes, 'POST', '/api/v2/users');
      expect(users.map((e) => e.details.request.body?.password)).toEqual(['[redacted]', '[redacted]']);
      const [client] = find(writes, 'POST', '/api/v2/clients');
      expect(client?.details.response.body?.client_secret).toBe('[redacted]');

      const failures = (await all(await mgmt.logs.list({ search: 'type:fapi', per_page: 100 }))) as Log[];
      expect(failures.map(line).sort()).toEqual([
        `DELETE /api/v2/roles/${ADMIN_ROLE} 403`,
        'POST /api/v2/roles 409',
        `POST /api/v2/roles/${roleId}/permissions 400`,
      ]);
    });

    it('logs.get returns one event whole, with hostname and the request', async () => {
      const [sample] = find(writes, 'DELETE', `/api/v2/roles/${roleId}`);
      const one = (await mgmt.logs.get(sample!.log_id)) as Log;
      expect(one).toEqual(sample);
      expect(one).toMatchObject({
        hostname: 'localhost',
        type: 'sapi',
        details: { request: { method: 'DELETE' } },
      });
      expect(line(one)).toBe(`DELETE /api/v2/roles/${roleId} 200`);
    });

    it("users.logs.list gives the user's own events; no event holds a password or a client secret", async () => {
      const adas = await all(await mgmt.users.logs.list(ada));
      expect(adas.length).toBeGreaterThan(0);
      expect(adas.every((e) => e.user_id === ada)).toBe(true);
      expect(adas.map((e) => e.type)).toContain('ss');
      const bobs = await all(await mgmt.users.logs.list(bob));
      expect(bobs.map((e) => [e.type, e.user_id])).toContainEqual(['ss', bob]);
      expect(bobs.every((e) => e.user_id === bob)).toBe(true);

      const everything = await all(await mgmt.logs.list({ per_page: 100 }));
      expect(everything.length).toBeGreaterThan(writes.length);
      const text = JSON.stringify(everything);
      for (const secret of [PASSWORD, admin.client_secret, webSecret]) expect(text).not.toContain(secret);
    });
  });
});
