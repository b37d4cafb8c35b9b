import type { Context } from 'hono';
import type { Child } from 'hono/jsx';
import { createLocalJWKSet, decodeJwt, decodeProtectedHeader, type JSONWebKeySet, jwtVerify } from 'jose';
import { clientIp } from '../../http/client-ip.js';
import { issuerBase } from '../../protocol/issuer.js';
import { Csrf, consolePage, FieldError, FormError, Permitted } from '../layout.js';
import { ApiError, type ServerFetch } from '../management.js';
import { type ConsoleRouter, seeOther } from '../router.js';
import type { Admin } from '../session.js';
import {
  AccessForm,
  APIS_CREATE,
  APIS_DELETE,
  APIS_UPDATE,
  ApiHeader,
  apiPath,
  Confirm,
  curlLine,
  type M2mAccess,
  PermissionsEditor,
  type Problem,
  type ResourceServer,
  scopesOf,
  type TabProps,
} from './api.js';
import { Select, SettingsForm, settingsPatch } from './api-settings.js';

/** The API's refusal (of one of `statuses`) as a problem to show with its form; else rethrown. */
function refusal(err: unknown, ...statuses: number[]): Problem & { status: number } {
  if (!(err instanceof ApiError) || !statuses.includes(err.status)) throw err;
  return { status: err.status, message: err.message, field: err.field };
}

function ApiList(props: { admin: Admin; apis: ResourceServer[]; typed: URLSearchParams; error?: Problem }) {
  const { typed, error } = props;
  return (
    <>
      <h1>APIs</h1>
      <ul>
        {props.apis.map((api) => (
          <li>
            <a href={apiPath(api)}>{api.name}</a> <code>{api.identifier}</code>{' '}
            {api.is_system ? <mark>System</mark> : null}
          </li>
        ))}
      </ul>
      <h2>Create API</h2>
      <Permitted admin={props.admin} needs={APIS_CREATE} to="Creating an API" kept={error !== undefined}>
        <form method="post" action="/console/apis">
          <Csrf admin={props.admin} />
          <FormError error={error} fields={['name', 'identifier', 'scopes']} />
          <label for="name">Name</label>
          <input id="name" name="name" required value={typed.get('name') ?? ''} />
          <FieldError error={error} name="name" />
          <label for="identifier">
            Identifier: an absolute URI, the audience of its tokens (cannot change)
          </label>
          <input id="identifier" name="identifier" required value={typed.get('identifier') ?? ''} />
          <FieldError error={error} name="identifier" />
          <label for="scopes">Permissions: one a line, the scope then its description</label>
          <textarea id="scopes" name="scopes" rows={3} placeholder="read:orders Read orders">
            {typed.get('scopes') ?? ''}
          </textarea>
          <FieldError error={error} name="scopes" />
          <button type="submit">Create API</button>
        </form>
      </Permitted>
    </>
  );
}

/** What asking the token endpoint for a test token gave. */
export type TokenTest =
  | { ok: true; header: object; payload: object; verified: boolean; reason?: string }
  | { ok: false; error: string; description?: string | undefined };

/**
 * Asks Sesame's token endpoint (through `fetch`, in-process) for a client-credentials token for
 * `audience`, decodes it and verifies its signature with the issuer's JWKS. The secret is sent
 * once and kept nowhere.
 */
export async function testToken(
  fetch: ServerFetch,
  issuer: string,
  input: { clientId: string; clientSecret: string; audience: string },
  env?: unknown,
): Promise<TokenTest> {
  const base = issuerBase(issuer);
  const { clientId: client_id, clientSecret: client_secret, audience } = input;
  const body = new URLSearchParams({ grant_type: 'client_credentials', client_id, client_secret, audience });
  const headers = { 'content-type': 'application/x-www-form-urlencoded', 'user-agent': 'Sesame Console' };
  const res = await fetch(new Request(`${base}/oauth/token`, { method: 'POST', headers, body }), env);
  const answer = (await res.json().catch(() => ({}))) as Record<string, string | undefined>;
  const token = answer.access_token;
  if (res.status !== 200 || typeof token !== 'string')
    return { ok: false, error: answer.error ?? `HTTP ${res.status}`, description: answer.error_description };
  const decoded = { ok: true as const, header: decodeProtectedHeader(token), payload: decodeJwt(token) };
  try {
    const jwks = (await (await fetch(new Request(`${base}/.well-known/jwks.json`))).json()) as JSONWebKeySet;
    await jwtVerify(token, createLocalJWKSet(jwks), { issuer, audience });
    return { ...decoded, verified: true };
  } catch (err) {
    return { ...decoded, verified: false, reason: err instanceof Error ? err.message : String(err) };
  }
}

