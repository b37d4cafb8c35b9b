import fc from 'fast-check';
import { afterAll, beforeAll, describe, it } from 'vitest';
import { describeEachBackend } from '../../support/databases.js';
import {
  buildWorld,
  type Call,
  encodeParams,
  type Param,
  problemWith,
  REQUEST_BUDGET_MS,
  RUNS,
  SEED,
  send,
  show,
  TARGETS,
  type Target,
  type World,
} from './hostile.js';

/**
 * Property: whatever arrives — any subset of an endpoint's parameters with good, hostile or
 * random values, unknown parameters, repeated ones, invalid percent-encoding, any method, any
 * content type, any body encoding, any credentials — Sesame answers in time with a spec-shaped
 * 4xx or a success, never a 5xx (see problemWith). SESAME_FUZZ_RUNS sets the runs per endpoint
 * and backend; SESAME_FUZZ_SEED replays a failure.
 */

const HOSTILE_VALUES = [
  '',
  ' ',
  "' OR 1=1 --",
  '"; DROP TABLE users; --',
  '<script>alert(1)</script>',
  '"><img src=x onerror=alert(1)>',
  'st\r\nX-Injected: 1',
  '\u0000',
  'a\u0000b',
  '\uD800',
  '\uDFFF\uD800',
  '\u202E',
  '\uFEFF',
  'ａｄａ@example.com',
  'e\u0301',
  '\u0131',
  '../../../etc/passwd',
  'null',
  'undefined',
  'true',
  '[]',
  '{}',
  '{"__proto__":{"admin":true}}',
  '__proto__',
  'constructor',
  '-1',
  '0',
  '1e400',
  'NaN',
  '9'.repeat(40),
  'x'.repeat(1000),
  '%00',
  '%%',
  '+',
  '&',
  '=',
  '#',
  'https://evil.example/cb',
  'javascript:alert(1)',
  'data:text/html,<script>alert(1)</script>',
  'http://127.0.0.1:1/cb',
  'code id_token token',
  'none login',
  'openid openid',
  'eyJhbGciOiJub25lIn0.eyJzdWIiOiJ4In0.',
  'eyJhbGciOiJIUzI1NiIsImtpZCI6Ii4uLyJ9.e30.x',
];

/** Names any endpoint may be sent, beyond its own. */
const STRAY_NAMES = [
  'client_id',
  'client_secret',
  'resource',
  'access_token',
  'state',
  '__proto__',
  'constructor',
  'hasOwnProperty',
  'toString',
  'csrf',
  'confirm',
];

/** Percent-encoded bytes, well-formed or not. */
const rawValue = fc.oneof(
  fc
    .uint8Array({ maxLength: 8 })
    .map((b) => ({ raw: [...b].map((x) => `%${x.toString(16).padStart(2, '0').toUpperCase()}`).join('') })),
  fc
    .constantFrom('%', '%G1', '%%', '%E2%82', '%C0%AF', '%ED%A0%80', '%F4%90%80%80', '%C3%28', '%FF', '+%2B')
    .map((raw) => ({ raw })),
);

type Value = string | { raw: string };

function valueArb(good: string[] | undefined): fc.Arbitrary<Value> {
  const known = good && good.length > 0 ? good : ['x'];
  return fc.oneof(
    { weight: 6, arbitrary: fc.constantFrom(...known) },
    { weight: 2, arbitrary: fc.string({ maxLength: 30 }) },
    { weight: 2, arbitrary: fc.string({ unit: 'binary', maxLength: 30 }) },
    { weight: 1, arbitrary: fc.webUrl() },
    { weight: 3, arbitrary: fc.constantFrom(...HOSTILE_VALUES) },
    {
      weight: 2,
      arbitrary: fc
        .tuple(fc.constantFrom(...known), fc.string({ unit: 'binary', maxLength: 4 }), fc.boolean())
        .map(([g, s, before]) => (before ? s + g : g + s)),
    },
    { weight: 1, arbitrary: fc.integer().map(String) },
    { weight: 1, arbitrary: rawValue },
  );
}

const headerSafe = (s: string) => s.replace(/[\0\r\n]/g, '').replace(/[^\x20-\x7e\t]/g, '');

