import type { Command } from 'commander';
import { type ApiInput, createApi, deleteApi, getApi, parseScopeSpecs, updateApi } from '../admin/apis.js';
import { ValidationError } from '../admin/errors.js';
import type { Api } from '../storage/types.js';
import { browserFlowLifetime } from '../tokens/access-token.js';
import { collect, confirm, FORCE, fieldLines, given, print, withRuntime } from './context.js';

/** An API as the CLI prints it (`implicitLifetime`: config accessToken.implicitLifetime). */
const view = (api: Api, implicitLifetime: number) => ({
  id: api.id,
  identifier: api.identifier,
  name: api.name,
  scopes: api.scopes,
  token_lifetime: api.tokenLifetime,
  token_lifetime_for_web: browserFlowLifetime(api, implicitLifetime),
  signing_alg: api.signingAlg,
  allow_offline_access: api.allowOfflineAccess,
  skip_consent_for_first_party: api.options.skipConsentForVerifiableFirstPartyClients !== false,
  enforce_policies: api.options.enforcePolicies === true,
  token_dialect: api.options.tokenDialect ?? 'rfc9068_profile',
  user_policy: api.options.subjectTypeAuthorization?.user?.policy ?? 'allow_all',
  client_policy: api.options.subjectTypeAuthorization?.client?.policy ?? 'require_client_grant',
  is_system: api.isSystem,
  created_at: api.createdAt,
});

/** The options create and update share. */
function settingOptions(cmd: Command): Command {
  return cmd
    .option(
      '--scope <name[=description]>',
      "scope the API defines (repeatable; on update, replaces the list; '' empties it)",
      collect,
    )
    .option(
      '--token-lifetime <seconds>',
      'access-token lifetime, 60 to 2592000 (default: accessToken.defaultLifetime, 86400)',
    )
    .option(
      '--token-lifetime-for-web <seconds>',
      'lifetime of access tokens issued at /authorize (implicit and hybrid flows), 60 to the token lifetime, or default: accessToken.implicitLifetime (900)',
    )
    .option('--signing-alg <alg>', 'ES256 (default), RS256, PS256 or EdDSA')
    .option('--allow-offline-access', 'allow refresh tokens for this API')
    .option(
      '--enforce-policies',
      'RBAC: people get only the requested scopes their roles or permissions hold',
    )
    .option(
      '--token-dialect <dialect>',
      'access_token, access_token_authz, rfc9068_profile (default) or rfc9068_profile_authz (adds `permissions`)',
    )
    .option(
      '--user-policy <policy>',
      'which applications may get tokens for people: allow_all (default), deny_all, require_client_grant',
    )
    .option('--client-policy <policy>', 'machine tokens: require_client_grant (default) or deny_all')
    .option('--json', 'print one JSON object');
}

/** A whole number of seconds given to `flag`, or a ValidationError naming it. */
function seconds(flag: string, value: unknown): number {
  if (!/^\d{1,9}$/.test(value as string)) throw new ValidationError(`${flag}: a whole number of seconds`);
  return Number(value);
}

/** The service layer's input from the options given (`given`: absent options change nothing). */
function settingsOf(o: Record<string, unknown>): ApiInput {
  const out: ApiInput = {};
  if (o.scope) out.scopes = parseScopeSpecs(o.scope as string[]);
  if (o.tokenLifetime !== undefined) out.tokenLifetime = seconds('--token-lifetime', o.tokenLifetime);
  if (o.tokenLifetimeForWeb !== undefined)
    out.tokenLifetimeForWeb =
      o.tokenLifetimeForWeb === 'default' ? null : seconds('--token-lifetime-for-web', o.tokenLifetimeForWeb);
  if (o.signingAlg !== undefined) out.signingAlg = o.signingAlg as string;
  if (o.allowOfflineAccess !== undefined) out.allowOfflineAccess = Boolean(o.allowOfflineAccess);
  if (o.firstPartySkipConsent !== undefined) out.skipConsentForFirstParty = Boolean(o.firstPartySkipConsent);
  if (o.enforcePolicies !== undefined) out.enforcePolicies = Boolean(o.enforcePolicies);
  if (o.tokenDialect !== undefined) out.tokenDialect = o.tokenDialect as string;
  if (o.userPolicy !== undefined) out.userPolicy = o.userPolicy as string;
  if (o.clientPolicy !== undefined) out.clientPolicy = o.clientPolicy as string;
  return out;
}

/** `sesame apis …`: register, list, show, update and delete APIs (resource servers). */
export function apisCommand(program: Command): void {
  const apis = program.command('apis').description('manage APIs (resource servers)');

  settingOptions(
    apis
      .command('create')
      .description('register an API; its identifier is the audience of its access tokens')
      .requiredOption('--name <name>', 'display name')
      .requiredOption('--identifier <uri>', 'absolute URI, the token audience'),
  ).action(async (o, cmd) =>
    withRuntime(cmd, async (rt) => {
      const api = await createApi(
        rt.storage,
        rt.clock,
        { ...settingsOf(given(cmd)), name: o.name, identifier: o.identifier },
        rt.config.accessToken.defaultLifetime,
      );
      await rt.keys.ensure([api.signingAlg]);
      print(
        o.json,
        view(api, rt.config.accessToken.implicitLifetime),
        () => `id: ${api.id}\nidentifier: ${api.identifier}`,
      );
    }),
  );

  settingOptions(
    apis
      .command('update <id>')
      .description('change an API (by id or identifier); options not given stay as they are')
      .option('--name <name>', 'display name')
      .option('--no-allow-offline-access', 'no refresh tokens for this API')
      .option('--no-enforce-policies', 'RBAC off: people get the scopes they consent to')
      .option('--first-party-skip-consent', 'first-party applications are not asked consent for it (default)')
      .option('--no-first-party-skip-consent', 'first-party applications are asked consent for it too'),
  ).action(async (id: string, o, cmd) =>
    withRuntime(cmd, async (rt) => {
      const input = settingsOf(given(cmd));
      if (o.name !== undefined) input.name = o.name;
      const api = await updateApi(rt.storage, rt.clock, id, input);
      await rt.keys.ensure([api.signingAlg]);
      const out = view(api, rt.config.accessToken.implicitLifetime);
      print(o.json, out, () => fieldLines(out));
    }),
  );

  apis
    .command('list')
    .description('list APIs')
    .option('--json', 'print one JSON object')
    .action(async (o, cmd) =>
      withRuntime(cmd, async (rt) => {
        const list = (await rt.storage.apis.list()).map((a) =>
          view(a, rt.config.accessToken.implicitLifetime),
        );
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
        const out = view(await getApi(rt.storage, id), rt.config.accessToken.implicitLifetime);
        print(o.json, out, () => fieldLines(out));
      }),
    );

  apis
    .command('delete <id>')
    .description('delete an API (by id or identifier) and every authorization for it')
    .option(...FORCE)
    .option('--json', 'print one JSON object')
    .action(async (id: string, o, cmd) =>
      withRuntime(cmd, async (rt) => {
        const api = await getApi(rt.storage, id);
        await confirm(o, `Delete the API ${api.name} (${api.identifier}) and every authorization for it?`);
        await deleteApi(rt.storage, api.id);
        print(o.json, { deleted: api.id }, () => `deleted ${api.identifier}`);
      }),
    );
}
