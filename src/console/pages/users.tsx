import type { Context } from 'hono';
import { Csrf, consolePage, FormError, pageOf } from '../layout.js';
import { ApiError } from '../management.js';
import { type ConsoleRouter, seeOther } from '../router.js';
import type { Admin } from '../session.js';
import {
  CLAIMS,
  enc,
  type Problem,
  type SignIns,
  shownName,
  type UserView,
  userDetail,
  userPath,
  when,
} from './user.js';
import { Field, Table } from './user-forms.js';

const PER_PAGE = 20;
const CONNECTION = 'Username-Password-Authentication';

/** The messages a redirect after a write may ask for (`?done=key`); nothing else is shown. */
const DONE: Record<string, string> = {
  created: 'User created.',
  profile: 'Profile saved.',
  password: 'Password set. Their sessions and tokens have ended.',
  blocked: 'User blocked. Their sessions and tokens have ended.',
  unblocked: 'User unblocked.',
  role: 'Role assigned.',
  unrole: 'Role removed.',
  permission: 'Permission added.',
  unpermission: 'Permission removed.',
  session: 'Session ended.',
  sessions: 'Signed out everywhere.',
  revoked: 'Consent revoked.',
  deleted: 'User deleted.',
};

/** The message a redirect asked for, if it is one of ours. */
const flashOf = (c: Context) => {
  const key = c.req.query('done') ?? '';
  return Object.hasOwn(DONE, key) ? DONE[key] : undefined;
};

/** Previous, the pages around this one (1-based on screen, 0-based in the URL), Next. */
function Pager(props: { q: string; page: number; pages: number }) {
  const { q, page, pages } = props;
  if (pages <= 1) return null;
  const href = (p: number) =>
    `/console/users?${new URLSearchParams({ ...(q ? { q } : {}), page: String(p) })}`;
  const link = (p: number, label: string) =>
    p >= 0 && p < pages ? <a href={href(p)}>{label}</a> : <span class="muted">{label}</span>;
  const near = [...Array(pages).keys()].filter((p) => p === 0 || p === pages - 1 || Math.abs(p - page) <= 2);
  return (
    <nav aria-label="Pages">
      <ul>
        <li>{link(page - 1, 'Previous')}</li>
        {near.map((p) => (
          <li>{p === page ? <strong aria-current="page">{p + 1}</strong> : link(p, String(p + 1))}</li>
        ))}
        <li>{link(page + 1, 'Next')}</li>
      </ul>
    </nav>
  );
}

