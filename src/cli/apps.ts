import type { Command } from 'commander';
import {
  authorizeApplication,
  createApplication,
  deleteApplication,
  getApplication,
  rotateSecret,
} from '../admin/applications.js';
import type { Application } from '../storage/types.js';
import { collect, fieldLines, print, withRuntime } from './context.js';

const view = (app: Application) => ({
  client_id: app.clientId,
  name: app.name,
  type: app.type,
  callbacks: app.callbacks,
  logout_callbacks: app.logoutCallbacks,
  grant_types: app.grantTypes,
  skip_consent: app.settings.skipConsent === true,
  id_token_signing_alg: app.settings.idTokenSigningAlg ?? 'RS256',
  allow_offline_access: app.settings.allowOfflineAccess === true,
  created_at: app.createdAt,
});

/** `sesame apps …`: register, list, show, delete applications, rotate secrets, authorize for APIs. */
export function appsCommand(program: Command): void {
  const apps = program.command('apps').description('manage applications (OAuth clients)');

  apps
    .command('create')
    .description('register an application; prints client_id, and client_secret once for web and m2m')
    .requiredOption('--name <name>', 'display name')
    .requiredOption('--type <type>', 'web | spa | native | m2m')
    .option('--callback <uri>', 'allowed callback URL (repeatable)', collect, [])
    .option('--logout-callback <uri>', 'allowed post-logout redirect URL (repeatable)', collect, [])
    .option('--grant <type>', 'grant type to allow instead of the defaults (repeatable)', collect, [])
    .option('--skip-consent', 'first-party application: never ask the user for consent')
    .option('--id-token-alg <alg>', 'ID token signing algorithm: RS256 (default), ES256, PS256 or EdDSA')
    .option('--allow-offline-access', 'refresh tokens for sign-ins that name no API (offline_access)')
    .option('--json', 'print one JSON object')
    .action(async (o, cmd) =>
      withRuntime(cmd, async (rt) => {
        const { app, clientSecret } = await createApplication(rt.storage, rt.clock, {
          name: o.name,
          type: o.type,
          callbacks: o.callback,
          logoutCallbacks: o.logoutCallback,
          grants: o.grant,
          skipConsent: Boolean(o.skipConsent),
          idTokenSigningAlg: o.idTokenAlg,
          allowOfflineAccess: Boolean(o.allowOfflineAccess),
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
        const grants = await rt.storage.clientGrants.listForClient(clientId);
        const apis = await Promise.all(grants.map((g) => rt.storage.apis.get(g.apiId)));
        const authorized = grants.map((g, i) => ({ api: apis[i]?.identifier ?? g.apiId, scopes: g.scopes }));
        const out = { ...view(app), authorized_apis: authorized };
        print(o.json, out, () => fieldLines(out));
      }),
    );

  apps
    .command('delete <client_id>')
    .description('delete an application')
    .option('--json', 'print one JSON object')
    .action(async (clientId: string, o, cmd) =>
      withRuntime(cmd, async (rt) => {
        await deleteApplication(rt.storage, clientId);
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
    .option('--json', 'print one JSON object')
    .action(async (clientId: string, o, cmd) =>
      withRuntime(cmd, async (rt) => {
        const grant = await authorizeApplication(rt.storage, rt.clock, clientId, o.api, o.scope);
        const out = { client_id: clientId, api: o.api, scopes: grant.scopes };
        print(
          o.json,
          out,
          () => `authorized ${clientId} for ${o.api} (${grant.scopes.join(' ') || 'no scopes'})`,
        );
      }),
    );
}
