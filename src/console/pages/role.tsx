import type { Context } from 'hono';
import { ADMIN_ROLE_ID, MANAGEMENT_API_NAME } from '../../admin/system.js';
import type { AppEnv } from '../../http/context.js';
import { EmailInput } from '../../ui/fields.js';
import {
  Csrf,
  consolePage,
  FieldError,
  FormError,
  flashOf,
  mayWrite,
  NeedsPermission,
  Permitted,
} from '../layout.js';
import { ApiError } from '../management.js';
import type { Admin } from '../session.js';

/** One role's page (/console/roles/{id}): its fields, permissions and members; roles.tsx routes it. */

export interface Role {
  id: string;
  name: string;
  description: string;
}
export interface Permission {
  resource_server_identifier: string;
  permission_name: string;
  resource_server_name: string;
  description: string;
}
export interface Api {
  identifier: string;
  name: string;
  scopes: { value: string; description: string }[];
}
/**
 * A refused write to show with its form: the API's message, the field it names, and the page's
 * status (400 for a value refused, conflicts too; 403 for a permission).
 */
export type Problem = { field?: string; message: string; status?: number };

/**
 * The API's refusal a form shows again with what was typed: a bad or conflicting value, or a
 * permission taken away since the page was shown (403); null for any other error.
 */
export const problemOf = (err: unknown): Problem | null =>
  err instanceof ApiError && [400, 403, 409].includes(err.status)
    ? {
        message: err.message,
        status: err.status === 403 ? 403 : 400,
        ...(err.field ? { field: err.field } : {}),
      }
    : null;

/** What the Management API asks of each write of the roles' pages (any one of a list will do). */
export const ROLE_NEEDS = {
  create: ['create:roles'],
  update: ['update:roles'],
  delete: ['delete:roles'],
  /** Taking the role from a member is a write to the person's roles. */
  takeFrom: ['update:users', 'delete:role_members'],
  /** Finding the person by email, then giving them the role. */
  giveTo: [
    ['read:users', 'update:roles'],
    ['read:users', 'create:role_members'],
  ],
} as const;
const FLASH = new Map([
  ['created', 'Role created.'],
  ['saved', 'Role saved.'],
  ['permission-added', 'Permission added.'],
  ['permission-removed', 'Permission removed.'],
  ['member-added', 'The person now holds this role.'],
  ['member-removed', 'The person no longer holds this role.'],
]);
/** Back to the role's page, with one of FLASH's messages, at the part the write changed. */
export const back = (id: string, flash: string) =>
  `/console/roles/${encodeURIComponent(id)}?flash=${flash}${SECTION_OF[flash.split('-')[0] ?? ''] ?? ''}`;
const SECTION_OF: Record<string, string> = { permission: '#permissions', member: '#members' };

/** A role's name and description; with `submit`, the button that sends them. */
export function RoleFields(props: { role?: Partial<Role>; error?: Problem | undefined; submit?: string }) {
  return (
    <>
      <FormError error={props.error} fields={['name', 'description']} />
      <label for="name">Name</label>
      <input id="name" name="name" required maxlength={255} value={props.role?.name ?? ''} />
      <FieldError error={props.error} name="name" />
      <label for="description">Description</label>
      <input id="description" name="description" maxlength={255} value={props.role?.description ?? ''} />
      <FieldError error={props.error} name="description" />
      {props.submit ? <button type="submit">{props.submit}</button> : null}
    </>
  );
}

