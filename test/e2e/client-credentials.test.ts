import { existsSync, statSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { createRemoteJWKSet, decodeProtectedHeader, type JWTPayload, jwtVerify } from 'jose';
import * as client from 'openid-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type Backend,
  createTestDatabase,
  describeEachBackend,
  type TestDatabase,
} from '../support/databases.js';
import {
  assertBuilt,
  eventually,
  freePort,
  killAll,
  runCliJson,
  type SesameProcess,
  startSesame,
} from './process.js';

type Env = Record<string, string | undefined>;

interface Jwk {
  kid: string;
  alg: string;
  use: string;
  kty: string;
  [k: string]: unknown;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/** A fresh data dir (and database on `backend`) and the env for a `sesame` on a free port. */
async function prepare(backend: Backend, extra: Env = {}) {
  const db = await createTestDatabase(backend);
  const port = await freePort();
  const issuer = `http://127.0.0.1:${port}`;
  const dataDir = join(db.dataDir, 'data'); // does not exist yet: start must create it
  const env: Env = {
    SESAME_PORT: String(port),
    SESAME_HOST: '127.0.0.1',
    SESAME_ISSUER: issuer,
    SESAME_DATA_DIR: dataDir,
    SESAME_DATABASE_URL: backend === 'postgres' ? db.url : undefined,
    SESAME_KEY_CACHE_TTL: '1',
    SESAME_LOG_LEVEL: 'info',
    ...extra,
  };
  return { db, port, issuer, dataDir, env };
}

/** A real `sesame start` on a free port with a fresh data dir (and database on `backend`). */
async function launch(backend: Backend, extra: Env = {}) {
  const prepared = await prepare(backend, extra);
  return { ...prepared, server: startSesame(prepared.env) };
}

async function getJson<T = Record<string, unknown>>(url: string): Promise<{ res: Response; body: T }> {
  const res = await fetch(url, { signal: AbortSignal.timeout(5_000) });
  return { res, body: (await res.json()) as T };
}

async function jwksKids(issuer: string): Promise<string[]> {
  const { body } = await getJson<{ keys: Jwk[] }>(`${issuer}/.well-known/jwks.json`);
  return body.keys.map((k) => k.kid);
}

/** A token request with plain fetch, as curl would send it. */
function tokenRequest(
  issuer: string,
  form: Record<string, string>,
  basic?: { id: string; secret: string },
): Promise<Response> {
  const headers: Record<string, string> = { 'content-type': 'application/x-www-form-urlencoded' };
  if (basic) {
    // RFC 6749 §2.3.1: form-encode id and secret before Base64
    const pair = `${encodeURIComponent(basic.id)}:${encodeURIComponent(basic.secret)}`;
    headers.authorization = `Basic ${Buffer.from(pair).toString('base64')}`;
  }
  return fetch(`${issuer}/oauth/token`, {
    method: 'POST',
    headers,
    body: new URLSearchParams(form),
    signal: AbortSignal.timeout(5_000),
  });
}

beforeAll(() => assertBuilt());
afterAll(() => killAll());

describeEachBackend('e2e: sesame start + CLI + client credentials over HTTP', (backend) => {
  // one server for the whole sequence; the tests build on each other
  describe('one running server', { timeout: 60_000 }, () => {
    let db: TestDatabase;
    let issuer: string;
    let port: number;
    let dataDir: string;
    let env: Env;
    let server: SesameProcess;

    let apiIdentifier: string;
    let clientId: string;
    let clientSecret: string;
    let tokenRequestId: string;
    let refusedRequestId: string;
    const issuedTokens: string[] = [];

    /** Verifies an access token against the server's real JWKS (a fresh set, so no cooldown hides new keys). */
    async function verify(token: string): Promise<JWTPayload> {
      const jwks = createRemoteJWKSet(new URL(`${issuer}/.well-known/jwks.json`));
      const { payload } = await jwtVerify(token, jwks, {
        issuer,
        audience: apiIdentifier,
        typ: 'at+jwt',
        algorithms: ['RS256'],
      });
      return payload;
    }

    async function discover(secret = clientSecret, auth?: client.ClientAuth): Promise<client.Configuration> {
      return client.discovery(new URL(issuer), clientId, secret, auth, {
        execute: [client.allowInsecureRequests],
      });
    }

    beforeAll(async () => {
      const l = await launch(backend);
      ({ db, issuer, port, dataDir, env, server } = l);
      await server.waitReady(`${issuer}/readyz`);
    });

    afterAll(async () => {
      await server?.kill();
      await db?.drop();
    });

    it('answers /readyz and /healthz with a request id', async () => {
      const ready = await getJson(`${issuer}/readyz`);
      expect(ready.res.status).toBe(200);
      expect(ready.body).toEqual({ status: 'ok' });
      expect(ready.res.headers.get('x-request-id')).toMatch(UUID);
      const health = await getJson(`${issuer}/healthz`);
      expect(health.res.status).toBe(200);
      expect(health.body).toEqual({ status: 'ok' });
      expect(server.stdout()).toContain(`Sesame listening on ${issuer}`);
    });

    it('created its data directory with a secret file of mode 0600', () => {
      const secret = statSync(join(dataDir, 'secret'));
      expect(secret.isFile()).toBe(true);
      expect(secret.mode & 0o777).toBe(0o600);
      expect(secret.size).toBeGreaterThanOrEqual(32);
      if (backend === 'sqlite') {
        expect(statSync(join(dataDir, 'sesame.db')).isFile()).toBe(true);
      } else {
        expect(existsSync(join(dataDir, 'sesame.db'))).toBe(false);
      }
    });

    it('publishes discovery for the configured issuer and a JWKS with only public keys', async () => {
      const { res, body } = await getJson(`${issuer}/.well-known/openid-configuration`);
      expect(res.status).toBe(200);
      expect(body).toMatchObject({
        issuer,
        token_endpoint: `${issuer}/oauth/token`,
        jwks_uri: `${issuer}/.well-known/jwks.json`,
      });
      expect(body.grant_types_supported).toContain('client_credentials');

      const jwks = await getJson<{ keys: Jwk[] }>(`${issuer}/.well-known/jwks.json`);
      expect(jwks.res.status).toBe(200);
      expect(jwks.res.headers.get('cache-control')).toMatch(/max-age=\d+/);
      // start creates a key for every configured algorithm (all four by default)
      expect(jwks.body.keys.map((k) => k.alg).sort()).toEqual(['ES256', 'EdDSA', 'PS256', 'RS256']);
      for (const key of jwks.body.keys) {
        expect(key.kid).toEqual(expect.any(String));
        expect(key.use).toBe('sig');
        for (const secretMember of ['d', 'p', 'q', 'dp', 'dq', 'qi', 'k']) {
          expect(key, `${key.kid} leaks ${secretMember}`).not.toHaveProperty(secretMember);
        }
      }
    });

    // client ids go after `--`: one in 64 starts with '-' (a CLI bug that test/cli/cli-apps.test.ts shows)
    it('registers an API and an m2m application with the CLI while it runs', async () => {
      apiIdentifier = `https://orders.example/${backend}`;
      const api = await runCliJson<{ identifier: string; signing_alg: string }>(
        [
          'apis',
          'create',
          '--name',
          'Orders',
          '--identifier',
          apiIdentifier,
          '--scope',
          'read=Read',
          '--scope',
          'write',
          '--token-lifetime',
          '600',
          '--signing-alg',
          'RS256',
        ],
        env,
      );
      expect(api).toMatchObject({ identifier: apiIdentifier, signing_alg: 'RS256' });
      const app = await runCliJson<{ client_id: string; client_secret: string }>(
        ['apps', 'create', '--name', 'Robot', '--type', 'm2m'],
        env,
      );
      clientId = app.client_id;
      clientSecret = app.client_secret;
      expect(clientSecret).toMatch(/^[A-Za-z0-9_-]{43}$/);
      const grant = await runCliJson(
        ['apps', 'authorize', '--api', apiIdentifier, '--scope', 'read', '--', clientId],
        env,
      );
      expect(grant).toEqual({
        client_id: clientId,
        api: apiIdentifier,
        scopes: ['read'],
        subject_type: 'client',
      });
    });

    it('openid-client gets a token that jose verifies against the real jwks_uri', async () => {
      const config = await discover();
      expect(config.serverMetadata().issuer).toBe(issuer);
      const tokens = await client.clientCredentialsGrant(config, { audience: apiIdentifier });
      expect(tokens.token_type.toLowerCase()).toBe('bearer');
      expect(tokens.expires_in).toBe(600);
      expect(tokens.scope).toBe('read');
      issuedTokens.push(tokens.access_token);

      const jwks = createRemoteJWKSet(new URL(config.serverMetadata().jwks_uri!));
      const { payload, protectedHeader } = await jwtVerify(tokens.access_token, jwks, {
        issuer,
        audience: apiIdentifier,
        typ: 'at+jwt',
        algorithms: ['RS256'],
      });
      expect(protectedHeader.alg).toBe('RS256');
      expect(await jwksKids(issuer)).toContain(protectedHeader.kid);
      expect(payload).toMatchObject({ sub: clientId, client_id: clientId, scope: 'read' });
      expect(payload.exp! - payload.iat!).toBe(600);
      expect(payload.jti).toEqual(expect.any(String));
    });

    it('openid-client with client_secret_basic works too; no audience picks the only authorized API', async () => {
      const config = await discover(clientSecret, client.ClientSecretBasic(clientSecret));
      const tokens = await client.clientCredentialsGrant(config);
      const payload = await verify(tokens.access_token);
      expect(payload.aud).toBe(apiIdentifier);
      issuedTokens.push(tokens.access_token);
    });

    it('refuses a scope beyond the authorization, an unknown audience and a wrong secret', async () => {
      const config = await discover();
      await expect(
        client.clientCredentialsGrant(config, { audience: apiIdentifier, scope: 'write' }),
      ).rejects.toMatchObject({ error: 'invalid_scope', status: 400 });
      await expect(
        client.clientCredentialsGrant(config, { audience: 'https://unknown.example/' }),
      ).rejects.toMatchObject({ error: 'invalid_target' });
      const wrong = await discover('x'.repeat(43));
      // a 401 with WWW-Authenticate surfaces as a challenge error carrying the parsed header
      await expect(client.clientCredentialsGrant(wrong, { audience: apiIdentifier })).rejects.toMatchObject({
        status: 401,
        cause: [
          expect.objectContaining({ parameters: expect.objectContaining({ error: 'invalid_client' }) }),
        ],
      });
    });

    it('plain fetch with Basic auth (like curl) gets a verifiable token, not cacheable', async () => {
      const res = await tokenRequest(
        issuer,
        { grant_type: 'client_credentials', audience: apiIdentifier, scope: 'read' },
        { id: clientId, secret: clientSecret },
      );
      const body = (await res.json()) as Record<string, unknown>;
      expect(res.status, JSON.stringify(body)).toBe(200);
      expect(res.headers.get('content-type')).toMatch(/^application\/json/);
      expect(res.headers.get('cache-control')).toBe('no-store');
      tokenRequestId = res.headers.get('x-request-id') ?? '';
      expect(tokenRequestId).toMatch(UUID);
      expect(body).toEqual({
        access_token: expect.any(String),
        token_type: 'Bearer',
        expires_in: 600,
        scope: 'read',
      });
      const token = body.access_token as string;
      issuedTokens.push(token);
      expect((await verify(token)).client_id).toBe(clientId);
    });

    it('plain fetch with a wrong Basic secret gets 401 invalid_client with WWW-Authenticate', async () => {
      const res = await tokenRequest(
        issuer,
        { grant_type: 'client_credentials', audience: apiIdentifier },
        { id: clientId, secret: `${clientSecret}x` },
      );
      expect(res.status).toBe(401);
      expect(res.headers.get('www-authenticate')).toMatch(/^Basic/i);
      expect(((await res.json()) as { error: string }).error).toBe('invalid_client');
      refusedRequestId = res.headers.get('x-request-id') ?? '';
      expect(refusedRequestId).toMatch(UUID);
    });

    it('apps rotate-secret takes effect on the running server at once', async () => {
      const rotated = await runCliJson<{ client_secret: string }>(
        ['apps', 'rotate-secret', '--', clientId],
        env,
      );
      const form = { grant_type: 'client_credentials', audience: apiIdentifier };
      const old = await tokenRequest(issuer, form, { id: clientId, secret: clientSecret });
      expect(old.status).toBe(401);
      clientSecret = rotated.client_secret;
      const fresh = await tokenRequest(issuer, form, { id: clientId, secret: clientSecret });
      expect(fresh.status).toBe(200);
    });

    it('keys rotate publishes the new key in the JWKS within seconds; the old key keeps signing', async () => {
      const before = await jwksKids(issuer);
      const { rotated } = await runCliJson<{ rotated: { kid: string; alg: string }[] }>(
        ['keys', 'rotate', '--alg', 'RS256'],
        env,
      );
      const newKid = rotated[0]!.kid;
      expect(before).not.toContain(newKid);
      const kids = await eventually(
        async () => {
          const now = await jwksKids(issuer);
          return now.includes(newKid) ? now : undefined;
        },
        5_000,
        `kid ${newKid} in the JWKS`,
      );
      for (const kid of before) expect(kids).toContain(kid); // nothing was unpublished

      // the activation delay (900 s by default) has not passed: tokens are still signed by the old key
      const config = await discover();
      const tokens = await client.clientCredentialsGrant(config, { audience: apiIdentifier });
      const { kid } = decodeProtectedHeader(tokens.access_token);
      expect(kid).not.toBe(newKid);
      expect(before).toContain(kid);
      await verify(tokens.access_token);
      // tokens issued before the rotation still verify
      for (const token of issuedTokens) await verify(token);
    });

    it('a key rotated with a 1 s activation delay signs new tokens within seconds', async () => {
      const { rotated } = await runCliJson<{ rotated: { kid: string }[] }>(
        ['keys', 'rotate', '--alg', 'RS256'],
        { ...env, SESAME_KEY_ACTIVATION_DELAY: '1' },
      );
      const newKid = rotated[0]!.kid;
      const config = await discover();
      const token = await eventually(
        async () => {
          const t = await client.clientCredentialsGrant(config, { audience: apiIdentifier });
          return decodeProtectedHeader(t.access_token).kid === newKid ? t.access_token : undefined;
        },
        8_000,
        `a token signed by ${newKid}`,
        300,
      );
      expect((await verify(token)).sub).toBe(clientId);
      for (const t of issuedTokens) await verify(t);
    });

    it('a second start on the same port exits non-zero and leaves the first one serving', async () => {
      const second = startSesame(env);
      try {
        const exit = await Promise.race([
          second.exited,
          new Promise<null>((r) => setTimeout(() => r(null), 20_000)),
        ]);
        expect(exit, `second start still running\n${second.stdout()}${second.stderr()}`).not.toBeNull();
        expect(exit!.code).not.toBe(0);
        expect(exit!.code).not.toBeNull();
        expect(`${second.stdout()}${second.stderr()}`).toMatch(/EADDRINUSE/);
      } finally {
        await second.kill();
      }
      const ready = await fetch(`${issuer}/readyz`);
      expect(ready.status).toBe(200);
    });

    it('SIGTERM: exits 0 within a few seconds, having logged JSON lines with request ids', async () => {
      const started = Date.now();
      const exit = await server.stop('SIGTERM', 5_000);
      expect(exit).toEqual({ code: 0, signal: null });
      expect(Date.now() - started).toBeLessThan(5_000);
      await expect(fetch(`http://127.0.0.1:${port}/readyz`)).rejects.toThrow();

      const lines = server
        .stdout()
        .split('\n')
        .filter((l) => l.trim() !== '');
      expect(lines.length).toBeGreaterThan(5);
      const records = lines.map((line) => {
        try {
          return JSON.parse(line) as Record<string, unknown>;
        } catch {
          throw new Error(`not a JSON log line: ${line}`);
        }
      });
      for (const r of records) {
        expect(r).toMatchObject({
          level: expect.any(Number),
          time: expect.any(Number),
          msg: expect.any(String),
        });
      }
      const tokenLine = records.find((r) => r.reqId === tokenRequestId);
      expect(tokenLine, `no log line with reqId ${tokenRequestId}`).toMatchObject({
        msg: 'request',
        method: 'POST',
        path: '/oauth/token',
        status: 200,
      });
      expect(records.filter((r) => typeof r.reqId === 'string' && UUID.test(r.reqId)).length).toBeGreaterThan(
        5,
      );
      // a refused request is logged with why, under the id the client saw
      expect(records).toContainEqual(
        expect.objectContaining({ reqId: refusedRequestId, msg: 'request refused', error: 'invalid_client' }),
      );
      expect(records).toContainEqual(
        expect.objectContaining({ msg: expect.stringMatching(/shutting down/), signal: 'SIGTERM' }),
      );
      expect(records).toContainEqual(expect.objectContaining({ msg: 'stopped' }));

      // no secrets in the logs
      const all = server.stdout() + server.stderr();
      expect(all).not.toContain(clientSecret);
      for (const token of issuedTokens) expect(all).not.toContain(token);
    });
  });
});

describe('e2e: sesame start signals [sqlite]', { timeout: 60_000 }, () => {
  it('SIGINT stops it with exit code 0 too', async () => {
    const { server, issuer, db } = await launch('sqlite');
    try {
      await server.waitReady(`${issuer}/readyz`);
      const exit = await server.stop('SIGINT', 5_000);
      expect(exit).toEqual({ code: 0, signal: null });
    } finally {
      await server.kill();
      await db.drop();
    }
  });

  it('a port held by another program makes start exit non-zero', async () => {
    const holder = createServer();
    await new Promise<void>((r) => holder.listen(0, '127.0.0.1', r));
    const address = holder.address();
    const held = typeof address === 'object' && address ? address.port : 0;
    const { server, db } = await launch('sqlite', { SESAME_PORT: String(held) });
    try {
      const exit = await Promise.race([
        server.exited,
        new Promise<null>((r) => setTimeout(() => r(null), 20_000)),
      ]);
      expect(exit, 'start kept running on a taken port').not.toBeNull();
      expect(exit!.code).toBe(1);
      // one line, as every other refusal to start: no log record with a stack
      expect(server.stderr()).toMatch(
        new RegExp(`^error: port: cannot listen on 127\\.0\\.0\\.1:${held} \\(.*EADDRINUSE.*\\)\\n$`),
      );
      expect(server.stdout()).not.toContain('"stack"');
    } finally {
      await server.kill();
      await new Promise((r) => holder.close(r));
      await db.drop();
    }
  });
});

describe("e2e: the first admin's setup link [sqlite]", { timeout: 60_000 }, () => {
  it("a second start that cannot take the port leaves the running server's setup link working", async () => {
    const { server, db, env, issuer } = await launch('sqlite');
    let second: SesameProcess | undefined;
    try {
      await server.waitReady(`${issuer}/healthz`);
      const linkOf = (out: string) => /"setup":"([^"]+)"/.exec(out)?.[1];
      const link = await eventually(async () => linkOf(server.stdout()), 10_000, 'the setup link');
      second = startSesame(env);
      const exit = await Promise.race([
        second.exited,
        new Promise<null>((r) => setTimeout(() => r(null), 20_000)),
      ]);
      expect(exit?.code, 'the second start exits').toBe(1);
      expect(linkOf(second.stdout()), 'no link from a start that did not serve').toBeUndefined();
      const page = await fetch(link, { signal: AbortSignal.timeout(5_000) });
      expect(page.status, "the running server's link still opens").toBe(200);
    } finally {
      await second?.kill();
      await server.kill();
      await db.drop();
    }
  });
});

