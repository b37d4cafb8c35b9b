// Log events of management (Management API writes: sapi/fapi; the admin layer: ss, scp, sce, sdu,
// consent_revoked, signing keys), no secret in any stored event, redaction and retention.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { newLogEvent } from '../../src/events/log.js';
import { redact } from '../../src/events/redact.js';
import { purgeLogs } from '../../src/events/retention.js';
import type { LogEvent } from '../../src/storage/types.js';
import {
  type Call,
  caller,
  expectStatus,
  type ManagementCredentials,
  managementToken,
  unique,
} from '../management/support.js';
import { Activator, fromIp, poll, startDevice } from '../protocol/device/device.js';
import {
  browser,
  CALLBACK,
  newUser,
  PASSWORD,
  tokenRequest,
  webAuthorizationUrl,
  webConfig,
  webSignIn,
} from '../protocol/sign-in/fixtures.js';
import { startTestApp, type TestApp, TestClock } from '../support/app.js';
import { describeEachBackend } from '../support/databases.js';

const IP = '198.51.100.23';
const UA = 'SesameEventsTest/1.0 (+admin-events)';
const CONNECTION = 'Username-Password-Authentication';
const DAY = 86_400;

/** What `action` returned, and the events written meanwhile (token-endpoint successes flushed). */
async function capture<T>(t: TestApp, action: () => Promise<T>): Promise<{ answer: T; events: LogEvent[] }> {
  await t.rt.events.flush();
  const last = (await t.rt.storage.logs.list({}, { offset: 0, limit: 1 }))[0]?.logId;
  const answer = await action();
  await t.rt.events.flush();
  const events = await t.rt.storage.logs.listAfter({}, last, 10_000);
  if (!events) throw new Error('the last event before the action is gone');
  return { answer, events };
}

/** The single event of `type` among `events`, with a description and the date of `t`'s clock. */
function one(t: TestApp, events: LogEvent[], type: string): LogEvent {
  const found = events.filter((e) => e.type === type);
  expect(found, `${type} among [${events.map((e) => e.type).join(', ')}]`).toHaveLength(1);
  const e = found[0] as LogEvent;
  expect(e.description.length, type).toBeGreaterThan(0);
  expect(e.date).toBe(t.clock.now() * 1000);
  return e;
}

const typesOf = (events: LogEvent[]) => events.map((e) => e.type).sort();

