import type { Child } from 'hono/jsx';
import { endpointUrl } from '../../protocol/issuer.js';
import { Csrf, FieldError, FieldsForm, FormError, mayWrite, type Needs, Permitted } from '../layout.js';
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
  token_lifetime_for_web: number;
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

/** What the Management API asks of each write of an API's pages. */
export const APIS_CREATE = ['create:resource_servers'];
export const APIS_UPDATE = ['update:resource_servers'];
export const APIS_DELETE = ['delete:resource_servers'];
/** Saving machine-to-machine access creates, changes or removes client grants: any one will do (the API refuses the others). */
export const GRANTS_WRITE = ['create:client_grants', 'update:client_grants', 'delete:client_grants'];

const TABS = [
  ['', 'Settings'],
  ['/permissions', 'Permissions'],
  ['/applications', 'Machine-to-machine access'],
  ['/test', 'Test'],
  ['/delete', 'Delete'],
];

/** The heading of an API's pages and the links to its tabs (Delete for an admin who may). */
export function ApiHeader(props: { admin: Admin; api: ResourceServer; tab: string; children: Child }) {
  const may = mayWrite(props.admin, APIS_DELETE);
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
          {TABS.filter(([path]) => path !== '/delete' || may).map(([path, label]) => (
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

/** The API's permissions (scopes), each with a link to remove it, and a form to add one. */
export function PermissionsEditor(props: TabProps) {
  const { api, error, form } = props;
  const remove = (value: string) => `${apiPath(api)}/permissions/remove?value=${encodeURIComponent(value)}`;
  const may = mayWrite(props.admin, APIS_UPDATE);
  return (
    <>
      <ul>
        {api.scopes.map((s) => (
          <li>
            <code>{s.value}</code> {s.description}{' '}
            {api.is_system || !may ? null : <a href={remove(s.value)}>Remove {s.value}</a>}
          </li>
        ))}
      </ul>
      {api.is_system ? (
        <p class="muted">A system API: its permissions cannot be changed.</p>
      ) : (
        <Permitted
          admin={props.admin}
          needs={APIS_UPDATE}
          to="Adding or removing a permission"
          kept={form !== undefined}
        >
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
        </Permitted>
      )}
    </>
  );
}

/** Every m2m application: authorized or not, and for which permissions; saved in one form. */
export function AccessForm(props: TabProps & { apps: M2mAccess[] }) {
  const { api, apps } = props;
  if (apps.length === 0) return <p>There is no machine-to-machine application yet.</p>;
  const fields = apps.map((app) => (
    <fieldset>
      <legend>
        <strong>{app.name}</strong> <code>{app.client_id}</code>
      </legend>
      <input type="hidden" name="apps" value={app.client_id} />
      <label>
        <input type="checkbox" name={`authorized:${app.client_id}`} checked={app.scope !== null} /> Authorized
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
  ));
  return (
    <>
      <FormError error={props.error} fields={[]} />
      <FieldsForm
        admin={props.admin}
        needs={GRANTS_WRITE}
        to="Changing machine-to-machine access"
        kept={props.form !== undefined}
        action={`${apiPath(api)}/applications`}
        button="Save access"
      >
        {fields}
      </FieldsForm>
    </>
  );
}

/**
 * A confirmation step: what will happen, and the one button that does it (only for an admin
 * holding what it `needs`; anyone else is told which permission that is).
 */
export function Confirm(props: {
  admin: Admin;
  action: string;
  button: string;
  back: string;
  needs: Needs;
  to: string;
  children: Child;
}) {
  return (
    <article>
      <Permitted admin={props.admin} needs={props.needs} to={props.to}>
        <p>{props.children}</p>
        <form method="post" action={props.action}>
          <Csrf admin={props.admin} />
          <button type="submit" class="contrast">
            {props.button}
          </button>{' '}
          <a href={props.back}>Cancel</a>
        </form>
      </Permitted>
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
