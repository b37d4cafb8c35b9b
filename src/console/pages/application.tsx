import type { Context } from 'hono';
import type { Child } from 'hono/jsx';
import type { AppEnv } from '../../http/context.js';
import { DEVICE_CODE } from '../../protocol/grant-types.js';
import { CopyButton, consolePage, FieldError, FieldsForm, FormError, mayRead, Permitted } from '../layout.js';
import { ApiError } from '../management.js';
import type { Admin } from '../session.js';
import { Access, APIS_READ, Check, GRANTS_READ } from './application-access.js';

export type AppType = 'regular_web' | 'spa' | 'native' | 'non_interactive';

/** An application as the Management API returns it (Auth0's client shape). */
export interface ClientView {
  client_id: string;
  name: string;
  app_type: AppType;
  is_first_party: boolean;
  is_system: boolean;
  callbacks: string[];
  allowed_logout_urls: string[];
  web_origins: string[];
  grant_types: string[];
  token_endpoint_auth_method: string;
  jwt_configuration: { alg: string };
  allow_offline_access: boolean;
  require_pkce: boolean;
  hide_signup: boolean;
  client_secret?: string;
}
type Scope = { value: string; description: string };
/** An API (resource server) and a client grant, as the Management API returns them. */
export type ApiView = { identifier: string; name: string; is_system: boolean; scopes: Scope[] };
export type GrantView = {
  id: string;
  client_id: string;
  audience: string;
  scope: string[];
  subject_type: string;
};
/**
 * What the application page shows: the application, its client grants (null: the admin may not
 * read them), every API (none when the admin may not read them), and the issuer.
 */
export type AppData = { client: ClientView; grants: GrantView[] | null; apis: ApiView[]; issuer: string };
type Err = ApiError | undefined;
export type Ctx = Context<AppEnv>;

export const TYPE_LABELS: Record<AppType, string> = {
  regular_web: 'Regular web application',
  spa: 'Single-page application',
  native: 'Native application',
  non_interactive: 'Machine to machine',
};
/** Each grant type, what it is for, and the types that may use it (the API enforces the same rule). */
const GRANTS: [string, string, string][] = [
  ['authorization_code', 'Authorization code with PKCE: people sign in', 'regular_web spa native'],
  ['refresh_token', 'Refresh token', 'regular_web spa native'],
  ['client_credentials', 'Client credentials: it calls APIs as itself', 'regular_web non_interactive'],
  ['password', 'Password (legacy; trusted first-party apps only)', 'regular_web spa native'],
  ['implicit', 'Implicit and hybrid (legacy)', 'regular_web spa'],
  [DEVICE_CODE, 'Device code: TVs and command-line tools', 'regular_web native'],
];
const URL_LISTS = [
  ['callbacks', 'Allowed callback URLs', 'One per line; a redirect_uri must match one exactly.'],
  ['allowed_logout_urls', 'Allowed logout URLs', 'One per line: where people may go after signing out.'],
  ['web_origins', 'Allowed web origins', 'One per line, scheme://host[:port], for calls from browsers.'],
] as const;
const FIELDS = 'name callbacks allowed_logout_urls web_origins grant_types alg'.split(' ');

/** What the Management API asks of changing an application (also its secret) and of deleting one. */
export const CLIENTS_UPDATE = ['update:clients'];
export const CLIENTS_DELETE = ['delete:clients'];

export const enc = encodeURIComponent;
export const appPath = (id: string) => `/console/applications/${enc(id)}`;
export const idParam = (c: Ctx, name = 'id') => c.req.param(name) ?? '';
export const isPublic = (client: ClientView) => client.token_endpoint_auth_method === 'none';

const lines = (s: string | null) => (s ?? '').split('\n').flatMap((l) => (l.trim() ? [l.trim()] : []));

/** The application with what the admin typed into the settings form. */
export const typed = (cl: ClientView, f: URLSearchParams): ClientView => ({
  ...cl,
  name: f.get('name') ?? '',
  callbacks: lines(f.get('callbacks')),
  allowed_logout_urls: lines(f.get('allowed_logout_urls')),
  web_origins: lines(f.get('web_origins')),
  grant_types: f.getAll('grant_types'),
  is_first_party: f.has('is_first_party'),
  allow_offline_access: f.has('allow_offline_access'),
  hide_signup: f.has('hide_signup'),
  require_pkce: cl.app_type === 'regular_web' ? f.has('require_pkce') : cl.require_pkce,
  jwt_configuration: { alg: f.get('alg') ?? cl.jwt_configuration.alg },
});

/** What PATCH sends: the settings of the application's type (m2m: the first two), the ID-token alg if changed. */
const SETTINGS =
  'name grant_types callbacks allowed_logout_urls web_origins is_first_party allow_offline_access hide_signup';
export function patchOf(d: ClientView, cl: ClientView): Record<string, unknown> {
  const keys = SETTINGS.split(' ').slice(0, cl.app_type === 'non_interactive' ? 2 : undefined);
  const body: Record<string, unknown> = Object.fromEntries(keys.map((k) => [k, d[k as keyof ClientView]]));
  if (d.jwt_configuration.alg !== cl.jwt_configuration.alg) body.jwt_configuration = d.jwt_configuration;
  if (cl.app_type === 'regular_web') body.require_pkce = d.require_pkce;
  return body;
}

/** Marks a control the API's message names, and points it at the message. */
export const invalid = (error: Err, name: string) =>
  error?.field === name ? { 'aria-invalid': 'true', 'aria-describedby': `${name}-error` } : {};