describeEachBackend('log events: Management API and admin changes', (backend) => {
  let t: TestApp;
  let mgmt: ManagementCredentials;
  let call: Call;

  beforeAll(async () => {
    // One signing algorithm: a rotation makes one key, so one signing_key_rotated event.
    t = await startTestApp(backend, { keys: { algorithms: ['RS256'] } });
    mgmt = await managementToken(t);
    const peer = fromIp(t, IP);
    const fetch: TestApp['fetch'] = (input, init) => {
      const req = new Request(input, init);
      req.headers.set('user-agent', UA);
      return peer.fetch(req);
    };
    call = caller({ ...peer, fetch }, mgmt.token);
  });
  afterAll(async () => t?.close());

  /** Calls the Management API; the answer (status checked) and the events written. */
  async function api(method: string, path: string, status: number, body?: unknown) {
    const out = await capture(t, () => call(method, path, body === undefined ? {} : { body }));
    expectStatus(out.answer, status);
    return out;
  }
  /** The one sapi/fapi event of a call, checked: caller, origin, request and response. */
  function audit(events: LogEvent[], method: string, path: string, statusCode: number): LogEvent {
    const e = one(t, events, statusCode < 400 ? 'sapi' : 'fapi');
    expect(e).toMatchObject({ clientId: mgmt.clientId, ip: IP, userAgent: UA });
    expect(e.clientName).toMatch(/^Management client/);
    expect(e.description).toContain(`${method} /api/v2${path}`);
    const request = { method, path: `/api/v2${path}` };
    expect(e.details).toMatchObject({ request, response: { statusCode } });
    expect(e.userId, 'a machine token has no user').toBeUndefined();
    return e;
  }
  const user = (email: string, password: string) => ({ email, password, connection: CONNECTION });
  const newPassword = () => `pw-${unique()}-Secret!`;

  it('a person through the API: ss, scp, sce, sdu, each with its sapi; fapi for a refused write', async () => {
    const [email, password] = [`${unique('p')}@example.com`, newPassword()];
    const created = await api('POST', '/users', 201, user(email, password));
    const id = created.answer.body.user_id as string;
    expect(typesOf(created.events)).toEqual(['sapi', 'ss']);
    expect(audit(created.events, 'POST', '/users', 201).details).toMatchObject({
      request: { body: { email, password: '[redacted]', connection: CONNECTION } },
      response: { body: { user_id: id, email } },
    });
    expect(one(t, created.events, 'ss')).toMatchObject({ userId: id, userName: email });

    const refused = await api('POST', '/users', 409, user(email, newPassword()));
    expect(typesOf(refused.events)).toEqual(['fapi']);
    const fapi = audit(refused.events, 'POST', '/users', 409);
    expect(fapi.details).toMatchObject({ request: { body: { password: '[redacted]' } } });
    expect(fapi.details).toMatchObject({ response: { body: { statusCode: 409 } } });

    const changed = await api('PATCH', `/users/${id}`, 200, { password: newPassword() });
    expect(typesOf(changed.events)).toEqual(['sapi', 'scp']);
    const sapi = audit(changed.events, 'PATCH', `/users/${id}`, 200);
    expect(sapi.details).toMatchObject({ request: { body: { password: '[redacted]' } } });
    expect(one(t, changed.events, 'scp')).toMatchObject({ userId: id, userName: email });

    const renamed = `${unique('renamed')}@example.com`;
    const moved = await api('PATCH', `/users/${id}`, 200, { email: renamed });
    expect(typesOf(moved.events)).toEqual(['sapi', 'sce']);
    const sce = { userId: id, userName: renamed, details: { from: email, to: renamed } };
    expect(one(t, moved.events, 'sce')).toMatchObject(sce);

    const deleted = await api('DELETE', `/users/${id}`, 204);
    expect(typesOf(deleted.events)).toEqual(['sapi', 'sdu']);
    audit(deleted.events, 'DELETE', `/users/${id}`, 204);
    expect(one(t, deleted.events, 'sdu')).toMatchObject({ userId: id, userName: renamed });
  });

  it('sapi: client secrets in answers (create, rotate-secret) are stored as [redacted]', async () => {
    const created = await api('POST', '/clients', 201, { name: 'Audited', app_type: 'regular_web' });
    const id = created.answer.body.client_id as string;
    const rotated = await api('POST', `/clients/${id}/rotate-secret`, 200);
    const paths = ['/clients', `/clients/${id}/rotate-secret`];
    for (const [i, { answer, events }] of [created, rotated].entries()) {
      expect(answer.body.client_secret).toEqual(expect.any(String));
      const response = { body: { client_id: id, client_secret: '[redacted]' } };
      expect(audit(events, 'POST', paths[i] as string, answer.status).details).toMatchObject({ response });
      expect(JSON.stringify(events)).not.toContain(answer.body.client_secret);
    }
  });

  it('sapi: a ticket (password change, email verification) is stored as [redacted]: its link would open the account', async () => {
    const { answer } = await api('POST', '/users', 201, user(`${unique('t')}@example.com`, newPassword()));
    const userId = answer.body.user_id as string;
    for (const kind of ['password-change', 'email-verification']) {
      const path = `/tickets/${kind}`;
      const made = await api('POST', path, 201, { user_id: userId });
      expect(made.answer.body.ticket).toMatch(/ticket=/);
      const e = audit(made.events, 'POST', path, 201);
      expect(e.details).toMatchObject({ response: { body: { ticket: '[redacted]' } } });
      expect(JSON.stringify(made.events)).not.toContain(
        new URL(made.answer.body.ticket).searchParams.get('ticket'),
      );
    }
  });

  it('fapi: a secret under a camelCase name in a refused request is not stored either', async () => {
    const { answer } = await api('POST', '/clients', 201, { name: 'Camel', app_type: 'regular_web' });
    const [path, secret] = [`/clients/${answer.body.client_id}`, `camel-${unique()}-0123456789abcdef`];
    const { events } = await api('PATCH', path, 400, { clientSecret: secret });
    audit(events, 'PATCH', path, 400);
    expect(JSON.stringify(events)).not.toContain(secret);
  });

  it('consent_revoked: DELETE /grants/{id}, with user, client, audience and scope', async () => {
    const resource = await t.createApi({ name: 'Revocable' });
    const web = await t.createApp({ name: 'Consenting Web', type: 'web', callbacks: [CALLBACK] });
    const { user: person, creds } = await newUser(t);
    const scope = 'openid read:things';
    await webSignIn(browser(t, creds), await webConfig(t, web), { scope, audience: resource.identifier });
    const grants = (await call('GET', '/grants', { query: { user_id: person.id } })).body as { id: string }[];
    expect(grants).toHaveLength(1);
    const { events } = await api('DELETE', `/grants/${grants[0]?.id}`, 204);
    expect(typesOf(events)).toEqual(['consent_revoked', 'sapi']);
    const e = one(t, events, 'consent_revoked');
    expect(e).toMatchObject({ userId: person.id, clientId: web.clientId, audience: resource.identifier });
    expect(e).toMatchObject({ scope, userName: person.email, clientName: 'Consenting Web' });
  });

  it('consent_revoked: DELETE /grants?user_id= logs one per consent withdrawn', async () => {
    const [first, second] = [await t.createApi({ name: 'First' }), await t.createApi({ name: 'Second' })];
    const web = await t.createApp({ name: 'Twice Consented', type: 'web', callbacks: [CALLBACK] });
    const { user: person, creds } = await newUser(t);
    const config = await webConfig(t, web);
    for (const api of [first, second])
      await webSignIn(browser(t, creds), config, { scope: 'openid read:things', audience: api.identifier });
    const { answer, events } = await capture(t, () =>
      call('DELETE', '/grants', { query: { user_id: person.id } }),
    );
    expectStatus(answer, 204);
    const revoked = events.filter((e) => e.type === 'consent_revoked');
    expect(revoked.map((e) => e.audience).sort()).toEqual([first.identifier, second.identifier].sort());
    for (const e of revoked)
      expect(e).toMatchObject({ userId: person.id, userName: person.email, clientName: 'Twice Consented' });
    expect(typesOf(events)).toEqual(['consent_revoked', 'consent_revoked', 'sapi']);
  });

  it('fapi: writes the body checks refuse (a prototype key, too large) are logged, their bodies not kept', async () => {
    const hostile = await capture(t, () =>
      call('POST', '/roles', { body: '{"name":"x","__proto__":{"admin":true}}' }),
    );
    expectStatus(hostile.answer, 400);
    const e = audit(hostile.events, 'POST', '/roles', 400);
    expect(e.details).toMatchObject({ request: { body: '[refused, not kept]' } });
    const big = await capture(t, () =>
      call('POST', '/roles', { body: JSON.stringify({ name: 'y', description: 'z'.repeat(2_000_000) }) }),
    );
    expectStatus(big.answer, 413);
    const large = audit(big.events, 'POST', '/roles', 413);
    expect(large.details).toMatchObject({ request: { body: '[too large to keep]' } });
    const nul = await capture(t, () =>
      call('POST', '/roles', { query: { name: 'a\u0000b' }, body: { name: 'z' } }),
    );
    expectStatus(nul.answer, 400);
    const refused = audit(nul.events, 'POST', '/roles', 400);
    expect(refused.details).toMatchObject({ request: { query: '[refused, not kept]' } });
    expect(JSON.stringify(refused)).not.toContain('\\u0000');
  });

  it('GET /logs: the next link starts with the issuer whatever the Host; an empty fields= keeps every field', async () => {
    for (const name of [unique('logged'), unique('logged')]) await api('POST', '/roles', 200, { name });
    const elsewhere = await t.fetch('http://proxy.internal:8080/api/v2/logs?take=2&q=type:sapi', {
      headers: { authorization: `Bearer ${mgmt.token}` },
    });
    expect(elsewhere.status).toBe(200);
    const page = (await elsewhere.json()) as { log_id: string }[];
    expect(page).toHaveLength(2);
    const link = elsewhere.headers.get('link') ?? '';
    const next = new URL(/^<([^>]+)>; rel="next"$/.exec(link)?.[1] ?? 'about:blank');
    expect(`${next.origin}${next.pathname}`).toBe(`${t.issuer.replace(/\/+$/, '')}/api/v2/logs`);
    expect(Object.fromEntries(next.searchParams)).toEqual({
      take: '2',
      q: 'type:sapi',
      from: page[1]?.log_id,
    });
    const all = await call('GET', '/logs', { query: { fields: '', per_page: 2 } });
    const named = await call('GET', '/logs', { query: { per_page: 2 } });
    expect(all.body).toEqual(named.body);
    expect(Object.keys(all.body[0])).toEqual(expect.arrayContaining(['log_id', 'date', 'type']));
  });

  it('signing_key_rotated and signing_key_revoked: the key in details', async () => {
    // one event per algorithm in use: RS256 (configured), and any other an API signs with
    const inUse = new Set((await t.rt.storage.signingKeys.listPublished(t.clock.now())).map((k) => k.alg));
    const rotated = await api('POST', '/keys/signing/rotate', 201);
    const keys = rotated.answer.body.keys as { kid: string; alg: string }[];
    expect(keys.map((k) => k.alg).sort()).toEqual([...inUse].sort());
    const kid = keys.find((k) => k.alg === 'RS256')!.kid;
    const events = rotated.events.filter((e) => e.type === 'signing_key_rotated');
    expect(typesOf(rotated.events)).toEqual(['sapi', ...events.map(() => 'signing_key_rotated')]);
    for (const k of keys)
      expect(events.map((e) => e.details)).toContainEqual(
        expect.objectContaining({ kid: k.kid, alg: k.alg }),
      );
    const revoked = await api('PUT', `/keys/signing/${kid}/revoke`, 200);
    expect(typesOf(revoked.events)).toEqual(['sapi', 'signing_key_revoked']);
    expect(one(t, revoked.events, 'signing_key_revoked').details).toMatchObject({ kid, alg: 'RS256' });
  });

  it('no stored event holds a password, secret, code, verifier, token or cookie seen in many flows', async () => {
    const secrets: Record<string, string> = { PASSWORD, mgmt: mgmt.token, mgmtSecret: mgmt.clientSecret };
    /** Remembers a secret the test saw (it must be a string) and returns it. */
    const seen = (name: string, value: unknown): string => {
      expect(value, name).toEqual(expect.any(String));
      secrets[name] = value as string;
      return value as string;
    };
    const token = (params: Record<string, string>) => tokenRequest(t, params);
    const resource = await t.createApi({ name: 'Secretive', allowOfflineAccess: true });
    const web = await t.createApp({ name: 'Secretive Web', type: 'web', callbacks: [CALLBACK] });
    const form = { client_id: web.clientId, client_secret: seen('webSecret', web.clientSecret) };
    const { creds } = await newUser(t);
    const agent = browser(t, creds);
    const config = await webConfig(t, web);
    const credentials = { ...creds, password: seen('wrongPassword', `wrong-${unique()}-password`) };
    const refused = agent.signIn((await webAuthorizationUrl(config)).url, { credentials });
    await expect(refused).rejects.toThrow(/login answered 400/);
    const params = { scope: 'openid offline_access read:things', audience: resource.identifier };
    const { flow, pending, tokens } = await webSignIn(agent, config, params);
    for (const [k, v] of agent.cookies) seen(`cookie ${k}`, v);
    for (const k of ['access_token', 'refresh_token', 'id_token']) seen(k, tokens[k]);
    const refresh = { grant_type: 'refresh_token', refresh_token: tokens.refresh_token as string, ...form };
    const refreshed = (await token(refresh)).body;
    seen('refreshed access_token', refreshed.access_token);
    seen('refreshed refresh_token', refreshed.refresh_token);
    t.clock.advance(11);
    expect((await token(refresh)).body.error).toBe('invalid_grant'); // reuse after the grace: ferrt
    const code = { code: seen('code', flow.location?.searchParams.get('code')), redirect_uri: CALLBACK };
    const exchange = { grant_type: 'authorization_code', code_verifier: seen('verifier', pending.verifier) };
    expect((await token({ ...exchange, ...code, ...form })).status).toBe(400); // replayed code
    const m2m = await t.createM2m(resource);
    const machine = {
      grant_type: 'client_credentials',
      client_id: m2m.clientId,
      audience: resource.identifier,
    };
    const wrongSecret = seen('wrongSecret', `wrong-${unique()}`);
    expect((await token({ ...machine, client_secret: wrongSecret })).status).toBe(401);
    const m2mToken = await token({ ...machine, client_secret: seen('m2mSecret', m2m.clientSecret) });
    seen('m2m access_token', m2mToken.body.access_token);
    const tv = await t.createApp({ name: 'Secretive TV', type: 'native', callbacks: ['com.example.tv:/cb'] });
    const device = await startDevice(t, tv, { scope: 'openid' });
    seen('user_code (normalized)', seen('user_code', device.user_code).replace('-', ''));
    await (await Activator.signIn(t, creds)).approve(device.user_code);
    t.clock.advance(6);
    const polled = await poll(t, tv, seen('device_code', device.device_code));
    seen('device access_token', polled.body.access_token);
    const email = `${unique('p')}@example.com`;
    const created = await api('POST', '/users', 201, user(email, seen('apiPassword', newPassword())));
    await api('POST', '/users', 409, user(email, seen('refusedPassword', newPassword())));
    const id = created.answer.body.user_id as string;
    await api('PATCH', `/users/${id}`, 200, { password: seen('changedPassword', newPassword()) });
    const client = await api('POST', '/clients', 201, { name: 'Secretive client', app_type: 'regular_web' });
    seen('apiClientSecret', client.answer.body.client_secret);
    const rotated = await api('POST', `/clients/${client.answer.body.client_id}/rotate-secret`, 200);
    seen('rotatedSecret', rotated.answer.body.client_secret);
    await t.rt.events.flush();

    const stored = await t.rt.storage.logs.list({}, { offset: 0, limit: 10_000 });
    const types = new Set(stored.map((e) => e.type));
    const expected = 's fp seacft feacft sertft ferrt seccft feccft sede sapi fapi ss scp'.split(' ');
    expect(expected.filter((type) => !types.has(type))).toEqual([]);
    const dump = JSON.stringify(stored);
    expect(Object.keys(secrets).filter((name) => dump.includes(secrets[name] as string))).toEqual([]);
  });

  it('purgeLogs: events older than retentionDays go (in batches), newer ones stay', async () => {
    const logs = t.rt.storage.logs;
    const now = t.clock.now();
    const at = (s: number, userId: string) => newLogEvent(new TestClock(s), { type: 'ss', userId });
    const tag = unique('usr_retention_');
    const dates = [now - 40 * DAY, now - 30 * DAY - 1, now - 30 * DAY + 1, now - DAY];
    await logs.insert(dates.map((s) => at(s, tag)));
    await logs.insert(Array.from({ length: 2100 }, (_, i) => at(now - 100 * DAY + i, `${tag}_old`)));
    expect(await purgeLogs(logs, new TestClock(now), 30)).toBe(2102);
    const left = await logs.list({ userId: tag }, { offset: 0, limit: 10 }, true);
    expect(left.map((e) => e.date)).toEqual([(now - 30 * DAY + 1) * 1000, (now - DAY) * 1000]);
    expect(await logs.count({ userId: `${tag}_old` })).toBe(0);
    expect(await logs.count({})).toBeGreaterThan(20); // the other tests' events are recent and stay
  });
});

