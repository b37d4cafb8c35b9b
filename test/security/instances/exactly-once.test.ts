// Exactly once, across instances: two `sesame start` processes on ONE database (PostgreSQL, and
// one SQLite file). Single use is a property of the storage call (house rule 7), so a code, a
// device code or a refresh token raced by twenty requests split across both processes must be
// honoured once; a revocation on one is seen by the other at once; a key rotated with the CLI is
// served by both JWKS and its tokens verify at the other instance.
import { createLocalJWKSet, type JSONWebKeySet, jwtVerify } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { assertBuilt, freePort, killAll, runCliJson } from '../../e2e/process.js';
import { createTestDatabase, describeEachBackend, type TestDatabase } from '../../support/databases.js';
import {
  type Answer,
  approveDevice,
  burst,
  DEVICE_GRANT,
  type Deployment,
  decodeJwt,
  deployment,
  exchangeFields,
  type Fixtures,
  isActive,
  type Node,
  postForm,
  registerFixtures,
  show,
  signInForCode,
  startNode,
  timedFetch,
  userParams,
} from './harness.js';

const RACERS = 20;

beforeAll(() => assertBuilt());
afterAll(() => killAll());

/** Tally of a burst: how many 200s, and every other answer's status and error. */
function tally(answers: Answer[]) {
  const ok = answers.filter((a) => a.status === 200);
  const refused = answers
    .filter((a) => a.status !== 200)
    .map((a) => `${a.status} ${a.body?.error ?? a.text}`);
  return { ok, refused };
}

/** Asserts exactly one 200 and RACERS-1 × 400 invalid_grant; returns the winner. */
function expectOneWinner(answers: Answer[], what: string): Answer {
  const { ok, refused } = tally(answers);
  const detail = `${what}: ${answers.map((a) => (a.status === 200 ? '200' : show(a))).join(', ')}`;
  expect(ok.length, detail).toBe(1);
  expect(refused, detail).toEqual(Array.from({ length: RACERS - 1 }, () => '400 invalid_grant'));
  return ok[0] as Answer;
}

