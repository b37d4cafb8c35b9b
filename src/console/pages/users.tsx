import type { Context } from 'hono';
import { Csrf, consolePage, FormError, Permitted, pageOf } from '../layout.js';
import { ApiError } from '../management.js';
import { type ConsoleRouter, seeOther } from '../router.js';
import type { Admin } from '../session.js';
import { enc, type SignIns, shownName, type UserView, userDetail, userPath, when } from './user.js';
import { Field, NEEDS, Table } from './user-forms.js';
import { confirmPage, refusal, str, WRITES } from './user-writes.js';

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
            <Permitted admin={admin} needs={NEEDS.create} to="Creating a user" kept={create !== undefined}>
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
            </Permitted>
          </section>
        </>
      ),
    },
    create ? create.error.status : 200,
  );
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
