import { beforeAll, describe, expect, it } from 'vitest';
import { assertBuilt } from '../e2e/process.js';
import { describeEachBackend } from '../support/databases.js';
import { type ApiView, expectFailure, uniqueUri, withSharedDatabase } from './cli-fixture.js';

/** The settings `apps update` can turn on and off. */
interface AppSettings {
  client_id: string;
  name: string;
  skip_consent: boolean;
  allow_offline_access: boolean;
  require_pkce: boolean;
  hide_signup: boolean;
}

/** The switches of `apis update`. */
type ApiSwitches = ApiView & {
  enforce_policies: boolean;
  skip_consent_for_first_party: boolean;
};

beforeAll(() => assertBuilt());

/**
 * `update` changes what its options name and nothing else. commander gives an option defined as
 * `--no-x` a default of true, which once turned consent skipping and offline access on at every
 * `apps update --name`, and offline access and RBAC on at every `apis update`.
 */
describeEachBackend('sesame CLI (update changes only what it names)', (backend) => {
  const { json, sesame } = withSharedDatabase(backend);

  describe.concurrent('update', { timeout: 90_000 }, () => {
    it('apps update: a new name leaves every switch as it was; each switch goes on and off by name', async () => {
      const created = await json<AppSettings>(
        ...['apps', 'create', '--name', 'Shop', '--type', 'web', '--callback', 'https://shop.example/cb'],
      );
      const id = created.client_id;
      const initial = {
        skip_consent: false,
        allow_offline_access: false,
        require_pkce: true,
        hide_signup: false,
      };
      expect(created).toMatchObject(initial);

      const renamed = await json<AppSettings>('apps', 'update', '--name', 'Shop 2', '--', id);
      expect(renamed).toMatchObject({ name: 'Shop 2', ...initial });

      // a list set once can be emptied again: an empty value alone
      const listed = await json<AppSettings>(
        ...[
          'apps',
          'update',
          '--web-origin',
          'https://shop.example',
          '--logout-callback',
          'https://shop.example/bye',
        ],
        ...['--', id],
      );
      expect(listed).toMatchObject({
        web_origins: ['https://shop.example'],
        logout_callbacks: ['https://shop.example/bye'],
      });
      const emptied = await json<AppSettings>(
        'apps',
        'update',
        '--web-origin=',
        '--logout-callback',
        '',
        '--',
        id,
      );
      expect(emptied).toMatchObject({
        web_origins: [],
        logout_callbacks: [],
        callbacks: ['https://shop.example/cb'],
      });

      const on = await json<AppSettings>(
        ...[
          'apps',
          'update',
          '--skip-consent',
          '--allow-offline-access',
          '--no-require-pkce',
          '--hide-signup',
        ],
        ...['--', id],
      );
      expect(on).toMatchObject({
        skip_consent: true,
        allow_offline_access: true,
        require_pkce: false,
        hide_signup: true,
      });

      // one switch back: the others stay on
      const one = await json<AppSettings>('apps', 'update', '--no-skip-consent', '--', id);
      expect(one).toMatchObject({
        skip_consent: false,
        allow_offline_access: true,
        require_pkce: false,
        hide_signup: true,
      });

      const off = await json<AppSettings>(
        ...['apps', 'update', '--no-allow-offline-access', '--require-pkce', '--show-signup', '--', id],
      );
      expect(off).toMatchObject({ name: 'Shop 2', ...initial });
      expect(await json<AppSettings>('apps', 'show', '--', id)).toMatchObject({ name: 'Shop 2', ...initial });
    });

    it('apis update: a new name leaves every switch as it was; each switch goes on and off by name', async () => {
      const created = await json<ApiSwitches>(
        'apis',
        'create',
        '--name',
        'Orders',
        '--identifier',
        uniqueUri(),
      );
      const initial = {
        allow_offline_access: false,
        enforce_policies: false,
        skip_consent_for_first_party: true,
      };
      expect(created).toMatchObject(initial);

      const renamed = await json<ApiSwitches>('apis', 'update', created.id, '--name', 'Orders 2');
      expect(renamed).toMatchObject({ name: 'Orders 2', ...initial });

      const on = await json<ApiSwitches>(
        ...['apis', 'update', created.id, '--allow-offline-access', '--enforce-policies'],
        '--no-first-party-skip-consent',
      );
      const flipped = {
        allow_offline_access: true,
        enforce_policies: true,
        skip_consent_for_first_party: false,
      };
      expect(on).toMatchObject(flipped);

      const one = await json<ApiSwitches>('apis', 'update', created.id, '--no-enforce-policies');
      expect(one).toMatchObject({ ...flipped, enforce_policies: false });

      const off = await json<ApiSwitches>(
        ...['apis', 'update', created.id, '--no-allow-offline-access', '--first-party-skip-consent'],
      );
      expect(off).toMatchObject({ name: 'Orders 2', ...initial });
      expect(await json<ApiSwitches>('apis', 'show', created.id)).toMatchObject({
        name: 'Orders 2',
        ...initial,
      });
    });

    it('apis update --token-lifetime-for-web: seconds, or default to follow the configuration again', async () => {
      const { id } = await json<ApiSwitches>('apis', 'create', '--name', 'Web', '--identifier', uniqueUri());
      const lifetimes = (api: ApiSwitches) => [api.token_lifetime, api.token_lifetime_for_web];
      expect(
        lifetimes(await json<ApiSwitches>('apis', 'update', id, '--token-lifetime-for-web', '3600')),
      ).toEqual([86400, 3600]);
      expect(lifetimes(await json<ApiSwitches>('apis', 'update', id, '--name', 'Web 2'))).toEqual([
        86400, 3600,
      ]);
      expect(
        lifetimes(await json<ApiSwitches>('apis', 'update', id, '--token-lifetime-for-web', 'default')),
      ).toEqual([86400, 900]);
    });

    it('--hide-signup with --show-signup is refused, and changes nothing', async () => {
      const created = await json<AppSettings>(
        ...['apps', 'create', '--name', 'Both', '--type', 'spa', '--callback', 'https://both.example/cb'],
      );
      expectFailure(
        await sesame('apps', 'update', created.client_id, '--hide-signup', '--show-signup'),
        /--hide-signup and --show-signup: choose one/,
      );
      expect(await json<AppSettings>('apps', 'show', created.client_id)).toMatchObject({
        hide_signup: false,
      });
    });

    it('a switch with its --no- form is refused, whichever comes last, and changes nothing', async () => {
      const created = await json<AppSettings>(
        ...['apps', 'create', '--name', 'Twice', '--type', 'spa', '--callback', 'https://twice.example/cb'],
      );
      const before = await json<AppSettings>('apps', 'show', created.client_id);
      for (const pair of [
        ['--skip-consent', '--no-skip-consent'],
        ['--no-skip-consent', '--skip-consent'],
      ])
        expectFailure(
          await sesame('apps', 'update', created.client_id, ...pair),
          /--skip-consent and --no-skip-consent: choose one/,
        );
      expect(await json<AppSettings>('apps', 'show', created.client_id)).toEqual(before);
      // a value that reads like the other flag is a value
      const described = await json<AppSettings>(
        ...['apps', 'update', created.client_id, '--skip-consent', '--description', '--no-skip-consent'],
      );
      expect(described).toMatchObject({ description: '--no-skip-consent' });
    });
  });
});
