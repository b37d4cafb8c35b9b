/** The writes of a user's console page: each one Management API call, some asked first on a page of their own. */
import type { Context } from 'hono';
import { Csrf, consolePage, mayWrite, NeedsPermission } from '../layout.js';
import { ApiError } from '../management.js';
import type { Admin } from '../session.js';
import { CLAIMS, enc, type Problem, shownName, type UserView, userPath } from './user.js';
import { NEEDS } from './user-forms.js';

/**
 * An API refusal a form can show (a bad or conflicting value, or a permission taken away since the
 * page was shown), or null.
 */
export const refusal = (err: unknown) =>
  err instanceof ApiError && [400, 403, 409].includes(err.status) ? err : null;

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
  /**
   * Asked on a page of its own first (a GET of the same path): title, what happens, what the
   * Management API asks of it and what it does in the words of the note saying so.
   */
  confirm?: { title: string; text: string; needs: readonly string[]; to: string };
}
const write = (form: Problem['form'], done: string, run: Run, confirm?: Write['confirm']): Write =>
  confirm ? { form, done, run, confirm } : { form, done, run };

export const str = (form: URLSearchParams, name: string) => form.get(name) ?? '';
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
export const WRITES: Record<string, Write> = {
  '': write('profile', 'profile', (a, p, f) => a.api.patch(p, profileOf(f))),
  '/password': write('password', 'password', (a, p, f) => a.api.patch(p, { password: str(f, 'password') })),
  '/unblock': write('access', 'unblocked', (a, p) => a.api.patch(p, { blocked: false })),
  '/block': write('access', 'blocked', (a, p) => a.api.patch(p, { blocked: true }), {
    title: 'Block user',
    text: 'They will not be able to sign in, and their sessions and tokens end now.',
    needs: NEEDS.update,
    to: 'Blocking them',
  }),
  '/delete': write('access', 'deleted', (a, p) => a.api.delete(p), {
    title: 'Delete user',
    text: 'Their sessions, tokens and consents end with them. This cannot be undone.',
    needs: NEEDS.delete,
    to: 'Deleting this user',
  }),
  '/sign-out': write('access', 'sessions#sessions', (a, p) => a.api.delete(`${p}/sessions`), {
    title: 'Sign out everywhere',
    text: 'Every session of this person ends; each application asks them to sign in again.',
    needs: NEEDS.sessions,
    to: 'Signing them out',
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

/**
 * The page that asks before a destructive write; its button posts to the same path. Opened by an
 * admin without the permission the write needs, it says which instead of offering the button.
 */
export async function confirmPage(c: Context, admin: Admin, confirm: NonNullable<Write['confirm']>) {
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
        {mayWrite(admin, confirm.needs) ? (
          <form method="post" action={new URL(c.req.url).pathname}>
            <Csrf admin={admin} />
            <button type="submit" class="contrast">
              {confirm.title}
            </button>{' '}
            <a href={userPath(id)}>Cancel</a>
          </form>
        ) : (
          <>
            <NeedsPermission to={confirm.to} needs={confirm.needs} />
            <a href={userPath(id)}>Back to the user</a>
          </>
        )}
      </article>
    ),
  });
}
