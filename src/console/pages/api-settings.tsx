/** An API's settings tab in the console: the form, and the Management API PATCH it makes. */
import type { Child } from 'hono/jsx';
import { FieldError, FieldsForm, FormError, numberField } from '../layout.js';
import { APIS_UPDATE, apiPath, type ResourceServer, type TabProps } from './api.js';

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
    token_lifetime_for_web: String(api.token_lifetime_for_web),
    token_lifetime_for_web_was: String(api.token_lifetime_for_web),
    signing_alg: api.signing_alg,
    token_dialect: api.token_dialect,
    user_policy: api.subject_type_authorization.user.policy,
    ...(api.allow_offline_access ? { allow_offline_access: 'on' } : {}),
    ...(api.skip_consent_for_verifiable_first_party_clients ? { skip_consent: 'on' } : {}),
    ...(api.enforce_policies ? { enforce_policies: 'on' } : {}),
  });

/**
 * The browser flows' lifetime when the admin changed it from what the form showed (sent along
 * as `token_lifetime_for_web_was`): left alone, it keeps following the configured default, or the
 * token lifetime when that is lowered below it; emptied, it goes back to the default (null).
 */
function webLifetimePatch(form: URLSearchParams): { token_lifetime_for_web?: unknown } {
  const typed = (form.get('token_lifetime_for_web') ?? '').trim();
  if (!form.has('token_lifetime_for_web') || typed === form.get('token_lifetime_for_web_was')) return {};
  return { token_lifetime_for_web: typed === '' ? null : numberField(form, 'token_lifetime_for_web') };
}

/** The PATCH body of a settings form; the name only when it changed (a system API keeps its own). */
export function settingsPatch(form: URLSearchParams, api: ResourceServer): Record<string, unknown> {
  const name = form.get('name') ?? '';
  return {
    ...(name !== api.name ? { name } : {}),
    token_lifetime: numberField(form, 'token_lifetime'),
    ...webLifetimePatch(form),
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
  const fields = (
    <>
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
      <label for="token_lifetime_for_web">
        Token lifetime for implicit and hybrid flows (seconds, at most the token lifetime)
      </label>
      <input
        id="token_lifetime_for_web"
        name="token_lifetime_for_web"
        inputmode="numeric"
        value={v.get('token_lifetime_for_web') ?? ''}
        aria-describedby="token_lifetime_for_web-hint"
      />
      <input
        type="hidden"
        name="token_lifetime_for_web_was"
        value={v.get('token_lifetime_for_web_was') ?? ''}
      />
      <small id="token_lifetime_for_web-hint">
        Access tokens returned by /authorize. Empty: the server's default. The code flow with PKCE uses the
        token lifetime.
      </small>
      <FieldError error={error} name="token_lifetime_for_web" />
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
    </>
  );
  return (
    <>
      <FormError error={error} fields={['name', 'token_lifetime', 'token_lifetime_for_web']} />
      <FieldsForm
        admin={props.admin}
        needs={APIS_UPDATE}
        to="Changing these settings"
        kept={props.form !== undefined}
        action={apiPath(api)}
        button="Save settings"
      >
        {fields}
      </FieldsForm>
    </>
  );
}
