import type { Command } from 'commander';
import { getApi } from '../admin/apis.js';
import {
  type ApplicationInput,
  authorizeApplication,
  createApplication,
  deauthorizeApplication,
  deleteApplication,
  getApplication,
  rotateSecret,
  updateApplication,
} from '../admin/applications.js';
import { checkOneOf } from '../admin/checks.js';
import { ValidationError } from '../admin/errors.js';
import type { Application } from '../storage/types.js';
import { collect, confirm, FORCE, fieldLines, given, print, withRuntime } from './context.js';

/** Auth0's app_type names, accepted by --type beside Sesame's own. */
const TYPE_ALIASES: Record<string, string> = { regular_web: 'web', non_interactive: 'm2m' };

const view = (app: Application) => ({
  client_id: app.clientId,
  name: app.name,
  type: app.type,
  callbacks: app.callbacks,
  logout_callbacks: app.logoutCallbacks,
  web_origins: app.settings.webOrigins ?? [],
  grant_types: app.grantTypes,
  skip_consent: app.settings.skipConsent === true,
  id_token_signing_alg: app.settings.idTokenSigningAlg ?? 'RS256',
  allow_offline_access: app.settings.allowOfflineAccess === true,
  require_pkce: app.settings.pkceOptional !== true,
  hide_signup: app.settings.hideSignup === true,
  ...(app.settings.description ? { description: app.settings.description } : {}),
  ...(app.settings.logoUri ? { logo_uri: app.settings.logoUri } : {}),
  is_system: app.isSystem,
  created_at: app.createdAt,
});

/** The options create and update share. */
function settingOptions(cmd: Command): Command {
  return cmd
    .option(
      '--callback <uri>',
      "allowed callback URL (repeatable; on update, replaces the list; '' empties it)",
      collect,
    )
    .option(
      '--logout-callback <uri>',
      "allowed post-logout redirect URL (repeatable; '' empties the list)",
      collect,
    )
    .option(
      '--web-origin <origin>',
      "origin a browser application calls from (repeatable; '' empties the list)",
      collect,
    )
    .option('--grant <type>', 'grant type to allow instead of the defaults (repeatable)', collect)
    .option('--skip-consent', 'first-party application: never ask the user for consent')
    .option('--id-token-alg <alg>', 'ID token signing algorithm: RS256 (default), ES256, PS256 or EdDSA')
    .option('--allow-offline-access', 'refresh tokens for sign-ins that name no API (offline_access)')
    .option(
      '--no-require-pkce',
      'web applications only: allow the code flow without PKCE, for old libraries (PKCE is required by default)',
    )
    .option('--hide-signup', "no sign-up on this application's login page, even when the tenant allows it")
    .option('--description <text>', 'a description, at most 140 characters')
    .option('--logo-uri <url>', 'logo URL')
    .option('--json', 'print one JSON object');
}

/** The service layer's input from the options given (`given`: absent options change nothing). */
function settingsOf(o: Record<string, unknown>): ApplicationInput {
  const out: ApplicationInput = {};
  if (o.callback) out.callbacks = o.callback as string[];
  if (o.logoutCallback) out.logoutCallbacks = o.logoutCallback as string[];
  if (o.webOrigin) out.webOrigins = o.webOrigin as string[];
  if (o.grant) out.grants = o.grant as string[];
  if (o.skipConsent !== undefined) out.skipConsent = o.skipConsent === true;
  if (o.idTokenAlg !== undefined) out.idTokenSigningAlg = o.idTokenAlg as string;
  if (o.allowOfflineAccess !== undefined) out.allowOfflineAccess = o.allowOfflineAccess === true;
  if (o.requirePkce !== undefined) out.requirePkce = o.requirePkce === true;
  if (o.hideSignup && o.showSignup) throw new ValidationError('--hide-signup and --show-signup: choose one');
  if (o.hideSignup) out.hideSignup = true;
  if (o.showSignup) out.hideSignup = false;
  if (o.description !== undefined) out.description = o.description as string;
  if (o.logoUri !== undefined) out.logoUri = o.logoUri as string;
  return out;
}

