import { beforeAll, describe, expect, it } from 'vitest';
import { createApplication } from '../../src/admin/applications.js';
import { assertBuilt, runCli } from '../e2e/process.js';
import { describeEachBackend } from '../support/databases.js';
import { type ApiView, expectFailure, now, uniqueUri, withSharedDatabase } from './cli-fixture.js';

interface AppView {
  client_id: string;
  name: string;
  type: string;
  callbacks: string[];
  logout_callbacks: string[];
  grant_types: string[];
  created_at: number;
  client_secret?: string;
  authorized_apis?: { api: string; scopes: string[]; subject_type: string }[];
}

const BASE64URL_43 = /^[A-Za-z0-9_-]{43}$/;
/**
 * A client_id as the last argument, after `--`. Issued ids are random base64url and one in 64
 * starts with '-', which commander reads as an option (see the test "every client_id ...").
 */
const idArg = (id: string) => ['--', id] as const;

/** Numbers the names of the applications the callback tests try to create. */
let counter = 0;

beforeAll(() => assertBuilt());

describeEachBackend('sesame CLI (apps)', (backend) => {
  const { freshDb, sesame, json } = withSharedDatabase(backend);

  describe.concurrent('apps', { timeout: 90_000 }, () => {
    let api: ApiView;
    beforeAll(async () => {
      api = await json<ApiView>(
        'apis',
        'create',
        '--name',
        'Apps test API',
        '--identifier',
        uniqueUri(),
        '--scope',
        'read=Read',
        '--scope',
        'write=Write',
      );
    });

    const m2m = (name = 'Robot') => json<AppView>('apps', 'create', '--name', name, '--type', 'm2m');

    it('create --type m2m gives a client_id and a 43-character base64url client_secret', async () => {
      const res = await sesame('apps', 'create', '--name', 'Robot', '--type', 'm2m', '--json');
      expect(res.code, res.stderr).toBe(0);
      const app = JSON.parse(res.stdout) as AppView;
      expect(app).toMatchObject({
        client_id: expect.stringMatching(/^[A-Za-z0-9_-]{32}$/),
        name: 'Robot',
        type: 'm2m',
        callbacks: [],
        logout_callbacks: [],
        grant_types: ['client_credentials'],
        created_at: expect.any(Number),
        client_secret: expect.stringMatching(BASE64URL_43),
      });
    });

    it('create without --json shows the secret once with a warning', async () => {
      const res = await sesame('apps', 'create', '--name', 'Robot', '--type', 'm2m');
      expect(res.code, res.stderr).toBe(0);
      expect(res.stdout).toMatch(/^client_id: +[A-Za-z0-9_-]{32}\nclient_secret: [A-Za-z0-9_-]{43}\n/);
      expect(res.stdout).toContain('shown only now');
    });

    it('every application gets its own client_id and secret', async () => {
      const [a, b] = await Promise.all([m2m('A'), m2m('B')]);
      expect(a.client_id).not.toBe(b.client_id);
      expect(a.client_secret).not.toBe(b.client_secret);
    });

    it('create --type spa with a callback gives no secret', async () => {
      const app = await json<AppView>(
        'apps',
        'create',
        '--name',
        'Browser',
        '--type',
        'spa',
        '--callback',
        'https://app.example/cb',
      );
      expect(app).not.toHaveProperty('client_secret');
      expect(app).toMatchObject({
        type: 'spa',
        callbacks: ['https://app.example/cb'],
        grant_types: ['authorization_code', 'refresh_token'],
      });
      const human = await sesame(
        'apps',
        'create',
        '--name',
        'Browser',
        '--type',
        'spa',
        '--callback',
        'https://app.example/cb',
      );
      expect(human.code).toBe(0);
      expect(human.stdout).not.toContain('client_secret');
    });

    it('web apps get a secret; native apps accept loopback http and reverse-domain schemes', async () => {
      const web = await json<AppView>(
        'apps',
        'create',
        '--name',
        'Web',
        '--type',
        'web',
        '--callback',
        'https://web.example/cb',
        '--logout-callback',
        'https://web.example/bye',
      );
      expect(web.client_secret).toMatch(BASE64URL_43);
      expect(web.logout_callbacks).toEqual(['https://web.example/bye']);
      const native = await json<AppView>(
        'apps',
        'create',
        '--name',
        'Phone',
        '--type',
        'native',
        '--callback',
        'com.example.app:/cb',
        '--callback',
        'http://127.0.0.1:8080/cb',
      );
      expect(native).not.toHaveProperty('client_secret');
      expect(native.callbacks).toEqual(['com.example.app:/cb', 'http://127.0.0.1:8080/cb']);
    });

    it.each([
      ['http://app.example/cb', /callbacks "http:\/\/app\.example\/cb": must use https/],
      ['javascript:alert(1)', /callbacks "javascript:alert\(1\)": must not use the javascript: scheme/],
      [
        'https://app.example/cb#frag',
        /callbacks "https:\/\/app\.example\/cb#frag": must not contain a fragment/,
      ],
      ['https://*.example/cb', /callbacks "https:\/\/\*\.example\/cb": must not contain a wildcard/],
      ['/cb', /callbacks "\/cb": must be an absolute URI/],
      [
        'https://user:pw@app.example/cb',
        /callbacks "https:\/\/user:pw@app\.example\/cb": must not contain user information/,
      ],
      ['myapp:/cb', /callbacks "myapp:\/cb": must use https/],
    ])('create refuses the callback %s and creates nothing', async (callback, message) => {
      const name = `Bad callback ${++counter}`;
      expectFailure(
        await sesame('apps', 'create', '--name', name, '--type', 'spa', '--callback', callback),
        message,
      );
      const { applications } = await json<{ applications: AppView[] }>('apps', 'list');
      expect(applications.map((a) => a.name)).not.toContain(name);
    });

    it('a bad logout callback is refused too', async () => {
      expectFailure(
        await sesame(
          'apps',
          'create',
          '--name',
          'Bad',
          '--type',
          'web',
          '--callback',
          'https://ok.example/cb',
          '--logout-callback',
          'javascript:alert(1)',
        ),
        /allowed_logout_urls "javascript:alert\(1\)": must not use the javascript: scheme/,
      );
    });

    it.each([
      [['--type', 'robot'], /app_type "robot": must be one of web, spa, native, m2m/],
      [
        ['--type', 'm2m', '--callback', 'https://app.example/cb'],
        /callbacks: m2m applications have no callbacks/,
      ],
      [
        ['--type', 'spa', '--grant', 'client_credentials'],
        /grant_types "client_credentials": spa applications may use/,
      ],
      [
        ['--type', 'm2m', '--grant', 'password'],
        /grant_types "password": m2m applications may use client_credentials/,
      ],
    ])('create %j fails naming the problem', async (extra, message) => {
      expectFailure(await sesame('apps', 'create', '--name', 'Bad', ...extra), message);
    });

    it('list and show', async () => {
      const app = await m2m('Listed robot');
      const { applications } = await json<{ applications: AppView[] }>('apps', 'list');
      const { client_secret: _secret, ...withoutSecret } = app;
      expect(applications).toContainEqual(withoutSecret);
      expect(JSON.stringify(applications)).not.toContain('secret');
      const human = await sesame('apps', 'list');
      expect(human.stdout).toContain(`${app.client_id}  m2m     Listed robot`);

      const shown = await json<AppView>('apps', 'show', ...idArg(app.client_id));
      expect(shown).toEqual({ ...withoutSecret, authorized_apis: [] });
      const humanShow = await sesame('apps', 'show', ...idArg(app.client_id));
      expect(humanShow.stdout).toContain(`client_id: ${app.client_id}`);
      expect(humanShow.stdout).toContain('grant_types: ["client_credentials"]');
    });

    it('show, delete, rotate-secret and authorize of an unknown application fail', async () => {
      const unknown = /^error: application nobody not found\n$/;
      expectFailure(await sesame('apps', 'show', ...idArg('nobody')), unknown);
      expectFailure(await sesame('apps', 'delete', ...idArg('nobody')), unknown);
      expectFailure(await sesame('apps', 'rotate-secret', ...idArg('nobody')), unknown);
      expectFailure(
        await sesame('apps', 'authorize', '--api', api.identifier, '--scope', 'read', ...idArg('nobody')),
        unknown,
      );
    });

    it('delete removes the application', async () => {
      const app = await m2m('Doomed');
      expect(await json('apps', 'delete', ...idArg(app.client_id))).toEqual({ deleted: app.client_id });
      expectFailure(await sesame('apps', 'show', ...idArg(app.client_id)), /not found/);
      expectFailure(await sesame('apps', 'delete', ...idArg(app.client_id)), /not found/);
      const { applications } = await json<{ applications: AppView[] }>('apps', 'list');
      expect(applications.map((a) => a.client_id)).not.toContain(app.client_id);
    });

    it('rotate-secret gives a new 43-character secret', async () => {
      const app = await m2m();
      const rotated = await json<{ client_id: string; client_secret: string }>(
        'apps',
        'rotate-secret',
        ...idArg(app.client_id),
      );
      expect(rotated.client_id).toBe(app.client_id);
      expect(rotated.client_secret).toMatch(BASE64URL_43);
      expect(rotated.client_secret).not.toBe(app.client_secret);
    });

    it('rotate-secret of a public application fails', async () => {
      const spa = await json<AppView>(
        'apps',
        'create',
        '--name',
        'Public',
        '--type',
        'spa',
        '--callback',
        'https://app.example/cb',
      );
      expectFailure(
        await sesame('apps', 'rotate-secret', ...idArg(spa.client_id)),
        new RegExp(`application ${spa.client_id} is public and has no secret`),
      );
    });

    it('authorize lets an m2m application use an API with some scopes; again replaces them', async () => {
      const app = await m2m();
      const res = await sesame(
        'apps',
        'authorize',
        '--api',
        api.identifier,
        '--scope',
        'read',
        '--json',
        ...idArg(app.client_id),
      );
      expect(res.code, res.stderr).toBe(0);
      expect(JSON.parse(res.stdout)).toEqual({
        client_id: app.client_id,
        api: api.identifier,
        scopes: ['read'],
        subject_type: 'client',
      });
      expect((await json<AppView>('apps', 'show', ...idArg(app.client_id))).authorized_apis).toEqual([
        { api: api.identifier, scopes: ['read'], subject_type: 'client' },
      ]);

      const again = await sesame(
        'apps',
        'authorize',
        '--api',
        api.identifier,
        '--scope',
        'read',
        '--scope',
        'write',
        ...idArg(app.client_id),
      );
      expect(again.code, again.stderr).toBe(0);
      expect(again.stdout).toBe(`authorized ${app.client_id} for ${api.identifier} (read write)\n`);
      expect((await json<AppView>('apps', 'show', ...idArg(app.client_id))).authorized_apis).toEqual([
        { api: api.identifier, scopes: ['read', 'write'], subject_type: 'client' },
      ]);
    });

    it('show lists grants for the application and for its users, each with its subject_type', async () => {
      const app = await m2m('Both kinds');
      const grant = (type: string, scope: string) =>
        sesame(
          'apps',
          'authorize',
          '--api',
          api.identifier,
          '--scope',
          scope,
          '--subject-type',
          type,
          ...idArg(app.client_id),
        );
      expect((await grant('client', 'read')).code).toBe(0);
      expect((await grant('user', 'write')).code).toBe(0);
      const shown = (await json<AppView>('apps', 'show', ...idArg(app.client_id))).authorized_apis;
      expect(shown).toEqual(
        expect.arrayContaining([
          { api: api.identifier, scopes: ['read'], subject_type: 'client' },
          { api: api.identifier, scopes: ['write'], subject_type: 'user' },
        ]),
      );
      expect(shown).toHaveLength(2);
    });

    it('deauthorize takes one access away (by subject type); again, or for an unknown API, fails', async () => {
      const app = await m2m('Deauthorized');
      const grant = (type: string) =>
        sesame(
          'apps',
          'authorize',
          '--api',
          api.identifier,
          '--scope',
          'read',
          '--subject-type',
          type,
          ...idArg(app.client_id),
        );
      expect((await grant('client')).code).toBe(0);
      expect((await grant('user')).code).toBe(0);
      const taken = await sesame(
        'apps',
        'deauthorize',
        '--api',
        api.identifier,
        '--json',
        ...idArg(app.client_id),
      );
      expect(taken.code, taken.stderr).toBe(0);
      expect(JSON.parse(taken.stdout)).toEqual({
        client_id: app.client_id,
        api: api.identifier,
        deleted: expect.stringMatching(/^cgr_/),
        subject_type: 'client',
      });
      expect((await json<AppView>('apps', 'show', ...idArg(app.client_id))).authorized_apis).toEqual([
        { api: api.identifier, scopes: ['read'], subject_type: 'user' },
      ]);
      const again = await sesame('apps', 'deauthorize', '--api', api.identifier, ...idArg(app.client_id));
      expectFailure(again, /is not authorized for/);
      expectFailure(
        await sesame('apps', 'deauthorize', '--api', 'https://nope.example/', ...idArg(app.client_id)),
        /API https:\/\/nope\.example\/ not found/,
      );
      const user = await sesame(
        'apps',
        'deauthorize',
        '--api',
        api.identifier,
        '--subject-type',
        'user',
        ...idArg(app.client_id),
      );
      expect(user.stdout).toBe(`${app.client_id} may no longer get tokens for ${api.identifier} (user)\n`);
      expect((await json<AppView>('apps', 'show', ...idArg(app.client_id))).authorized_apis).toEqual([]);
    });

    it('authorize with an unknown scope, an unknown API or a non-m2m application fails', async () => {
      const app = await m2m();
      expectFailure(
        await sesame(
          'apps',
          'authorize',
          '--api',
          api.identifier,
          '--scope',
          'admin',
          ...idArg(app.client_id),
        ),
        new RegExp(`scope admin: not defined by ${api.identifier}`),
      );
      expectFailure(
        await sesame(
          'apps',
          'authorize',
          '--api',
          'https://nope.example/api',
          '--scope',
          'read',
          ...idArg(app.client_id),
        ),
        /API https:\/\/nope\.example\/api not found/,
      );
      const spa = await json<AppView>(
        'apps',
        'create',
        '--name',
        'Browser',
        '--type',
        'spa',
        '--callback',
        'https://app.example/cb',
      );
      expectFailure(
        await sesame(
          'apps',
          'authorize',
          '--api',
          api.identifier,
          '--scope',
          'read',
          ...idArg(spa.client_id),
        ),
        /does not use the client_credentials grant/,
      );
      // nothing was authorized by the failed attempts
      expect((await json<AppView>('apps', 'show', ...idArg(app.client_id))).authorized_apis).toEqual([]);
    });

    it('every client_id Sesame issues can be given to the commands that take one', async () => {
      // client ids are letters and digits only, so none can be mistaken for an option ("-…")
      const { db, env: e } = await freshDb();
      const storage = db.open({ now });
      const ids: string[] = [];
      try {
        for (let i = 0; i < 300; i++) {
          const { app } = await createApplication(storage, { now }, { name: `App ${i}`, type: 'm2m' });
          ids.push(app.clientId);
        }
      } finally {
        await storage.close();
      }
      for (const id of ids) expect(id).toMatch(/^[A-Za-z0-9]{32}$/);
      expect(new Set(ids).size).toBe(ids.length);
      const id = ids[ids.length - 1]!;
      const shown = await runCli(['apps', 'show', id, '--json'], e);
      expect(shown.stderr).toBe('');
      expect(shown.code).toBe(0);
      expect((JSON.parse(shown.stdout) as AppView).client_id).toBe(id);
      const rotated = await runCli(['apps', 'rotate-secret', id, '--json'], e);
      expect(rotated.stderr).toBe('');
      expect(rotated.code).toBe(0);
    });

    it('deleting an API removes the authorizations for it', async () => {
      const other = await json<ApiView>(
        'apis',
        'create',
        '--name',
        'Short-lived',
        '--identifier',
        uniqueUri(),
        '--scope',
        'read',
      );
      const app = await m2m();
      await json('apps', 'authorize', '--api', other.identifier, '--scope', 'read', ...idArg(app.client_id));
      await json('apps', 'authorize', '--api', api.identifier, '--scope', 'read', ...idArg(app.client_id));
      expect((await json<AppView>('apps', 'show', ...idArg(app.client_id))).authorized_apis).toHaveLength(2);
      await json('apis', 'delete', other.id);
      expect((await json<AppView>('apps', 'show', ...idArg(app.client_id))).authorized_apis).toEqual([
        { api: api.identifier, scopes: ['read'], subject_type: 'client' },
      ]);
    });
  });
});
