import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { newLogEvent } from '../../src/events/log.js';
import type {
  ClientGrant,
  LogEvent,
  LogFilter,
  Permission,
  Role,
  Storage,
  UserPermission,
} from '../../src/storage/types.js';
import { TestClock } from '../support/app.js';
import { createTestDatabase, describeEachBackend, type TestDatabase } from '../support/databases.js';

const T0 = 1_700_000_000;
const MS = T0 * 1000;
const meta = { isSystem: false, createdAt: T0, updatedAt: T0 };
/** Lower-case hex: unique, and free of LIKE's % _ and \. */
const tag = () => `t${randomBytes(8).toString('hex')}`;
const page = { offset: 0, limit: 1000 };
const perm = (apiId: string, permission: string): Permission => ({ apiId, permission });
const role = (o: Partial<Role> = {}): Role => ({ ...meta, id: tag(), name: tag(), description: 'R', ...o });
const apiBase = { name: 'API', scopes: [], tokenLifetime: 3600, signingAlg: 'ES256' as const, options: {} };
const person = { passwordHash: 'x', blocked: false, claims: {}, appMetadata: {}, userMetadata: {} };
const app = { type: 'web' as const, secretHash: null, callbacks: [], logoutCallbacks: [], settings: {} };
/** A log event without the optional fields, unless given. */
const LOG = { date: MS, type: 's', description: 'Success Login', details: {} };
const event = (o: Partial<LogEvent> = {}): LogEvent => ({ logId: tag(), ...LOG, ...o });
const ids = (events: LogEvent[] | null) => events?.map((e) => e.logId);
/** Sources in a stable order: their order is not part of the contract. */
const bySource = (list: UserPermission[]) =>
  list.map((p) => ({ ...p, sources: p.sources.map((x) => JSON.stringify(x)).sort() }));
const pairs = (list: Permission[]) => list.map((p) => `${p.apiId} ${p.permission}`);