/** The settings form; `typed`: a refused save, shown again as it was sent. */
function Settings(props: { admin: Admin; d: ClientView; error: Err; typed: boolean }) {
  const { d, error } = props;
  const people = d.app_type !== 'non_interactive';
  const fields = (
    <>
      <label>
        Name <input name="name" value={d.name} required maxlength={255} {...invalid(error, 'name')} />
      </label>
      <FieldError error={error} name="name" />
      {(people ? URL_LISTS : []).map(([name, label, hint]) => (
        <>
          <label>
            {label} <small class="muted">{hint}</small>
            <textarea name={name} rows={3} {...invalid(error, name)}>
              {d[name].join('\n')}
            </textarea>
          </label>
          <FieldError error={error} name={name} />
        </>
      ))}
      <fieldset {...invalid(error, 'grant_types')}>
        <legend>Grant types</legend>
        {GRANTS.filter(([, , types]) => types.includes(d.app_type)).map(([g, label]) => (
          <Check name="grant_types" value={g} checked={d.grant_types.includes(g)}>
            {label}
          </Check>
        ))}
      </fieldset>
      <FieldError error={error} name="grant_types" />
      {people ? (
        <>
          <Check name="is_first_party" checked={d.is_first_party}>
            First-party application: skip the consent page
          </Check>
          <Check name="allow_offline_access" checked={d.allow_offline_access}>
            Allow offline access: refresh tokens for sign-ins that name no API
          </Check>
          <Check name="hide_signup" checked={d.hide_signup}>
            Hide sign-up on this application's login page
          </Check>
          {d.app_type === 'regular_web' ? (
            <Check name="require_pkce" checked={d.require_pkce}>
              Require PKCE (turn off only for an old library that cannot send it)
            </Check>
          ) : null}
          <label>
            ID token signing algorithm
            <select name="alg" {...invalid(error, 'alg')}>
              {['RS256', 'ES256', 'PS256', 'EdDSA'].map((a) => (
                <option selected={a === d.jwt_configuration.alg}>{a}</option>
              ))}
            </select>
          </label>
          <FieldError error={error} name="alg" />
        </>
      ) : null}
    </>
  );
  return (
    <section aria-labelledby="settings">
      <h2 id="settings">Settings</h2>
      <FormError error={error} fields={FIELDS} />
      <FieldsForm
        admin={props.admin}
        needs={CLIENTS_UPDATE}
        to="Changing these settings"
        kept={props.typed}
        action={appPath(d.client_id)}
        button="Save settings"
        disabled={d.is_system}
      >
        {fields}
      </FieldsForm>
    </section>
  );
}

/** What a page adds to the application page: a one-time section, typed values, an API refusal. */
export type Extras = {
  top?: (d: AppData) => Child;
  form?: URLSearchParams;
  error?: Err;
  grantError?: Err;
  flash?: string;
};

/** The application page: credentials, settings, the APIs it may call, the way to delete it. */
export async function showApplication(c: Ctx, admin: Admin, id: string, x: Extras = {}, status = 200) {
  // What the admin may not read is left out, and its section says which permission it needs.
  const [client, grants, apis] = await Promise.all([
    admin.api.get<ClientView>(`/clients/${enc(id)}`),
    mayRead(admin, [GRANTS_READ]) ? admin.api.all<GrantView>(`/client-grants?client_id=${enc(id)}`) : null,
    mayRead(admin, [APIS_READ]) ? admin.api.all<ApiView>('/resource-servers') : [],
  ]);
  const issuer = admin.api.issuer;
  const path = appPath(id);
  const children = (
    <>
      <a href="/console/applications">Applications</a>
      <hgroup>
        <h1>{client.name}</h1>
        <p>
          {TYPE_LABELS[client.app_type]}
          {client.is_system ? ' · part of Sesame: it cannot be changed or deleted' : ''}
        </p>
      </hgroup>
      {x.top?.({ client, grants, apis, issuer })}
      <section aria-labelledby="credentials">
        <h2 id="credentials">Credentials</h2>
        <label>
          Client id <input id="client-id" readonly value={client.client_id} class="secret" />
          <CopyButton id="client-id" label="Copy client id" />
        </label>
        {isPublic(client) ? <p class="muted">A public client: no secret, PKCE instead.</p> : null}
        {isPublic(client) || client.is_system ? null : (
          <Permitted admin={admin} needs={CLIENTS_UPDATE} to="Rotating its secret">
            <a href={`${path}/rotate-secret`}>Rotate secret…</a>
          </Permitted>
        )}
        {client.is_system || client.app_type === 'non_interactive' ? null : (
          <p>
            <a href={`${path}/try`}>Try sign-in</a>: run this application's real sign-in and see its ID token.
          </p>
        )}
      </section>
      <Settings
        admin={admin}
        d={x.form ? typed(client, x.form) : client}
        error={x.error}
        typed={x.form !== undefined}
      />
      <Access admin={admin} data={{ client, grants, apis, issuer }} error={x.grantError} path={path} />
      {client.is_system ? null : (
        <Permitted admin={admin} needs={CLIENTS_DELETE} to="Deleting this application">
          <form method="get" action={`${path}/delete`}>
            <button type="submit" class="secondary">
              Delete this application…
            </button>
          </form>
        </Permitted>
      )}
    </>
  );
  const frame = { title: client.name, admin, section: '/console/applications', children };
  return consolePage(c, x.flash ? { ...frame, flash: x.flash } : frame, status);
}

type Show = (error: ApiError) => Response | Promise<Response>;
/**
 * Runs an API write; a 400 or 409, or a 403 (a permission taken away since the page was shown),
 * shows the page again with the API's message.
 */
export async function orShow(write: () => Promise<Response>, show: Show) {
  try {
    return await write();
  } catch (err) {
    if (err instanceof ApiError && [400, 403, 409].includes(err.status)) return show(err);
    throw err;
  }
}
