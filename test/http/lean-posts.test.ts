// Issue #16, the lean lane's POSTs: /oauth/token and /oauth/introspect answered from Node's request
// (src/http/lean-posts.ts). Over real sockets, each answer must be the one the Hono app gives
// (status, body, every header but the per-answer ones), with the same log event, request-log line
// and metrics count; a request with Origin on /oauth/token, a repeated Authorization, Content-Type
// or User-Agent, and any other path or method must reach the Hono app untouched.
import { request } from 'node:http';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import type { Deps } from '../../src/http/context.js';
import type { Api, LogEvent } from '../../src/storage/types.js';
import type { TestApp } from '../support/app.js';
import { type Answer, answer, compared, type Lanes, requestCount, startLanes } from './lanes.js';

const FORM = 'application/x-www-form-urlencoded';
const TOKEN = '/oauth/token';
const GRANT = 'client_credentials';
const INTROSPECT = '/oauth/introspect';
const UA = 'LeanPostsTest/1.0';

/**
 * A POST over node:http with exactly these headers (an array value repeats the header line).
 * With `declared`, Content-Length says that many bytes but only `body` is sent: the answer must
 * come without the rest.
 */
function rawPost(url: string, headers: Record<string, string | string[]>, body: string, declared?: number) {
  const length = String(declared ?? Buffer.byteLength(body));
  const options = { method: 'POST', agent: false, headers: { ...headers, 'Content-Length': length } };
  return new Promise<Answer>((resolve, reject) => {
    const req = request(url, options, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => {
        text += chunk;
      });
      res.on('end', () => {
        const all = Object.entries(res.headers).map(([k, v]): [string, string] => [k, String(v)]);
        resolve(compared(res.statusCode ?? 0, all, text));
        req.destroy();
      });
    });
    req.on('error', reject);
    if (declared === undefined) req.end(body);
    else req.write(body);
  });
}

const basic = (id: string, secret: string) => `Basic ${Buffer.from(`${id}:${secret}`).toString('base64')}`;
/** A POST of `params` as a form (a list of pairs may repeat a name). */
const post = (params: Record<string, string> | [string, string][], headers: Record<string, string> = {}) => ({
  method: 'POST',
  headers: { 'content-type': FORM, 'user-agent': UA, ...headers },
  body: new URLSearchParams(params).toString(),
});
const json = (body: unknown) => ({
  method: 'POST',
  headers: { 'content-type': 'application/json', 'user-agent': UA },
  body: JSON.stringify(body),
});
const keys = (body: string) => Object.keys(JSON.parse(body)).sort();