/** GET /console/users (and a refused create, shown again with what was typed). */
async function listPage(c: Context, admin: Admin, create?: { values: URLSearchParams; error: ApiError }) {
  const q = (c.req.query('q') ?? '').trim();
  const page = pageOf(c);
  const query = new URLSearchParams({
    page: String(page),
    per_page: String(PER_PAGE),
    include_totals: 'true',
  });
  if (q) query.set('q', q);
  let found: { total: number; users: (UserView & SignIns & { created_at: string })[] } = {
    total: 0,
    users: [],
  };
  let searchError: string | undefined;
  try {
    found = await admin.api.get(`/users?${query}`);
  } catch (err) {
    if (!(err instanceof ApiError && err.status === 400)) throw err;
    searchError = err.message;
  }
  const pages = Math.max(1, Math.ceil(found.total / PER_PAGE));
  const e = create ? { field: create.error.field, message: create.error.message } : undefined;
  const typed = (k: string) => create?.values.get(k) ?? '';
  const summary = `${found.total} ${found.total === 1 ? 'user' : 'users'}${q ? ` matching “${q}”` : ''}`;
  return consolePage(
    c,
    {
      title: 'Users',
      admin,
      section: '/console/users',
      flash: create ? undefined : flashOf(c),
      children: (
        <>
          <h1>Users</h1>
          <form
            method="get"
            action="/console/users"
            class="row"
            aria-label="Search users"
            hx-get="/console/users"
            hx-trigger="input changed delay:300ms from:find input, submit"
            hx-target="#user-results"
            hx-select="#user-results"
            hx-swap="outerHTML"
            hx-push-url="true"
          >
            <label>
              Search (part of the email or name, or one term such as <code>email:"a@b.c"</code> or{' '}
              <code>last_login:[* TO 2026-01-01]</code>)
              <input type="search" name="q" value={q} />
            </label>
            <button type="submit">Search</button>
          </form>
          <div id="user-results" aria-live="polite">
            {searchError ? (
              <p class="alert" role="alert">
                {searchError}
              </p>
            ) : null}
            <p id="user-total">
              {summary}
              {found.total > 0 && page < pages ? ` · page ${page + 1} of ${pages}` : ''}
            </p>
            {found.total > 0 && page >= pages ? (
              <p>
                This page is past the last one:{' '}
                <a
                  href={`/console/users?${new URLSearchParams({ ...(q ? { q } : {}), page: String(pages - 1) })}`}
                >
                  go to page {pages}
                </a>
                .
              </p>
            ) : null}
            <Table
              head={['Name', 'Email', 'Status', 'Created', 'Last sign-in']}
              empty="No users."
              rows={found.users.map((u) => [
                <a href={userPath(u.user_id)}>{shownName(u)}</a>,
                u.email,
                u.blocked ? 'Blocked' : u.email_verified ? 'Verified' : 'Email not verified',
                when(u.created_at),
                u.last_login === undefined ? 'Never' : when(u.last_login),
              ])}
            />
            <Pager q={q} page={page} pages={pages} />
          </div>
          <section id="create">
            <h2>Create a user</h2>
            <form method="post" action="/console/users">
              <Csrf admin={admin} />
              <FormError error={e} fields={['email', 'name', 'password']} />
              <div class="row">
                <Field label="Email" name="email" type="email" value={typed('email')} error={e} required />
                <Field label="Name" name="name" value={typed('name')} error={e} />
                <Field label="Password" name="password" type="password" error={e} required />
              </div>
              <button type="submit">Create user</button>
            </form>
          </section>
        </>
      ),
    },
    create ? create.error.status : 200,
  );
}

/** An API refusal a form can show (a bad or conflicting value), or null. */
const refusal = (err: unknown) =>
  err instanceof ApiError && (err.status === 400 || err.status === 409) ? err : null;

/** `{permissions: [...]}` of a permission field (`["API identifier","scope"]`). */
function permissionsOf(form: URLSearchParams) {
  try {
    const [api, name] = JSON.parse(form.get('permission') ?? '') as unknown[];
    if (typeof api === 'string' && typeof name === 'string')
      return { permissions: [{ resource_server_identifier: api, permission_name: name }] };
  } catch {}
  return { permissions: [] };
}

type Run = (admin: Admin, path: string, form: URLSearchParams, c: Context) => Promise<unknown>;
/** A write of a user's page: the form a refusal shows in, the `done` message (and anchor), the call. */
interface Write {
  form: Problem['form'];
  done: string;
  run: Run;
  /** Asked on a page of its own first (a GET of the same path): title and what happens. */
  confirm?: { title: string; text: string };
}
const write = (form: Problem['form'], done: string, run: Run, confirm?: Write['confirm']): Write =>
  confirm ? { form, done, run, confirm } : { form, done, run };

const str = (form: URLSearchParams, name: string) => form.get(name) ?? '';
const param = (c: Context, name: string) => enc(c.req.param(name) ?? '');
const roles = (form: URLSearchParams) => ({ roles: [str(form, 'role')] });

function profileOf(form: URLSearchParams) {
  const body: Record<string, unknown> = { email: str(form, 'email') };
  // Sent when the box changed from what it showed (email_verified_was; sent when not said): a box
  // left as it was lets a changed email become unverified, as the Management API does.
  const verified = form.has('email_verified');
  const was = form.get('email_verified_was');
  if (was === null || was !== String(verified)) body.email_verified = verified;
  for (const k of CLAIMS) body[k] = form.get(k)?.trim() || null;
  return body;
}