const METHODS = ['GET', 'POST', 'PUT', 'DELETE', 'PATCH', 'HEAD', 'OPTIONS'];
const CONTENT_TYPES = [
  'application/x-www-form-urlencoded;charset=UTF-8',
  'APPLICATION/X-WWW-FORM-URLENCODED',
  'application/x-www-form-urlencoded; charset=iso-8859-1',
  'application/x-www-form-urlencodedx',
  'application/json',
  'multipart/form-data; boundary=b',
  'text/plain',
  'text/html',
  '',
];

/** One generated request, before it is encoded. */
interface Shape {
  method: string;
  fromBase: boolean;
  params: [string, Value][];
  extras: [string, Value][];
  repeat: number;
  query: [string, Value][];
  encoding: 'form' | 'json' | 'multipart' | 'raw';
  raw: string;
  contentType: string | null | undefined;
  auth: string | null | undefined;
  cookie: 'own' | 'none' | 'garbage';
}

function shapeOf(w: World, target: Target): fc.Arbitrary<Shape> {
  const good = target.good(w);
  const param = (names: fc.Arbitrary<string>) =>
    names.chain((name) =>
      valueArb(Object.hasOwn(good, name) ? good[name] : undefined).map((v): [string, Value] => [name, v]),
    );
  const knownName = fc.constantFrom(...target.names);
  const anyName = fc.oneof(
    { weight: 4, arbitrary: knownName },
    { weight: 1, arbitrary: fc.constantFrom(...STRAY_NAMES) },
    { weight: 1, arbitrary: fc.string({ unit: 'binary', maxLength: 12 }) },
  );
  const authorization = fc.oneof(
    { weight: 6, arbitrary: fc.constant(undefined) },
    { weight: 2, arbitrary: fc.constant(null) },
    {
      weight: 1,
      arbitrary: fc.constantFrom(
        `Basic ${Buffer.from(`${w.web.clientId}:${w.web.clientSecret}`).toString('base64')}`,
        `Basic ${Buffer.from(`${w.m2m.clientId}:${w.m2m.clientSecret}`).toString('base64')}`,
        `Basic ${Buffer.from(`${w.native.clientId}:`).toString('base64')}`,
        `Basic ${Buffer.from(`${w.web.clientId}:wrong`).toString('base64')}`,
        `Basic ${Buffer.from('%ZZ:%FF').toString('base64')}`,
        'Basic',
        'Basic ====',
        'Basic !!!',
        `Bearer ${w.accessToken}`,
        `bearer  ${w.accessToken}`,
        `Bearer ${w.idToken}`,
        `Bearer ${w.refreshToken}`,
        'Bearer',
        'Bearer a.b.c',
        'DPoP x',
      ),
    },
    { weight: 1, arbitrary: fc.string({ unit: 'binary-ascii', maxLength: 40 }).map(headerSafe) },
    {
      weight: 1,
      arbitrary: fc
        .string({ unit: 'binary', maxLength: 30 })
        .map((s) => `Basic ${Buffer.from(s, 'utf8').toString('base64')}`),
    },
  );
  return fc.record({
    method: fc.oneof({ weight: 8, arbitrary: fc.constant(target.method) }, fc.constantFrom(...METHODS)),
    fromBase: fc.boolean(),
    params: fc
      .shuffledSubarray(target.names)
      .chain((names) => fc.tuple(...names.map((n) => param(fc.constant(n))))),
    extras: fc.array(param(anyName), { maxLength: 3 }),
    repeat: fc.oneof({ weight: 6, arbitrary: fc.constant(0) }, fc.integer({ min: 1, max: 3 })),
    query: fc
      .option(fc.array(param(anyName), { minLength: 1, maxLength: 3 }), { freq: 5, nil: undefined })
      .map((q): [string, Value][] => q ?? []),
    encoding: fc.oneof(
      { weight: 8, arbitrary: fc.constant('form' as const) },
      fc.constantFrom('json' as const, 'multipart' as const, 'raw' as const),
    ),
    raw: fc.string({ unit: 'binary', maxLength: 60 }),
    contentType: fc.oneof(
      { weight: 8, arbitrary: fc.constant(undefined) },
      { weight: 1, arbitrary: fc.constant(null) },
      { weight: 2, arbitrary: fc.constantFrom(...CONTENT_TYPES) },
      { weight: 1, arbitrary: fc.string({ unit: 'binary-ascii', maxLength: 30 }).map(headerSafe) },
    ),
    auth: authorization,
    cookie: fc.oneof(
      { weight: 8, arbitrary: fc.constant('own' as const) },
      fc.constantFrom('none' as const, 'garbage' as const),
    ),
  });
}

