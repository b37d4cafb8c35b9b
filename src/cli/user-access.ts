import type { Command } from 'commander';
import { addUserPermissions, listUserPermissions, removeUserPermissions } from '../admin/permissions.js';
import { assignUserRoles, findRole, removeUserRoles } from '../admin/roles.js';
import { getUser } from '../admin/users.js';
import { print, withRuntime } from './context.js';
import { permissionCommands, permissionLine } from './roles.js';

/** `sesame users assign-role|remove-role|add-permission|remove-permission|permissions`. */
export function userAccessCommands(users: Command): void {
  users
    .command('assign-role <user> <role>')
    .description('give a user (id or email) a role (id or name)')
    .option('--json', 'print one JSON object')
    .action(async (who: string, idOrName: string, o, cmd) =>
      withRuntime(cmd, async (rt) => {
        const user = await getUser(rt.storage, who);
        const role = await findRole(rt.storage, idOrName);
        await assignUserRoles(rt.storage, rt.clock, user.id, [role.id]);
        print(o.json, { user: user.id, role: role.id }, () => `${user.email} now holds ${role.name}`);
      }),
    );

  users
    .command('remove-role <user> <role>')
    .description('take a role from a user; it counts from their next token')
    .option('--json', 'print one JSON object')
    .action(async (who: string, idOrName: string, o, cmd) =>
      withRuntime(cmd, async (rt) => {
        const user = await getUser(rt.storage, who);
        const role = await findRole(rt.storage, idOrName);
        await removeUserRoles(rt.storage, user.id, [role.id]);
        print(
          o.json,
          { user: user.id, removed: role.id },
          () => `${user.email} no longer holds ${role.name}`,
        );
      }),
    );

  permissionCommands(
    users,
    'user',
    async (rt, who) => {
      const user = await getUser(rt.storage, who);
      return { id: user.id, label: user.email, key: 'user' };
    },
    {
      add: (rt, id, refs) => addUserPermissions(rt.storage, rt.clock, id, refs),
      remove: (rt, id, refs) => removeUserPermissions(rt.storage, id, refs),
    },
  );

  users
    .command('permissions <user>')
    .description("a user's permissions, each with where it comes from (DIRECT or a role)")
    .option('--json', 'print one JSON object')
    .action(async (who: string, o, cmd) =>
      withRuntime(cmd, async (rt) => {
        const user = await getUser(rt.storage, who);
        const list = await listUserPermissions(rt.storage, user.id);
        const out = list.map((p) => ({
          api: p.audience,
          permission: p.permission,
          sources: p.sources?.map((s) => (s.type === 'DIRECT' ? 'DIRECT' : `ROLE ${s.roleName}`)),
        }));
        print(o.json, { permissions: out }, () =>
          list.length === 0
            ? 'no permissions'
            : list.map((p, i) => `${permissionLine(p)}  (${out[i]!.sources?.join(', ')})`).join('\n'),
        );
      }),
    );
}
