import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type {
  AuthorizationCodeRecord,
  RefreshTokenRecord,
  SessionRecord,
  Storage,
  User,
} from '../../src/storage/types.js';
import { randomToken, sha256 } from '../../src/util/crypto.js';
import { TestClock } from '../support/app.js';
import { createTestDatabase, describeEachBackend, type TestDatabase } from '../support/databases.js';
import { refreshToken, T0, unique } from '../support/records.js';
import { session } from './contract-records.js';

/*
 * The storage calls a token response makes in one round trip on PostgreSQL (#16): a code's
 * consumption or a refresh token's rotation with the user it was issued for, an SSO session with
 * its user; and a refresh token created with the access token issued beside it, in one row. Each
 * must answer exactly as the separate calls it replaces, on both backends.
 */

function user(): User {
  return {
    id: unique('user'),
    email: `${unique('u')
      .toLowerCase()
      .replace(/[^a-z0-9-]/g, '0')}@example.com`,
    passwordHash: '$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHQ$aGFzaGhhc2hoYXNo',
    blocked: false,
    claims: { name: 'Joined User', email_verified: true },
    appMetadata: { plan: 'gold' },
    userMetadata: { theme: 'dark' },
    createdAt: T0,
    updatedAt: T0 + 1,
  };
}

function code(userId: unknown): AuthorizationCodeRecord {
  return {
    hash: sha256(randomToken()),
    clientId: unique('client'),
    grantId: unique('grant'),
    expiresAt: T0 + 60,
    payload: { userId, redirectUri: 'https://app.example/cb', scopes: ['openid'], authTime: T0 - 5 },
    consumedAt: null,
  };
}