describe('e2e: a second start on a taken port [sqlite]', { timeout: 60_000 }, () => {
  it("changes nothing: the running server's console callbacks and Management API identifier stay", async () => {
    const { server, db, env, issuer } = await launch('sqlite');
    let second: SesameProcess | undefined;
    try {
      await server.waitReady(`${issuer}/readyz`);
      const systemRecords = async () => ({
        console: await runCliJson<{ callbacks: string[] }>(['apps', 'show', 'sesame-console'], env),
        apis: (await runCliJson<{ apis: { identifier: string }[] }>(['apis', 'list'], env)).apis,
      });
      const before = await systemRecords();
      expect(before.apis.map((a) => a.identifier)).toContain(`${issuer}/api/v2/`);
      expect(before.console.callbacks).toEqual([`${issuer}/console/callback`]);
      // another issuer (none set: the default), on the running server's port
      second = startSesame({ ...env, SESAME_ISSUER: undefined, SESAME_HOST: '127.0.0.1' });
      const exit = await Promise.race([
        second.exited,
        new Promise<null>((r) => setTimeout(() => r(null), 20_000)),
      ]);
      expect(exit?.code, 'the second start exits').toBe(1);
      expect(second.stderr()).toMatch(
        /^error: port: cannot listen on 127\.0\.0\.1:\d+ \(.*EADDRINUSE.*\)\n$/,
      );
      expect(await systemRecords()).toEqual(before);
      // and the console still signs in through its own callback
      const signin = await fetch(`${issuer}/console`, {
        redirect: 'manual',
        signal: AbortSignal.timeout(5_000),
      });
      expect(signin.status).toBe(303);
    } finally {
      await second?.kill();
      await server.kill();
      await db.drop();
    }
  });
});