export async function rolePage(
  c: Context<AppEnv>,
  admin: Admin,
  id: string,
  error?: Problem,
  member?: { email: string; message: string; status?: number },
  /** What the admin typed into the role's fields, shown again beside the error. */
  typed?: Partial<Role>,
) {
  const path = `/roles/${encodeURIComponent(id)}`;
  // Members come 100 at a time; `members_from` is the checkpoint of the next hundred.
  const membersFrom = c.req.query('members_from');
  const [role, perms, members, apis] = await Promise.all([
    admin.api.get<Role>(path),
    admin.api.all<Permission>(`${path}/permissions`),
    admin.api.get<{ users: { user_id: string; email: string; name?: string }[]; next?: string }>(
      `${path}/users?${new URLSearchParams({ take: '100', ...(membersFrom ? { from: membersFrom } : {}) })}`,
    ),
    admin.api.all<Api>('/resource-servers'),
  ]);
  const permissionValue = (identifier: string, permission: string) => `${identifier} ${permission}`;
  const held = new Set(perms.map((p) => permissionValue(p.resource_server_identifier, p.permission_name)));
  const options = apis.flatMap((a) =>
    a.scopes
      .map((s) => ({ value: permissionValue(a.identifier, s.value), label: `${a.name}: ${s.value}` }))
      .filter((o) => !held.has(o.value)),
  );
  // Sesame Admin keeps its name and its Management API permissions, and cannot be deleted.
  const system = role.id === ADMIN_ROLE_ID;
  const kept = (p: Permission) => system && p.resource_server_name === MANAGEMENT_API_NAME;
  const [mayChange, mayTake] = [mayWrite(admin, ROLE_NEEDS.update), mayWrite(admin, ROLE_NEEDS.takeFrom)];
  return consolePage(
    c,
    {
      title: role.name,
      admin,
      section: '/console/roles',
      ...flashOf(c, FLASH),
      children: (
        <>
          <h1>{role.name}</h1>
          {system ? (
            <p class="muted">
              Sesame's own role: whoever holds it administers this tenant. Its name and its Management API
              permissions stay; it cannot be deleted.
            </p>
          ) : (
            <Permitted
              admin={admin}
              needs={ROLE_NEEDS.update}
              to="Changing this role"
              kept={error !== undefined}
              values={<RoleFields role={role} />}
            >
              <form method="post" action={`/console${path}`}>
                <Csrf admin={admin} />
                <RoleFields role={typed ?? role} error={error} submit="Save" />
              </form>
            </Permitted>
          )}
          <h2 id="permissions">Permissions</h2>
          <table class="striped">
            <tbody>
              {perms.map((p) => (
                <tr>
                  <td>{p.resource_server_name}</td>
                  <td>
                    <code>{p.permission_name}</code> <span class="muted">{p.description}</span>
                  </td>
                  <td>
                    {kept(p) || !mayChange ? null : (
                      <form method="post" action={`/console${path}/permissions/remove`} class="inline">
                        <Csrf admin={admin} />
                        <input
                          type="hidden"
                          name="permission"
                          value={`${p.resource_server_identifier} ${p.permission_name}`}
                        />
                        <button
                          type="submit"
                          class="secondary"
                          aria-label={`Remove ${p.permission_name} (${p.resource_server_name}) from this role`}
                        >
                          Remove
                        </button>
                      </form>
                    )}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
          <Permitted admin={admin} needs={ROLE_NEEDS.update} to="Adding or removing a permission">
            <form method="post" action={`/console${path}/permissions`}>
              <Csrf admin={admin} />
              <label for="permission">Add a permission</label>
              <select id="permission" name="permission" required>
                {options.map((o) => (
                  <option value={o.value}>{o.label}</option>
                ))}
              </select>
              <button type="submit">Add permission</button>
            </form>
          </Permitted>
          <h2 id="members">Members</h2>
          <ul>
            {members.users.map((u) => (
              <li>
                <a href={`/console/users/${encodeURIComponent(u.user_id)}`}>{u.email}</a> {u.name ?? ''}{' '}
                {system && u.user_id === admin.user.id ? (
                  // one click here would end this admin's own console access without a word of warning
                  <span class="muted">(you)</span>
                ) : !mayTake ? null : (
                  <form method="post" action={`/console${path}/members/remove`} class="inline">
                    <Csrf admin={admin} />
                    <input type="hidden" name="user_id" value={u.user_id} />
                    <button type="submit" class="secondary" aria-label={`Remove ${u.email} from this role`}>
                      Remove
                    </button>
                  </form>
                )}
              </li>
            ))}
          </ul>
          {members.users.length === 0 || mayTake ? null : (
            <NeedsPermission to="Removing a member" needs={ROLE_NEEDS.takeFrom} />
          )}
          {members.next ? (
            <p>
              <a href={`/console${path}?${new URLSearchParams({ members_from: members.next })}#members`}>
                More members
              </a>
            </p>
          ) : null}
          <Permitted admin={admin} needs={ROLE_NEEDS.giveTo} to="Adding a member" kept={member !== undefined}>
            <form method="post" action={`/console${path}/members`}>
              <Csrf admin={admin} />
              <label for="email">Give this role to (email)</label>
              <EmailInput value={member?.email} />
              <FieldError
                error={member ? { field: 'email', message: member.message } : undefined}
                name="email"
              />
              <button type="submit">Add member</button>
            </form>
          </Permitted>
          {system ? null : (
            <>
              <h2>Delete</h2>
              <Permitted admin={admin} needs={ROLE_NEEDS.delete} to="Deleting this role">
                <form method="get" action={`/console${path}/delete`}>
                  <button type="submit" class="secondary">
                    Delete this role…
                  </button>
                </form>
              </Permitted>
            </>
          )}
        </>
      ),
    },
    (error ?? member)?.status ?? (error || member ? 400 : 200),
  );
}
