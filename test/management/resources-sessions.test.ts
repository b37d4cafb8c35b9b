import * as client from 'openid-client';
import { beforeAll, describe, expect, it } from 'vitest';
import type { Api } from '../../src/storage/types.js';
import type { UserAgent } from '../protocol/sign-in/agent.js';
import {
  browser,
  CALLBACK,
  expectTokenError,
  isActive,
  newUser,
  tokenRequest,
  webConfig,
  webSignIn,
} from '../protocol/sign-in/fixtures.js';
import type { TestApp } from '../support/app.js';
import { describeEachBackend } from '../support/databases.js';
import { type Creds, ok, resourcesApp } from './resources-fixture.js';
import { type Call, expectError, expectStatus, ISO_TIME } from './support.js';

describeEachBackend('Management API: resources (sessions)', (backend) => {
  const env = resourcesApp(backend);
  let t: TestApp;
  let call: Call;
  /** An ordinary API with read:things and write:things, refresh tokens allowed. */
  let api: Api;

  beforeAll(() => {
    ({ t, call, api } = env);
  });

  describe('sessions, refresh tokens and grants of people', () => {
    const SCOPE = 'openid offline_access read:things';
    let web: Creds;
    let rs: Creds;
    let config: client.Configuration;

    beforeAll(async () => {
      web = (await t.createApp({ name: 'Web', type: 'web', callbacks: [CALLBACK] })) as Creds;
      rs = await t.createM2m(api);
      config = await webConfig(t, web);
    });

    /** A person signed in through a browser, with their tokens. */
    async function signedIn(cfg = config) {
      const { user, creds } = await newUser(t);
      const agent = browser(t, creds);
      const { tokens, flow } = await webSignIn(agent, cfg, { scope: SCOPE, audience: api.identifier });
      expect(tokens.refresh_token).toEqual(expect.any(String));
      return {
        userId: user.id,
        agent,
        pages: flow.pages,
        refreshToken: tokens.refresh_token as string,
        accessToken: tokens.access_token,
      };
    }

    const refresh = (token: string, app: Creds = web) =>
      tokenRequest(t, {
        grant_type: 'refresh_token',
        refresh_token: token,
        client_id: app.clientId,
        client_secret: app.clientSecret,
      });

    /** Whether the browser is asked to log in when it signs in again. */
    async function asksLogin(agent: UserAgent): Promise<boolean> {
      const pending = await client.buildAuthorizationUrl(config, {
        redirect_uri: CALLBACK,
        scope: 'openid',
        code_challenge: await client.calculatePKCECodeChallenge(client.randomPKCECodeVerifier()),
        code_challenge_method: 'S256',
      });
      const flow = await agent.signIn(pending, { stopAt: 'login' });
      return flow.pages.includes('login');
    }

    it('lists and reads sessions, refresh tokens and grants', async () => {
      const p = await signedIn();
      expect(p.pages).toEqual(['login', 'consent']);

      const sessions = ok(await call('GET', `/users/${p.userId}/sessions`));
      expect(sessions.sessions).toHaveLength(1);
      expect(sessions).not.toHaveProperty('next');
      const s = sessions.sessions[0];
      expect(s).toMatchObject({
        id: expect.any(String),
        user_id: p.userId,
        authentication: { methods: [expect.objectContaining({ name: 'pwd' })] },
      });
      for (const field of [
        'created_at',
        'updated_at',
        'authenticated_at',
        'last_interacted_at',
        'expires_at',
      ]) {
        expect(s[field], field).toMatch(ISO_TIME);
      }
      expect(s.device).toEqual(expect.any(Object));
      expect(ok(await call('GET', `/sessions/${s.id}`))).toMatchObject({ id: s.id, user_id: p.userId });

      const tokens = ok(await call('GET', `/users/${p.userId}/refresh-tokens`));
      expect(tokens.tokens).toHaveLength(1);
      const rt = tokens.tokens[0];
      expect(rt).toMatchObject({
        id: expect.any(String),
        user_id: p.userId,
        client_id: web.clientId,
        rotating: true,
        session_id: s.id,
      });
      // Auth0 writes the scopes of a refresh token as one space-separated string
      expect(rt.resource_servers).toEqual([{ audience: api.identifier, scopes: expect.any(String) }]);
      expect(rt.resource_servers[0].scopes.split(' ')).toEqual(expect.arrayContaining(['read:things']));
      expect(rt.created_at).toMatch(ISO_TIME);
      expect(rt.expires_at).toMatch(ISO_TIME);
      expect(rt.idle_expires_at).toMatch(ISO_TIME);
      expect(JSON.stringify(tokens)).not.toContain(p.refreshToken);
      expect(ok(await call('GET', `/refresh-tokens/${rt.id}`))).toMatchObject({
        id: rt.id,
        user_id: p.userId,
      });

      expect(rt).not.toHaveProperty('last_exchanged_at');

      // the family keeps its id and its creation across rotation; the exchange is dated
      t.clock.advance(90);
      const rotated = await refresh(p.refreshToken);
      expect(rotated.status, JSON.stringify(rotated.body)).toBe(200);
      const after = ok(await call('GET', `/users/${p.userId}/refresh-tokens`));
      expect(after.tokens.map((x: { id: string }) => x.id)).toEqual([rt.id]);
      expect(after.tokens[0].created_at).toBe(rt.created_at);
      expect(Date.parse(after.tokens[0].last_exchanged_at) - Date.parse(rt.created_at)).toBe(90_000);
      expect(ok(await call('GET', `/refresh-tokens/${rt.id}`))).toMatchObject({
        created_at: rt.created_at,
        last_exchanged_at: after.tokens[0].last_exchanged_at,
      });

      const grants = ok(await call('GET', '/grants', { query: { user_id: p.userId } }));
      expect(grants).toEqual([
        {
          id: expect.any(String),
          clientID: web.clientId,
          user_id: p.userId,
          audience: api.identifier,
          scope: expect.arrayContaining(['read:things']),
        },
      ]);
      const byClient = ok(
        await call('GET', '/grants', { query: { client_id: web.clientId, per_page: 100 } }),
      );
      expect(byClient.some((g: { id: string }) => g.id === grants[0].id)).toBe(true);
      const totals = ok(await call('GET', '/grants', { query: { user_id: p.userId, include_totals: true } }));
      expect(totals).toMatchObject({ start: 0, length: 1, total: 1 });
      expect(totals.grants).toHaveLength(1);
    });

    it('pages sessions with checkpoints (take, from = next)', async () => {
      const p = await signedIn();
      const second = browser(t, p.agent.credentials);
      await webSignIn(second, config, { scope: 'openid' });
      const first = ok(await call('GET', `/users/${p.userId}/sessions`, { query: { take: 1 } }));
      expect(first.sessions).toHaveLength(1);
      expect(first.next).toEqual(expect.any(String));
      const rest = ok(
        await call('GET', `/users/${p.userId}/sessions`, { query: { take: 1, from: first.next } }),
      );
      expect(rest.sessions).toHaveLength(1);
      expect(rest.sessions[0].id).not.toBe(first.sessions[0].id);
      const all = ok(await call('GET', `/users/${p.userId}/sessions`));
      expect(all.sessions).toHaveLength(2);
    });

    it('DELETE /grants/{id}: the refresh token gets invalid_grant, the access token is inactive', async () => {
      const p = await signedIn();
      expect(await isActive(t, rs, p.accessToken)).toBe(true);
      const [grant] = ok(await call('GET', '/grants', { query: { user_id: p.userId } }));
      expectStatus(await call('DELETE', `/grants/${grant.id}`), 204);
      expectTokenError(await refresh(p.refreshToken), 400, 'invalid_grant');
      expect(await isActive(t, rs, p.accessToken)).toBe(false);
      expect(ok(await call('GET', '/grants', { query: { user_id: p.userId } }))).toEqual([]);
      expect(ok(await call('GET', `/users/${p.userId}/refresh-tokens`)).tokens).toEqual([]);
      expectError(await call('DELETE', `/grants/${grant.id}`), 404, 'inexistent_resource');
      // the next sign-in asks for consent again
      const again = await webSignIn(p.agent, config, { scope: SCOPE, audience: api.identifier });
      expect(again.flow.pages).toEqual(['consent']);
    });

    it('DELETE /grants?user_id= withdraws all of a user\u2019s grants', async () => {
      const p = await signedIn();
      expect(ok(await call('GET', '/grants', { query: { user_id: p.userId } }))).toHaveLength(1);
      // Auth0's form of the id lists the same
      expect(ok(await call('GET', '/grants', { query: { user_id: `auth0|${p.userId}` } }))).toHaveLength(1);
      expectStatus(await call('DELETE', '/grants', { query: { user_id: p.userId } }), 204);
      expect(ok(await call('GET', '/grants', { query: { user_id: p.userId } }))).toEqual([]);
      expectTokenError(await refresh(p.refreshToken), 400, 'invalid_grant');
    });

    it('DELETE /users/{id}/sessions signs the person out everywhere: the browser logs in again', async () => {
      const p = await signedIn();
      expect(await asksLogin(p.agent)).toBe(false);
      expectStatus(await call('DELETE', `/users/${p.userId}/sessions`), 204);
      expect(ok(await call('GET', `/users/${p.userId}/sessions`)).sessions).toEqual([]);
      expect(await asksLogin(p.agent)).toBe(true);
    });

    it('a session ended by inactivity (idle lifetime) is neither listed nor found', async () => {
      const p = await signedIn();
      const [s] = ok(await call('GET', `/users/${p.userId}/sessions`)).sessions;
      ok(await call('PATCH', '/tenants/settings', { body: { idle_session_lifetime_in_minutes: 2 } }));
      try {
        t.clock.advance(121);
        expect(await asksLogin(p.agent)).toBe(true);
        expect(ok(await call('GET', `/users/${p.userId}/sessions`)).sessions).toEqual([]);
        expectError(await call('GET', `/sessions/${s.id}`), 404, 'inexistent_resource');
        expectError(await call('DELETE', `/sessions/${s.id}`), 404, 'inexistent_resource');
      } finally {
        ok(await call('PATCH', '/tenants/settings', { body: { idle_session_lifetime: null } }));
      }
    });

    it('DELETE /sessions/{id} ends one session', async () => {
      const p = await signedIn();
      const [s] = ok(await call('GET', `/users/${p.userId}/sessions`)).sessions;
      expectStatus(await call('DELETE', `/sessions/${s.id}`), 204);
      expectError(await call('GET', `/sessions/${s.id}`), 404, 'inexistent_resource');
      expectError(await call('DELETE', `/sessions/${s.id}`), 404, 'inexistent_resource');
      expect(await asksLogin(p.agent)).toBe(true);
    });

    it('POST /sessions/{id}/revoke ends the session and the tokens signed in through it (202); DELETE leaves them', async () => {
      const p = await signedIn();
      const [s] = ok(await call('GET', `/users/${p.userId}/sessions`)).sessions;
      expectStatus(await call('POST', `/sessions/${s.id}/revoke`), 202);
      expect(await asksLogin(p.agent)).toBe(true);
      expectTokenError(await refresh(p.refreshToken), 400, 'invalid_grant');
      expect(await isActive(t, rs, p.accessToken)).toBe(false);
      expectError(await call('POST', `/sessions/${s.id}/revoke`), 404, 'inexistent_resource');
      // DELETE ends the session alone: the application keeps its refresh token
      const q = await signedIn();
      const [other] = ok(await call('GET', `/users/${q.userId}/sessions`)).sessions;
      expectStatus(await call('DELETE', `/sessions/${other.id}`), 204);
      expect((await refresh(q.refreshToken)).status).toBe(200);
    });

    it('DELETE /refresh-tokens/{id} revokes the family and its access tokens', async () => {
      const p = await signedIn();
      const [rt] = ok(await call('GET', `/users/${p.userId}/refresh-tokens`)).tokens;
      expectStatus(await call('DELETE', `/refresh-tokens/${rt.id}`), 204);
      expectTokenError(await refresh(p.refreshToken), 400, 'invalid_grant');
      expect(await isActive(t, rs, p.accessToken)).toBe(false);
      expectError(await call('GET', `/refresh-tokens/${rt.id}`), 404, 'inexistent_resource');
    });

    it('pages refresh tokens newest sign-in first; a family that rotates during the walk is neither skipped nor repeated', async () => {
      const p = await signedIn();
      const families = [p.refreshToken];
      for (let i = 0; i < 2; i++) {
        t.clock.advance(10);
        const next = await webSignIn(browser(t, p.agent.credentials), config, {
          scope: SCOPE,
          audience: api.identifier,
        });
        families.push(next.tokens.refresh_token!);
      }
      const first = ok(await call('GET', `/users/${p.userId}/refresh-tokens`, { query: { take: 1 } }));
      expect(first.tokens).toHaveLength(1);
      // the oldest sign-in's token rotates now: its row is the newest, its sign-in is not
      t.clock.advance(10);
      expect((await refresh(families[0]!)).status).toBe(200);
      const seen = [first.tokens[0].id];
      let from = first.next as string | undefined;
      while (from) {
        const page = ok(await call('GET', `/users/${p.userId}/refresh-tokens`, { query: { take: 1, from } }));
        seen.push(...page.tokens.map((x: { id: string }) => x.id));
        from = page.next;
      }
      expect(seen).toHaveLength(3);
      expect(new Set(seen).size).toBe(3);
    });

    it('DELETE /users/{id}/refresh-tokens revokes every refresh token of the person and their access tokens', async () => {
      const p = await signedIn();
      const second = await webSignIn(browser(t, p.agent.credentials), config, {
        scope: SCOPE,
        audience: api.identifier,
      });
      // A refreshed family: the access token issued with the rotation ends too.
      const rotated = await refresh(second.tokens.refresh_token!);
      expect(rotated.status).toBe(200);
      const rotatedAccess = rotated.body.access_token as string;
      expect(ok(await call('GET', `/users/${p.userId}/refresh-tokens`)).tokens).toHaveLength(2);
      for (const token of [p.accessToken, second.tokens.access_token, rotatedAccess])
        expect(await isActive(t, rs, token)).toBe(true);
      expectStatus(await call('DELETE', `/users/${p.userId}/refresh-tokens`), 204);
      expect(ok(await call('GET', `/users/${p.userId}/refresh-tokens`)).tokens).toEqual([]);
      expectTokenError(await refresh(p.refreshToken), 400, 'invalid_grant');
      expectTokenError(await refresh(second.tokens.refresh_token!), 400, 'invalid_grant');
      for (const token of [p.accessToken, second.tokens.access_token, rotatedAccess])
        expect(await isActive(t, rs, token)).toBe(false);
      // The sessions stay: only tokens were asked for.
      expect(ok(await call('GET', `/users/${p.userId}/sessions`)).sessions).toHaveLength(2);
    });

    it('blocking a user (PATCH blocked) ends their sessions and tokens', async () => {
      const p = await signedIn();
      const blocked = ok(await call('PATCH', `/users/${p.userId}`, { body: { blocked: true } }));
      expect(blocked.blocked).toBe(true);
      expectTokenError(await refresh(p.refreshToken), 400, 'invalid_grant');
      expect(await isActive(t, rs, p.accessToken)).toBe(false);
      expect(ok(await call('GET', `/users/${p.userId}/sessions`)).sessions).toEqual([]);
    });

    it('a new password (PATCH password) ends their sessions and tokens; the new password works', async () => {
      const p = await signedIn();
      ok(await call('PATCH', `/users/${p.userId}`, { body: { password: 'a brand new password' } }));
      expectTokenError(await refresh(p.refreshToken), 400, 'invalid_grant');
      expect(ok(await call('GET', `/users/${p.userId}/sessions`)).sessions).toEqual([]);
      const email = p.agent.credentials!.email;
      const agent = browser(t, { email, password: 'a brand new password' });
      const { tokens } = await webSignIn(agent, config, { scope: 'openid' });
      expect(tokens.id_token).toEqual(expect.any(String));
    });

    it('DELETE /users/{id}: their refresh token is dead, their sessions and grants gone', async () => {
      const p = await signedIn();
      expectStatus(await call('DELETE', `/users/${p.userId}`), 204);
      expectTokenError(await refresh(p.refreshToken), 400, 'invalid_grant');
      expect(await isActive(t, rs, p.refreshToken)).toBe(false);
      expect(await isActive(t, rs, p.accessToken)).toBe(false);
      expect(ok(await call('GET', '/grants', { query: { user_id: p.userId } }))).toEqual([]);
      expectError(await call('GET', `/users/${p.userId}/sessions`), 404, 'inexistent_resource');
      expect(await asksLogin(p.agent)).toBe(true);
    });

    it('DELETE /clients/{id} cascades: its refresh and access tokens stop working, its grants go', async () => {
      const created = ok(
        await call('POST', '/clients', { body: { name: 'Short-lived web', callbacks: [CALLBACK] } }),
        201,
      );
      const app = { clientId: created.client_id, clientSecret: created.client_secret };
      const cfg = await webConfig(t, app);
      const p = await signedIn(cfg);
      // only the token's own client may introspect it (#14 §3)
      expect(await isActive(t, app, p.refreshToken)).toBe(true);
      const userinfo = () =>
        t.fetch(`${t.issuer}/userinfo`, { headers: { authorization: `Bearer ${p.accessToken}` } });
      expect((await userinfo()).status).toBe(200);
      expect(ok(await call('GET', '/grants', { query: { client_id: app.clientId } }))).toHaveLength(1);
      expectStatus(await call('DELETE', `/clients/${app.clientId}`), 204);
      expect((await userinfo()).status).toBe(401);
      expect(ok(await call('GET', `/users/${p.userId}/refresh-tokens`)).tokens).toEqual([]);
      expect(ok(await call('GET', '/grants', { query: { client_id: app.clientId } }))).toEqual([]);
      expectTokenError(await refresh(p.refreshToken, app), 401, 'invalid_client');
    });
  });
});
