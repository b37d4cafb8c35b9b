import { beforeAll, describe, expect, it } from 'vitest';
import { assertBuilt } from '../e2e/process.js';
import { describeEachBackend } from '../support/databases.js';
import { type ApiView, expectFailure, now, uniqueUri, withSharedDatabase } from './cli-fixture.js';

beforeAll(() => assertBuilt());

describeEachBackend('sesame CLI (apis)', (backend) => {
  const { sesame, json } = withSharedDatabase(backend);

  describe.concurrent('apis', { timeout: 90_000 }, () => {
    it('create prints one JSON object with every field given', async () => {
      const identifier = uniqueUri();
      const before = now();
      const res = await sesame(
        'apis',
        'create',
        '--name',
        'Orders API',
        '--identifier',
        identifier,
        '--scope',
        'read=Read',
        '--scope',
        'write',
        '--token-lifetime',
        '600',
        '--token-lifetime-for-web',
        '300',
        '--signing-alg',
        'RS256',
        '--allow-offline-access',
        '--json',
      );
      expect(res.code, res.stderr).toBe(0);
      expect(res.stderr).toBe('');
      const api = JSON.parse(res.stdout) as ApiView;
      expect(api).toMatchObject({
        id: expect.stringMatching(/^api_[A-Za-z0-9_-]+$/),
        identifier,
        name: 'Orders API',
        scopes: [
          { name: 'read', description: 'Read' },
          { name: 'write', description: 'write' },
        ],
        token_lifetime: 600,
        token_lifetime_for_web: 300,
        signing_alg: 'RS256',
        allow_offline_access: true,
        created_at: expect.any(Number),
      });
      expect(api.created_at).toBeGreaterThanOrEqual(before - 1);
      expect(api.created_at).toBeLessThanOrEqual(now() + 1);
    });

    it('create without options uses the defaults (ES256, 86400 s, no scopes, no offline access)', async () => {
      const identifier = uniqueUri();
      const api = await json<ApiView>('apis', 'create', '--name', 'Plain', '--identifier', identifier);
      expect(api).toMatchObject({
        identifier,
        scopes: [],
        token_lifetime: 86400,
        token_lifetime_for_web: 900,
        signing_alg: 'ES256',
        allow_offline_access: false,
      });
    });

    it('create without --json prints the id and identifier', async () => {
      const identifier = uniqueUri();
      const res = await sesame('apis', 'create', '--name', 'Human', '--identifier', identifier);
      expect(res.code, res.stderr).toBe(0);
      expect(res.stdout).toMatch(/^id: api_\S+\nidentifier: /);
      expect(res.stdout).toContain(`identifier: ${identifier}`);
    });

    it('list, show (by id and by identifier) and delete', async () => {
      const identifier = uniqueUri();
      const created = await json<ApiView>(
        'apis',
        'create',
        '--name',
        'Listed',
        '--identifier',
        identifier,
        '--scope',
        'read=Read',
      );

      const { apis } = await json<{ apis: ApiView[] }>('apis', 'list');
      expect(apis).toContainEqual(created);
      const human = await sesame('apis', 'list');
      expect(human.stdout).toContain(`${created.id}  ${identifier}  Listed`);

      expect(await json<ApiView>('apis', 'show', created.id)).toEqual(created);
      expect(await json<ApiView>('apis', 'show', identifier)).toEqual(created);
      const shown = await sesame('apis', 'show', created.id);
      expect(shown.stdout).toContain(`identifier: ${identifier}`);
      expect(shown.stdout).toContain('scopes: [{"name":"read","description":"Read"}]');

      expect(await json('apis', 'delete', created.id)).toEqual({ deleted: created.id });
      expectFailure(await sesame('apis', 'show', created.id), new RegExp(`API ${created.id} not found`));
      expectFailure(await sesame('apis', 'show', identifier), /not found/);
      const after = await json<{ apis: ApiView[] }>('apis', 'list');
      expect(after.apis.map((a) => a.id)).not.toContain(created.id);
    });

    it('delete by identifier', async () => {
      const identifier = uniqueUri();
      const created = await json<ApiView>('apis', 'create', '--name', 'Gone', '--identifier', identifier);
      const res = await sesame('apis', 'delete', identifier);
      expect(res.code, res.stderr).toBe(0);
      expect(res.stdout).toBe(`deleted ${identifier}\n`);
      expectFailure(await sesame('apis', 'show', created.id), /not found/);
    });

    it('show and delete of an unknown API fail', async () => {
      expectFailure(await sesame('apis', 'show', 'api_nope'), /^error: API api_nope not found\n$/);
      expectFailure(
        await sesame('apis', 'delete', 'https://nope.example'),
        /API https:\/\/nope\.example not found/,
      );
    });

    it('refuses a second API with the same identifier', async () => {
      const identifier = uniqueUri();
      await json('apis', 'create', '--name', 'One', '--identifier', identifier);
      expectFailure(
        await sesame('apis', 'create', '--name', 'Two', '--identifier', identifier),
        /identifier: an API with identifier .* exists already/,
      );
      const { apis } = await json<{ apis: ApiView[] }>('apis', 'list');
      expect(apis.filter((a) => a.identifier === identifier)).toHaveLength(1);
    });

    it.each([
      [['--identifier', 'not a uri'], /identifier: must be an absolute URI/],
      [['--identifier', 'orders'], /identifier: must be an absolute URI/],
      [['--identifier', 'https://api.example/x#frag'], /identifier: .*without a fragment/],
      [['--signing-alg', 'HS256'], /signing_alg "HS256": must be one of ES256, RS256, PS256, EdDSA/],
      [['--token-lifetime', '10'], /token_lifetime: must be a whole number from 60 to 2592000/],
      [['--token-lifetime', 'abc'], /--token-lifetime: a whole number of seconds/],
      [['--token-lifetime', '99999999'], /token_lifetime: must be a whole number from 60 to 2592000/],
      [['--token-lifetime-for-web', '1.5'], /--token-lifetime-for-web: a whole number of seconds/],
      [
        ['--token-lifetime-for-web', '30'],
        /token_lifetime_for_web: must be a whole number from 60 to 2592000/,
      ],
      [
        ['--token-lifetime', '600', '--token-lifetime-for-web', '601'],
        /token_lifetime_for_web: must not be larger than token_lifetime \(600\)/,
      ],
      [['--scope', 'openid'], /scopes openid: reserved by OpenID Connect/],
      [['--scope', 'read', '--scope', 'read=Again'], /scopes read: defined twice/],
      [['--scope', 'bad"scope'], /scopes "bad\\"scope": not a valid scope token/],
      [['--name', ' '], /name: must be 1 to 255 characters/],
    ])('create %j fails naming the problem', async (extra, message) => {
      const args = ['apis', 'create', '--name', 'Bad', '--identifier', uniqueUri(), ...extra];
      // later options win in commander, so --name/--identifier given again replace the defaults
      expectFailure(await sesame(...args), message);
    });

    it('create without --name fails with a usage error', async () => {
      const res = await sesame('apis', 'create', '--identifier', uniqueUri());
      expect(res.code).not.toBe(0);
      expect(res.stderr).toMatch(/required option '--name <name>' not specified/);
    });
  });
});
