import { beforeAll, describe, expect, it } from 'vitest';
import type { Storage, User, UserQuery } from '../../src/storage/types.js';
import { randomToken, sha256 } from '../../src/util/crypto.js';
import { describeEachBackend } from '../support/databases.js';
import { T0, unique } from '../support/records.js';
import { consent, contractStorage, session, tag, user } from './contract-records.js';

describeEachBackend('storage contract: users, consents and sessions', (backend) => {
  const env = contractStorage(backend);
  let storage: Storage;

  beforeAll(() => {
    ({ storage } = env);
  });

  describe('users', () => {
    it('creates and gets a user with claims and metadata intact, by id and by email', async () => {
      const u = user({
        blocked: true,
        claims: {
          name: 'Ada Lovelace',
          given_name: 'Ada',
          email_verified: false,
          address: { locality: 'London', country: 'GB' },
        },
        appMetadata: {
          plan: 'gold',
          roles: ['admin', 'ops'],
          limits: { seats: 5 },
          active: true,
          none: null,
        },
        userMetadata: { theme: 'dark', greeting: 'Grüß Gott ✓' },
        updatedAt: T0 + 1,
      });
      await storage.users.create(u);
      expect(await storage.users.get(u.id)).toEqual(u);
      expect(await storage.users.getByEmail(u.email)).toEqual(u);
      expect(await storage.users.get(unique('nobody'))).toBeNull();
      expect(await storage.users.getByEmail(`${tag()}@example.com`)).toBeNull();
    });

    it('rejects a second user with the same email', async () => {
      const u = user();
      await storage.users.create(u);
      await expect(storage.users.create(user({ email: u.email }))).rejects.toThrow();
      expect(await storage.users.getByEmail(u.email)).toEqual(u);
    });

    it('update changes the given fields and updatedAt, and nothing else; false for an unknown user', async () => {
      const u = user({ appMetadata: { plan: 'free' }, userMetadata: { theme: 'light' } });
      await storage.users.create(u);
      expect(await storage.users.update(u.id, { appMetadata: { plan: 'gold', seats: 3 } }, T0 + 10)).toBe(
        true,
      );
      expect(await storage.users.get(u.id)).toEqual({
        ...u,
        appMetadata: { plan: 'gold', seats: 3 },
        updatedAt: T0 + 10,
      });
      const patch = {
        email: `${tag()}@example.org`,
        passwordHash: '$argon2id$v=19$m=19456,t=2,p=1$bmV3c2FsdA$bmV3aGFzaA',
        blocked: true,
        claims: { name: 'New Name', nickname: 'nn' },
        userMetadata: {},
      };
      expect(await storage.users.update(u.id, patch, T0 + 20)).toBe(true);
      const got = await storage.users.get(u.id);
      expect(got).toEqual({ ...u, ...patch, appMetadata: { plan: 'gold', seats: 3 }, updatedAt: T0 + 20 });
      expect(await storage.users.getByEmail(patch.email)).toEqual(got);
      expect(await storage.users.getByEmail(u.email)).toBeNull();
      expect(await storage.users.update(unique('nobody'), { blocked: true }, T0)).toBe(false);
    });

    it('recordLogin counts a sign-in with its time and address, leaves updatedAt, and lists sort by them', async () => {
      const t = tag();
      const never = user({ email: `${t}a@example.com` });
      const once = user({ email: `${t}b@example.com` });
      const twice = user({ email: `${t}c@example.com` });
      for (const u of [never, once, twice]) await storage.users.create(u);
      expect(await storage.users.get(never.id)).toEqual(never); // no figures before the first
      await storage.users.recordLogin(twice.id, T0 + 100, '203.0.113.9');
      await storage.users.recordLogin(once.id, T0 + 200, '2001:db8::1');
      await storage.users.recordLogin(twice.id, T0 + 50, null);
      await storage.users.recordLogin(unique('nobody'), T0, '203.0.113.1'); // nobody: nothing
      expect(await storage.users.get(once.id)).toEqual({
        ...once,
        loginsCount: 1,
        lastLogin: T0 + 200,
        lastIp: '2001:db8::1',
      });
      const got = await storage.users.getByEmail(twice.email);
      expect(got).toEqual({ ...twice, loginsCount: 2, lastLogin: T0 + 50 });
      expect(got?.updatedAt).toBe(T0);
      const sorted = async (field: 'last_login' | 'logins_count', descending: boolean) =>
        (await storage.users.list({ emailPrefix: t, sort: { field, descending } })).map((u) => u.email);
      // never signed in: the earliest last_login, the fewest logins, on both databases
      expect(await sorted('last_login', false)).toEqual([never.email, twice.email, once.email]);
      expect(await sorted('last_login', true)).toEqual([once.email, twice.email, never.email]);
      expect(await sorted('logins_count', false)).toEqual([never.email, once.email, twice.email]);
      expect(await sorted('logins_count', true)).toEqual([twice.email, once.email, never.email]);
      const found = async (q: Pick<UserQuery, 'loginsCount' | 'lastLogin'>) =>
        (await storage.users.list({ emailPrefix: t, sort: { field: 'email', descending: false }, ...q })).map(
          (u) => u.email,
        );
      expect(await found({ loginsCount: { min: 1 } })).toEqual([once.email, twice.email]);
      expect(await found({ loginsCount: { min: 0, max: 1 } })).toEqual([never.email, once.email]);
      expect(await found({ lastLogin: { min: 1, max: T0 + 100 } })).toEqual([twice.email]);
      expect(await found({ lastLogin: { min: T0 + 51 } })).toEqual([once.email]);
      expect(await storage.users.count({ emailPrefix: t, loginsCount: { max: 0 } })).toBe(1);
    });

    it('update to an email another user has is refused', async () => {
      const a = user();
      const b = user();
      await storage.users.create(a);
      await storage.users.create(b);
      await expect(storage.users.update(b.id, { email: a.email }, T0 + 1)).rejects.toThrow();
      expect(await storage.users.get(b.id)).toEqual(b);
    });

    describe('list and count', () => {
      // Emails and names chosen so that byte order and any locale's order agree.
      const t = tag();
      const alice = user({
        id: `u-${t}-a`,
        email: `${t}.alice@example.com`,
        claims: { name: 'Alice Liddell' },
        createdAt: T0 + 2,
        updatedAt: T0 + 10,
      });
      const bob = user({
        id: `u-${t}-b`,
        email: `${t}.bob@example.org`,
        claims: { name: 'Bob Malice' },
        createdAt: T0 + 1,
        updatedAt: T0 + 30,
      });
      const carol = user({
        id: `u-${t}-c`,
        email: `${t}_carol@example.com`,
        claims: { name: 'Carol Chen' },
        createdAt: T0 + 2,
        updatedAt: T0 + 20,
      });
      const dave = user({
        id: `u-${t}-d`,
        email: `${t}xdave@example.com`,
        claims: { name: 'Dave 100% Real' },
        createdAt: T0 + 4,
        updatedAt: T0 + 40,
      });
      const ids = (list: User[]) => list.map((u) => u.id);
      const mine = { emailPrefix: t };

      beforeAll(async () => {
        for (const u of [dave, carol, bob, alice]) await storage.users.create(u);
      });

      it('by creation time then id by default, in slices', async () => {
        expect(await storage.users.list(mine)).toEqual([bob, alice, carol, dave]);
        expect(ids(await storage.users.list(mine, { offset: 1, limit: 2 }))).toEqual([alice.id, carol.id]);
        expect(ids(await storage.users.list(mine, { offset: 3, limit: 10 }))).toEqual([dave.id]);
        expect(await storage.users.list(mine, { offset: 4, limit: 10 })).toEqual([]);
        expect(await storage.users.count(mine)).toBe(4);
        expect(await storage.users.count()).toBe((await storage.users.list()).length);
      });

      it('sorts by each field, either way; ties by id in the same direction', async () => {
        const sorted = async (field: 'created_at' | 'updated_at' | 'email' | 'name', descending: boolean) =>
          ids(await storage.users.list({ ...mine, sort: { field, descending } }));
        expect(await sorted('created_at', false)).toEqual([bob.id, alice.id, carol.id, dave.id]);
        expect(await sorted('created_at', true)).toEqual([dave.id, carol.id, alice.id, bob.id]);
        expect(await sorted('updated_at', false)).toEqual([alice.id, carol.id, bob.id, dave.id]);
        expect(await sorted('updated_at', true)).toEqual([dave.id, bob.id, carol.id, alice.id]);
        expect(await sorted('email', false)).toEqual([alice.id, bob.id, carol.id, dave.id]);
        expect(await sorted('email', true)).toEqual([dave.id, carol.id, bob.id, alice.id]);
        expect(await sorted('name', false)).toEqual([alice.id, bob.id, carol.id, dave.id]);
        expect(await sorted('name', true)).toEqual([dave.id, carol.id, bob.id, alice.id]);
        expect(
          ids(
            await storage.users.list(
              { ...mine, sort: { field: 'email', descending: true } },
              { offset: 1, limit: 2 },
            ),
          ),
        ).toEqual([carol.id, bob.id]);
      });

      it('emailPrefix matches the start of the email only, its _ and % literally', async () => {
        expect(ids(await storage.users.list({ emailPrefix: `${t}.` }))).toEqual([bob.id, alice.id]);
        expect(ids(await storage.users.list({ emailPrefix: `${t}_` }))).toEqual([carol.id]);
        expect(await storage.users.list({ emailPrefix: `${t}%` })).toEqual([]);
        expect(ids(await storage.users.list({ emailPrefix: `${t}.alice@example.com` }))).toEqual([alice.id]);
        expect(await storage.users.list({ emailPrefix: t.slice(1) })).toEqual([]);
        expect(await storage.users.count({ emailPrefix: `${t}_` })).toBe(1);
        expect(await storage.users.count({ emailPrefix: `${t}.` })).toBe(2);
      });

      it('email matches exactly', async () => {
        expect(await storage.users.list({ email: bob.email })).toEqual([bob]);
        expect(await storage.users.count({ email: bob.email })).toBe(1);
        expect(await storage.users.list({ email: `${t}.bob@example.or` })).toEqual([]);
        expect(await storage.users.count({ email: `${t}.bob` })).toBe(0);
      });

      it('text matches a substring of the email or the name, ignoring case, its _ and % literally', async () => {
        const found = async (text: string) => ids(await storage.users.list({ ...mine, text }));
        // "alice" is in alice's email and in bob's name.
        expect(await found('ALICE')).toEqual([bob.id, alice.id]);
        expect(await found('example.org')).toEqual([bob.id]);
        expect(await found('chen')).toEqual([carol.id]);
        expect(await found('%')).toEqual([dave.id]);
        expect(await found('100%')).toEqual([dave.id]);
        expect(await found('_')).toEqual([carol.id]);
        expect(await found('\\')).toEqual([]);
        expect(await found('nobody-has-this')).toEqual([]);
        // On its own, without a prefix: every user whose email holds the tag.
        expect(ids(await storage.users.list({ text: t.toUpperCase() }))).toEqual([
          bob.id,
          alice.id,
          carol.id,
          dave.id,
        ]);
        expect(await storage.users.count({ ...mine, text: 'alice' })).toBe(2);
        expect(await storage.users.count({ text: t })).toBe(4);
      });

      it('filters combine, and sort and slice apply to the filtered rows', async () => {
        const query = { ...mine, text: 'e', sort: { field: 'name' as const, descending: true } };
        // Every name holds an "e" (case-insensitively), and every email does.
        expect(ids(await storage.users.list(query))).toEqual([dave.id, carol.id, bob.id, alice.id]);
        expect(
          ids(await storage.users.list({ ...query, emailPrefix: `${t}.` }, { offset: 1, limit: 5 })),
        ).toEqual([alice.id]);
        expect(await storage.users.list({ email: alice.email, text: 'bob' })).toEqual([]);
        expect(await storage.users.count({ email: alice.email, text: 'lidd' })).toBe(1);
      });

      it('text finds a user by the name an update gave', async () => {
        const u = user({ email: `${t}zed@example.com`, claims: { name: 'Before' } });
        await storage.users.create(u);
        await storage.users.update(u.id, { claims: { name: 'Quentin After' } }, T0 + 50);
        expect(ids(await storage.users.list({ ...mine, text: 'quentin' }))).toEqual([u.id]);
        expect(await storage.users.list({ ...mine, text: 'before' })).toEqual([]);
        await storage.users.update(u.id, { claims: {} }, T0 + 51);
        expect(await storage.users.list({ ...mine, text: 'quentin' })).toEqual([]);
        expect(await storage.users.delete(u.id)).toBe(true);
      });
    });
  });

  describe('consents', () => {
    it('upsert creates, then replaces the scopes and updatedAt, keeping the id', async () => {
      const c = consent({ audience: 'https://api.example/x' });
      await storage.consents.upsert(c);
      expect(await storage.consents.get(c.userId, c.clientId, c.audience)).toEqual(c);
      expect(await storage.consents.getById(c.id)).toEqual(c);

      const again = { ...c, id: unique('cgt'), scopes: ['read:things'], updatedAt: T0 + 9 };
      await storage.consents.upsert(again);
      const replaced = { ...c, scopes: ['read:things'], updatedAt: T0 + 9 };
      expect(await storage.consents.get(c.userId, c.clientId, c.audience)).toEqual(replaced);
      expect(await storage.consents.getById(c.id)).toEqual(replaced);
      expect(await storage.consents.getById(again.id)).toBeNull();
      expect(await storage.consents.get(c.userId, c.clientId, '')).toBeNull();
      expect(await storage.consents.getById(unique('cgt'))).toBeNull();
    });

    it('list and count by user, application and audience, newest first then id, in slices', async () => {
      const userId = unique('user');
      const c1 = unique('client');
      const c2 = unique('client');
      const aud = `https://api.example/${randomToken(6)}`;
      const t = tag();
      const a = consent({ id: `cgt-${t}-a`, userId, clientId: c1, audience: '', updatedAt: T0 + 1 });
      const b = consent({ id: `cgt-${t}-b`, userId, clientId: c1, audience: aud, updatedAt: T0 + 3 });
      const c = consent({ id: `cgt-${t}-c`, userId, clientId: c2, audience: '', updatedAt: T0 + 2 });
      const d = consent({ id: `cgt-${t}-d`, clientId: c1, audience: '', updatedAt: T0 + 4 });
      const e = consent({ id: `cgt-${t}-e`, userId, clientId: c2, audience: aud, updatedAt: T0 + 2 });
      for (const x of [a, b, c, d, e]) await storage.consents.upsert(x);

      expect(await storage.consents.list({ userId })).toEqual([b, c, e, a]);
      expect(await storage.consents.list({ clientId: c1 })).toEqual([d, b, a]);
      expect(await storage.consents.list({ userId, clientId: c1 })).toEqual([b, a]);
      expect(await storage.consents.list({ userId, audience: '' })).toEqual([c, a]);
      expect(await storage.consents.list({ userId, clientId: c2, audience: aud })).toEqual([e]);
      expect(await storage.consents.list({ userId }, { offset: 1, limit: 2 })).toEqual([c, e]);
      expect(await storage.consents.list({ userId }, { offset: 4, limit: 2 })).toEqual([]);
      expect(await storage.consents.list({ userId: unique('nobody') })).toEqual([]);

      expect(await storage.consents.count({ userId })).toBe(4);
      expect(await storage.consents.count({ clientId: c1 })).toBe(3);
      expect(await storage.consents.count({ userId, audience: aud })).toBe(2);
      expect(await storage.consents.count({ clientId: unique('nobody') })).toBe(0);
      expect(await storage.consents.count({})).toBe((await storage.consents.list({})).length);
    });

    it('deleteById removes one consent; false when there is none', async () => {
      const c = consent();
      const kept = consent({ userId: c.userId, clientId: c.clientId, audience: 'https://api.example/k' });
      await storage.consents.upsert(c);
      await storage.consents.upsert(kept);
      expect(await storage.consents.deleteById(c.id)).toBe(true);
      expect(await storage.consents.getById(c.id)).toBeNull();
      expect(await storage.consents.get(c.userId, c.clientId, c.audience)).toBeNull();
      expect(await storage.consents.list({ userId: c.userId })).toEqual([kept]);
      expect(await storage.consents.deleteById(c.id)).toBe(false);
    });

    it('deleteWhere removes every consent of a user, or given to an application, and only those', async () => {
      const u1 = unique('user');
      const u2 = unique('user');
      const c1 = unique('client');
      const c2 = unique('client');
      const u1c1 = consent({ userId: u1, clientId: c1 });
      const u1c1api = consent({ userId: u1, clientId: c1, audience: 'https://api.example/d' });
      const u1c2 = consent({ userId: u1, clientId: c2 });
      const u2c1 = consent({ userId: u2, clientId: c1 });
      const u2c2 = consent({ userId: u2, clientId: c2 });
      for (const x of [u1c1, u1c1api, u1c2, u2c1, u2c2]) await storage.consents.upsert(x);

      await storage.consents.deleteWhere({ clientId: c1 });
      expect(await storage.consents.list({ clientId: c1 })).toEqual([]);
      expect(await storage.consents.getById(u1c2.id)).toEqual(u1c2);
      expect(await storage.consents.getById(u2c2.id)).toEqual(u2c2);

      await storage.consents.deleteWhere({ userId: u1 });
      expect(await storage.consents.list({ userId: u1 })).toEqual([]);
      expect(await storage.consents.list({ userId: u2 })).toEqual([u2c2]);
    });
  });

  describe('sessions', () => {
    it('creates and gets a session with every field, by id hash and by sid', async () => {
      const s = session({
        initialIp: '203.0.113.7',
        initialUserAgent: 'Mozilla/5.0 (X11) Firefox/140.0',
        lastSeenAt: T0 + 3,
      });
      const bare = session();
      await storage.sessions.create(s);
      await storage.sessions.create(bare);
      expect(await storage.sessions.get(s.idHash)).toStrictEqual(s);
      expect(await storage.sessions.getBySid(s.sid)).toStrictEqual(s);
      expect(await storage.sessions.getBySid(bare.sid)).toStrictEqual(bare);
      expect(await storage.sessions.getBySid(unique('sid'))).toBeNull();
    });

    it('touch records the last use and changes nothing else', async () => {
      const s = session();
      const other = session({ userId: s.userId });
      await storage.sessions.create(s);
      await storage.sessions.create(other);
      await storage.sessions.touch(s.idHash, T0 + 42);
      expect(await storage.sessions.get(s.idHash)).toEqual({ ...s, lastSeenAt: T0 + 42 });
      expect(await storage.sessions.get(other.idHash)).toEqual(other);
      await expect(storage.sessions.touch(sha256('no such session'), T0)).resolves.toBeUndefined();
    });

    it('listForUser lists the unexpired sessions of the user, newest first, in slices', async () => {
      const userId = unique('user');
      const now = T0 + 100;
      const s1 = session({ userId, createdAt: T0 });
      const s2 = session({ userId, createdAt: T0 + 10, lastSeenAt: T0 + 10, initialIp: '198.51.100.1' });
      const s3 = session({ userId, createdAt: T0 + 20, lastSeenAt: T0 + 20 });
      // Expiry is exclusive: at that second the session is gone.
      const expired = session({ userId, createdAt: T0 + 30, expiresAt: now });
      const otherUser = session({ createdAt: T0 + 40 });
      for (const x of [s2, expired, s1, otherUser, s3]) await storage.sessions.create(x);

      expect(await storage.sessions.listForUser(userId, now)).toEqual([s3, s2, s1]);
      expect(await storage.sessions.listForUser(userId, now, { offset: 1, limit: 1 })).toEqual([s2]);
      expect(await storage.sessions.listForUser(userId, now, { offset: 0, limit: 2 })).toEqual([s3, s2]);
      expect(await storage.sessions.listForUser(userId, now, { offset: 3, limit: 2 })).toEqual([]);
      expect(await storage.sessions.listForUser(userId, now - 1)).toEqual([expired, s3, s2, s1]);
      expect(await storage.sessions.listForUser(unique('nobody'), now)).toEqual([]);
      // With an idle lifetime: only those used within it (as a sign-in counts them).
      expect(await storage.sessions.listForUser(userId, now, undefined, 90)).toEqual([s3]);
      expect(await storage.sessions.listForUser(userId, now, undefined, 91)).toEqual([s3, s2]);
    });

    it('deleteForUser ends every session of the user and counts them; deleteBySid ends one', async () => {
      const userId = unique('user');
      const a = session({ userId });
      const b = session({ userId });
      const other = session();
      for (const x of [a, b, other]) await storage.sessions.create(x);
      expect(await storage.sessions.deleteForUser(userId)).toBe(2);
      expect(await storage.sessions.get(a.idHash)).toBeNull();
      expect(await storage.sessions.getBySid(b.sid)).toBeNull();
      expect(await storage.sessions.get(other.idHash)).toEqual(other);
      expect(await storage.sessions.deleteForUser(userId)).toBe(0);

      expect(await storage.sessions.deleteBySid(other.sid)).toBe(true);
      expect(await storage.sessions.get(other.idHash)).toBeNull();
      expect(await storage.sessions.deleteBySid(other.sid)).toBe(false);
    });
  });
});