describeEachBackend('rbac and logs storage contract', (backend) => {
  const clock = new TestClock(T0);
  let db: TestDatabase;
  let s: Storage;

  beforeAll(async () => {
    db = await createTestDatabase(backend);
    s = db.open(clock);
    await s.migrate();
  });
  afterAll(async () => {
    await s?.close();
    await db?.drop();
  });

  /** Two new APIs whose ids sort in this order. */
  const newApis = async () => {
    const t = tag();
    for (const id of [`a-${t}`, `b-${t}`])
      await s.apis.create({ ...meta, ...apiBase, allowOfflineAccess: false, id, identifier: id });
    return [`a-${t}`, `b-${t}`] as const;
  };
  const newUsers = async <N extends string[]>(...userIds: N) => {
    for (const id of userIds) await s.users.create({ ...meta, ...person, id, email: `${id}@example.com` });
    return userIds as { [K in keyof N]: string };
  };
  const newRoles = async <N extends string[]>(...names: N) => {
    const made = names.map((name) => role({ name }));
    for (const r of made) await s.roles.create(r);
    return made as { [K in keyof N]: Role };
  };

  describe('roles', () => {
    it('creates, gets by id and name, rejects a duplicate name, deletes once', async () => {
      const r = role({ description: 'Edits things', isSystem: true, createdAt: T0 + 1 });
      await s.roles.create(r);
      expect(await s.roles.get(r.id)).toEqual(r);
      expect(await s.roles.getByName(r.name)).toEqual(r);
      await expect(s.roles.create(role({ name: r.name }))).rejects.toThrow();
      expect(await s.roles.count({ nameFilter: r.name })).toBe(1);
      expect(await s.roles.delete(r.id)).toBe(true);
      expect(await s.roles.get(r.id)).toBeNull();
      expect(await s.roles.getByName(r.name)).toBeNull();
      expect(await s.roles.delete(r.id)).toBe(false);
    });

    it('lists by name, filtered by a case-insensitive substring; slices and counts', async () => {
      const t = tag();
      const [b, a, c] = await newRoles(`${t}-b`, `${t}-a`, `pre-${t}-c`);
      expect(await s.roles.list({ nameFilter: t })).toEqual([c, a, b]);
      expect(await s.roles.list({ nameFilter: t.toUpperCase() })).toEqual([c, a, b]);
      expect(await s.roles.list({ nameFilter: t }, { offset: 1, limit: 1 })).toEqual([a]);
      expect(await s.roles.count({ nameFilter: t.toUpperCase() })).toBe(3);
      expect(await s.roles.count({ nameFilter: `${t}-A` })).toBe(1);
      expect(await s.roles.list({}, page)).toHaveLength(await s.roles.count({}));
    });

    it('matches non-ASCII names in any case', async () => {
      const t = tag();
      const [r] = await newRoles(`Éditeurs ${t}`);
      for (const nameFilter of [`Éditeurs ${t}`, `éditeurs ${t}`, `ÉDITEURS ${t.toUpperCase()}`])
        expect(await s.roles.list({ nameFilter })).toEqual([r]);
    });

    it('treats % _ and \\ in the name filter literally', async () => {
      const t = tag();
      const [pct, , under, , slash] = await newRoles(`${t}%x`, `${t}ax`, `${t}_y`, `${t}by`, `${t}\\z`);
      expect(await s.roles.list({ nameFilter: `${t}%` })).toEqual([pct]);
      expect(await s.roles.list({ nameFilter: `${t}_` })).toEqual([under]);
      expect(await s.roles.list({ nameFilter: `${t}\\` })).toEqual([slash]);
      expect(await s.roles.count({ nameFilter: `${t}_` })).toBe(1);
    });

    it('update changes the given fields and the time; false for an unknown role', async () => {
      const [r] = await newRoles(tag());
      expect(await s.roles.update(r.id, { description: 'New' }, T0 + 5)).toBe(true);
      expect(await s.roles.get(r.id)).toEqual({ ...r, description: 'New', updatedAt: T0 + 5 });
      const name = tag();
      expect(await s.roles.update(r.id, { name }, T0 + 6)).toBe(true);
      expect(await s.roles.getByName(name)).toEqual({ ...r, name, description: 'New', updatedAt: T0 + 6 });
      expect(await s.roles.getByName(r.name)).toBeNull();
      expect(await s.roles.update(tag(), { name: tag() }, T0)).toBe(false);
    });

    it("ensureSystem creates the role, then updates its name by id; the description stays the admins'", async () => {
      const sys = role({ isSystem: true });
      await s.roles.ensureSystem(sys);
      expect(await s.roles.get(sys.id)).toEqual(sys);
      const name = tag();
      await s.roles.ensureSystem({ ...sys, name, description: 'Changed', createdAt: T0 + 9 });
      const got = await s.roles.get(sys.id);
      expect(got).toMatchObject({ name, description: sys.description, isSystem: true, createdAt: T0 });
      expect(await s.roles.getByName(sys.name)).toBeNull();
    });
  });

  describe('role permissions and members', () => {
    it('adds idempotently, lists by API then name, slices, counts and removes', async () => {
      const [a, b] = await newApis();
      const [r] = await newRoles(tag());
      const id = r.id;
      await s.roles.addPermissions(id, [perm(b, 'read'), perm(a, 'write'), perm(a, 'read')], T0);
      await s.roles.addPermissions(id, [perm(a, 'read'), perm(a, 'read')], T0);
      await s.roles.addPermissions(id, [perm(a, 'read'), perm(a, 'admin')], T0 + 1);
      const all = [perm(a, 'admin'), perm(a, 'read'), perm(a, 'write'), perm(b, 'read')];
      expect(await s.roles.listPermissions(id)).toEqual(all);
      expect(await s.roles.countPermissions(id)).toBe(4);
      expect(await s.roles.listPermissions(id, { offset: 1, limit: 2 })).toEqual(all.slice(1, 3));
      await s.roles.removePermissions(id, [perm(a, 'write'), perm(b, 'absent'), perm(b, 'admin')]);
      expect(await s.roles.listPermissions(id)).toEqual([perm(a, 'admin'), perm(a, 'read'), perm(b, 'read')]);
      expect(await s.roles.countPermissions(id)).toBe(3);
    });

    it('deleting an API or a role removes its permission rows', async () => {
      const [a, b] = await newApis();
      const [r1, r2] = await newRoles(tag(), tag());
      const [u] = await newUsers(tag());
      await s.roles.addPermissions(r1.id, [perm(a, 'x'), perm(b, 'y')], T0);
      await s.roles.addPermissions(r2.id, [perm(a, 'x')], T0);
      await s.permissions.add(u, [perm(a, 'x'), perm(b, 'y')], T0);
      expect(await s.apis.delete(a)).toBe(true);
      expect(await s.roles.listPermissions(r1.id)).toEqual([perm(b, 'y')]);
      expect(await s.roles.countPermissions(r2.id)).toBe(0);
      expect(pairs(await s.permissions.listOf(u))).toEqual([`${b} y`]);
      expect(await s.roles.delete(r1.id)).toBe(true);
      expect(await s.roles.countPermissions(r1.id)).toBe(0);
      expect(await s.roles.listPermissions(r1.id)).toEqual([]);
    });

    it('assigns idempotently, lists members and roles, unassigns; deletions end memberships', async () => {
      const t = tag();
      const [u1, u2, u3] = await newUsers(`${t}-1`, `${t}-2`, `${t}-3`);
      const [ra, rb] = await newRoles(`${t}-a`, `${t}-b`);
      await s.roles.assign([u2, u1], [rb.id, ra.id], T0);
      await s.roles.assign([u3, u1, u3], [ra.id], T0);
      expect(await s.roles.listUsers(ra.id)).toEqual([u1, u2, u3]);
      expect(await s.roles.listUsers(ra.id, { offset: 1, limit: 1 })).toEqual([u2]);
      expect([await s.roles.countUsers(ra.id), await s.roles.countUsers(rb.id)]).toEqual([3, 2]);
      expect(await s.roles.rolesOf(u1)).toEqual([ra, rb]);
      expect(await s.roles.rolesOf(u1, { offset: 1, limit: 5 })).toEqual([rb]);
      expect(await s.roles.countRolesOf(u1)).toBe(2);
      await s.roles.unassign(u1, [ra.id]);
      await s.roles.unassign(u1, [ra.id]);
      expect(await s.roles.rolesOf(u1)).toEqual([rb]);
      expect(await s.roles.listUsers(ra.id)).toEqual([u2, u3]);
      expect(await s.users.delete(u2)).toBe(true);
      expect(await s.roles.listUsers(ra.id)).toEqual([u3]);
      expect([await s.roles.countUsers(rb.id), await s.roles.countRolesOf(u2)]).toEqual([1, 0]);
      expect(await s.roles.delete(rb.id)).toBe(true);
      expect(await s.roles.countRolesOf(u1)).toBe(0);
      expect(await s.roles.rolesOf(u1)).toEqual([]);
    });
  });

  describe('permissions', () => {
    it('adds and removes direct permissions idempotently', async () => {
      const [a] = await newApis();
      const [u] = await newUsers(tag());
      await s.permissions.add(u, [perm(a, 'read'), perm(a, 'read')], T0);
      await s.permissions.add(u, [perm(a, 'write'), perm(a, 'read')], T0);
      const direct = [{ type: 'DIRECT' as const }];
      expect(await s.permissions.listOf(u)).toEqual([
        { ...perm(a, 'read'), sources: direct },
        { ...perm(a, 'write'), sources: direct },
      ]);
      await s.permissions.remove(u, [perm(a, 'read')]);
      await s.permissions.remove(u, [perm(a, 'read')]);
      expect(await s.permissions.effective(u, a)).toEqual(['write']);
    });

    it('effective is the union of direct and role permissions for one API, without duplicates', async () => {
      const [a, b] = await newApis();
      const [u, other] = await newUsers(tag(), tag());
      const [r1, r2] = await newRoles(tag(), tag());
      await s.permissions.add(u, [perm(a, 'read'), perm(a, 'write'), perm(b, 'b-only')], T0);
      await s.roles.addPermissions(r1.id, [perm(a, 'write'), perm(a, 'admin'), perm(b, 'other')], T0);
      await s.roles.addPermissions(r2.id, [perm(a, 'admin'), perm(a, 'audit')], T0);
      await s.roles.assign([u], [r1.id, r2.id], T0);
      await s.roles.assign([other], [r2.id], T0);
      expect((await s.permissions.effective(u, a)).sort()).toEqual(['admin', 'audit', 'read', 'write']);
      expect((await s.permissions.effective(u, b)).sort()).toEqual(['b-only', 'other']);
      expect((await s.permissions.effective(other, a)).sort()).toEqual(['admin', 'audit']);
      expect(await s.permissions.effective(other, b)).toEqual([]);
    });

    it('listOf gives each permission once with all its sources, by API then name', async () => {
      const [a, b] = await newApis();
      const [u] = await newUsers(tag());
      const [r1, r2] = await newRoles(tag(), tag());
      await s.permissions.add(u, [perm(a, 'read')], T0);
      await s.roles.addPermissions(r1.id, [perm(a, 'read'), perm(a, 'write')], T0);
      await s.roles.addPermissions(r2.id, [perm(b, 'read'), perm(a, 'read')], T0);
      await s.roles.assign([u], [r2.id, r1.id], T0);
      const src = (r: Role) => ({ type: 'ROLE' as const, roleId: r.id, roleName: r.name });
      const expected: UserPermission[] = [
        { ...perm(a, 'read'), sources: [{ type: 'DIRECT' }, src(r1), src(r2)] },
        { ...perm(a, 'write'), sources: [src(r1)] },
        { ...perm(b, 'read'), sources: [src(r2)] },
      ];
      expect(bySource(await s.permissions.listOf(u))).toEqual(bySource(expected));
    });

    it('removeScopes forgets the names on roles and users of that API only', async () => {
      const [a, b] = await newApis();
      const [u] = await newUsers(tag());
      const [r] = await newRoles(tag());
      await s.permissions.add(u, [perm(a, 'read'), perm(a, 'write'), perm(b, 'read')], T0);
      await s.roles.addPermissions(r.id, [perm(a, 'read'), perm(a, 'keep'), perm(b, 'read')], T0);
      await s.permissions.removeScopes(a, ['read', 'missing']);
      expect(await s.roles.listPermissions(r.id)).toEqual([perm(a, 'keep'), perm(b, 'read')]);
      expect(pairs(await s.permissions.listOf(u))).toEqual([`${a} write`, `${b} read`]);
    });
  });

  describe('client grants by subject type', () => {
    /** An application with a client and a user grant for API a, and a client grant for b. */
    const setUp = async () => {
      const clientId = tag();
      await s.applications.create({ ...meta, ...app, clientId, name: 'App', grantTypes: [] });
      const [a, b] = await newApis();
      const grant = (apiId: string, o: Partial<ClientGrant>): ClientGrant =>
        Object.assign({ id: tag(), clientId, apiId, scopes: ['read'], createdAt: T0 }, o);
      const [m2m, forUsers, other] = [
        grant(a, {}),
        grant(a, { subjectType: 'user', scopes: ['write'], createdAt: T0 + 1 }),
        grant(b, { createdAt: T0 + 2 }),
      ];
      for (const g of [m2m, forUsers, other]) expect(await s.clientGrants.upsert(g)).toStrictEqual(g);
      return { clientId, a, m2m, forUsers, other };
    };

    it('a client and a user grant coexist; get and listForClient default to client', async () => {
      const { clientId, a, m2m, forUsers, other } = await setUp();
      expect(await s.clientGrants.get(clientId, a)).toStrictEqual(m2m);
      expect(await s.clientGrants.get(clientId, a, 'client')).toStrictEqual(m2m);
      expect(await s.clientGrants.get(clientId, a, 'user')).toStrictEqual(forUsers);
      expect(await s.clientGrants.getById(forUsers.id)).toStrictEqual(forUsers);
      expect(await s.clientGrants.listForClient(clientId)).toStrictEqual([m2m, other]);
      expect(await s.clientGrants.listForClient(clientId, 'user')).toStrictEqual([forUsers]);
      const again = await s.clientGrants.upsert({ ...forUsers, id: tag(), scopes: ['admin'] });
      expect(again).toStrictEqual({ ...forUsers, scopes: ['admin'] });
      expect(await s.clientGrants.get(clientId, a)).toStrictEqual(m2m);
    });

    it('list and count filter by subject type', async () => {
      const { clientId, a, m2m, forUsers, other } = await setUp();
      expect(await s.clientGrants.list({ clientId })).toStrictEqual([m2m, forUsers, other]);
      expect(await s.clientGrants.list({ clientId, subjectType: 'user' })).toStrictEqual([forUsers]);
      expect(await s.clientGrants.list({ clientId, subjectType: 'client' })).toStrictEqual([m2m, other]);
      expect(await s.clientGrants.list({ clientId }, { offset: 1, limit: 1 })).toStrictEqual([forUsers]);
      expect(await s.clientGrants.count({ clientId, subjectType: 'client' })).toBe(2);
      expect(await s.clientGrants.count({ apiId: a, subjectType: 'user' })).toBe(1);
      expect(await s.clientGrants.count({ apiId: a })).toBe(2);
    });

    it('delete defaults to the client grant and takes user', async () => {
      const { clientId, a, forUsers } = await setUp();
      expect(await s.clientGrants.delete(clientId, a)).toBe(true);
      expect(await s.clientGrants.get(clientId, a)).toBeNull();
      expect(await s.clientGrants.get(clientId, a, 'user')).toStrictEqual(forUsers);
      expect(await s.clientGrants.delete(clientId, a, 'user')).toBe(true);
      expect(await s.clientGrants.get(clientId, a, 'user')).toBeNull();
      expect(await s.clientGrants.delete(clientId, a, 'user')).toBe(false);
    });
  });

  describe('logs', () => {
    it('inserts 450 events in one call and lists them by insertion order', async () => {
      const userId = tag();
      const events = Array.from({ length: 450 }, (_, i) => event({ userId, date: MS + i }));
      await s.logs.insert(events);
      expect(await s.logs.count({ userId })).toBe(450);
      expect(ids(await s.logs.list({ userId }, page, true))).toEqual(ids(events));
      const tail = await s.logs.list({ userId }, { offset: 440, limit: 20 });
      expect(ids(tail)).toEqual(ids(events.slice(0, 10).reverse()));
      expect(await s.logs.get(events[299]!.logId)).toStrictEqual(events[299]);
    });

    it('orders by insertion, not by date: newest first, or oldest first with the flag', async () => {
      const userId = tag();
      const at = (date: number) => event({ userId, date });
      const [x, y, z] = [at(MS + 30), at(MS + 10), at(MS)];
      await s.logs.insert([x]);
      await s.logs.insert([y, z]);
      expect(ids(await s.logs.list({ userId }, page))).toEqual(ids([z, y, x]));
      expect(ids(await s.logs.list({ userId }, page, true))).toEqual(ids([x, y, z]));
      expect(ids(await s.logs.list({ userId }, { offset: 1, limit: 1 }))).toEqual([y.logId]);
    });

    it('round-trips every field; absent optional fields stay absent', async () => {
      const full = event({
        ...{ clientId: 'c1', clientName: 'App', ip: '203.0.113.9', userAgent: 'UA/1.0', userId: 'u1' },
        ...{ userName: 'Ann', audience: 'https://api.example/', scope: 'openid read' },
        details: { nested: { list: [1, 'two', null, true] }, n: 1.5 },
      });
      const bare = newLogEvent(clock, { type: 'fp' });
      await s.logs.insert([full, bare]);
      expect(await s.logs.get(full.logId)).toStrictEqual(full);
      const got = await s.logs.get(bare.logId);
      expect(got).toStrictEqual(bare);
      expect(Object.keys(got ?? {}).sort()).toEqual(['date', 'description', 'details', 'logId', 'type']);
      expect(got).toMatchObject({ date: MS, description: 'Failed Login (Incorrect Password)', details: {} });
      expect(await s.logs.get(tag())).toBeNull();
    });

    it('filters by types, user, client and inclusive dates; count agrees', async () => {
      const [u, c] = [tag(), tag()];
      const e1 = event({ userId: u, clientId: c, type: 's', date: MS + 100 });
      const e2 = event({ userId: u, type: 'fp', date: MS + 200 });
      const e3 = event({ userId: u, clientId: c, type: 'f', date: MS + 300 });
      const e4 = event({ clientId: c, type: 's', date: MS + 200 });
      await s.logs.insert([e1, e2, e3, e4]);
      const listed = async (f: LogFilter) => {
        const list = await s.logs.list(f, page, true);
        expect(await s.logs.count(f)).toBe(list.length);
        return ids(list);
      };
      expect(await listed({ userId: u })).toEqual(ids([e1, e2, e3]));
      expect(await listed({ clientId: c })).toEqual(ids([e1, e3, e4]));
      expect(await listed({ userId: u, clientId: c })).toEqual(ids([e1, e3]));
      expect(await listed({ userId: u, types: ['s', 'f'] })).toEqual(ids([e1, e3]));
      expect(await listed({ clientId: c, types: ['fp'] })).toEqual([]);
      expect(await listed({ userId: u, since: MS + 200 })).toEqual(ids([e2, e3]));
      expect(await listed({ userId: u, until: MS + 200 })).toEqual(ids([e1, e2]));
      expect(await listed({ clientId: c, since: MS + 200, until: MS + 200 })).toEqual(ids([e4]));
      expect(await listed({ clientId: c, since: MS + 201, until: MS + 299 })).toEqual([]);
    });

    it('listAfter pages forward from an event, oldest first, within the filter', async () => {
      const userId = tag();
      const of = (type: string) => event({ userId, type });
      const [a, b, c, d] = [of('s'), of('f'), of('s'), of('s')];
      const other = event({ userId: tag() });
      await s.logs.insert([a, b]);
      await s.logs.insert([other, c, d]);
      const fwd = (logId: string | undefined, limit = 10, types?: string[]) =>
        s.logs.listAfter({ userId, ...(types ? { types } : {}) }, logId, limit);
      expect(ids(await fwd(undefined))).toEqual(ids([a, b, c, d]));
      expect(ids(await fwd(undefined, 1))).toEqual([a.logId]);
      expect(ids(await fwd(a.logId, 2))).toEqual(ids([b, c]));
      expect(ids(await fwd(a.logId, 10, ['s']))).toEqual(ids([c, d]));
      expect(ids(await fwd(other.logId))).toEqual(ids([c, d]));
      expect(await fwd(d.logId)).toEqual([]);
      expect(await fwd(tag())).toBeNull();
      // A checkpoint older than every event kept (retention took it): from the first event.
      expect(ids(await fwd(`0000000000001000000${'x'.repeat(8)}`, 2))).toEqual(ids([a, b]));
      // One that never was, made after events still kept: null.
      expect(await fwd(`${String(MS + 1).padStart(13, '0')}000000${'x'.repeat(8)}`)).toBeNull();
    });

    it('an export does not pass over an event whose transaction commits after a later event', async () => {
      const userId = tag();
      const [before, early, late] = [event({ userId }), event({ userId }), event({ userId })];
      await s.logs.insert([before]);
      let release = () => {};
      const gate = new Promise<void>((r) => {
        release = r;
      });
      let written = () => {};
      const wrote = new Promise<void>((r) => {
        written = r;
      });
      const held = s.transaction(async (tx) => {
        await tx.logs.insert([early]);
        await tx.logs.get(early.logId); // sent now, not held back for the COMMIT
        written();
        await gate;
      });
      await wrote;
      // PostgreSQL commits it now, after `early` took its place, and the export reads while
      // early's transaction is open; SQLite's one writer waits, and so does its reader.
      const lateWrite = s.logs.insert([late]);
      if (backend === 'postgres') await lateWrite;
      else release();
      const first = (await s.logs.listAfter({ userId }, before.logId, 10)) ?? [];
      release();
      await held;
      await lateWrite;
      const checkpoint = first.at(-1)?.logId ?? before.logId;
      const rest = (await s.logs.listAfter({ userId }, checkpoint, 10)) ?? [];
      expect(ids([...first, ...rest])?.sort()).toEqual(ids([early, late])?.sort());
      // the newest, in the order the export went: the last of them is a checkpoint that misses nothing
      expect(ids(await s.logs.newest({ userId }, 10))).toEqual(ids([before, ...first, ...rest]));
      expect(ids(await s.logs.newest({ userId }, 1))).toEqual(ids([...first, ...rest].slice(-1)));
    });

    it('purge deletes at most `limit` events older than `before` and says how many', async () => {
      // Only this test writes dates below 1e6 ms, so purge(2000) touches nothing else.
      const userId = tag();
      const old = Array.from({ length: 5 }, (_, i) => event({ userId, date: 1000 + i }));
      const [edge, fresh] = [event({ userId, date: 2000 }), event({ userId })];
      await s.logs.insert([...old, edge, fresh]);
      expect(await s.logs.purge(2000, 3)).toBe(3);
      expect(await s.logs.count({ userId })).toBe(4);
      expect(await s.logs.purge(2000, 10)).toBe(2);
      expect(await s.logs.purge(2000, 10)).toBe(0);
      expect(ids(await s.logs.list({ userId }, page, true))).toEqual(ids([edge, fresh]));
    });
  });
});
