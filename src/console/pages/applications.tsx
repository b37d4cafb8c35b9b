import type { Child } from 'hono/jsx';
import { CopyButton, Csrf, consolePage, FieldError, FormError, flashOf, pageOf } from '../layout.js';
import { ApiError } from '../management.js';
import { type ConsoleRouter, seeOther } from '../router.js';
import type { Admin } from '../session.js';
import {
  type AppData,
  type AppType,
  appPath,
  type ClientView,
  type Ctx,
  enc,
  type GrantView,
  idParam,
  invalid,
  isPublic,
  issuerOf,
  orShow,
  patchOf,
  showApplication,
  TYPE_LABELS,
  typed,
} from './application.js';

const SECTION = '/console/applications';
const PER_PAGE = 50;
const page = (c: Ctx, admin: Admin, title: string, children: Child, status = 200) =>
  consolePage(c, { title, admin, section: SECTION, children }, status);

/** The four types as "Create application" offers them, with what each is for. */
const TYPES: [string, AppType, string][] = [
  ['web', 'regular_web', 'A server-side web app (Node.js, Java, PHP…): it keeps a secret.'],
  ['spa', 'spa', 'A JavaScript app in the browser (React, Vue…): public, with PKCE.'],
  ['native', 'native', 'A mobile, desktop, TV or command-line app: public, PKCE or the device flow.'],
  ['m2m', 'non_interactive', 'A service or script that calls your APIs as itself (client credentials).'],
];

/** A secret shown once: a read-only field to select and copy (no script needed). */
const Secret = (props: { secret: string; label: string }) => (
  <label>
    {`${props.label} `}
    <input id="client-secret" value={props.secret} readonly class="secret" aria-describedby="secret-note" />
    <CopyButton id="client-secret" label="Copy secret" />
    <small id="secret-note">Copy it now: Sesame keeps only a hash of it and cannot show it again.</small>
  </label>
);

/** The first lines a developer needs for an application of this type, with its real values. */
function snippet(type: AppType, id: string, issuer: string): string {
  if (type === 'non_interactive')
    return `# Allow this application an API below, then (CLIENT_SECRET: the application's secret):
curl -s -u "${id}:$CLIENT_SECRET" -d grant_type=client_credentials \\
  -d audience=YOUR_API_IDENTIFIER ${issuer}/oauth/token`;
  if (type === 'spa')
    return `// npm install oidc-client-ts; add your origin to Allowed web origins below,
// and <origin>/callback to Allowed callback URLs.
import { UserManager } from 'oidc-client-ts';

const userManager = new UserManager({
  authority: '${issuer}',
  client_id: '${id}',
  redirect_uri: window.location.origin + '/callback',
  scope: 'openid profile email',
});
await userManager.signinRedirect(); // sign in (code flow with PKCE)
// on /callback:
const user = await userManager.signinRedirectCallback();`;
  if (type === 'native')
    return `#!/bin/sh
# A device signs in (RFC 8628): the person approves at ${issuer}/activate.
CLIENT_ID=${id}
ISSUER=${issuer}
resp=$(curl -s -d client_id=$CLIENT_ID -d 'scope=openid profile offline_access' $ISSUER/oauth/device/code)
device_code=$(echo "$resp" | node -pe 'JSON.parse(require("fs").readFileSync(0)).device_code')
interval=$(echo "$resp" | node -pe 'JSON.parse(require("fs").readFileSync(0)).interval')
echo "$resp" | node -pe 'const r = JSON.parse(require("fs").readFileSync(0)); \`Open \${r.verification_uri} and enter \${r.user_code}\`'
while :; do
  sleep "$interval"
  tokens=$(curl -s -d client_id=$CLIENT_ID -d device_code=$device_code \\
    -d grant_type=urn:ietf:params:oauth:grant-type:device_code $ISSUER/oauth/token)
  case "$tokens" in
    *authorization_pending*) ;;
    *slow_down*) interval=$((interval + 5)) ;;
    *) echo "$tokens"; break ;;
  esac
done`;
  const insecure = issuer.startsWith('http:')
    ? ', undefined, { execute: [client.allowInsecureRequests] }'
    : '';
  return `// npm install openid-client; add http://localhost:4000/callback to Allowed callback URLs below.
import * as client from 'openid-client';

const config = await client.discovery(new URL('${issuer}'), '${id}', process.env.CLIENT_SECRET${insecure});
// Sign in: keep code_verifier and state in the person's session, and redirect them to url.
const code_verifier = client.randomPKCECodeVerifier();
const state = client.randomState();
const url = client.buildAuthorizationUrl(config, {
  redirect_uri: 'http://localhost:4000/callback',
  scope: 'openid profile email',
  state,
  code_challenge: await client.calculatePKCECodeChallenge(code_verifier),
  code_challenge_method: 'S256',
});
// On /callback (currentUrl: the URL the browser came back to):
const tokens = await client.authorizationCodeGrant(config, currentUrl, {
  pkceCodeVerifier: code_verifier,
  expectedState: state,
});
console.log(tokens.claims());`;
}