describe('e2e: keys rotated before the first start [sqlite]', { timeout: 60_000 }, () => {
  it('every configured algorithm can still sign: the first token request succeeds', async () => {
    const { db, env, issuer } = await prepare('sqlite');
    let running: SesameProcess | undefined;
    try {
      // an operator rotates (default activation delay, 900 s) before the server ever ran
      await runCliJson(['keys', 'rotate', '--alg', 'RS256'], env);
      running = startSesame(env);
      await running.waitReady(`${issuer}/readyz`);
      const identifier = 'https://rotated-early.example/';
      await runCliJson(
        ['apis', 'create', '--name', 'Early', '--identifier', identifier, '--signing-alg', 'RS256'],
        env,
      );
      const app = await runCliJson<{ client_id: string; client_secret: string }>(
        ['apps', 'create', '--name', 'Robot', '--type', 'm2m'],
        env,
      );
      await runCliJson(['apps', 'authorize', '--api', identifier, '--', app.client_id], env);
      const res = await tokenRequest(
        issuer,
        { grant_type: 'client_credentials', audience: identifier },
        { id: app.client_id, secret: app.client_secret },
      );
      const body = (await res.json()) as Record<string, unknown>;
      expect(res.status, JSON.stringify(body)).toBe(200);
      const { payload } = await jwtVerify(
        body.access_token as string,
        createRemoteJWKSet(new URL(`${issuer}/.well-known/jwks.json`)),
        { issuer, audience: identifier, algorithms: ['RS256'] },
      );
      expect(payload.client_id).toBe(app.client_id);
      await running.stop('SIGTERM', 5_000);
    } finally {
      await running?.kill();
      await db.drop();
    }
  });
});
