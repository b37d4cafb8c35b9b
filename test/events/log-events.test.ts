// Security log events of the front door (Auth0's type codes): login page, token endpoint of every
// grant, device activation, logout, consent. Each action writes exactly one event of its type, with
// who (user, client), from where (ip, user agent) and what (audience, scope, error).
import type * as client from 'openid-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { setBlocked } from '../../src/admin/users.js';
import type { Api, LogEvent, User } from '../../src/storage/types.js';
import { Activator, type ClientCreds, fromIp, poll, startDevice } from '../protocol/device/device.js';
import { csrfOf } from '../protocol/sign-in/agent.js';
import {
  browser,
  CALLBACK,
  LOGOUT_CALLBACK,
  newUser,
  PASSWORD,
  type TokenAnswer,
  tokenRequest,
  webAuthorizationUrl,
  webConfig,
  webSignIn,
} from '../protocol/sign-in/fixtures.js';
import { startTestApp, type TestApp } from '../support/app.js';
import { describeEachBackend } from '../support/databases.js';

const IP = '203.0.113.7';
const UA = 'SesameEventsTest/1.0 (+log-events)';
const SCOPE = 'openid profile offline_access read:things';
const WRONG = 'not the right password at all';

/** `t` reached from IP with the User-Agent UA on every request (openid-client's own is replaced). */
function withOrigin(t: TestApp): TestApp {
  const peer = fromIp(t, IP);
  const fetch: TestApp['fetch'] = (input, init) => {
    const req = new Request(input, init);
    req.headers.set('user-agent', UA);
    return peer.fetch(req);
  };
  return { ...peer, fetch };
}

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

/** The single event of `type` among `events`. */
function one(events: LogEvent[], type: string): LogEvent {
  const found = events.filter((e) => e.type === type);
  expect(found, `${type} among [${events.map((e) => e.type).join(', ')}]`).toHaveLength(1);
  return found[0] as LogEvent;
}

