import { Readable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { describeEachBackend } from '../../support/databases.js';
import {
  type Answer,
  BODY_LIMIT,
  buildWorld,
  CALLBACK,
  entries,
  errorOf,
  expectShaped,
  GET_TARGETS,
  hit,
  isHtml,
  lazyBody,
  listen,
  type Param,
  POST_TARGETS,
  rawRequest,
  redirectParams,
  requestOf,
  send,
  show,
  TARGETS,
  type Target,
  verdict,
  type World,
} from './hostile.js';

/**
 * Hostile transport: repeated parameters (RFC 6749 §3.1), bodies over the configured cap
 * (bodyLimit → 413, without buffering them), bodies that are not application/x-www-form-urlencoded
 * (RFC 6749 §3.2, RFC 7009 §2.1, RFC 7662 §2.1), methods the path does not serve (405 + Allow,
 * RFC 9110 §15.5.6) and invalid UTF-8 in percent-encoding.
 */

/**
 * Pages a browser meets (login, consent, the device's pages, logout, /authorize) answer a request
 * they cannot read with an HTML page of the error's status; the others with OAuth's JSON.
 */
const readsAsPage = (target: Target) => target.kind === 'page' || target.kind === 'authorize';

/** What a request that cannot be read gets: `page` for an HTML page, else the JSON error code. */
const refusal = (a: Answer) => (isHtml(a) ? 'page' : errorOf(a));
const expectedRefusal = (target: Target) => (readsAsPage(target) ? 'page' : 'invalid_request');

/** How an endpoint must refuse a repeated parameter. */
function duplicateVerdict(
  target: Target,
  name: string,
): 'json' | 'page' | 'form-page' | 'redirect' | 'ignored' | 'bearer' {
  if (target.path === '/authorize') {
    return ['client_id', 'redirect_uri', 'response_mode'].includes(name) ? 'page' : 'redirect';
  }
  // Only a prefill (GET /activate) or no parameter at all (GET /u/login): nothing to confuse.
  if (target.method === 'GET' && (target.path === '/activate' || target.path === '/u/login'))
    return 'ignored';
  // GET /userinfo never reads its query (RFC 9700 §4.3.2: no tokens in URLs).
  if (target.kind === 'bearer') return target.method === 'GET' ? 'ignored' : 'bearer';
  return target.kind === 'page' ? 'form-page' : 'json';
}

/** Every parameter of each target's well-formed request, each a test. */
const duplicateCases = TARGETS.flatMap((target) => {
  const names = target.names.filter((n) => n !== 'resource');
  return names.map((name) => ({ id: `${target.id} ${name}`, target, name }));
});

const MB = 1024 * 1024;

describeEachBackend('hostile transport', (backend) => {
  let w: World;
  beforeAll(async () => {
    w = await buildWorld(backend);
  });
  afterAll(async () => w?.t.close());

  describe('a repeated parameter (with another value) is refused, never picked', () => {
    it.each(duplicateCases)('$id', async ({ target, name }) => {
      const base = target.base(w);
      const first = base[name] ?? 'one';
      const params: Param[] = [
        ...Object.entries(base).filter(([n]) => n !== name),
        [name, first],
        [name, 'other'],
      ];
      const baseline = await hit(w, target);
      const a = await hit(w, target, params);
      expectShaped(w, target, a);
      const verdict = duplicateVerdict(target, name);
      const got = { status: a.status, error: errorOf(a) };
      if (verdict === 'json') {
        expect(got, show(a)).toEqual({ status: 400, error: 'invalid_request' });
        expect(String((JSON.parse(a.text) as { error_description: string }).error_description)).toContain(
          name,
        );
      } else if (verdict === 'bearer') {
        expect(got, show(a)).toEqual({ status: 400, error: 'invalid_request' });
        expect(a.headers.get('www-authenticate')).toMatch(/^Bearer .*error="invalid_request"/);
      } else if (verdict === 'page') {
        expect({ status: a.status, html: isHtml(a), location: a.location }, show(a)).toEqual({
          status: 400,
          html: true,
          location: null,
        });
        expect(a.text).toContain(`The parameter ${name} is repeated.`);
      } else if (verdict === 'form-page') {
        expect({ status: a.status, html: isHtml(a), location: a.location }, show(a)).toEqual({
          status: 400,
          html: true,
          location: null,
        });
        expect(a.text).toContain(`Parameter ${name} is repeated.`);
      } else if (verdict === 'redirect') {
        expect(a.status, show(a)).toBe(303);
        expect(a.location?.startsWith(`${CALLBACK}?`), show(a)).toBe(true);
        const p = redirectParams(a.location as string);
        expect({
          error: p?.get('error'),
          description: p?.get('error_description'),
          iss: p?.get('iss'),
          state: p?.get('state') ?? null,
        }).toEqual({
          error: 'invalid_request',
          description: `parameter ${name} is repeated`,
          iss: w.t.issuer,
          // A repeated state is not echoed: neither value is the client's for sure.
          state: name === 'state' ? null : 'st',
        });
      } else {
        expect(a.status, show(a)).toBe(baseline.status);
      }
    });
  });

  it('GET /userinfo: two Authorization headers are refused, never picked', async () => {
    const token = `Bearer ${w.accessToken}`;
    const headers = new Headers({ authorization: token });
    headers.append('authorization', 'Bearer other-token');
    const a = await send(w.t, { method: 'GET', path: '/userinfo', headers: Object.fromEntries(headers) });
    expect([400, 401], show(a)).toContain(a.status);
    expect(['invalid_request', 'invalid_token']).toContain(errorOf(a));
    expect(a.headers.get('www-authenticate')).toMatch(/^Bearer /);
  });

  describe(`a parameter larger than bodyLimit (${BODY_LIMIT} bytes) gets 413 invalid_request`, () => {
    it.each(POST_TARGETS)('$id', async (target) => {
      const params: Param[] = [...entries(target.base(w)), ['padding', 'x'.repeat(BODY_LIMIT + 1)]];
      const a = await hit(w, target, params);
      expect({ status: a.status, error: refusal(a) }, show(a)).toEqual({
        status: 413,
        error: expectedRefusal(target),
      });
      expect(a.ms).toBeLessThan(2_000);
    });
  });

  describe('a declared Content-Length over bodyLimit gets 413 before the body is read', () => {
    it.each(POST_TARGETS)('$id', async (target) => {
      const call = requestOf(w, target, entries(target.base(w)));
      const a = await send(w.t, {
        ...call,
        headers: { ...call.headers, 'content-length': String(2 * MB) },
        body: lazyBody(2 * MB),
      });
      expect({ status: a.status, error: refusal(a) }, show(a)).toEqual({
        status: 413,
        error: expectedRefusal(target),
      });
    });
  });

  describe('20 streamed bodies of 2 MB at once: 413 each, and memory does not grow by 50 MB', () => {
    it.each(POST_TARGETS)('$id', async (target) => {
      const call = requestOf(w, target, []);
      const before = process.memoryUsage().rss;
      let peak = before;
      const sample = setInterval(() => {
        peak = Math.max(peak, process.memoryUsage().rss);
      }, 5);
      let answers: Answer[];
      try {
        answers = await Promise.all(
          Array.from({ length: 20 }, () => send(w.t, { ...call, body: lazyBody(2 * MB) }, 10_000)),
        );
      } finally {
        clearInterval(sample);
      }
      peak = Math.max(peak, process.memoryUsage().rss);
      expect
        .soft(answers.map((a) => `${a.status} ${refusal(a)}`))
        .toEqual(Array.from({ length: 20 }, () => `413 ${expectedRefusal(target)}`));
      expect(Math.round((peak - before) / MB), 'RSS growth in MB').toBeLessThan(50);
    });
  });

  describe('an oversized query string (100 KB) in-process: a normal answer, quickly', () => {
    it.each(GET_TARGETS)('$id', async (target) => {
      const params: Param[] = [...entries(target.base(w)), ['state', 's'.repeat(100_000)]];
      const a = await hit(w, target, params);
      expectShaped(w, target, a);
      expect(a.ms).toBeLessThan(2_000);
    });
  });

  describe('over a real socket', () => {
    let server: Awaited<ReturnType<typeof listen>>;
    beforeAll(async () => {
      server = await listen(w);
    });
    afterAll(async () => server?.close());

    it.each(GET_TARGETS)('$id: a 100 KB request line is refused with 431, not served', async (target) => {
      const call = requestOf(w, target, [...entries(target.base(w)), ['state', 's'.repeat(100_000)]]);
      const res = await rawRequest(server.port, {
        method: 'GET',
        path: call.path,
        headers: call.headers ?? {},
      });
      expect(res.status).toBe(431);
    });

    it.each(GET_TARGETS)(
      '$id: 20 bodies of 2 MB sent with GET at once do not grow memory by 50 MB',
      async (target) => {
        const call = requestOf(w, target, entries(target.base(w)));
        const before = process.memoryUsage().rss;
        let peak = before;
        const sample = setInterval(() => {
          peak = Math.max(peak, process.memoryUsage().rss);
        }, 5);
        let statuses: number[];
        try {
          const answers = await Promise.all(
            Array.from({ length: 20 }, () =>
              rawRequest(server.port, {
                method: 'GET',
                path: call.path,
                headers: {
                  ...call.headers,
                  'content-type': 'application/x-www-form-urlencoded',
                  'content-length': String(2 * MB),
                },
                body: Readable.fromWeb(
                  lazyBody(2 * MB) as import('node:stream/web').ReadableStream<Uint8Array>,
                ),
              }),
            ),
          );
          statuses = answers.map((r) => r.status);
        } finally {
          clearInterval(sample);
        }
        expect(
          statuses.every((s) => s > 0 && s < 500),
          String(statuses),
        ).toBe(true);
        expect(Math.round((peak - before) / MB), 'RSS growth in MB').toBeLessThan(50);
      },
    );
  });

  const bodies: {
    what: string;
    contentType: string | null;
    body: (fields: Record<string, string>) => string;
  }[] = [
    { what: 'a JSON body', contentType: 'application/json', body: (f) => JSON.stringify(f) },
    {
      what: 'a multipart/form-data body',
      contentType: 'multipart/form-data; boundary=hostile',
      body: (f) =>
        `${Object.entries(f)
          .map(([k, v]) => `--hostile\r\nContent-Disposition: form-data; name="${k}"\r\n\r\n${v}\r\n`)
          .join('')}--hostile--\r\n`,
    },
    {
      what: 'a form body without Content-Type',
      contentType: null,
      body: (f) => new URLSearchParams(f).toString(),
    },
    {
      what: 'a form body labelled text/plain',
      contentType: 'text/plain;charset=UTF-8',
      body: (f) => new URLSearchParams(f).toString(),
    },
  ];

  // /oauth/token and /oauth/revoke take JSON bodies too (#13; test/protocol/spa/json-body.test.ts).
  const JSON_PATHS = new Set(['/oauth/token', '/oauth/revoke']);
  for (const { what, contentType, body } of bodies) {
    const targets =
      contentType === 'application/json' ? POST_TARGETS.filter((t) => !JSON_PATHS.has(t.path)) : POST_TARGETS;
    describe(`${what} gets 4xx invalid_request`, () => {
      it.each(targets)('$id', async (target) => {
        const call = requestOf(w, target, [], { contentType });
        const a = await send(w.t, { ...call, body: Buffer.from(body(target.base(w))) });
        expectShaped(w, target, a);
        if (target.kind === 'bearer') {
          // RFC 6750 §2.2: only a form body carries a token; any other body is no credential at all.
          expect([400, 401]).toContain(a.status);
          expect(['invalid_request', 'invalid_token']).toContain(errorOf(a));
        } else {
          expect({ status: a.status, error: refusal(a) }, show(a)).toEqual({
            status: 400,
            error: expectedRefusal(target),
          });
        }
      });
    });
  }

  describe('PUT, DELETE and PATCH get 405 with Allow', () => {
    const cases = TARGETS.flatMap((target) =>
      ['PUT', 'DELETE', 'PATCH'].map((method) => ({ id: `${method} ${target.id}`, target, method })),
    );
    it.each(cases)('$id', async ({ target, method }) => {
      const call = requestOf(w, target, entries(target.base(w)), { method });
      const a = await send(w.t, {
        ...call,
        path: target.path,
        headers: { ...call.headers, 'content-type': 'application/x-www-form-urlencoded' },
        body: Buffer.from(new URLSearchParams(target.base(w)).toString()),
      });
      expect({ status: a.status, error: errorOf(a) }, show(a)).toEqual({
        status: 405,
        error: 'invalid_request',
      });
      const allow = (a.headers.get('allow') ?? '').split(',').map((m) => m.trim());
      expect(allow.sort()).toEqual([...target.allow].sort());
    });
  });

  for (const bad of ['%C3%28', '%FF']) {
    describe(`invalid UTF-8 (${bad}) in any parameter: the answer a plain wrong value gets, never 5xx`, () => {
      it.each(TARGETS)('$id', async (target) => {
        const base = target.base(w);
        const mismatches: string[] = [];
        for (const name of [...target.names, 'unknown_parameter']) {
          const others = Object.entries(base).filter(([n]) => n !== name);
          const plain = await hit(w, target, [...others, [name, 'zz']]);
          const broken = await hit(w, target, [...others, [name, { raw: `zz${bad}` }]]);
          expectShaped(w, target, broken);
          if (verdict(plain) !== verdict(broken))
            mismatches.push(`${name}: zz → ${verdict(plain)}, zz${bad} → ${show(broken)}`);
        }
        // Invalid UTF-8 in a parameter's name too.
        const named = await hit(w, target, [...entries(base), { raw: `x${bad}=${bad}` }]);
        expectShaped(w, target, named);
        expect(mismatches).toEqual([]);
      });
    });
  }
});
