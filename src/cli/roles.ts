import type { Command } from 'commander';
import { listRolePermissions, type PermissionRef, type PermissionView } from '../admin/permissions.js';
import {
  addRolePermissions,
  createRole,
  deleteRole,
  findRole,
  listRoles,
  listRoleUsers,
  removeRolePermissions,
  updateRole,
} from '../admin/roles.js';
import type { Runtime } from '../runtime.js';
import type { Role } from '../storage/types.js';
import { collect, confirm, FORCE, fieldLines, print, withRuntime } from './context.js';

const view = (r: Role) => ({ id: r.id, name: r.name, description: r.description, is_system: r.isSystem });

/** A permission as the CLI prints it. */
export const permissionLine = (p: PermissionView) => `${p.audience}  ${p.permission}`;

/** A holder of permissions as the CLI finds it: its id, and how to name it in messages. */
type Holder = { id: string; label: string; key: 'role' | 'user' };
type Change = (rt: Runtime, id: string, refs: PermissionRef[]) => Promise<void>;

/**
 * `<parent> add-permission|remove-permission <holder> --api URI --permission P…`: give a role or
 * a user permissions (scopes of one API), or take them.
 */
export function permissionCommands(
  parent: Command,
  holder: 'role' | 'user',
  find: (rt: Runtime, idOrName: string) => Promise<Holder>,
  change: { add: Change; remove: Change },
): void {
  for (const [verb, apply] of [
    ['add', change.add],
    ['remove', change.remove],
  ] as const) {
    parent
      .command(`${verb}-permission <${holder}>`)
      .description(
        verb === 'add'
          ? `give a ${holder} permissions (scopes of one API)`
          : `take permissions (scopes of one API) from a ${holder}`,
      )
      .requiredOption('--api <identifier>', 'the API (its identifier)')
      .requiredOption('--permission <name>', 'a scope of that API (repeatable)', collect)
      .option('--json', 'print one JSON object')
      .action(async (idOrName: string, o, cmd) =>
        withRuntime(cmd, async (rt) => {
          const h = await find(rt, idOrName);
          const refs = (o.permission as string[]).map((permission) => ({ audience: o.api, permission }));
          await apply(rt, h.id, refs);
          const out = { [h.key]: h.id, api: o.api, [verb === 'add' ? 'added' : 'removed']: o.permission };
          const holds = verb === 'add' ? 'now holds' : 'no longer holds';
          print(o.json, out, () => `${h.label} ${holds} ${o.permission.join(' ')} of ${o.api}`);
        }),
      );
  }
}

/** `sesame roles …`: roles, the API permissions they hold, and who holds them. */
export function rolesCommand(program: Command): void {
  const roles = program.command('roles').description('manage roles (RBAC)');

  roles
    .command('create <name>')
    .description('create a role; names are unique')
    .option('--description <text>', 'what the role is for')
    .option('--json', 'print one JSON object')
    .action(async (name: string, o, cmd) =>
      withRuntime(cmd, async (rt) => {
        const role = await createRole(rt.storage, rt.clock, { name, description: o.description ?? '' });
        print(o.json, view(role), () => `id: ${role.id}\nname: ${role.name}`);
      }),
    );

  roles
    .command('update <role>')
    .description('rename or re-describe a role (by id or name)')
    .option('--name <name>', 'new name')
    .option('--description <text>', 'new description')
    .option('--json', 'print one JSON object')
    .action(async (idOrName: string, o, cmd) =>
      withRuntime(cmd, async (rt) => {
        const role = await findRole(rt.storage, idOrName);
        const out = view(await updateRole(rt.storage, rt.clock, role.id, o));
        print(o.json, out, () => fieldLines(out));
      }),
    );

  roles
    .command('list')
    .description('list roles')
    .option('--json', 'print one JSON object')
    .action(async (o, cmd) =>
      withRuntime(cmd, async (rt) => {
        const list = (await listRoles(rt.storage, {})).items.map(view);
        print(o.json, { roles: list }, () =>
          list.length === 0 ? 'no roles' : list.map((r) => `${r.id}  ${r.name}`).join('\n'),
        );
      }),
    );

  roles
    .command('show <role>')
    .description('show a role (by id or name), its permissions and its users')
    .option('--json', 'print one JSON object')
    .action(async (idOrName: string, o, cmd) =>
      withRuntime(cmd, async (rt) => {
        const role = await findRole(rt.storage, idOrName);
        const permissions = (await listRolePermissions(rt.storage, role.id)).items;
        const users = (await listRoleUsers(rt.storage, role.id)).items;
        const out = {
          ...view(role),
          permissions: permissions.map((p) => ({ api: p.audience, permission: p.permission })),
          users: users.map((u) => ({ id: u.id, email: u.email })),
        };
        print(o.json, out, () =>
          [
            fieldLines(view(role)),
            `permissions:${permissions.length === 0 ? ' none' : ''}`,
            ...permissions.map((p) => `  ${permissionLine(p)}`),
            `users:${users.length === 0 ? ' none' : ''}`,
            ...users.map((u) => `  ${u.id}  ${u.email}`),
          ].join('\n'),
        );
      }),
    );

  roles
    .command('delete <role>')
    .description('delete a role (by id or name); its users lose its permissions at their next token')
    .option(...FORCE)
    .option('--json', 'print one JSON object')
    .action(async (idOrName: string, o, cmd) =>
      withRuntime(cmd, async (rt) => {
        const role = await findRole(rt.storage, idOrName);
        await confirm(o, `Delete the role ${role.name} (${role.id})? Its users lose its permissions.`);
        await deleteRole(rt.storage, role.id);
        print(o.json, { deleted: role.id }, () => `deleted ${role.id} (${role.name})`);
      }),
    );

  permissionCommands(
    roles,
    'role',
    async (rt, idOrName) => {
      const role = await findRole(rt.storage, idOrName);
      return { id: role.id, label: role.name, key: 'role' };
    },
    {
      add: (rt, id, refs) => addRolePermissions(rt.storage, rt.clock, id, refs),
      remove: (rt, id, refs) => removeRolePermissions(rt.storage, id, refs),
    },
  );
}