/** The Test tab: a curl line per authorized application; its secret typed in gets a token, decoded. */
function TestForm(props: TabProps & { apps: M2mAccess[]; issuer: string; result?: TokenTest | undefined }) {
  const { api, result: r } = props;
  const apps = props.apps.filter((a) => a.scope !== null);
  if (apps.length === 0) return <p>No machine-to-machine application is authorized for this API yet.</p>;
  const options = apps.map((a): [string, string] => [a.client_id, `${a.name} (${a.client_id})`]);
  const chosen = props.form?.get('client_id') ?? '';
  const failed =
    r && !r.ok ? `The token endpoint answered ${r.error}${r.description ? `: ${r.description}` : ''}` : '';
  return (
    <>
      <h2>From a shell</h2>
      {apps.map((a) => (
        <pre>{`# ${a.name.replace(/\s+/g, ' ')}\n${curlLine(props.issuer, a.client_id, api.identifier)}`}</pre>
      ))}
      <h2>From here</h2>
      <form method="post" action={`${apiPath(api)}/test`}>
        <Csrf admin={props.admin} />
        <Select name="client_id" label="Application" value={chosen} options={options} />
        <label for="client_secret">Its client secret (sent to the token endpoint once, never kept)</label>
        <input id="client_secret" name="client_secret" type="password" required autocomplete="off" />
        <button type="submit">Get a test token</button>
      </form>
      {failed ? (
        <p class="alert" role="alert">
          {failed}
        </p>
      ) : null}
      {r?.ok ? (
        <article>
          <p class={r.verified ? 'flash' : 'alert'} role="status">
            {r.verified
              ? 'Token issued: signature verified'
              : `Token issued; signature NOT verified: ${r.reason}`}
          </p>
          <h3>Header</h3>
          <pre>{JSON.stringify(r.header, null, 2)}</pre>
          <h3>Payload</h3>
          <pre>{JSON.stringify(r.payload, null, 2)}</pre>
        </article>
      ) : null}
    </>
  );
}

/**
 * /console/apis: the list and the create form; one API's settings, permissions, machine-to-machine
 * access, a test token, and deletion. Every read and write is a Management API call as the admin.
 */