/** The writes under /console/users/{id}, each one Management API call (`p` is /users/{id}). */
const WRITES: Record<string, Write> = {
  '': write('profile', 'profile', (a, p, f) => a.api.patch(p, profileOf(f))),
  '/password': write('password', 'password', (a, p, f) => a.api.patch(p, { password: str(f, 'password') })),
  '/unblock': write('access', 'unblocked', (a, p) => a.api.patch(p, { blocked: false })),
  '/block': write('access', 'blocked', (a, p) => a.api.patch(p, { blocked: true }), {
    title: 'Block user',
    text: 'They will not be able to sign in, and their sessions and tokens end now.',
  }),
  '/delete': write('access', 'deleted', (a, p) => a.api.delete(p), {
    title: 'Delete user',
    text: 'Their sessions, tokens and consents end with them. This cannot be undone.',
  }),
  '/sign-out': write('access', 'sessions#sessions', (a, p) => a.api.delete(`${p}/sessions`), {
    title: 'Sign out everywhere',
    text: 'Every session of this person ends; each application asks them to sign in again.',
  }),
  '/roles': write('roles', 'role#roles', (a, p, f) => a.api.post(`${p}/roles`, roles(f))),
  '/roles/remove': write('roles', 'unrole#roles', (a, p, f) => a.api.delete(`${p}/roles`, roles(f))),
  '/permissions': write('permissions', 'permission#permissions', (a, p, f) =>
    a.api.post(`${p}/permissions`, permissionsOf(f)),
  ),
  '/permissions/remove': write('permissions', 'unpermission#permissions', (a, p, f) =>
    a.api.delete(`${p}/permissions`, permissionsOf(f)),
  ),
  '/sessions/:sid/end': write('access', 'session#sessions', (a, _p, _f, c) =>
    a.api.delete(`/sessions/${param(c, 'sid')}`),
  ),
  '/grants/:gid/revoke': write('access', 'revoked#applications', (a, _p, _f, c) =>
    a.api.delete(`/grants/${param(c, 'gid')}`),
  ),
};

/** The page that asks before a destructive write; its button posts to the same path. */
async function confirmPage(c: Context, admin: Admin, confirm: NonNullable<Write['confirm']>) {
  const id = c.req.param('id') ?? '';
  const user = await admin.api.get<UserView>(`/users/${enc(id)}`);
  return consolePage(c, {
    title: confirm.title,
    admin,
    section: '/console/users',
    children: (
      <article>
        <h1>{`${confirm.title}: ${shownName(user)}`}</h1>
        <p>
          {user.email}. {confirm.text}
        </p>
        <form method="post" action={new URL(c.req.url).pathname}>
          <Csrf admin={admin} />
          <button type="submit" class="contrast">
            {confirm.title}
          </button>{' '}
          <a href={userPath(id)}>Cancel</a>
        </form>
      </article>
    ),
  });
}

/** /console/users and /console/users/{id}: search, create, and everything about one person. */
export function userPages(router: ConsoleRouter): void {
  router.get('/users', (c, admin) => listPage(c, admin));
  router.post('/users', async (c, admin, form) => {
    const name = form.get('name')?.trim();
    const body = { email: str(form, 'email'), password: str(form, 'password'), connection: CONNECTION };
    try {
      const user = await admin.api.post<UserView>('/users', { ...body, ...(name ? { name } : {}) });
      return seeOther(c, `${userPath(user.user_id)}?done=created`);
    } catch (err) {
      const bad = refusal(err);
      if (!bad) throw err;
      return listPage(c, admin, { values: form, error: bad });
    }
  });
  router.get('/users/:id', (c, admin) =>
    userDetail(c, admin, c.req.param('id') ?? '', { flash: flashOf(c) }),
  );
  for (const [rest, w] of Object.entries(WRITES)) {
    const { confirm } = w;
    if (confirm) router.get(`/users/:id${rest}`, (c, admin) => confirmPage(c, admin, confirm));
    router.post(`/users/:id${rest}`, async (c, admin, form) => {
      const id = c.req.param('id') ?? '';
      try {
        await w.run(admin, `/users/${enc(id)}`, form, c);
      } catch (err) {
        const bad = refusal(err);
        if (!bad) throw err;
        const problem = { form: w.form, values: form, error: { field: bad.field, message: bad.message } };
        return userDetail(c, admin, id, { problem, status: bad.status });
      }
      return seeOther(
        c,
        w.done === 'deleted' ? '/console/users?done=deleted' : `${userPath(id)}?done=${w.done}`,
      );
    });
  }
}