describeEachBackend('storage: token writes joined with their user (#16)', (backend) => {
  const clock = new TestClock(T0);
  let db: TestDatabase;
  let storage: Storage;
  let person: User;

  beforeAll(async () => {
    db = await createTestDatabase(backend);
    storage = db.open(clock);
    await storage.migrate();
    person = user();
    await storage.users.create(person);
  });
  afterAll(async () => {
    await storage?.close();
    await db?.drop();
  });

  describe('authorizationCodes.consumeWithUser', () => {
    it('the winner gets the code consumed and its user; a replay gets the code alone', async () => {
      const c = code(person.id);
      await storage.authorizationCodes.create(c);
      const first = await storage.authorizationCodes.consumeWithUser(c.hash, T0 + 3);
      expect(first).toEqual({ code: { ...c, consumedAt: T0 + 3 }, replayed: false, user: person });
      const again = await storage.authorizationCodes.consumeWithUser(c.hash, T0 + 9);
      expect(again).toEqual({ code: { ...c, consumedAt: T0 + 3 }, replayed: true });
    });

    it('a code whose user is gone comes with user null; an unknown code is null', async () => {
      const c = code(unique('deleted-user'));
      await storage.authorizationCodes.create(c);
      expect(await storage.authorizationCodes.consumeWithUser(c.hash, T0)).toEqual({
        code: { ...c, consumedAt: T0 },
        replayed: false,
        user: null,
      });
      const odd = code(42);
      await storage.authorizationCodes.create(odd);
      expect((await storage.authorizationCodes.consumeWithUser(odd.hash, T0))?.user).toBeNull();
      expect(await storage.authorizationCodes.consumeWithUser(sha256('never issued'), T0)).toBeNull();
    });

    it("signedIn: whether the session of the code's sid is there and unexpired; absent without a sid", async () => {
      const live = session({ userId: person.id, expiresAt: T0 + 100 });
      await storage.sessions.create(live);
      const withSid = (sid: string) => {
        const c = code(person.id);
        return { ...c, payload: { ...c.payload, sid } };
      };
      const [a, b, gone] = [withSid(live.sid), withSid(live.sid), withSid(unique('ended'))];
      for (const c of [a, b, gone]) await storage.authorizationCodes.create(c);
      expect(await storage.authorizationCodes.consumeWithUser(a.hash, T0 + 5)).toEqual({
        code: { ...a, consumedAt: T0 + 5 },
        replayed: false,
        user: person,
        signedIn: true,
      });
      // the session expired by then
      expect((await storage.authorizationCodes.consumeWithUser(b.hash, T0 + 100))?.signedIn).toBe(false);
      expect((await storage.authorizationCodes.consumeWithUser(gone.hash, T0 + 5))?.signedIn).toBe(false);
      const none = code(person.id);
      await storage.authorizationCodes.create(none);
      expect(await storage.authorizationCodes.consumeWithUser(none.hash, T0 + 5)).not.toHaveProperty(
        'signedIn',
      );
    });

    it.runIf(backend === 'postgres')(
      'PostgreSQL: an exchange and a sign-out of its session at the same moment: one waits for the other',
      async () => {
        const admin = new pg.Client({ connectionString: db.url });
        await admin.connect();
        const signedInCode = async () => {
          const live = session({ userId: person.id, expiresAt: T0 + 100 });
          await storage.sessions.create(live);
          const c = code(person.id);
          await storage.authorizationCodes.create({ ...c, payload: { ...c.payload, sid: live.sid } });
          return { hash: c.hash, sid: live.sid };
        };
        try {
          // the sign-out deleted the session first, not yet committed: the exchange waits, then finds none
          const first = await signedInCode();
          await admin.query('BEGIN');
          await admin.query('DELETE FROM sessions WHERE sid = $1', [first.sid]);
          let settled = false;
          const exchange = storage
            .transaction((tx) => tx.authorizationCodes.consumeWithUser(first.hash, T0 + 5))
            .finally(() => {
              settled = true;
            });
          await new Promise((resolve) => setTimeout(resolve, 300));
          expect(settled).toBe(false);
          await admin.query('COMMIT');
          expect((await exchange)?.signedIn).toBe(false);

          // the exchange read the session first: a sign-out's delete waits until it commits (and
          // then sees what it issued)
          const second = await signedInCode();
          await admin.query("SET lock_timeout = '200ms'");
          const seen = await storage.transaction(async (tx) => {
            const result = await tx.authorizationCodes.consumeWithUser(second.hash, T0 + 5);
            const deleting = admin.query('DELETE FROM sessions WHERE sid = $1', [second.sid]);
            await expect(deleting).rejects.toThrow(/lock timeout/);
            return result?.signedIn;
          });
          expect(seen).toBe(true);
          await admin.query('DELETE FROM sessions WHERE sid = $1', [second.sid]);
        } finally {
          await admin.end();
        }
      },
    );

    it('10 concurrent calls: exactly one wins, with the user', async () => {
      const c = code(person.id);
      await storage.authorizationCodes.create(c);
      const results = await Promise.all(
        Array.from({ length: 10 }, (_, i) => storage.authorizationCodes.consumeWithUser(c.hash, T0 + i)),
      );
      const winners = results.filter((r) => r?.replayed === false);
      expect(winners).toHaveLength(1);
      expect(winners[0]?.user).toEqual(person);
      expect(results.filter((r) => r?.replayed === true && r.user === undefined)).toHaveLength(9);
    });
  });

  describe('refreshTokens.rotateWithUser', () => {
    const now = T0 + 100;

    it('rotates a live token for exactly one caller and returns it with its user', async () => {
      const live = refreshToken({ userId: person.id });
      await storage.refreshTokens.create(live);
      const rotation = { clientId: live.clientId, now, successor: 'sealed-successor' };
      expect(
        await storage.refreshTokens.rotateWithUser(live.hash, { ...rotation, clientId: unique('client') }),
      ).toBeNull();
      const results = await Promise.all([
        storage.refreshTokens.rotateWithUser(live.hash, rotation),
        storage.refreshTokens.rotateWithUser(live.hash, rotation),
      ]);
      const rotated = { ...live, rotatedAt: now, successor: 'sealed-successor' };
      expect(results.filter((r) => r !== null)).toEqual([{ token: rotated, user: person }]);
      expect(await storage.refreshTokens.get(live.hash)).toEqual(rotated);
    });

    it('a token whose user is gone rotates with user null; a dead token is left as it was', async () => {
      const orphan = refreshToken({ userId: unique('deleted-user') });
      const revoked = refreshToken({ userId: person.id, revokedAt: T0 + 1 });
      const expired = refreshToken({ userId: person.id, expiresAt: now });
      for (const t of [orphan, revoked, expired]) await storage.refreshTokens.create(t);
      const rotation = (t: RefreshTokenRecord) => ({ clientId: t.clientId, now, successor: 's' });
      expect(await storage.refreshTokens.rotateWithUser(orphan.hash, rotation(orphan))).toEqual({
        token: { ...orphan, rotatedAt: now, successor: 's' },
        user: null,
      });
      for (const t of [revoked, expired]) {
        expect(await storage.refreshTokens.rotateWithUser(t.hash, rotation(t))).toBeNull();
        expect(await storage.refreshTokens.get(t.hash)).toEqual(t);
      }
    });
  });

  describe('sessions.getWithUser', () => {
    /** A live session of `userId`, stored. */
    const stored = async (userId: string): Promise<SessionRecord> => {
      const session = {
        idHash: sha256(randomToken()),
        sid: unique('sid'),
        userId,
        authTime: T0,
        createdAt: T0,
        expiresAt: T0 + 3600,
        lastSeenAt: T0 + 5,
        initialIp: '192.0.2.7',
      };
      await storage.sessions.create(session);
      return session;
    };

    it('the session and its user; user null when gone; null for an unknown session', async () => {
      const session = await stored(person.id);
      expect(await storage.sessions.getWithUser(session.idHash)).toEqual({ session, user: person });
      const orphan = await stored(unique('gone'));
      expect(await storage.sessions.getWithUser(orphan.idHash)).toEqual({ session: orphan, user: null });
      expect(await storage.sessions.getWithUser(sha256('no such session'))).toBeNull();
    });

    it("with consentOf, the user's consent to that application and audience too (null: none)", async () => {
      const session = await stored(person.id);
      const clientId = unique('client');
      const consent = {
        id: unique('cgt'),
        userId: person.id,
        clientId,
        audience: 'https://api.example/x',
        scopes: ['openid', 'read:x'],
        updatedAt: T0 + 2,
      };
      await storage.consents.upsert(consent);
      // another audience, another application and another user's consent are not it
      await storage.consents.upsert({ ...consent, id: unique('cgt'), audience: '' });
      await storage.consents.upsert({ ...consent, id: unique('cgt'), clientId: unique('client') });
      await storage.consents.upsert({ ...consent, id: unique('cgt'), userId: unique('user') });
      const of = (audience: string, client = clientId) =>
        storage.sessions.getWithUser(session.idHash, { clientId: client, audience });
      expect(await of(consent.audience)).toEqual({ session, user: person, consent });
      expect((await of(''))?.consent).toEqual(expect.objectContaining({ audience: '', clientId }));
      expect(await of('https://api.example/none')).toEqual({ session, user: person, consent: null });
      expect((await of(consent.audience, unique('client')))?.consent).toBeNull();
      expect(
        await storage.sessions.getWithUser(sha256('no such session'), { clientId, audience: '' }),
      ).toBeNull();
    });
  });

  describe('grantTokens.addWithRefreshToken', () => {
    it('creates the refresh token and records the access token under its grant', async () => {
      const rt = refreshToken({ userId: person.id });
      const jti = unique('jti');
      await storage.grantTokens.addWithRefreshToken(jti, T0 + 300, rt);
      expect(await storage.grantTokens.list(rt.grantId)).toEqual([{ jti, expiresAt: T0 + 300 }]);
      expect(await storage.refreshTokens.get(rt.hash)).toEqual(rt);
    });

    it('the access token is found by user, application and consent until it expires, whatever became of the refresh token', async () => {
      const clientId = unique('client');
      const api = refreshToken({
        userId: person.id,
        clientId,
        payload: { scopes: ['read'], audience: 'https://api.example', authTime: T0 },
      });
      const signIn = refreshToken({ userId: person.id, clientId, expiresAt: T0 + 60 });
      await storage.grantTokens.addWithRefreshToken('jti-api', T0 + 300, api);
      await storage.grantTokens.addWithRefreshToken('jti-sign-in', T0 + 120, signIn);
      // rotated and revoked, the rows still name the access tokens they were issued with
      await storage.refreshTokens.rotate(api.hash, { clientId, now: T0 + 10, successor: 'sealed' });
      await storage.refreshTokens.revokeGrant(signIn.grantId, T0 + 20);
      const where = async (filter: Parameters<Storage['grantTokens']['listWhere']>[0], now = T0 + 30) =>
        (await storage.grantTokens.listWhere(filter, now)).map((t) => t.jti).sort();
      expect(await where({ userId: person.id, clientId })).toEqual(['jti-api', 'jti-sign-in']);
      expect(await where({ clientId })).toEqual(['jti-api', 'jti-sign-in']);
      expect(await where({ userId: person.id, clientId, audience: 'https://api.example' })).toEqual([
        'jti-api',
      ]);
      expect(await where({ userId: person.id, clientId, audience: '' })).toEqual(['jti-sign-in']);
      expect(await where({ userId: unique('user'), clientId })).toEqual([]);
      // the sign-in's refresh token expired at T0 + 60; its access token lives until T0 + 120
      expect(await where({ clientId }, T0 + 100)).toEqual(['jti-api', 'jti-sign-in']);
      expect(await where({ clientId }, T0 + 120)).toEqual(['jti-api']);
      expect(await storage.grantTokens.list(signIn.grantId)).toEqual([
        { jti: 'jti-sign-in', expiresAt: T0 + 120 },
      ]);
    });

    it('a refresh token created alone records no access token', async () => {
      const rt = refreshToken({ userId: person.id });
      await storage.refreshTokens.create(rt);
      expect(await storage.grantTokens.list(rt.grantId)).toEqual([]);
      expect(await storage.grantTokens.listWhere({ clientId: rt.clientId }, T0)).toEqual([]);
    });

    it('writes nothing when it fails (a refresh token hash taken already)', async () => {
      const taken = refreshToken({ userId: person.id });
      await storage.refreshTokens.create(taken);
      const rt = refreshToken({ userId: person.id, hash: taken.hash });
      await expect(
        storage.transaction((tx) => tx.grantTokens.addWithRefreshToken(unique('jti'), T0 + 300, rt)),
      ).rejects.toThrow();
      expect(await storage.grantTokens.list(rt.grantId)).toEqual([]);
      expect(await storage.refreshTokens.get(taken.hash)).toEqual(taken);
    });
  });
});