/** Shown after "Create": the issuer, the secret (once), a first snippet with the client id. */
function QuickStart(props: { data: AppData; secret: string | undefined }) {
  const { client_id: id, app_type: type } = props.data.client;
  const issuer = issuerOf(props.data.apis);
  return (
    <article id="quick-start" aria-labelledby="quick-start-title">
      <h2 id="quick-start-title">Quick start</h2>
      <p>
        Issuer <code>{issuer}</code> · discovery <code>{`${issuer}/.well-known/openid-configuration`}</code>
      </p>
      {props.secret ? (
        <Secret secret={props.secret} label="Client secret" />
      ) : (
        <ShownOnce client={props.data.client} />
      )}
      <pre>
        <code>{snippet(type, id, issuer)}</code>
      </pre>
    </article>
  );
}

function NewForm(props: { admin: Admin; form: URLSearchParams; error: ApiError | undefined }) {
  const { form, error } = props;
  return (
    <form method="post" action={`${SECTION}/new`}>
      <h1>Create application</h1>
      <Csrf admin={props.admin} />
      <FormError error={error} fields={['name', 'app_type']} />
      <label>
        Name{' '}
        <input
          name="name"
          value={form.get('name') ?? ''}
          required
          maxlength={255}
          {...invalid(error, 'name')}
        />
      </label>
      <FieldError error={error} name="name" />
      <fieldset {...invalid(error, 'app_type')}>
        <legend>Type</legend>
        {TYPES.map(([value, appType, help]) => (
          <label>
            <input type="radio" name="type" value={value} checked={(form.get('type') ?? 'web') === value} />{' '}
            <strong>{TYPE_LABELS[appType]}</strong> <small class="muted">{help}</small>
          </label>
        ))}
      </fieldset>
      <FieldError error={error} name="app_type" />
      <button type="submit">Create</button> <a href={SECTION}>Cancel</a>
    </form>
  );
}

/** The confirmation steps: what the button will do, and its own POST form. */
const CONFIRM: Record<string, { button: string; text: string }> = {
  'rotate-secret': { button: 'Rotate secret', text: 'The current secret stops working at once.' },
  delete: { button: 'Delete application', text: 'Its grants and consents go too; its tokens stop working.' },
};
const FLASH = new Map([
  ['saved', 'Saved.'],
  ['granted', 'API allowed.'],
  ['revoked', 'API removed.'],
  ['deleted', 'Application deleted.'],
  ['created', 'Application created.'],
  ['rotated', 'Secret rotated: the old one no longer works.'],
]);

/** The one-time key of an application's new secret (the page after the redirect takes it). */
const secretKey = (id: string) => `client-secret:${id}`;

/**
 * Where a secret goes once it has been shown (a reload of that page, or a second tab); nothing for
 * an application without one (public) or whose secret cannot be rotated (Sesame's own).
 */
const ShownOnce = (props: { client: ClientView }) =>
  isPublic(props.client) || props.client.is_system ? null : (
    <p class="muted" id="secret-shown">
      The secret was shown once, when it was made. Lost it?{' '}
      <a href={`${appPath(props.client.client_id)}/rotate-secret`}>Rotate it</a>.
    </p>
  );

/**
 * /console/applications: the list; "Create application" (its answer shows the secret and a quick start
 * once); each application's page; rotating its secret and deleting it, each after a confirmation step.
 */