describeEachBackend('log events: sign-in, token endpoint, device, logout, consent', (backend) => {
  let t: TestApp;
  let c: TestApp;
  let api: Api;
  let web: ClientCreds, tv: ClientCreds, legacy: ClientCreds;
  let m2m: { clientId: string; clientSecret: string };
  let config: client.Configuration;
  // The client fields of each application's events, the user fields, the API fields.
  const ofWeb = () => ({ clientId: web.clientId, clientName: 'Events Web' });
  const ofM2m = () => ({ clientId: m2m.clientId, clientName: 'M2M' });
  const ofTv = () => ({ clientId: tv.clientId, clientName: 'Events TV' });
  const ofLegacy = () => ({ clientId: legacy.clientId, clientName: 'Events Legacy' });
  const of = (user: User) => ({ userId: user.id, userName: user.email });
  const at = (scope: string) => ({ audience: api.identifier, scope });

  beforeAll(async () => {
    // The per-IP limit stays out of the way: every request of the file comes from IP.
    t = await startTestApp(backend, { login: { accountFailures: 5, ipFailures: 1000 } });
    c = withOrigin(t);
    api = await t.createApi({ name: 'Things', allowOfflineAccess: true }); // read:things, write:things
    const urls = { callbacks: [CALLBACK], logoutCallbacks: [LOGOUT_CALLBACK] };
    web = await t.createApp({ name: 'Events Web', type: 'web', requirePkce: false, ...urls });
    config = await webConfig(c, web);
    m2m = await t.createM2m(api);
    tv = await t.createApp({ name: 'Events TV', type: 'native', callbacks: ['com.example.tv:/cb'] });
    legacy = await t.createApp({
      ...urls,
      name: 'Events Legacy',
      type: 'web',
      requirePkce: false,
      grants: ['password'],
    });
  });
  afterAll(async () => t?.close());
  const during = async (action: () => Promise<unknown>) => (await capture(t, action)).events;

  /** Asserts the fields every event has (a description, the date in ms, ip, user agent), then `fields`. */
  function expectEvent(e: LogEvent, fields: Partial<LogEvent>): void {
    expect(e.description.length, e.type).toBeGreaterThan(0);
    expect(e.date, 'date in ms of the clock').toBe(t.clock.now() * 1000);
    // A field expected undefined must be absent (toMatchObject would want it present).
    expect(e).toMatchObject(JSON.parse(JSON.stringify({ ip: IP, userAgent: UA, ...fields })));
    for (const [k, v] of Object.entries(fields)) if (v === undefined) expect(e).not.toHaveProperty(k);
  }
  /** Asserts a token-endpoint failure: the error in details, error_description as the description. */
  function expectFailure(e: LogEvent, answer: TokenAnswer, fields: Partial<LogEvent>): void {
    expectEvent(e, fields);
    expect(answer.body.error_description).toEqual(expect.any(String));
    expect(e.description).toBe(answer.body.error_description);
    expect(e.details).toMatchObject({ error: answer.body.error });
  }
  const secret = (a: ClientCreds) => ({ client_id: a.clientId, client_secret: a.clientSecret as string });

  /** A new person signs in to `web` with consent; the events, the user, the agent and the tokens. */
  async function signIn() {
    const { user, creds } = await newUser(t);
    const agent = browser(c, creds);
    const params = { scope: SCOPE, audience: api.identifier };
    const { answer, events } = await capture(t, () => webSignIn(agent, config, params));
    return { user, agent, events, tokens: answer.tokens };
  }

  describe('login page', () => {
    /** Submits the login form of a pending request of `web`; the events, after checking the status. */
    const submit = (email: string, password: string, status: number) =>
      during(async () => {
        const agent = browser(c);
        const flow = await agent.signIn((await webAuthorizationUrl(config)).url, { stopAt: 'login' });
        const csrf = csrfOf(flow.html.login as string);
        const res = await agent.post('/u/login', { csrf, email, password });
        expect(res.status).toBe(status);
      });

    it('ssa and fsa: prompt=none answered from the session, or refused (login_required) without one', async () => {
      const { user, agent } = await signIn();
      const silent = async (who: ReturnType<typeof browser>) => {
        const params = { prompt: 'none', scope: SCOPE, audience: api.identifier };
        const res = await who.get((await webAuthorizationUrl(config, params)).url);
        return new URL(res.headers.get('location') as string).searchParams;
      };
      let answer = new URLSearchParams();
      const ok = await during(async () => {
        answer = await silent(agent);
      });
      expect(answer.get('code')).toEqual(expect.any(String));
      expectEvent(one(ok, 'ssa'), { ...ofWeb(), ...of(user) });
      const refused = await during(async () => {
        answer = await silent(browser(c));
      });
      expect(answer.get('error')).toBe('login_required');
      const e = one(refused, 'fsa');
      expectEvent(e, { ...ofWeb(), userId: undefined });
      expect(e.details).toEqual({ error: 'login_required' });
    });

    it('s: a successful login, with the client of the pending request', async () => {
      const { user, events } = await signIn();
      expectEvent(one(events, 's'), { ...ofWeb(), ...of(user) });
    });

    it('fu: an unknown email', async () => {
      const events = await submit('nobody-here@example.com', PASSWORD, 400);
      expectEvent(one(events, 'fu'), { ...ofWeb(), userName: 'nobody-here@example.com', userId: undefined });
    });

    it('fp: a wrong password (and no s)', async () => {
      const { user } = await newUser(t);
      const events = await submit(user.email, WRONG, 400);
      expectEvent(one(events, 'fp'), { ...ofWeb(), ...of(user) });
      expect(events.map((e) => e.type)).toEqual(['fp']);
    });

    it('f: a blocked user with the right password', async () => {
      const { user } = await newUser(t);
      await setBlocked(t.rt.storage, t.clock, user.id, true);
      expectEvent(one(await submit(user.email, PASSWORD, 400), 'f'), { ...ofWeb(), ...of(user) });
    });

    it('limit_wc: the sixth try after five failures is refused (429), not checked', async () => {
      const { user } = await newUser(t);
      for (let i = 0; i < 5; i++) await submit(user.email, WRONG, 400);
      const events = await submit(user.email, PASSWORD, 429);
      expectEvent(one(events, 'limit_wc'), { ...ofWeb(), userName: user.email });
      expect(events.map((e) => e.type)).toEqual(['limit_wc']);
    });
  });

  describe('token endpoint', () => {
    /** POSTs the token endpoint; the answer and the events it wrote. */
    const token = (params: Record<string, string>) => capture(t, () => tokenRequest(c, params));
    const refresh = (refreshToken: string) =>
      token({ grant_type: 'refresh_token', refresh_token: refreshToken, ...secret(web) });
    const passwordGrant = (username: string, password: string) =>
      token({ grant_type: 'password', username, password, ...at('read:things'), ...secret(legacy) });
    const credentials = (audience: string) =>
      token({ grant_type: 'client_credentials', audience, ...secret(m2m) });

    it('seacft: the code exchange, with user, audience and scope', async () => {
      const { user, events, tokens } = await signIn();
      expect(tokens.scope).toContain('read:things');
      expectEvent(one(events, 'seacft'), { ...ofWeb(), ...of(user), ...at(tokens.scope as string) });
    });

    it('feacft: an unknown code', async () => {
      const code = { code: 'no-such-code-0123456789abcdef', code_verifier: 'v'.repeat(43) };
      const form = { grant_type: 'authorization_code', redirect_uri: CALLBACK, ...code, ...secret(web) };
      const { answer, events } = await token(form);
      expect(answer.status).toBe(400);
      expectFailure(one(events, 'feacft'), answer, ofWeb());
    });

    it('seccft: client credentials, with audience and scope, no user', async () => {
      const { answer, events } = await credentials(api.identifier);
      expect([answer.status, answer.body.scope]).toEqual([200, 'read:things write:things']);
      const none = { userId: undefined, userName: undefined };
      expectEvent(one(events, 'seccft'), { ...ofM2m(), ...at('read:things write:things'), ...none });
    });

    it('feccft: an audience the client is not authorized for, recorded with that audience', async () => {
      const other = await t.createApi({ name: 'Other' });
      const { answer, events } = await credentials(other.identifier);
      expect([answer.status, answer.body.error]).toEqual([400, 'unauthorized_client']);
      expectFailure(one(events, 'feccft'), answer, { ...ofM2m(), audience: other.identifier });
    });

    it('feccft: a wrong secret sent by HTTP Basic is recorded with the client id it claimed', async () => {
      const basic = Buffer.from(`${encodeURIComponent(m2m.clientId)}:wrong-secret`).toString('base64');
      const { answer, events } = await capture(t, async () => {
        const res = await c.fetch(`${c.issuer}/oauth/token`, {
          method: 'POST',
          headers: { 'content-type': 'application/x-www-form-urlencoded', authorization: `Basic ${basic}` },
          body: new URLSearchParams({ grant_type: 'client_credentials', audience: api.identifier }),
        });
        return { status: res.status, headers: res.headers, body: await res.json() } as TokenAnswer;
      });
      expect([answer.status, answer.body.error]).toEqual([401, 'invalid_client']);
      const e = one(events, 'feccft');
      expect(e.clientId).toBe(m2m.clientId);
      expect(e.details).toMatchObject({ error: 'invalid_client' });
    });

    it('sertft: a refresh, with user, audience and scope', async () => {
      const { user, tokens } = await signIn();
      const { answer, events } = await refresh(tokens.refresh_token as string);
      expect(answer.status).toBe(200);
      expectEvent(one(events, 'sertft'), { ...ofWeb(), ...of(user), ...at(answer.body.scope as string) });
    });

    it('fertft: an unknown refresh token', async () => {
      const { answer, events } = await refresh('not-a-refresh-token-0123456789');
      expect(answer.status).toBe(400);
      expectFailure(one(events, 'fertft'), answer, ofWeb());
    });

    it('ferrt (and no fertft): a rotated refresh token used again after the grace period', async () => {
      const { user, tokens } = await signIn();
      expect((await refresh(tokens.refresh_token as string)).answer.status).toBe(200);
      t.clock.advance(11);
      const { answer, events } = await refresh(tokens.refresh_token as string);
      expect(answer.body.error).toBe('invalid_grant');
      expectFailure(one(events, 'ferrt'), answer, { ...ofWeb(), ...of(user) });
      expect(events.map((e) => e.type)).toEqual(['ferrt']);
    });

    it('sepft: the password grant, with user, audience and scope', async () => {
      const { user } = await newUser(t);
      const { answer, events } = await passwordGrant(user.email, PASSWORD);
      expect([answer.status, answer.body.scope]).toEqual([200, 'read:things']);
      expectEvent(one(events, 'sepft'), { ...ofLegacy(), ...of(user), ...at('read:things') });
    });

    it('fepft: the password grant with a wrong password', async () => {
      const { user } = await newUser(t);
      const { answer, events } = await passwordGrant(user.email, WRONG);
      expect(answer.status).toBe(400);
      expectFailure(one(events, 'fepft'), answer, { ...ofLegacy(), ...of(user) });
    });

    it('limit_wc (and no fepft): the password grant refused for a locked account', async () => {
      const { user } = await newUser(t);
      for (let i = 0; i < 5; i++) expect((await passwordGrant(user.email, WRONG)).answer.status).toBe(400);
      const { answer, events } = await passwordGrant(user.email, PASSWORD);
      expect(answer.status).toBe(429);
      expectFailure(one(events, 'limit_wc'), answer, { ...ofLegacy(), userName: user.email });
      expect(events.map((e) => e.type)).toEqual(['limit_wc']);
    });
  });

  describe('device flow, logout, consent', () => {
    const device = () => startDevice(c, tv, { scope: 'openid read:things', audience: api.identifier });

    it('sede: the device code exchanged after approval, with user, audience and scope', async () => {
      const { user, creds } = await newUser(t);
      const grant = await device();
      await (await Activator.signIn(c, creds)).approve(grant.user_code);
      t.clock.advance(6);
      const { answer, events } = await capture(t, () => poll(c, tv, grant.device_code));
      expect([answer.status, answer.body.scope]).toEqual([200, 'openid read:things']);
      expectEvent(one(events, 'sede'), { ...ofTv(), ...of(user), ...at('openid read:things') });
    });

    it('fede: an unknown device code; none for authorization_pending or slow_down', async () => {
      const grant = await device();
      t.clock.advance(6);
      const polling = await during(async () => {
        expect((await poll(c, tv, grant.device_code)).body.error).toBe('authorization_pending');
        expect((await poll(c, tv, grant.device_code)).body.error).toBe('slow_down');
      });
      expect(polling.map((e) => e.type)).toEqual([]);
      const { answer, events } = await capture(t, () => poll(c, tv, 'no-such-device-code-0123'));
      expect(answer.body.error).toBe('invalid_grant');
      expectFailure(one(events, 'fede'), answer, ofTv());
    });

    it('fdeac: a wrong user code at /activate', async () => {
      const { user, creds } = await newUser(t);
      const a = await Activator.signIn(c, creds);
      const events = await during(async () => expect((await a.enter('BBBB-BBBB')).res.status).toBe(400));
      expectEvent(one(events, 'fdeac'), of(user));
    });

    it('fdecc: the person pressed Deny', async () => {
      const { user, creds } = await newUser(t);
      const grant = await device();
      const a = await Activator.signIn(c, creds);
      const events = await during(() => a.approve(grant.user_code, 'deny'));
      expectEvent(one(events, 'fdecc'), { ...ofTv(), ...of(user) });
    });

    it('slo: logout with id_token_hint, with the client', async () => {
      const { user, agent, tokens } = await signIn();
      const hint = { id_token_hint: tokens.id_token as string, post_logout_redirect_uri: LOGOUT_CALLBACK };
      const url = `/oidc/logout?${new URLSearchParams(hint)}`;
      const events = await during(async () => expect((await agent.get(url)).status).toBe(303));
      expectEvent(one(events, 'slo'), { ...ofWeb(), ...of(user) });
    });

    it('consent_given: Allow on the consent page, with user, audience and scope', async () => {
      const { user, events } = await signIn();
      const e = one(events, 'consent_given');
      expectEvent(e, { ...ofWeb(), ...of(user), audience: api.identifier });
      expect(e.scope?.split(' ').sort()).toEqual(SCOPE.split(' ').sort());
    });
  });
});
