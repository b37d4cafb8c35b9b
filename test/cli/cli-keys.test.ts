import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { assertBuilt, runCli, runCliJson } from '../e2e/process.js';
import { describeEachBackend } from '../support/databases.js';
import { cliDatabases, type Env, expectFailure, now, uniqueUri } from './cli-fixture.js';

interface KeyView {
  kid: string;
  alg: string;
  status: 'next' | 'current' | 'retiring';
  activates_at: string;
  retires_at: string | null;
  published_until: string | null;
}

const seconds = (iso: string | null) => (iso === null ? null : Date.parse(iso) / 1000);

beforeAll(() => assertBuilt());

describeEachBackend('sesame CLI (keys)', (backend) => {
  const { freshEnv } = cliDatabases(backend);

  describe.concurrent('keys', { timeout: 90_000 }, () => {
    /** A fresh database with one ES256 key (created with an ES256 API). */
    async function withEs256Key(extra: Env = {}): Promise<{ env: Env; key: KeyView }> {
      const e = await freshEnv(extra);
      await runCliJson(['apis', 'create', '--name', 'K', '--identifier', uniqueUri()], e);
      const { keys } = await runCliJson<{ keys: KeyView[] }>(['keys', 'list'], e);
      expect(keys).toHaveLength(1);
      return { env: e, key: keys[0]! };
    }

    it('list shows the current key', async () => {
      const { key } = await withEs256Key();
      expect(key).toMatchObject({
        kid: expect.stringMatching(/^[A-Za-z0-9_-]{20,}$/),
        alg: 'ES256',
        status: 'current',
        activates_at: expect.any(String),
        retires_at: null,
        published_until: null,
      });
      expect(Math.abs(seconds(key.activates_at)! - now())).toBeLessThan(30);
    });

    it('rotate --alg ES256 adds a next key; the old key stays current until the new one activates', async () => {
      const { env: e, key: old } = await withEs256Key({ SESAME_KEY_ACTIVATION_DELAY: '600' });
      const before = now();
      const { rotated } = await runCliJson<{ rotated: { kid: string; alg: string; activates_at: string }[] }>(
        ['keys', 'rotate', '--alg', 'ES256'],
        e,
      );
      expect(rotated).toHaveLength(1);
      const fresh = rotated[0]!;
      expect(fresh.alg).toBe('ES256');
      expect(fresh.kid).not.toBe(old.kid);
      const activates = seconds(fresh.activates_at)!;
      expect(activates).toBeGreaterThanOrEqual(before + 600 - 1);
      expect(activates).toBeLessThanOrEqual(now() + 600 + 1);

      const { keys } = await runCliJson<{ keys: KeyView[] }>(['keys', 'list'], e);
      expect(keys).toHaveLength(2);
      const next = keys.find((k) => k.kid === fresh.kid);
      const current = keys.find((k) => k.kid === old.kid);
      expect(next).toMatchObject({ alg: 'ES256', status: 'next', retires_at: null, published_until: null });
      expect(current).toMatchObject({ alg: 'ES256', status: 'current', retires_at: fresh.activates_at });
      // the old key stays published as long as a token it signed can live (the default 86400 s)
      expect(seconds(current!.published_until)).toBe(activates + 86400);
    });

    it('rotate without --alg covers keys.algorithms and the algorithm of every published key', async () => {
      const e = await freshEnv({ SESAME_KEY_ALGORITHMS: 'ES256' });
      await runCliJson(
        ['apis', 'create', '--name', 'R', '--identifier', uniqueUri(), '--signing-alg', 'RS256'],
        e,
      );
      const { rotated } = await runCliJson<{ rotated: { alg: string }[] }>(['keys', 'rotate'], e);
      expect(rotated.map((k) => k.alg).sort()).toEqual(['ES256', 'RS256']);
    });

    it('with an activation delay of 0 the new key signs at once and the old one is retiring', async () => {
      const { env: e, key: old } = await withEs256Key({ SESAME_KEY_ACTIVATION_DELAY: '0' });
      const { rotated } = await runCliJson<{ rotated: { kid: string }[] }>(
        ['keys', 'rotate', '--alg', 'ES256'],
        e,
      );
      const { keys } = await runCliJson<{ keys: KeyView[] }>(['keys', 'list'], e);
      expect(keys.find((k) => k.kid === rotated[0]!.kid)?.status).toBe('current');
      expect(keys.find((k) => k.kid === old.kid)?.status).toBe('retiring');
    });

    it('rotate without --alg rotates every configured algorithm', async () => {
      const e = await freshEnv({ SESAME_KEY_ALGORITHMS: 'ES256,EdDSA' });
      const res = await runCli(['keys', 'rotate'], e);
      expect(res.code, res.stderr).toBe(0);
      expect(res.stdout).toMatch(/^new ES256 key \S+, published now, signing from \S+\nnew EdDSA key /);
      const { keys } = await runCliJson<{ keys: KeyView[] }>(['keys', 'list'], e);
      expect(keys.map((k) => k.alg).sort()).toEqual(['ES256', 'EdDSA']);
    });

    it('revoke takes a key out of the JWKS at once; a new one signs in place of the current one', async () => {
      const { env: e, key: old } = await withEs256Key();
      const out = await runCliJson<{ revoked: string; alg: string; revoked_at: string; signing: string }>(
        ['keys', 'revoke', '--', old.kid],
        e,
      );
      expect(out).toMatchObject({ revoked: old.kid, alg: 'ES256', signing: expect.any(String) });
      expect(out.signing).not.toBe(old.kid);
      expect(Math.abs(seconds(out.revoked_at)! - now())).toBeLessThan(30);
      const { keys } = await runCliJson<{ keys: KeyView[] }>(['keys', 'list'], e);
      expect(keys.map((k) => [k.kid, k.status])).toEqual([[out.signing, 'current']]);
      expectFailure(await runCli(['keys', 'revoke', '--', old.kid], e), /signing key \S+ is revoked already/);
      expectFailure(await runCli(['keys', 'revoke', 'no-such-kid'], e), /no-such-kid/);
      const text = await runCli(['keys', 'revoke', '--', out.signing], e);
      expect(text.code, text.stderr).toBe(0);
      expect(text.stdout).toMatch(
        new RegExp(
          `^revoked ES256 key ${out.signing}: the tokens it signed no longer verify\nES256 tokens are signed by \\S+\n$`,
        ),
      );
    });

    it('revoking a key that does not sign yet leaves the current one signing and makes no other', async () => {
      const { env: e, key: old } = await withEs256Key({ SESAME_KEY_ACTIVATION_DELAY: '600' });
      const { rotated } = await runCliJson<{ rotated: { kid: string }[] }>(
        ['keys', 'rotate', '--alg', 'ES256'],
        e,
      );
      const out = await runCliJson<{ revoked: string; signing: string }>(
        ['keys', 'revoke', '--', rotated[0]!.kid],
        e,
      );
      expect(out).toMatchObject({ revoked: rotated[0]!.kid, signing: old.kid });
      const { keys } = await runCliJson<{ keys: KeyView[] }>(['keys', 'list'], e);
      expect(keys.map((k) => [k.kid, k.status])).toEqual([[old.kid, 'current']]);
      // its retirement, set for the revoked key's activation, is called off: it keeps signing
      expect(keys[0]).toMatchObject({ retires_at: null, published_until: null });
    });

    it('rotate --alg XX fails and adds no key', async () => {
      const { env: e } = await withEs256Key();
      expectFailure(
        await runCli(['keys', 'rotate', '--alg', 'XX'], e),
        /--alg XX: must be one of ES256, RS256, PS256, EdDSA/,
      );
      const { keys } = await runCliJson<{ keys: KeyView[] }>(['keys', 'list'], e);
      expect(keys).toHaveLength(1);
    });

    it('another secret than the keys were made with: every command refuses, and no key is made', async () => {
      const { env: e } = await withEs256Key();
      const other = { ...e, SESAME_SECRET: 'another secret, long enough to be one: 0123456789' };
      const refused = /signing keys were made with another secret than this one: set SESAME_SECRET/;
      expectFailure(await runCli(['keys', 'rotate', '--alg', 'ES256'], other), refused);
      expectFailure(
        await runCli(
          ['apis', 'create', '--name', 'RS', '--identifier', uniqueUri(), '--signing-alg', 'RS256'],
          other,
        ),
        refused,
      );
      const { keys } = await runCliJson<{ keys: KeyView[] }>(['keys', 'list'], e);
      expect(keys).toHaveLength(1);
    });

    it('a database with keys and no secret (none set, no DATA_DIR/secret): refused, and no secret is made', async () => {
      const { env: e } = await withEs256Key({
        SESAME_SECRET: 'the secret the keys were made with, 0123456789',
      });
      expectFailure(
        await runCli(['keys', 'list'], { ...e, SESAME_SECRET: undefined }),
        /holds signing keys, but no secret is set and .*secret does not exist/,
      );
      expect(existsSync(join(e.SESAME_DATA_DIR!, 'secret'))).toBe(false);
    });
  });
});