export function applicationPages(router: ConsoleRouter): void {
  router.get('/applications', async (c, admin) => {
    const n = pageOf(c);
    const { clients, total } = await admin.api.get<{ clients: ClientView[]; total: number }>(
      `/clients?per_page=${PER_PAGE}&page=${n}&include_totals=true`,
    );
    const children = (
      <>
        <h1>Applications</h1>
        <form method="get" action={`${SECTION}/new`}>
          <button type="submit">Create application</button>
        </form>
        <table class="striped">
          <thead>
            <tr>
              <th>Name</th>
              <th>Type</th>
              <th>Client id</th>
            </tr>
          </thead>
          <tbody>
            {clients.map((cl) => (
              <tr>
                <td>
                  <a href={appPath(cl.client_id)}>{cl.name}</a>
                </td>
                <td>{TYPE_LABELS[cl.app_type]}</td>
                <td>
                  <code>{cl.client_id}</code>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
        <p class="muted">
          {total} applications. {n > 0 ? <a href={`${SECTION}?page=${n - 1}`}>Previous page</a> : null}{' '}
          {total > (n + 1) * PER_PAGE ? <a href={`${SECTION}?page=${n + 1}`}>Next page</a> : null}
        </p>
      </>
    );
    return consolePage(c, { title: 'Applications', admin, section: SECTION, children, ...flashOf(c, FLASH) });
  });

  const newPage = (c: Ctx, admin: Admin, form: URLSearchParams, error?: ApiError) =>
    page(c, admin, 'Create application', <NewForm admin={admin} form={form} error={error} />, error?.status);
  router.get('/applications/new', async (c, admin) => newPage(c, admin, new URLSearchParams()));
  router.post('/applications/new', (c, admin, form) => {
    const type = form.get('type') ?? '';
    const body = { name: form.get('name') ?? '', app_type: TYPES.find(([v]) => v === type)?.[1] ?? type };
    return orShow(
      async () => {
        const created = await admin.api.post<ClientView>('/clients', body);
        if (created.client_secret) admin.once.keep(secretKey(created.client_id), created.client_secret);
        return seeOther(c, `${appPath(created.client_id)}?flash=created`);
      },
      (error) => newPage(c, admin, form, error),
    );
  });

  router.get('/applications/:id', (c, admin) => {
    const id = idParam(c);
    const flash = flashOf(c, FLASH);
    const after = c.req.query('flash');
    if (after !== 'created' && after !== 'rotated') return showApplication(c, admin, id, flash);
    const secret = admin.once.take(secretKey(id));
    const top =
      after === 'created'
        ? (data: AppData) => <QuickStart data={data} secret={secret} />
        : (data: AppData) =>
            secret ? (
              <Secret secret={secret} label="New client secret" />
            ) : (
              <ShownOnce client={data.client} />
            );
    return showApplication(c, admin, id, { top, ...flash });
  });
  router.post('/applications/:id', async (c, admin, form) => {
    const id = idParam(c);
    const client = await admin.api.get<ClientView>(`/clients/${enc(id)}`);
    return orShow(
      async () => {
        await admin.api.patch(`/clients/${enc(id)}`, patchOf(typed(client, form), client));
        return seeOther(c, `${appPath(id)}?flash=saved`);
      },
      (error) => showApplication(c, admin, id, { form, error }, error.status),
    );
  });
  router.post('/applications/:id/grants', (c, admin, form) => {
    const id = idParam(c);
    const body = { client_id: id, audience: form.get('audience'), scope: form.getAll('scope') };
    const subject = { subject_type: form.get('subject_type') ?? undefined };
    return orShow(
      async () => {
        await admin.api.post('/client-grants', { ...body, ...subject });
        return seeOther(c, `${appPath(id)}?flash=granted#access`);
      },
      (grantError) => showApplication(c, admin, id, { grantError }, grantError.status),
    );
  });
  router.post('/applications/:id/grants/:grant/remove', async (c, admin) => {
    const id = idParam(c);
    const grant = await admin.api.get<GrantView>(`/client-grants/${enc(idParam(c, 'grant'))}`);
    if (grant.client_id !== id) throw new ApiError(404, `client grant ${grant.id} is not one of ${id}`);
    await admin.api.delete(`/client-grants/${enc(grant.id)}`);
    return seeOther(c, `${appPath(id)}?flash=revoked#access`);
  });

  for (const [action, q] of Object.entries(CONFIRM)) {
    router.get(`/applications/:id/${action}`, async (c, admin) => {
      const id = idParam(c);
      const cl = await admin.api.get<ClientView>(`/clients/${enc(id)}`);
      const confirm = (
        <form method="post" action={`${appPath(id)}/${action}`}>
          <h1>
            {q.button}: {cl.name}?
          </h1>
          <p>{q.text}</p>
          <Csrf admin={admin} />
          <button type="submit" class="secondary">
            {q.button}
          </button>{' '}
          <a href={appPath(id)}>Cancel</a>
        </form>
      );
      return page(c, admin, q.button, confirm);
    });
  }
  router.post('/applications/:id/rotate-secret', (c, admin) => {
    const id = idParam(c);
    return orShow(
      async () => {
        const secret = (await admin.api.post<ClientView>(`/clients/${enc(id)}/rotate-secret`)).client_secret;
        if (secret) admin.once.keep(secretKey(id), secret);
        return seeOther(c, `${appPath(id)}?flash=rotated`);
      },
      (error) => showApplication(c, admin, id, { error }, error.status),
    );
  });
  router.post('/applications/:id/delete', async (c, admin) => {
    await admin.api.delete(`/clients/${enc(idParam(c))}`);
    return seeOther(c, `${SECTION}?flash=deleted`);
  });
}