describe('lean lane (#16): POST /oauth/token and /oauth/introspect without Hono', () => {
  let t: TestApp;
  let deps: Deps;
  let lanes: Lanes;
  let hono: { url: string };
  let lean: { url: string };
  let api: Api;
  let m2m: { clientId: string; clientSecret: string };
  let rs: { clientId: string; clientSecret: string };
  let spa: { clientId: string };
  let passed: string[];
  let lines: Record<string, unknown>[];
  const cc = () => ({
    grant_type: GRANT,
    client_id: m2m.clientId,
    client_secret: m2m.clientSecret,
    audience: api.identifier,
  });

  const wrong = () => ({ authorization: basic(m2m.clientId, 'wrong') });
  const rsAuth = () => ({ authorization: basic(rs.clientId, rs.clientSecret) });

  beforeAll(async () => {
    lanes = await startLanes();
    ({ t, deps, hono, lean, passed, lines } = lanes);
    api = await t.createApi({ tokenLifetime: 600 });
    m2m = await t.createM2m(api);
    rs = await t.createM2m(api);
    spa = await t.createApp({ name: 'SPA', type: 'spa', callbacks: ['https://spa.example/cb'] });
  });
  afterAll(() => lanes?.close());

  /** The same request to both servers: the two answers, and whether the lean lane passed it on. */
  async function both(path: string, init: RequestInit) {
    const before = passed.length;
    const a = await answer(await fetch(`${lean.url}${path}`, init));
    const b = await answer(await fetch(`${hono.url}${path}`, init));
    return { a, b, passedOn: passed.length > before };
  }
  /** The same raw request to both servers (see rawPost). */
  async function bothRaw(headers: Record<string, string | string[]>, body: string, declared?: number) {
    const before = passed.length;
    const a = await rawPost(`${lean.url}${TOKEN}`, headers, body, declared);
    const b = await rawPost(`${hono.url}${TOKEN}`, headers, body, declared);
    return { a, b, passedOn: passed.length > before };
  }
  /** Two 200 token answers: the same but for the token itself. */
  function expectSameTokenAnswer(a: Answer, b: Answer) {
    expect([a.status, b.status]).toEqual([200, 200]);
    const { 'content-length': la, ...ha } = a.headers;
    const { 'content-length': lb, ...hb } = b.headers;
    expect(ha).toEqual(hb);
    expect([la, lb]).toEqual([String(Buffer.byteLength(a.body)), String(Buffer.byteLength(b.body))]);
    expect(keys(a.body)).toEqual(keys(b.body));
    const [ja, jb] = [JSON.parse(a.body), JSON.parse(b.body)];
    expect(ja).toMatchObject({ access_token: expect.any(String), token_type: 'Bearer', expires_in: 600 });
    expect([ja.token_type, ja.expires_in]).toEqual([jb.token_type, jb.expires_in]);
    expect(ja.access_token).not.toBe(jb.access_token);
  }

  it('client_credentials: 200 with the Hono app headers, served lean (form, JSON, query string)', async () => {
    for (const [path, init] of [
      [TOKEN, post(cc())],
      [TOKEN, json(cc())],
      ['/oauth/token?x=1', post(cc())],
    ] as const) {
      const r = await both(path, init);
      expect(r.passedOn, path).toBe(false);
      expectSameTokenAnswer(r.a, r.b);
      expect(r.a.headers).toMatchObject({
        'content-type': 'application/json; charset=utf-8',
        'cache-control': 'no-store',
        pragma: 'no-cache',
        'x-content-type-options': 'nosniff',
      });
    }
  });

  it('a repeated resource is read (not refused as repeated): the grant answer, as the Hono app gives it', async () => {
    const r = await both(
      TOKEN,
      post([...Object.entries(cc()), ['resource', api.identifier], ['resource', 'https://other.test']]),
    );
    expect(r.passedOn).toBe(false);
    expect(r.a).toEqual(r.b);
    // invalid_request had the parser refused it; the grant itself takes one resource at a time
    expect([r.a.status, JSON.parse(r.a.body).error]).toEqual([400, 'invalid_target']);
  });

  const [BAD, WHO] = ['400 invalid_request', '401 invalid_client'];
  /** Refusals by endpoint and case: the request, and the status and error both lanes answer. */
  const REFUSED: Record<string, [() => RequestInit, string]> = {
    'token, a wrong secret through Basic': [() => post({ grant_type: GRANT }, wrong()), WHO],
    'token, an unknown grant_type': [
      () => post({ ...cc(), grant_type: 'urn:x' }),
      '400 unsupported_grant_type',
    ],
    'token, no grant_type': [() => post({ client_id: m2m.clientId }), BAD],
    'token, a text/plain body': [() => ({ ...post(cc()), headers: { 'content-type': 'text/plain' } }), BAD],
    'token, a body over the limit': [
      () => post({ ...cc(), x: 'x'.repeat(deps.config.bodyLimit) }),
      '413 invalid_request',
    ],
    'token, grant_type twice': [() => post([...Object.entries(cc()), ['grant_type', GRANT]]), BAD],
    // a coded body would be read as other text than was sent (RFC 9110 §8.4)
    'token, a gzip Content-Encoding': [() => post(cc(), { 'content-encoding': 'gzip' }), BAD],
    'introspect, a br Content-Encoding': [
      () => post({ token: 'x' }, { ...rsAuth(), 'content-encoding': 'br' }),
      BAD,
    ],
    'introspect, a JSON body': [() => json({ token: 'x', client_id: rs.clientId }), BAD],
    'introspect, no token': [() => post({}, rsAuth()), BAD],
    'introspect, a public client': [() => post({ token: 'x', client_id: spa.clientId }), WHO],
    'introspect, no client authentication': [() => post({ token: 'x' }), WHO],
  };
  it.each(Object.keys(REFUSED))('%s: the Hono app answer, served lean', async (name) => {
    const [init, expected] = REFUSED[name]!;
    const path = name.startsWith('token') ? TOKEN : INTROSPECT;
    const r = await both(path, init());
    expect(r.passedOn).toBe(false);
    expect(r.a).toEqual(r.b);
    expect(`${r.a.status} ${JSON.parse(r.a.body).error}`).toBe(expected);
    if (r.a.status === 401) expect(r.a.headers['www-authenticate']).toMatch(/^Basic/);
  });

  it('a Content-Length over the limit: 413 before the body is read, as the Hono app answers', async () => {
    const r = await bothRaw({ 'Content-Type': FORM }, 'grant_type=', deps.config.bodyLimit + 1);
    expect(r.passedOn).toBe(false);
    expect(r.a.status).toBe(413);
    expect(r.a).toEqual(r.b);
  });

  it('introspection: an active token and an unknown one, the same body through both lanes', async () => {
    const issued = await both(TOKEN, post(cc()));
    const token = JSON.parse(issued.a.body).access_token as string;
    const active = await both(INTROSPECT, post({ token }, rsAuth()));
    expect(active.passedOn).toBe(false);
    expect(active.a).toEqual(active.b);
    const claims = { active: true, client_id: m2m.clientId, aud: api.identifier };
    expect(JSON.parse(active.a.body)).toMatchObject(claims);
    const unknown = await both(INTROSPECT, post({ token: 'no-such-token' }, rsAuth()));
    expect(unknown.passedOn).toBe(false);
    expect(unknown.a).toEqual(unknown.b);
    expect(unknown.a.body).toBe('{"active":false}');
  });

  it('/oauth/token with Origin goes to the Hono app: CORS for a registered origin, Vary for another', async () => {
    const registered = await both(
      TOKEN,
      post({ grant_type: GRANT, client_id: spa.clientId }, { origin: 'https://spa.example' }),
    );
    expect(registered.passedOn).toBe(true);
    expect(registered.a).toEqual(registered.b);
    const cors = { 'access-control-allow-origin': 'https://spa.example', vary: 'Origin' };
    expect(registered.a.headers).toMatchObject(cors);
    const other = await both(
      TOKEN,
      post({ grant_type: GRANT }, { origin: 'https://evil.example', ...wrong() }),
    );
    expect(other.passedOn).toBe(true);
    expect(other.a).toEqual(other.b);
    expect(other.a.headers.vary).toBe('Origin');
    expect(other.a.headers).not.toHaveProperty('access-control-allow-origin');
  });

  it.each([
    [
      'Authorization',
      () => ({ Authorization: [basic(m2m.clientId, m2m.clientSecret), basic(rs.clientId, 'x')] }),
    ],
    ['Content-Type', () => ({ 'Content-Type': [FORM, 'text/plain'] })],
    ['User-Agent', () => ({ 'User-Agent': ['one', 'two'] })],
  ])('a repeated %s goes to the Hono app and gets its answer', async (_, headers) => {
    const body = new URLSearchParams({ grant_type: 'urn:example:nope', client_id: m2m.clientId }).toString();
    const r = await bothRaw({ 'Content-Type': FORM, ...headers() }, body);
    expect(r.passedOn).toBe(true);
    expect(r.a.status).toBeGreaterThanOrEqual(400);
    expect(r.a).toEqual(r.b);
  });

  it.each([
    ['POST', '/oauth/token/', 404],
    ['GET', TOKEN, 405],
    ['POST', '/oauth/revoke', 401],
  ])('%s %s goes to the Hono app and gets its answer', async (method, path, status) => {
    const init = method === 'GET' ? { method } : post({ token: 'x' });
    const r = await both(path, init);
    expect(r.passedOn).toBe(true);
    expect(r.a.status).toBe(status);
    expect(r.a).toEqual(r.b);
  });

  it('a failed client authentication: the same log event and request-log line as the Hono app', async () => {
    const during = async (base: string) => {
      await t.rt.events.flush();
      const last = (await t.rt.storage.logs.list({}, { offset: 0, limit: 1 }))[0]?.logId;
      lines.length = 0;
      const res = await fetch(
        `${base}${TOKEN}`,
        post({ grant_type: GRANT, client_id: m2m.clientId }, wrong()),
      );
      expect(res.status).toBe(401);
      await t.rt.events.flush();
      const events = (await t.rt.storage.logs.listAfter({}, last, 100)) as LogEvent[];
      const id = res.headers.get('x-request-id');
      const mine = lines.filter((l) => l.reqId === id);
      return { events: events.map(({ logId: _, ...e }) => e), mine, id };
    };
    const a = await during(lean.url);
    const b = await during(hono.url);
    expect(a.events).toHaveLength(1);
    const failed = { type: 'feccft', clientId: m2m.clientId, ip: '127.0.0.1', userAgent: UA };
    expect(a.events[0]).toMatchObject({ ...failed, details: { error: 'invalid_client' } });
    expect(a.events).toEqual(b.events);
    const requests = a.mine.filter((l) => l.msg === 'request');
    expect(requests).toHaveLength(1);
    expect(requests[0]).toMatchObject({ level: 30, reqId: a.id, method: 'POST', path: TOKEN, status: 401 });
    // the same lines (request refused, request) with the same fields, through either lane
    const shape = (ls: Record<string, unknown>[]) =>
      ls.map(({ time, ms, ...l }) => [l.msg, Object.keys(l).sort()]);
    expect(shape(a.mine)).toEqual(shape(b.mine));
  });

  it('counts each lean answer under its route, as the Hono app does', async () => {
    const count = (route: string, status: string) => requestCount(route, 'POST', status);
    const tokens = await count(TOKEN, '200');
    const refused = await count(INTROSPECT, '401');
    await fetch(`${lean.url}${TOKEN}`, post(cc()));
    await fetch(`${lean.url}/oauth/token?x=1`, post(cc()));
    await fetch(`${hono.url}${TOKEN}`, post(cc()));
    await fetch(`${lean.url}${INTROSPECT}`, post({ token: 'x' }));
    expect(await count(TOKEN, '200')).toBe(tokens + 3);
    expect(await count(INTROSPECT, '401')).toBe(refused + 1);
  });

  it('a database that fails unexpectedly: 500 server_error naming the request id, as the Hono app answers', async () => {
    const spy = vi.spyOn(t.rt.storage.applications, 'get').mockRejectedValue(new Error('boom'));
    try {
      for (const [path, init] of [
        [TOKEN, post(cc())],
        [INTROSPECT, post({ token: 'x' }, rsAuth())],
      ] as const) {
        const r = await both(path, init);
        expect(r.passedOn).toBe(false);
        expect(r.a.status).toBe(500);
        expect(r.a).toEqual(r.b);
        const description = 'internal error; request id (request id)';
        expect(JSON.parse(r.a.body)).toEqual({ error: 'server_error', error_description: description });
      }
      expect(spy).toHaveBeenCalledTimes(4);
    } finally {
      spy.mockRestore();
    }
  });
});