describe('redact (src/events/redact.ts)', () => {
  const R = '[redacted]';
  const SECRET_NAMES = (
    'password client_secret refresh_token access_token id_token code code_verifier device_code ' +
    'user_code client_assertion private_key password_hash Authorization cookie csrf jwk tokens new_password'
  ).split(' ');
  const KEPT = { scope: 'openid', token_lifetime: 60, token_dialect: 'access_token_authz', email: 'a@b.c' };
  const ALSO_KEPT = { grant_type: 'password', token_endpoint_auth_method: 'client_secret_post' };

  it('replaces secret-named fields at every depth and in arrays, keeps the rest, leaves the input alone', () => {
    const nested = (secret: string) => ({
      list: [{ password: secret, n: 1 }, 3, null],
      o: { secret, ok: true },
    });
    const secrets = SECRET_NAMES.map((k, i) => [k, i % 2 ? `secret-${i}` : { value: `secret-${i}` }]);
    const input = { ...Object.fromEntries(secrets), ...KEPT, ...ALSO_KEPT, request: { body: nested('s') } };
    const copy = structuredClone(input);
    const redacted = Object.fromEntries(SECRET_NAMES.map((k) => [k, R]));
    expect(redact(input)).toEqual({ ...redacted, ...KEPT, ...ALSO_KEPT, request: { body: nested(R) } });
    expect(input).toEqual(copy);
    const plain = ['text', 7, null, undefined];
    expect(plain.map((v) => redact(v))).toEqual(plain);
  });

  it('redacts camelCase secret names too (clientSecret, refreshToken, newPassword…)', () => {
    const input = { clientSecret: 'a', refreshToken: 'b', accessToken: 'c', idToken: 'd', newPassword: 'e' };
    expect(redact(input)).toEqual(Object.fromEntries(Object.keys(input).map((k) => [k, R])));
  });

  it('cuts nesting deeper than six levels and arrays longer than 100', () => {
    let deep: unknown = { password: 'hidden-deep', note: 'kept-deep' };
    for (let i = 0; i < 8; i++) deep = { level: deep };
    const text = JSON.stringify(redact(deep));
    expect(text).toContain('"[…]"');
    expect(text).not.toContain('deep');
    const numbers = Array.from({ length: 150 }, (_, i) => i);
    expect(redact(numbers)).toEqual(numbers.slice(0, 100));
  });
});