export function apiPages(router: ConsoleRouter, fetch: ServerFetch, issuer: string): void {
  const at = (api: ResourceServer) => `/resource-servers/${encodeURIComponent(api.id)}`;
  type Refusal = Problem & { status: number };
  const list = async (c: Context, admin: Admin, typed = new URLSearchParams(), error?: Refusal) => {
    const apis = await admin.api.all<ResourceServer>('/resource-servers');
    const flash = c.req.query('deleted') === undefined ? undefined : 'The API was deleted.';
    const children = <ApiList admin={admin} apis={apis} typed={typed} error={error} />;
    return consolePage(c, { title: 'APIs', admin, section: '/console/apis', flash, children }, error?.status);
  };
  router.get('/apis', (c, admin) => list(c, admin));
  router.post('/apis', async (c, admin, form) => {
    const [name, identifier] = [form.get('name') ?? '', (form.get('identifier') ?? '').trim()];
    const scopes = scopesOf(form.get('scopes') ?? '');
    try {
      const api = await admin.api.post<ResourceServer>('/resource-servers', { name, identifier, scopes });
      return seeOther(c, apiPath(api));
    } catch (err) {
      return list(c, admin, form, refusal(err, 400, 403, 409));
    }
  });

  /** Every m2m application with the scopes its client grant for `api` holds. */
  const access = async (admin: Admin, api: ResourceServer) => {
    const q = `/client-grants?audience=${encodeURIComponent(api.identifier)}&subject_type=client`;
    const [apps, grants] = await Promise.all([
      admin.api.all<M2mAccess>('/clients?app_type=non_interactive'),
      admin.api.all<{ id: string; client_id: string; scope: string[] }>(q),
    ]);
    const byClient = new Map(grants.map((g) => [g.client_id, g]));
    return apps.map((a) => {
      const grant = byClient.get(a.client_id);
      return { ...a, grant, scope: grant?.scope ?? null };
    });
  };
  /** The applications as the m2m form asks for those it showed: the scopes checked, or null. */
  const asked = (api: ResourceServer, form: URLSearchParams, apps: Awaited<ReturnType<typeof access>>) =>
    apps.map((a) => {
      if (!form.getAll('apps').includes(a.client_id)) return a;
      const checked = form.getAll(`scope:${a.client_id}`);
      const scope = api.scopes.map((s) => s.value).filter((s) => checked.includes(s));
      return { ...a, scope: form.has(`authorized:${a.client_id}`) ? scope : null };
    });

  /** Each tab of an API: what it shows (after a refusal, with the form as posted). */
  const tabs: Record<string, (c: Context, p: TabProps) => Promise<Child>> = {
    '': async (_c, p) => <SettingsForm {...p} />,
    '/permissions': async (_c, p) => <PermissionsEditor {...p} />,
    '/permissions/remove': async (c, { admin, api }) => {
      const [value, back] = [c.req.query('value') ?? '', `${apiPath(api)}/permissions`];
      const action = `${back}/remove?value=${encodeURIComponent(value)}`;
      return (
        <Confirm
          admin={admin}
          action={action}
          button="Remove permission"
          back={back}
          needs={APIS_UPDATE}
          to="Removing a permission"
        >
          Remove the permission <code>{value}</code>? Every role and user holding it loses it.
        </Confirm>
      );
    },
    '/applications': async (_c, p) => {
      const apps = await access(p.admin, p.api);
      return <AccessForm {...p} apps={p.form ? asked(p.api, p.form, apps) : apps} />;
    },
    '/test': async (c, p) => {
      const [clientId, clientSecret] = [p.form?.get('client_id') ?? '', p.form?.get('client_secret') ?? ''];
      const input = { clientId, clientSecret, audience: p.api.identifier };
      const env = { incoming: { socket: { remoteAddress: clientIp(c) } } };
      const result = p.form ? await testToken(fetch, issuer, input, env) : undefined;
      return <TestForm {...p} apps={await access(p.admin, p.api)} issuer={issuer} result={result} />;
    },
    '/delete': async (_c, { admin, api }) =>
      api.is_system ? (
        <p>{api.name} is a system API: it cannot be deleted.</p>
      ) : (
        <Confirm
          admin={admin}
          action={`${apiPath(api)}/delete`}
          button="Delete API"
          back={apiPath(api)}
          needs={APIS_DELETE}
          to="Deleting this API"
        >
          Delete the API {api.name}? Its client grants go with it, and no new tokens can be issued for it.
        </Confirm>
      ),
  };
  const load = (c: Context, admin: Admin) =>
    admin.api.get<ResourceServer>(`/resource-servers/${encodeURIComponent(c.req.param('id') ?? '')}`);
  const show = async (c: Context, admin: Admin, tab: string, form?: URLSearchParams, error?: Refusal) => {
    const api = await load(c, admin);
    const body = await tabs[tab]!(c, { admin, api, form, error });
    const children = ApiHeader({ admin, api, tab: tab.replace('/remove', ''), children: body });
    const flash = c.req.query('saved') === undefined ? undefined : 'Saved.';
    return consolePage(
      c,
      { title: api.name, admin, section: '/console/apis', flash, children },
      error?.status,
    );
  };
  for (const tab of Object.keys(tabs)) router.get(`/apis/:id${tab}`, (c, admin) => show(c, admin, tab));
  router.post('/apis/:id/test', (c, admin, form) => show(c, admin, '/test', form));

  /** A form that writes, then goes back to its tab, or shows it again with the API's refusal. */
  const write = (
    tab: string,
    statuses: number[],
    change: (a: Admin, api: ResourceServer, f: URLSearchParams, c: Context) => Promise<unknown>,
  ) =>
    router.post(`/apis/:id${tab}`, async (c, admin, form) => {
      const api = await load(c, admin);
      try {
        await change(admin, api, form, c);
        return seeOther(c, `${apiPath(api)}${tab.replace('/remove', '')}?saved`);
      } catch (err) {
        return show(c, admin, tab, form, refusal(err, ...statuses));
      }
    });
  write('', [400, 403, 409], (admin, api, form) => admin.api.patch(at(api), settingsPatch(form, api)));
  write('/permissions', [400, 403, 409], (admin, api, form) => {
    const [value, description] = [(form.get('value') ?? '').trim(), (form.get('description') ?? '').trim()];
    const scope = description ? { value, description } : { value };
    return admin.api.patch(at(api), { scopes: [...api.scopes, scope] });
  });
  write('/permissions/remove', [], (admin, api, _form, c) =>
    admin.api.patch(at(api), { scopes: api.scopes.filter((s) => s.value !== c.req.query('value')) }),
  );
  write('/applications', [400, 403, 409], async (admin, api, form) => {
    for (const { client_id, grant, scope } of asked(api, form, await access(admin, api))) {
      if (scope && !grant)
        await admin.api.post('/client-grants', { client_id, audience: api.identifier, scope });
      else if (scope && grant && `${scope.sort()}` !== `${[...grant.scope].sort()}`)
        await admin.api.patch(`/client-grants/${encodeURIComponent(grant.id)}`, { scope });
      else if (!scope && grant) await admin.api.delete(`/client-grants/${encodeURIComponent(grant.id)}`);
    }
  });
  router.post('/apis/:id/delete', async (c, admin) => {
    await admin.api.delete(`/resource-servers/${encodeURIComponent(c.req.param('id') ?? '')}`);
    return seeOther(c, '/console/apis?deleted');
  });
}
