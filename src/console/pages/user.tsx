import type { Context } from 'hono';
import type { Child } from 'hono/jsx';
import { Csrf, consolePage, FieldsForm, FormError, mayWrite, NeedsPermission, Permitted } from '../layout.js';
import { ApiError, type ManagementCalls } from '../management.js';
import type { Admin } from '../session.js';
import { LogTable, type LogView } from './logs.js';
import { Button, Choose, Field, type Fields, NEEDS, option, type Refusal, Table } from './user-forms.js';

/** The profile claims the console edits (besides email and email_verified). */
export const CLAIMS = ['name', 'given_name', 'family_name', 'nickname', 'picture'] as const;
type Claims = Partial<Record<(typeof CLAIMS)[number], string>>;
/** A user as the Management API returns it (the fields the console shows). */
export type UserView = Claims & { user_id: string; email: string; email_verified: boolean; blocked: boolean };
type Dated = { created_at: string };
/** When and from where the user last signed in, and how often (absent before the first time). */
export type SignIns = { logins_count?: number; last_login?: string; last_ip?: string };
type RoleView = { id: string; name: string; description: string };
type Source = { source_name: string; source_type: 'DIRECT' | 'ROLE' };
type PermissionView = { resource_server_identifier: string; permission_name: string; sources: Source[] };
type ApiView = { identifier: string; name: string; scopes: { value: string }[] };
type Device = { initial_ip?: string; initial_user_agent?: string };
type SessionView = Dated & { id: string; last_interacted_at: string; device: Device };
type GrantView = { id: string; clientID: string; audience: string; scope: string[] };
type Named = { resource_server_name: string };
/** What the page shows besides the user: a refused write (with its status) or a message. */
type Shown = { problem?: Problem; status?: number; flash?: string | undefined };

/** A refused write to show again: which form, the API's message, what was typed. */
export type Problem = { form: Form; error: Refusal; values: URLSearchParams };
type Form = 'profile' | 'password' | 'access' | 'roles' | 'permissions';

export const enc = encodeURIComponent;
export const userPath = (id: string) => `/console/users/${enc(id)}`;
export const when = (iso: string) => iso.replace('T', ' ').slice(0, 19);
export const shownName = (u: UserView) => u.name ?? u.email;
/** "last signed in …" with where from and how often, or "never signed in". */
export const lastSignIn = (u: SignIns) =>
  u.last_login === undefined
    ? 'never signed in'
    : `last signed in ${when(u.last_login)}${u.last_ip ? ` from ${u.last_ip}` : ''} (${u.logins_count} ${u.logins_count === 1 ? 'time' : 'times'} in all)`;

/** A section the admin's token may not read (403) says so instead of failing the page. */
const may = <T,>(p: Promise<T[]>) =>
  p.catch((e) => (e instanceof ApiError && e.status === 403 ? e : Promise.reject(e)));
const all = <T,>(v: T[] | ApiError): T[] => (v instanceof ApiError ? [] : v);
const rows = <T,>(v: T[] | ApiError, row: (x: T) => Child[]) => (v instanceof ApiError ? v : v.map(row));

/** The names of the applications of these consents (the id when it cannot be read). */
async function clientNames(api: ManagementCalls, grants: GrantView[]) {
  const ids = [...new Set(grants.map((g) => g.clientID))];
  const name = (id: string) => api.get<{ name: string }>(`/clients/${enc(id)}`).catch(() => ({ name: id }));
  return new Map(await Promise.all(ids.map(async (id) => [id, (await name(id)).name] as const)));
}

function Profile(props: { admin: Admin; user: UserView; problem?: Problem | undefined }) {
  const { user, problem: p } = props;
  const v = (k: keyof UserView) => (p ? (p.values.get(k) ?? '') : String(user[k] ?? ''));
  const verified = p ? p.values.has('email_verified') : user.email_verified;
  const verifiedWas = p ? (p.values.get('email_verified_was') ?? '') : String(user.email_verified);
  const field = (label: string, name: keyof Claims | 'email', type = 'text') => (
    <Field {...{ label, name, type }} value={v(name)} error={p?.error} required={name === 'email'} />
  );
  const fields = (
    <>
      <div class="row">
        {field('Name', 'name')}
        {field('Nickname', 'nickname')}
        {field('Given name', 'given_name')}
        {field('Family name', 'family_name')}
      </div>
      {field('Picture URL', 'picture', 'url')}
      {field('Email', 'email', 'email')}
      <input type="hidden" name="email_verified_was" value={verifiedWas} />
      <label>
        <input type="checkbox" name="email_verified" value="true" checked={verified} /> Email verified
      </label>
    </>
  );
  return (
    <>
      <FormError error={p?.error} fields={[...CLAIMS, 'email']} />
      <FieldsForm
        admin={props.admin}
        needs={NEEDS.update}
        to="Changing the profile"
        kept={p !== undefined}
        action={userPath(user.user_id)}
        button="Save profile"
      >
        {fields}
      </FieldsForm>
    </>
  );
}