/** Turns a shape into the HTTP request it describes. */
function callOf(w: World, target: Target, s: Shape): Call {
  const base = s.fromBase ? Object.entries(target.base(w)) : [];
  const chosen = new Map<string, Value>(base);
  for (const [k, v] of s.params) chosen.set(k, v);
  const pairs: Param[] = [...chosen].map(([k, v]) => [k, v] as Param);
  for (const [k, v] of s.extras) pairs.push([k, v] as Param);
  for (let i = 0; i < s.repeat && pairs.length > 0; i++) pairs.push(pairs[i % pairs.length] as Param);

  const headers: Record<string, string> = {};
  const cookie = target.cookie(w);
  if (s.cookie === 'own' && cookie) headers.cookie = cookie;
  if (s.cookie === 'garbage') headers.cookie = '__Host-sesame_session=garbage; __Host-sesame_interaction=%FF';
  const auth = s.auth === undefined ? target.auth?.(w) : s.auth;
  if (auth) headers.authorization = auth;

  const bodyless = s.method === 'GET' || s.method === 'HEAD';
  const inQuery = bodyless || target.method === 'GET';
  const query = encodeParams([...(inQuery ? pairs : []), ...(s.query as Param[])]);
  const path = query ? `${target.path}?${query}` : target.path;
  if (bodyless) return { method: s.method, path, headers };

  let body: string;
  let contentType = 'application/x-www-form-urlencoded';
  const plain = (v: Value) => (typeof v === 'string' ? v : v.raw);
  const fields = inQuery ? [] : pairs;
  if (s.encoding === 'json') {
    body = JSON.stringify(
      Object.fromEntries(fields.map((p) => (Array.isArray(p) ? [p[0], plain(p[1])] : [p.raw, '']))),
    );
    contentType = 'application/json';
  } else if (s.encoding === 'multipart') {
    body = `${fields
      .map((p) =>
        Array.isArray(p)
          ? `--b\r\nContent-Disposition: form-data; name="${p[0]}"\r\n\r\n${plain(p[1])}\r\n`
          : `--b\r\n${p.raw}\r\n`,
      )
      .join('')}--b--\r\n`;
    contentType = 'multipart/form-data; boundary=b';
  } else if (s.encoding === 'raw') {
    body = s.raw;
  } else {
    body = encodeParams(fields);
  }
  if (s.contentType === undefined) headers['content-type'] = contentType;
  else if (s.contentType !== null) headers['content-type'] = s.contentType;
  return { method: s.method, path, headers, body: Buffer.from(body, 'utf8') };
}

describeEachBackend('hostile fuzzing', (backend) => {
  let w: World;
  beforeAll(async () => {
    w = await buildWorld(backend);
  });
  afterAll(async () => w?.t.close());

  describe(`any request, ${RUNS} runs per endpoint: a spec-shaped 4xx or a success, in time, never 5xx`, () => {
    it.each(TARGETS)(
      '$id',
      async (target) => {
        await fc.assert(
          fc.asyncProperty(shapeOf(w, target), async (shape) => {
            const call = callOf(w, target, shape);
            const a = await send(w.t, call, REQUEST_BUDGET_MS);
            const problem = problemWith(w, target, a, call.method);
            if (problem) {
              throw new Error(
                `${problem}\n${call.method} ${call.path}\n${JSON.stringify(call.headers)}\n${call.body?.toString()}\n→ ${show(a)}`,
              );
            }
          }),
          { numRuns: RUNS, ...(SEED !== undefined ? { seed: SEED } : {}) },
        );
      },
      Math.max(120_000, RUNS * 400),
    );
  });
});