/** `sesame apps …`: register, list, show, update, delete applications, rotate secrets, authorize for APIs. */
export function appsCommand(program: Command): void {
  const apps = program.command('apps').description('manage applications (OAuth clients)');

  settingOptions(
    apps
      .command('create')
      .description('register an application; prints client_id, and client_secret once for web and m2m')
      .requiredOption('--name <name>', 'display name')
      .requiredOption('--type <type>', 'web | spa | native | m2m (or regular_web, non_interactive)'),
  ).action(async (o, cmd) =>
    withRuntime(cmd, async (rt) => {
      const { app, clientSecret } = await createApplication(rt.storage, rt.clock, {
        ...settingsOf(given(cmd)),
        name: o.name,
        type: Object.hasOwn(TYPE_ALIASES, o.type) ? TYPE_ALIASES[o.type] : o.type,
      });
      const out = clientSecret ? { ...view(app), client_secret: clientSecret } : view(app);
      print(o.json, out, () =>
        [
          `client_id:     ${app.clientId}`,
          ...(clientSecret
            ? [`client_secret: ${clientSecret}`, '(the secret is shown only now; store it safely)']
            : []),
        ].join('\n'),
      );
    }),
  );

  settingOptions(
    apps
      .command('update <client_id>')
      .description("change an application's settings; options not given stay as they are")
      .option('--name <name>', 'display name')
      .option('--no-skip-consent', 'ask the user for consent again')
      .option('--no-allow-offline-access', 'no refresh tokens for sign-ins that name no API')
      .option('--require-pkce', 'require PKCE again')
      .option('--show-signup', "offer sign-up on this application's login page again"),
  ).action(async (clientId: string, o, cmd) =>
    withRuntime(cmd, async (rt) => {
      const input = settingsOf(given(cmd));
      if (o.name !== undefined) input.name = o.name;
      const out = view(await updateApplication(rt.storage, rt.clock, clientId, input));
      print(o.json, out, () => fieldLines(out));
    }),
  );

  apps
    .command('list')
    .description('list applications')
    .option('--json', 'print one JSON object')
    .action(async (o, cmd) =>
      withRuntime(cmd, async (rt) => {
        const list = (await rt.storage.applications.list()).map(view);
        print(o.json, { applications: list }, () =>
          list.length === 0
            ? 'no applications'
            : list.map((a) => `${a.client_id}  ${a.type.padEnd(6)}  ${a.name}`).join('\n'),
        );
      }),
    );

  apps
    .command('show <client_id>')
    .description('show an application and the APIs it is authorized for')
    .option('--json', 'print one JSON object')
    .action(async (clientId: string, o, cmd) =>
      withRuntime(cmd, async (rt) => {
        const app = await getApplication(rt.storage, clientId);
        // both kinds: for the application itself (client credentials) and for its users
        const grants = await rt.storage.clientGrants.list({ clientId });
        const apis = await Promise.all(grants.map((g) => rt.storage.apis.get(g.apiId)));
        const authorized = grants.map((g, i) => ({
          api: apis[i]?.identifier ?? g.apiId,
          scopes: g.scopes,
          subject_type: g.subjectType ?? 'client',
        }));
        const out = { ...view(app), authorized_apis: authorized };
        print(o.json, out, () => fieldLines(out));
      }),
    );

  apps
    .command('delete <client_id>')
    .description('delete an application; its grants, consents and tokens end with it')
    .option(...FORCE)
    .option('--json', 'print one JSON object')
    .action(async (clientId: string, o, cmd) =>
      withRuntime(cmd, async (rt) => {
        const app = await getApplication(rt.storage, clientId);
        await confirm(
          o,
          `Delete the application ${app.name} (${clientId})? Its grants, consents and tokens end with it.`,
        );
        await deleteApplication(rt.storage, rt.clock, clientId);
        print(o.json, { deleted: clientId }, () => `deleted ${clientId}`);
      }),
    );

  apps
    .command('rotate-secret <client_id>')
    .description('replace the client secret; the old one stops working at once')
    .option('--json', 'print one JSON object')
    .action(async (clientId: string, o, cmd) =>
      withRuntime(cmd, async (rt) => {
        const secret = await rotateSecret(rt.storage, rt.clock, clientId);
        print(o.json, { client_id: clientId, client_secret: secret }, () => `client_secret: ${secret}`);
      }),
    );

  apps
    .command('authorize <client_id>')
    .description('let a client_credentials application get tokens for an API with these scopes')
    .requiredOption('--api <identifier>', 'the API identifier (audience)')
    .option('--scope <scope>', 'scope to allow (repeatable)', collect, [])
    .option('--all-scopes', 'allow every scope the API defines')
    .option(
      '--subject-type <type>',
      "client (default: machine tokens) or user (may ask for people's tokens where the API requires a client grant)",
      'client',
    )
    .option('--json', 'print one JSON object')
    .action(async (clientId: string, o, cmd) =>
      withRuntime(cmd, async (rt) => {
        if (o.allScopes && o.scope.length > 0)
          throw new ValidationError('--all-scopes and --scope: give one');
        const scopes: string[] = o.allScopes
          ? (await getApi(rt.storage, o.api)).scopes.map((s) => s.name)
          : o.scope;
        const subjectType = checkOneOf('--subject-type', o.subjectType, ['client', 'user'] as const);
        const grant = await authorizeApplication(rt.storage, rt.clock, clientId, o.api, scopes, subjectType);
        const out = { client_id: clientId, api: o.api, scopes: grant.scopes, subject_type: subjectType };
        print(
          o.json,
          out,
          () => `authorized ${clientId} for ${o.api} (${grant.scopes.join(' ') || 'no scopes'})`,
        );
      }),
    );

  apps
    .command('deauthorize <client_id>')
    .description(
      "take an application's access to an API away: no new tokens for it (its client grant is deleted)",
    )
    .requiredOption('--api <identifier>', 'the API identifier (audience)')
    .option('--subject-type <type>', 'client (default: machine tokens) or user', 'client')
    .option('--json', 'print one JSON object')
    .action(async (clientId: string, o, cmd) =>
      withRuntime(cmd, async (rt) => {
        const subjectType = checkOneOf('--subject-type', o.subjectType, ['client', 'user'] as const);
        const grant = await deauthorizeApplication(rt.storage, clientId, o.api, subjectType);
        const out = { client_id: clientId, api: o.api, deleted: grant.id, subject_type: subjectType };
        print(o.json, out, () => `${clientId} may no longer get tokens for ${o.api} (${subjectType})`);
      }),
    );
}
