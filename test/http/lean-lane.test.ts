// Issue #16, the lean lane: GET of the discovery documents, the JWKS and /healthz is answered on
// Node's request without Hono. Over real sockets, each answer must be the one the Hono app gives
// (status, body, every header but the request id and the date), 304 for a matching ETag, one
// request-log line and one metrics count each; everything else (other methods, other spellings of
// the path, an unreadable JWKS) must reach the Hono app untouched.
import { request } from 'node:http';
import { getRequestListener } from '@hono/node-server';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Deps } from '../../src/http/context.js';
import { leanLane } from '../../src/http/lean-lane.js';
import { rotateKey } from '../../src/keys/rotation.js';
import { createServer } from '../../src/server.js';
import { startTestApp, type TestApp } from '../support/app.js';
import { answer, type Lanes, listen, requestCount, startLanes } from './lanes.js';

const DOCUMENTS = [
  '/.well-known/openid-configuration',
  '/.well-known/oauth-authorization-server',
  '/.well-known/jwks.json',
  '/healthz',
];
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

/** A GET over node:http with exactly these headers (no Host unless given): status and body. */
function rawGet(
  base: string,
  path: string,
  headers: Record<string, string>,
): Promise<{ status: number; body: string }> {
  const { hostname, port } = new URL(base);
  return new Promise((resolve, reject) => {
    const req = request({ hostname, port, path, headers, setHost: false, agent: false }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => {
        body += chunk;
      });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

describe('lean lane (#16): the public documents and /healthz without Hono', () => {
  let t: TestApp;
  let lanes: Lanes;
  let hono: { url: string };
  let lean: { url: string };
  /** Request targets the lean lane handed to the Hono app. */
  let passed: string[];
  let lines: Record<string, unknown>[];

  beforeAll(async () => {
    lanes = await startLanes();
    ({ t, hono, lean, passed, lines } = lanes);
  });
  afterAll(() => lanes?.close());

  /** The same request to both servers: the two answers, and whether the lean lane passed it on. */
  async function both(path: string, init: RequestInit = {}) {
    const before = passed.length;
    const fromLean = await fetch(`${lean.url}${path}`, init);
    const fromHono = await fetch(`${hono.url}${path}`, init);
    return {
      lean: fromLean,
      hono: fromHono,
      a: await answer(fromLean),
      b: await answer(fromHono),
      passedOn: passed.length > before,
    };
  }

  it.each([...DOCUMENTS, '/.well-known/jwks.json?x=1', '/.well-known/openid-configuration?'])(
    'GET %s: the answer the Hono app gives, with its own request id, not passed on',
    async (path) => {
      const r = await both(path);
      expect(r.passedOn).toBe(false);
      expect(r.a.status).toBe(200);
      expect(r.a).toEqual(r.b);
      expect(r.lean.headers.get('x-request-id')).toMatch(UUID);
      expect(r.lean.headers.get('x-request-id')).not.toBe(r.hono.headers.get('x-request-id'));
      expect(r.a.headers['content-length']).toBe(String(Buffer.byteLength(r.a.body)));
      JSON.parse(r.a.body);
    },
  );

  it.each(DOCUMENTS.filter((p) => p !== '/healthz'))(
    'GET %s with a matching If-None-Match: 304 with the ETag, no body; a stale tag gets the document',
    async (path) => {
      const etag = (await fetch(`${lean.url}${path}`)).headers.get('etag');
      expect(etag).toMatch(/^"[A-Za-z0-9_-]{27}"$/);
      for (const tag of [etag!, `W/${etag}`, `"other", ${etag}`, '*']) {
        const r = await both(path, { headers: { 'If-None-Match': tag } });
        expect(r.passedOn).toBe(false);
        expect(r.a.status).toBe(304);
        expect(r.a.body).toBe('');
        // Hono adds a text/plain Content-Type to its bodiless 304; the lean lane names none
        const { 'content-type': _, ...honoHeaders } = r.b.headers;
        expect(r.a.headers).toEqual(honoHeaders);
      }
      const stale = await both(path, { headers: { 'If-None-Match': '"stale"' } });
      expect(stale.a.status).toBe(200);
      expect(stale.a).toEqual(stale.b);
    },
  );

  it.each([
    ['HEAD', '/healthz'],
    ['POST', '/.well-known/jwks.json'],
    ['PUT', '/healthz'],
    ['OPTIONS', '/.well-known/openid-configuration'],
    ['GET', '/healthz/'],
    ['GET', '/%68ealthz'],
    ['GET', '/.well-known/JWKS.json'],
    ['GET', '/readyz'],
    ['GET', '/oauth/token'],
  ])('%s %s goes to the Hono app and gets its answer', async (method, path) => {
    const init: RequestInit = {
      method,
      headers: { Origin: 'https://spa.example', 'Access-Control-Request-Method': 'GET' },
    };
    const r = await both(path, init);
    expect(r.passedOn).toBe(true);
    expect(r.a).toEqual(r.b);
  });

  it.each([
    ['a Host the URL parser rewrites', { Host: '0x7f.1' }],
    ['a port out of range', { Host: 'localhost:99999' }],
    ['a Host with a space', { Host: 'sesame test' }],
  ])('GET /healthz with %s goes to the Hono app and gets its answer', async (_, headers) => {
    const before = passed.length;
    const a = await rawGet(lean.url, '/healthz', headers);
    const b = await rawGet(hono.url, '/healthz', headers);
    expect(passed.length).toBe(before + 1);
    expect(a.status).toBe(b.status);
    expect(a.body.replace(/request id [0-9a-f-]+/, '')).toBe(b.body.replace(/request id [0-9a-f-]+/, ''));
  });

  it('takes a plain Host with or without a port, in any case (RFC 9110 §4.2.3), an IPv4 or an [IPv6] address', async () => {
    const hosts = [
      'sesame.test',
      'Sesame.TEST',
      'sesame.test:8443',
      'Sesame.TEST:8443',
      '127.0.0.1:3000',
      '[::1]:3000',
    ];
    for (const host of hosts) {
      const before = passed.length;
      const a = await rawGet(lean.url, '/healthz', { Host: host });
      expect([host, a.status, passed.length]).toEqual([host, 200, before]);
    }
    // What goes on to the Hono app has the host lowercased, which its adapter takes (it refused capitals).
    expect((await rawGet(lean.url, '/nope', { Host: 'Sesame.TEST:8443' })).status).toBe(404);
  });

  it('hands the JWKS to the Hono app once the keystore is stale; the next request is lean again', async () => {
    t.clock.advance(t.rt.config.keys.cacheTtl + 1);
    const stale = await both('/.well-known/jwks.json');
    expect(stale.passedOn).toBe(true);
    expect(stale.a).toEqual(stale.b);
    const again = await both('/.well-known/jwks.json');
    expect(again.passedOn).toBe(false);
    expect(again.a).toEqual(stale.a);
  });

  it('serves a rotated key as soon as the keystore has it, and the same JWKS as the Hono app', async () => {
    const before = (await (await fetch(`${lean.url}/.well-known/jwks.json`)).json()) as {
      keys: { kid: string }[];
    };
    const key = await rotateKey({
      storage: t.rt.storage,
      encryptionKey: t.rt.encryptionKey,
      clock: t.clock,
      alg: 'ES256',
      activationDelay: 60,
      maxTokenLifetime: 3600,
    });
    await t.rt.keys.refresh();
    const r = await both('/.well-known/jwks.json');
    expect(r.passedOn).toBe(false);
    expect(r.a).toEqual(r.b);
    const after = JSON.parse(r.a.body) as { keys: { kid: string }[] };
    expect(before.keys.map((k) => k.kid)).not.toContain(key.kid);
    expect(after.keys.map((k) => k.kid)).toContain(key.kid);
  });

  it('logs one request line per answer, with the request id it sent', async () => {
    lines.length = 0;
    const res = await fetch(`${lean.url}/.well-known/jwks.json?debug=1`);
    const id = res.headers.get('x-request-id');
    const logged = lines.filter((l) => l.msg === 'request');
    expect(logged).toHaveLength(1);
    expect(logged[0]).toMatchObject({
      level: 30,
      reqId: id,
      method: 'GET',
      path: '/.well-known/jwks.json',
      status: 200,
    });
    expect(typeof logged[0]?.ms).toBe('number');
  });

  it('counts each answer in the metrics under its route, as the Hono app does', async () => {
    const count = (route: string, status: string) => requestCount(route, 'GET', status);
    const before = await count('/healthz', '200');
    const etag = (await fetch(`${lean.url}/.well-known/jwks.json`)).headers.get('etag')!;
    const notModified = await count('/.well-known/jwks.json', '304');
    await fetch(`${lean.url}/healthz`);
    await fetch(`${hono.url}/healthz`);
    await fetch(`${lean.url}/.well-known/jwks.json`, { headers: { 'If-None-Match': etag } });
    expect(await count('/healthz', '200')).toBe(before + 2);
    expect(await count('/.well-known/jwks.json', '304')).toBe(notModified + 1);
  });

  it('hands the JWKS to the Hono app when the keys cannot be read, which answers as it always did', async () => {
    const down = await startTestApp('sqlite');
    try {
      const downDeps: Deps = { ...down.rt, logger: pino({ level: 'silent' }) };
      const downHono = getRequestListener(createServer(downDeps).fetch);
      const handed: string[] = [];
      const s = await listen(
        leanLane(downDeps, (req, res) => {
          handed.push(req.url ?? '');
          return downHono(req, res);
        }),
      );
      const h = await listen(downHono);
      try {
        await down.rt.storage.close();
        // past the keystore's cache: it must read the database, which is closed
        down.clock.advance(down.rt.config.keys.cacheTtl + 1);
        const fromLean = await answer(await fetch(`${s.url}/.well-known/jwks.json`));
        const fromHono = await answer(await fetch(`${h.url}/.well-known/jwks.json`));
        expect(handed).toEqual(['/.well-known/jwks.json']);
        expect(fromLean.status).toBeGreaterThanOrEqual(500);
        expect(fromLean).toEqual(fromHono);
      } finally {
        await s.close();
        await h.close();
      }
    } finally {
      await down.rt.mail.stop();
    }
  });
});