/** GET /console/users/{id}: everything about one person, each section with its own forms. */
export async function userDetail(c: Context, admin: Admin, id: string, shown: Shown = {}) {
  const { problem, status = 200 } = shown;
  const { api } = admin;
  const path = `/users/${enc(id)}`;
  const base = userPath(id);
  const user = await api.get<UserView & Dated & SignIns>(path);
  const [held, roles, permissions, apis, sessions, grants, events] = await Promise.all([
    may(api.all<RoleView>(`${path}/roles`)),
    may(api.all<RoleView>('/roles')),
    may(api.all<PermissionView & Named>(`${path}/permissions`)),
    may(api.all<ApiView>('/resource-servers')),
    may(api.get<{ sessions: SessionView[] }>(`${path}/sessions`).then((s) => s.sessions)),
    may(api.all<GrantView>(`/grants?user_id=${enc(id)}`)),
    may(api.get<LogView[]>(`${path}/logs?per_page=20`)),
  ]);
  const names = await clientNames(api, all(grants));
  const at = (form: Problem['form']) => (problem?.form === form ? problem : undefined);
  const pw = at('password')?.error;
  const act = (rest: string, label: string, fields?: Fields, name?: string) => (
    <Button admin={admin} action={`${base}${rest}`} label={label} fields={fields} name={name} />
  );
  const heldRoles = new Set(all(held).map((r) => r.id));
  const offer = all(roles).filter((r) => !heldRoles.has(r.id));
  const direct = (p: PermissionView) => p.sources.some((s) => s.source_type === 'DIRECT');
  const ref = (aud: string, scope: string) => JSON.stringify([aud, scope]);
  const key = (p: PermissionView) => ref(p.resource_server_identifier, p.permission_name);
  const heldDirect = new Set(all(permissions).filter(direct).map(key));
  const removeName = (p: PermissionView & Named) => `Remove ${p.permission_name} (${p.resource_server_name})`;
  const source = (s: Source) => (s.source_type === 'DIRECT' ? 'Direct' : `Role: ${s.source_name}`);
  const allowed = (needs: readonly string[]) => mayWrite(admin, needs);
  /** A table's Action column, for an admin who may do what its buttons do. */
  const action = (needs: readonly string[], cell: () => Child) => (allowed(needs) ? [cell()] : []);
  const head = (needs: readonly string[], ...names: string[]) => [
    ...names,
    ...(allowed(needs) ? ['Action'] : []),
  ];
  /** One note under a table whose buttons the admin may not use (none when it has no rows). */
  const note = <T,>(v: T[] | ApiError, needs: readonly string[], to: string) =>
    all(v).length === 0 || allowed(needs) ? null : <NeedsPermission to={to} needs={needs} />;
  return consolePage(
    c,
    {
      title: shownName(user),
      admin,
      section: '/console/users',
      flash: shown.flash,
      children: (
        <>
          <h1>{shownName(user)}</h1>
          <p>
            {user.email} · <code>{user.user_id}</code> · created {when(user.created_at)} · {lastSignIn(user)}
            {user.blocked ? <strong> · Blocked</strong> : null}
          </p>
          {user.picture ? <img src={user.picture} alt="" width="64" height="64" /> : null}
          <section id="profile">
            <h2>Profile</h2>
            <Profile admin={admin} user={user} problem={at('profile')} />
          </section>
          <section id="password" class="row">
            <div>
              <h2>Password</h2>
              <FormError error={pw} fields={['password']} />
              <Permitted admin={admin} needs={NEEDS.update} to="Setting a password" kept={pw !== undefined}>
                <form method="post" action={`${base}/password`}>
                  <Csrf admin={admin} />
                  <Field label="New password" name="password" type="password" error={pw} required />
                  <button type="submit">Set password</button>
                </form>
              </Permitted>
            </div>
            <div>
              <h2>Access</h2>
              <FormError error={at('access')?.error} fields={[]} />
              <p>{user.blocked ? 'Blocked: they cannot sign in.' : 'Active: they can sign in.'}</p>
              <Permitted
                admin={admin}
                needs={NEEDS.update}
                to={user.blocked ? 'Unblocking them' : 'Blocking them'}
              >
                {user.blocked ? (
                  act('/unblock', 'Unblock')
                ) : (
                  <Button action={`${base}/block`} label="Block…" />
                )}{' '}
              </Permitted>
              <Permitted admin={admin} needs={NEEDS.delete} to="Deleting this user">
                <Button action={`${base}/delete`} label="Delete user…" />
              </Permitted>
            </div>
          </section>
          <section id="roles">
            <h2>Roles</h2>
            <Table
              head={head(NEEDS.takeRole, 'Role', 'Description')}
              empty="No roles."
              rows={rows(held, (r) => [
                <a href={`/console/roles/${enc(r.id)}`}>{r.name}</a>,
                r.description,
                ...action(NEEDS.takeRole, () =>
                  act('/roles/remove', 'Remove', { role: r.id }, `Remove the role ${r.name}`),
                ),
              ])}
            />
            {note(held, NEEDS.takeRole, 'Removing a role')}
            <FormError error={at('roles')?.error} fields={[]} />
            {offer.length === 0 ? null : (
              <Permitted admin={admin} needs={NEEDS.giveRole} to="Assigning a role">
                <Choose admin={admin} action={`${base}/roles`} label="Assign role" name="role">
                  {offer.map((r) => option(r.id, r.name))}
                </Choose>
              </Permitted>
            )}
          </section>
          <section id="permissions">
            <h2>Permissions</h2>
            <Table
              head={head(NEEDS.update, 'API', 'Permission', 'From')}
              empty="No permissions."
              rows={rows(permissions, (p) => [
                p.resource_server_name,
                <code>{p.permission_name}</code>,
                p.sources.map(source).join(', '),
                ...action(NEEDS.update, () =>
                  direct(p)
                    ? act('/permissions/remove', 'Remove', { permission: key(p) }, removeName(p))
                    : '',
                ),
              ])}
            />
            <FormError error={at('permissions')?.error} fields={[]} />
            {all(apis).length === 0 ? (
              note(permissions, NEEDS.update, 'Removing a permission')
            ) : (
              <Permitted admin={admin} needs={NEEDS.update} to="Adding or removing a permission">
                <Choose admin={admin} action={`${base}/permissions`} label="Add permission" name="permission">
                  {all(apis).map((a) => (
                    <optgroup label={a.name}>
                      {a.scopes
                        .filter((s) => !heldDirect.has(ref(a.identifier, s.value)))
                        .map((s) => option(ref(a.identifier, s.value), `${a.name}: ${s.value}`))}
                    </optgroup>
                  ))}
                </Choose>
              </Permitted>
            )}
          </section>
          <section id="sessions">
            <h2>Sessions</h2>
            <Table
              head={head(NEEDS.sessions, 'Started', 'Last seen', 'IP', 'User agent')}
              empty="No active sessions."
              rows={rows(sessions, (s) => [
                when(s.created_at),
                when(s.last_interacted_at),
                s.device.initial_ip ?? '',
                s.device.initial_user_agent ?? '',
                ...action(NEEDS.sessions, () => act(`/sessions/${enc(s.id)}/end`, 'Sign out')),
              ])}
            />
            {all(sessions).length > 0 ? (
              <Permitted admin={admin} needs={NEEDS.sessions} to="Signing them out">
                <Button action={`${base}/sign-out`} label="Sign out everywhere…" />
              </Permitted>
            ) : null}
          </section>
          <section id="applications">
            <h2>Connected applications</h2>
            <Table
              head={head(NEEDS.consents, 'Application', 'API', 'Scopes')}
              empty="No consents."
              rows={rows(grants, (g) => [
                names.get(g.clientID) ?? g.clientID,
                g.audience || <span class="muted">(sign-in only)</span>,
                g.scope.join(' '),
                ...action(NEEDS.consents, () => act(`/grants/${enc(g.id)}/revoke`, 'Revoke')),
              ])}
            />
            {note(grants, NEEDS.consents, 'Revoking a consent')}
          </section>
          <section id="logs">
            <h2>Latest events</h2>
            {events instanceof ApiError ? (
              <p class="muted">{events.message}</p>
            ) : (
              <LogTable events={events} />
            )}
            <a href={`/console/logs?user=${enc(user.user_id)}`}>All of this user's events</a>
          </section>
        </>
      ),
    },
    status,
  );
}
