import type { Command } from 'commander';
import { createApi, deleteApi, getApi } from '../admin/apis.js';
import type { Api } from '../storage/types.js';
import { collect, fieldLines, print, withRuntime } from './context.js';

const view = (api: Api) => ({
  id: api.id,
  identifier: api.identifier,
  name: api.name,
  scopes: api.scopes,
  token_lifetime: api.tokenLifetime,
  signing_alg: api.signingAlg,
  allow_offline_access: api.allowOfflineAccess,
  created_at: api.createdAt,
});

/** `sesame apis …`: register, list, show and delete APIs (resource servers). */
export function apisCommand(program: Command): void {
  const apis = program.command('apis').description('manage APIs (resource servers)');

  apis
    .command('create')
    .description('register an API; its identifier is the audience of its access tokens')
    .requiredOption('--name <name>', 'display name')
    .requiredOption('--identifier <uri>', 'absolute URI, the token audience')
    .option('--scope <name[=description]>', 'scope the API defines (repeatable)', collect, [])
    .option('--token-lifetime <seconds>', 'access-token lifetime (default 86400)')
    .option('--signing-alg <alg>', 'ES256 (default), RS256, PS256 or EdDSA')
    .option('--allow-offline-access', 'allow refresh tokens for this API')
    .option('--json', 'print one JSON object')
    .action(async (o, cmd) =>
      withRuntime(cmd, async (rt) => {
        const lifetime = o.tokenLifetime === undefined ? undefined : Number(o.tokenLifetime);
        const api = await createApi(
          rt.storage,
          rt.clock,
          {
            name: o.name,
            identifier: o.identifier,
            scopes: o.scope,
            tokenLifetime: lifetime,
            signingAlg: o.signingAlg,
            allowOfflineAccess: Boolean(o.allowOfflineAccess),
          },
          rt.config.accessToken.defaultLifetime,
        );
        await rt.keys.ensure([api.signingAlg]);
        print(o.json, view(api), () => `id: ${api.id}\nidentifier: ${api.identifier}`);
      }),
    );

  apis
    .command('list')
    .description('list APIs')
    .option('--json', 'print one JSON object')
    .action(async (o, cmd) =>
      withRuntime(cmd, async (rt) => {
        const list = (await rt.storage.apis.list()).map(view);
        print(o.json, { apis: list }, () =>
          list.length === 0 ? 'no APIs' : list.map((a) => `${a.id}  ${a.identifier}  ${a.name}`).join('\n'),
        );
      }),
    );

  apis
    .command('show <id>')
    .description('show an API by id or identifier')
    .option('--json', 'print one JSON object')
    .action(async (id: string, o, cmd) =>
      withRuntime(cmd, async (rt) => {
        const out = view(await getApi(rt.storage, id));
        print(o.json, out, () => fieldLines(out));
      }),
    );

  apis
    .command('delete <id>')
    .description('delete an API (by id or identifier) and every authorization for it')
    .option('--json', 'print one JSON object')
    .action(async (id: string, o, cmd) =>
      withRuntime(cmd, async (rt) => {
        await deleteApi(rt.storage, id);
        print(o.json, { deleted: id }, () => `deleted ${id}`);
      }),
    );
}
