import type { Child } from 'hono/jsx';
import { endpointUrl } from '../../protocol/issuer.js';
import { Csrf, FieldError, FormError } from '../layout.js';
import type { Admin } from '../session.js';

/** An API (resource server) as the Management API returns it. */
export interface ResourceServer {
  id: string;
  identifier: string;
  name: string;
  is_system: boolean;
  scopes: { value: string; description: string }[];
  signing_alg: string;
  token_lifetime: number;
  token_dialect: string;
  enforce_policies: boolean;
  subject_type_authorization: { user: { policy: string }; client: { policy: string } };
  allow_offline_access: boolean;
  skip_consent_for_verifiable_first_party_clients: boolean;
}

/** What the Management API refused, and the field it named. */
export type Problem = { field?: string | undefined; message: string };

/** What a tab of an API is shown with: the API, and after a refusal the form as posted. */
export type TabProps = { admin: Admin; api: ResourceServer; form?: URLSearchParams; error?: Problem };

/** A machine-to-machine application and the API's scopes granted to it (null: not authorized). */
export type M2mAccess = { client_id: string; name: string; scope: string[] | null };

export const apiPath = (api: { id: string }) => `/console/apis/${encodeURIComponent(api.id)}`;

const TABS = [
  ['', 'Settings'],
  ['/permissions', 'Permissions'],
  ['/applications', 'Machine-to-machine access'],
  ['/test', 'Test'],
  ['/delete', 'Delete'],
];

/** The heading of an API's pages and the links to its tabs. */
export function ApiHeader(props: { api: ResourceServer; tab: string; children: Child }) {
  const { api } = props;
  return (
    <>
      <a href="/console/apis">All APIs</a>
      <h1>
        {api.name} {api.is_system ? <mark>System API</mark> : null}
      </h1>
      <p>
        Identifier (audience): <code>{api.identifier}</code>
      </p>
      <nav aria-label="API sections">
        <ul>
          {TABS.map(([path, label]) => (
            <li>
              <a href={`${apiPath(api)}${path}`} {...(props.tab === path ? { 'aria-current': 'page' } : {})}>
                {label}
              </a>
            </li>
          ))}
        </ul>
      </nav>
      {props.children}
    </>
  );
}

const DIALECTS: [string, string][] = [
  ['rfc9068_profile', 'rfc9068_profile: an RFC 9068 JWT, the granted scopes in scope (default)'],
  ['rfc9068_profile_authz', 'rfc9068_profile_authz: the same, plus a permissions claim'],
  ['access_token', "access_token: Auth0's name; Sesame issues the same RFC 9068 JWT"],
  ['access_token_authz', 'access_token_authz: the same, plus a permissions claim'],
];
const USER_POLICIES: [string, string][] = [
  ['allow_all', 'allow_all: every application may get tokens for people'],
  ['deny_all', 'deny_all: no application may get tokens for people'],
  ['require_client_grant', 'require_client_grant: only applications with a user client grant'],
];
const ALGS: [string, string][] = ['ES256', 'RS256', 'PS256', 'EdDSA'].map((a) => [a, a]);

/** The settings form's fields for `api`. */
const settingsValues = (api: ResourceServer) =>
  new URLSearchParams({
    name: api.name,
    token_lifetime: String(api.token_lifetime),
    signing_alg: api.signing_alg,
    token_dialect: api.token_dialect,
    user_policy: api.subject_type_authorization.user.policy,
    ...(api.allow_offline_access ? { allow_offline_access: 'on' } : {}),
    ...(api.skip_consent_for_verifiable_first_party_clients ? { skip_consent: 'on' } : {}),
    ...(api.enforce_policies ? { enforce_policies: 'on' } : {}),
  });

/** The PATCH body of a settings form; the name only when it changed (a system API keeps its own). */
export function settingsPatch(form: URLSearchParams, api: ResourceServer): Record<string, unknown> {
  const name = form.get('name') ?? '';
  const lifetime = (form.get('token_lifetime') ?? '').trim();
  return {
    ...(name !== api.name ? { name } : {}),
    token_lifetime: /^\d+$/.test(lifetime) ? Number(lifetime) : lifetime,
    signing_alg: form.get('signing_alg') ?? '',
    allow_offline_access: form.has('allow_offline_access'),
    skip_consent_for_verifiable_first_party_clients: form.has('skip_consent'),
    enforce_policies: form.has('enforce_policies'),
    token_dialect: form.get('token_dialect') ?? '',
    subject_type_authorization: { user: { policy: form.get('user_policy') ?? '' } },
  };
}

/** A labelled select; `options` are [value, label]. */
export function Select(props: { name: string; label: string; value: string; options: [string, string][] }) {
  return (
    <>
      <label for={props.name}>{props.label}</label>
      <select id={props.name} name={props.name}>
        {props.options.map(([value, label]) => (
          <option value={value} selected={value === props.value}>
            {label}
          </option>
        ))}
      </select>
    </>
  );
}

function Check(props: { name: string; values: URLSearchParams; disabled?: boolean; children: Child }) {
  const { name, values, disabled } = props;
  return (
    <label>
      <input type="checkbox" name={name} checked={values.has(name)} disabled={disabled} /> {props.children}
    </label>
  );
}