describeEachBackend('instances: exactly once across two processes on one database', (backend) => {
  describe('two instances', { timeout: 60_000 }, () => {
    let db: TestDatabase;
    let d: Deployment;
    let a: Node;
    let b: Node;
    let f: Fixtures;
    const both = () => [a, b] as const;
    /** Instance i of a burst: even → A, odd → B. */
    const pick = (i: number) => (i % 2 === 0 ? a : b);

    beforeAll(async () => {
      db = await createTestDatabase(backend);
      const portA = await freePort();
      d = deployment(db.url, db.dataDir, portA, {
        SESAME_REFRESH_REUSE_GRACE: '0',
        SESAME_KEY_ACTIVATION_DELAY: '0',
        SESAME_KEY_CACHE_TTL: '1',
      });
      a = await startNode(d, 'A', portA);
      f = await registerFixtures(d.env);
      b = await startNode(d, 'B');
    }, 90_000);

    afterAll(async () => {
      await Promise.all([a?.proc.kill(), b?.proc.kill()]);
      await db?.drop().catch(() => {});
    });

    /** A fresh sign-in on `node` (SSO after the first) and the code of its redirect. */
    async function freshCode(node: Node, agent = node.agent(f.creds)) {
      return signInForCode(agent, d.issuer, f.web.clientId, userParams(f.api));
    }

    it('runs both processes, on different ports, with one issuer', async () => {
      expect(a.port).not.toBe(b.port);
      for (const n of both()) {
        const res = await timedFetch(`${n.base}/.well-known/openid-configuration`);
        const meta = (await res.json()) as { issuer: string };
        expect(meta.issuer).toBe(d.issuer);
        expect(n.proc.exit()).toBeNull();
      }
    });

    it('(a) twenty concurrent exchanges of one code split across both: one 200, the rest invalid_grant, the winner revoked', async () => {
      const agent = a.agent(f.creds);
      for (let round = 0; round < 3; round++) {
        const { code, verifier } = await freshCode(round === 1 ? b : a, agent);
        const answers = await burst(RACERS, (i) =>
          postForm(pick(i + round).base, '/oauth/token', exchangeFields(code, verifier), f.web),
        );
        const winner = expectOneWinner(answers, `round ${round}`);
        const at = winner.body?.access_token as string;
        const rt = winner.body?.refresh_token as string;
        expect(at, show(winner)).toBeTruthy();
        expect(rt, show(winner)).toBeTruthy();
        // RFC 6749 §4.1.2: the replays revoke what the first exchange issued, on every instance
        for (const n of both()) {
          expect(await isActive(n.base, f.web, at), `access token at ${n.name}, round ${round}`).toBe(false);
          expect(await isActive(n.base, f.web, rt), `refresh token at ${n.name}, round ${round}`).toBe(false);
        }
        const again = await postForm(
          b.base,
          '/oauth/token',
          { grant_type: 'refresh_token', refresh_token: rt },
          f.web,
        );
        expect({ status: again.status, error: again.body?.error }, show(again)).toEqual({
          status: 400,
          error: 'invalid_grant',
        });
      }
    });

    it('(b) twenty concurrent polls of one approved device_code split across both: exactly one 200', async () => {
      for (let round = 0; round < 2; round++) {
        const start = await postForm(a.base, '/oauth/device/code', {
          client_id: f.tv.clientId,
          scope: 'openid offline_access read:orders',
          audience: f.api,
        });
        expect(start.status, show(start)).toBe(200);
        const deviceCode = start.body?.device_code as string;
        const pending = await postForm(b.base, '/oauth/token', {
          grant_type: DEVICE_GRANT,
          device_code: deviceCode,
          client_id: f.tv.clientId,
        });
        expect(pending.body?.error, show(pending)).toBe('authorization_pending');
        await approveDevice(round === 0 ? b : a, f.creds, start.body?.user_code as string);
        const answers = await burst(RACERS, (i) =>
          postForm(pick(i + round).base, '/oauth/token', {
            grant_type: DEVICE_GRANT,
            device_code: deviceCode,
            client_id: f.tv.clientId,
          }),
        );
        const winner = expectOneWinner(answers, `round ${round}`);
        const at = winner.body?.access_token as string;
        expect(decodeJwt(at).payload.aud).toEqual([f.api, `${d.issuer}/userinfo`]);
        // the one answer was real: its access token is Sesame's, at either instance
        expect(await isActive(b.base, f.m2m, at)).toBe(true);
        const late = await postForm(a.base, '/oauth/token', {
          grant_type: DEVICE_GRANT,
          device_code: deviceCode,
          client_id: f.tv.clientId,
        });
        expect({ status: late.status, error: late.body?.error }, show(late)).toEqual({
          status: 400,
          error: 'invalid_grant',
        });
      }
    });

    it('(c) refresh token, grace 0: twenty concurrent uses split across both give one new member, then the family is revoked', async () => {
      const agent = b.agent(f.creds);
      for (let round = 0; round < 3; round++) {
        const { code, verifier } = await freshCode(b, agent);
        const first = await postForm(a.base, '/oauth/token', exchangeFields(code, verifier), f.web);
        expect(first.status, show(first)).toBe(200);
        const rt0 = first.body?.refresh_token as string;
        expect(rt0, show(first)).toBeTruthy();
        const answers = await burst(RACERS, (i) =>
          postForm(
            pick(i + round).base,
            '/oauth/token',
            { grant_type: 'refresh_token', refresh_token: rt0 },
            f.web,
          ),
        );
        const winner = expectOneWinner(answers, `round ${round}`);
        const rt1 = winner.body?.refresh_token as string;
        expect(rt1, show(winner)).toBeTruthy();
        expect(rt1).not.toBe(rt0);
        // RFC 9700 §4.14.2: the reuse revoked the family, the new member with it
        for (const n of both()) {
          expect(await isActive(n.base, f.web, rt1), `new member at ${n.name}, round ${round}`).toBe(false);
          expect(await isActive(n.base, f.web, rt0), `old member at ${n.name}, round ${round}`).toBe(false);
        }
        for (const n of both()) {
          const use = await postForm(
            n.base,
            '/oauth/token',
            { grant_type: 'refresh_token', refresh_token: rt1 },
            f.web,
          );
          expect({ status: use.status, error: use.body?.error }, `${n.name}: ${show(use)}`).toEqual({
            status: 400,
            error: 'invalid_grant',
          });
        }
      }
    });

    it('(d) a revocation on one instance is seen by the other at once', async () => {
      for (let i = 0; i < 10; i++) {
        const [issuer, other] = i % 2 === 0 ? [a, b] : [b, a];
        const cc = await postForm(issuer.base, '/oauth/token', { grant_type: 'client_credentials' }, f.m2m);
        expect(cc.status, show(cc)).toBe(200);
        const token = cc.body?.access_token as string;
        expect(await isActive(other.base, f.m2m, token)).toBe(true);
        const revoke = await postForm(issuer.base, '/oauth/revoke', { token }, f.m2m);
        expect(revoke.status, show(revoke)).toBe(200);
        expect(
          await isActive(other.base, f.m2m, token),
          `revoked on ${issuer.name}, asked ${other.name}`,
        ).toBe(false);
      }
      // a refresh token revoked on A: B refuses it, and the access token of its grant, at once
      const { code, verifier } = await freshCode(a);
      const tokens = await postForm(b.base, '/oauth/token', exchangeFields(code, verifier), f.web);
      expect(tokens.status, show(tokens)).toBe(200);
      const rt = tokens.body?.refresh_token as string;
      const at = tokens.body?.access_token as string;
      expect(await isActive(b.base, f.web, rt)).toBe(true);
      expect(await isActive(b.base, f.web, at)).toBe(true);
      const revoke = await postForm(
        a.base,
        '/oauth/revoke',
        { token: rt, token_type_hint: 'refresh_token' },
        f.web,
      );
      expect(revoke.status, show(revoke)).toBe(200);
      expect(await isActive(b.base, f.web, rt)).toBe(false);
      expect(await isActive(b.base, f.web, at)).toBe(false);
      const use = await postForm(
        b.base,
        '/oauth/token',
        { grant_type: 'refresh_token', refresh_token: rt },
        f.web,
      );
      expect({ status: use.status, error: use.body?.error }, show(use)).toEqual({
        status: 400,
        error: 'invalid_grant',
      });
    });

    it('(e) keys rotated with the CLI are served by both JWKS within ~2 s; tokens of the new keys verify at the other instance', async () => {
      const before = await postForm(a.base, '/oauth/token', { grant_type: 'client_credentials' }, f.m2m);
      expect(before.status, show(before)).toBe(200);
      const oldToken = before.body?.access_token as string;
      const oldKid = decodeJwt(oldToken).header.kid as string;

      const rotated = await runCliJson<{ rotated: { kid: string; alg: string }[] }>(
        ['keys', 'rotate'],
        d.env,
      );
      const rotatedAt = performance.now();
      const newKids = rotated.rotated.map((k) => k.kid);
      expect(rotated.rotated.map((k) => k.alg).sort()).toEqual(['ES256', 'RS256']);
      expect(newKids).not.toContain(oldKid);

      // both instances publish the new keys (and still the old one) within ~2 s (their key cache
      // is a second; the deadline leaves room for a loaded machine)
      const seenAt: Record<string, number> = {};
      const deadline = rotatedAt + 5_000;
      while (Object.keys(seenAt).length < 2 && performance.now() < deadline) {
        for (const n of both()) {
          if (seenAt[n.name] !== undefined) continue;
          const kids = (await jwks(n)).keys.map((k) => k.kid);
          if (newKids.every((kid) => kids.includes(kid))) {
            expect(kids, `${n.name} still publishes the key it replaced`).toContain(oldKid);
            seenAt[n.name] = performance.now() - rotatedAt;
          }
        }
        await new Promise((r) => setTimeout(r, 100));
      }
      expect(
        seenAt,
        'instances whose JWKS served the rotated keys, ms after the CLI returned',
      ).toHaveProperty('A');
      expect(seenAt).toHaveProperty('B');

      // each instance signs with the new key; the other introspects and its JWKS verifies the token
      for (const [signer, verifier] of [
        [a, b],
        [b, a],
      ] as const) {
        let token = '';
        const until = performance.now() + 3_000;
        while (performance.now() < until) {
          const cc = await postForm(signer.base, '/oauth/token', { grant_type: 'client_credentials' }, f.m2m);
          expect(cc.status, show(cc)).toBe(200);
          token = cc.body?.access_token as string;
          if (newKids.includes(decodeJwt(token).header.kid as string)) break;
          await new Promise((r) => setTimeout(r, 100));
        }
        const kid = decodeJwt(token).header.kid as string;
        expect(newKids, `${signer.name} signs with a rotated-in key within 3 s`).toContain(kid);
        expect(
          await isActive(verifier.base, f.m2m, token),
          `${signer.name}'s token at ${verifier.name}`,
        ).toBe(true);
        const { payload } = await jwtVerify(token, createLocalJWKSet(await jwks(verifier)), {
          issuer: d.issuer,
          audience: f.api,
          typ: 'at+jwt',
        });
        expect(payload.client_id).toBe(f.m2m.clientId);
      }
      // an ID token (RS256) from B verifies with A's JWKS
      const { code, verifier } = await freshCode(b);
      const tokens = await postForm(b.base, '/oauth/token', exchangeFields(code, verifier), f.web);
      expect(tokens.status, show(tokens)).toBe(200);
      const idToken = tokens.body?.id_token as string;
      expect(newKids).toContain(decodeJwt(idToken).header.kid);
      await jwtVerify(idToken, createLocalJWKSet(await jwks(a)), {
        issuer: d.issuer,
        audience: f.web.clientId,
      });
      // tokens of the replaced key stay valid everywhere
      for (const n of both())
        expect(await isActive(n.base, f.m2m, oldToken), `old token at ${n.name}`).toBe(true);
    });
  });
});

/** The JWKS one instance serves. */
async function jwks(n: Node): Promise<JSONWebKeySet & { keys: { kid: string }[] }> {
  const res = await timedFetch(`${n.base}/.well-known/jwks.json`);
  expect(res.status).toBe(200);
  return (await res.json()) as JSONWebKeySet & { keys: { kid: string }[] };
}