/** Settings: name, token lifetime and algorithm, offline access, consent, and the RBAC switches. */
export function SettingsForm(props: TabProps) {
  const { api, error } = props;
  const v = props.form ?? settingsValues(api);
  return (
    <form method="post" action={apiPath(api)}>
      <Csrf admin={props.admin} />
      <FormError error={error} fields={['name', 'token_lifetime']} />
      <label for="name">Name</label>
      <input id="name" name="name" required value={v.get('name') ?? ''} readonly={api.is_system} />
      {api.is_system ? <small>A system API: its name and permissions cannot be changed.</small> : null}
      <FieldError error={error} name="name" />
      <label for="token_lifetime">Token lifetime (seconds, 60 to 2592000)</label>
      <input
        id="token_lifetime"
        name="token_lifetime"
        inputmode="numeric"
        value={v.get('token_lifetime') ?? ''}
      />
      <FieldError error={error} name="token_lifetime" />
      <Select
        name="signing_alg"
        label="Signing algorithm"
        value={v.get('signing_alg') ?? ''}
        options={ALGS}
      />
      <Check name="allow_offline_access" values={v}>
        Allow offline access (refresh tokens)
      </Check>
      <Check name="skip_consent" values={v}>
        Skip consent for first-party applications
      </Check>
      <fieldset>
        <legend>Role-based access control</legend>
        <Check name="enforce_policies" values={v} disabled={api.is_system}>
          Enforce policies: people get only the requested permissions that they or their roles hold
        </Check>
        {api.is_system ? <input type="hidden" name="enforce_policies" value="on" /> : null}
        <Select
          name="token_dialect"
          label="Token dialect"
          value={v.get('token_dialect') ?? ''}
          options={DIALECTS}
        />
        <small>A permissions claim lists all the caller holds for this API, whatever it asked for.</small>
        <Select
          name="user_policy"
          label="Who may get tokens for people"
          value={v.get('user_policy') ?? ''}
          options={api.is_system ? USER_POLICIES.filter(([p]) => p !== 'allow_all') : USER_POLICIES}
        />
        {api.is_system ? (
          <small>Applications other than the console need a client grant for people.</small>
        ) : null}
      </fieldset>
      <button type="submit">Save settings</button>
    </form>
  );
}

/** The API's permissions (scopes), each with a link to remove it, and a form to add one. */
export function PermissionsEditor(props: TabProps) {
  const { api, error, form } = props;
  const remove = (value: string) => `${apiPath(api)}/permissions/remove?value=${encodeURIComponent(value)}`;
  return (
    <>
      <ul>
        {api.scopes.map((s) => (
          <li>
            <code>{s.value}</code> {s.description}{' '}
            {api.is_system ? null : <a href={remove(s.value)}>Remove {s.value}</a>}
          </li>
        ))}
      </ul>
      {api.is_system ? (
        <p class="muted">A system API: its permissions cannot be changed.</p>
      ) : (
        <form method="post" action={`${apiPath(api)}/permissions`}>
          <h2>Add a permission</h2>
          <Csrf admin={props.admin} />
          <FormError error={error} fields={['scopes']} />
          <label for="value">Permission (e.g. read:orders)</label>
          <input id="value" name="value" required value={form?.get('value') ?? ''} />
          <FieldError error={error} name="scopes" />
          <label for="description">Description</label>
          <input id="description" name="description" value={form?.get('description') ?? ''} />
          <button type="submit">Add permission</button>
        </form>
      )}
    </>
  );
}

/** Every m2m application: authorized or not, and for which permissions; saved in one form. */
export function AccessForm(props: TabProps & { apps: M2mAccess[] }) {
  const { api, apps } = props;
  if (apps.length === 0) return <p>There is no machine-to-machine application yet.</p>;
  return (
    <form method="post" action={`${apiPath(api)}/applications`}>
      <Csrf admin={props.admin} />
      <FormError error={props.error} fields={[]} />
      {apps.map((app) => (
        <fieldset>
          <legend>
            <strong>{app.name}</strong> <code>{app.client_id}</code>
          </legend>
          <input type="hidden" name="apps" value={app.client_id} />
          <label>
            <input type="checkbox" name={`authorized:${app.client_id}`} checked={app.scope !== null} />{' '}
            Authorized
          </label>
          {api.scopes.map((s) => (
            <label>
              <input
                type="checkbox"
                name={`scope:${app.client_id}`}
                value={s.value}
                checked={app.scope?.includes(s.value) ?? false}
              />{' '}
              {s.value} <span class="muted">{s.description}</span>
            </label>
          ))}
        </fieldset>
      ))}
      <button type="submit">Save access</button>
    </form>
  );
}

/** A confirmation step: what will happen, and the one button that does it. */
export function Confirm(props: {
  admin: Admin;
  action: string;
  button: string;
  back: string;
  children: Child;
}) {
  return (
    <article>
      <p>{props.children}</p>
      <form method="post" action={props.action}>
        <Csrf admin={props.admin} />
        <button type="submit" class="contrast">
          {props.button}
        </button>{' '}
        <a href={props.back}>Cancel</a>
      </form>
    </article>
  );
}

const sh = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;

/** A curl line for a client-credentials token, the secret left to the shell's $CLIENT_SECRET. */
export const curlLine = (issuer: string, clientId: string, audience: string) =>
  `curl -s -u ${sh(clientId)}:"$CLIENT_SECRET" -d grant_type=client_credentials --data-urlencode audience=${sh(audience)} ${sh(endpointUrl(issuer, '/oauth/token'))}`;

/** The create form's scopes: one a line, the scope then its description (`read:orders Read orders`). */
export const scopesOf = (text: string) =>
  text
    .split('\n')
    .map((line) => line.trim().split(/\s+/))
    .filter(([value]) => value)
    .map(([value, ...rest]) => (rest.length ? { value, description: rest.join(' ') } : { value }));
