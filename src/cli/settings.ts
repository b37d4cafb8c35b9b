import type { Command } from 'commander';
import { ValidationError } from '../admin/errors.js';
import { getSettings, SETTINGS_KEYS, type TenantSettingsPatch, updateSettings } from '../admin/settings.js';
import { fieldLines, print, withRuntime } from './context.js';

const NUMBERS = new Set([
  'session_lifetime',
  'idle_session_lifetime',
  'session_lifetime_in_minutes',
  'idle_session_lifetime_in_minutes',
]);

const BOOLEANS = new Set(['signup_enabled', 'password_reset_ends_sessions', 'account_deletion_enabled']);

/** `KEY=VALUE` as a patch entry: numbers and booleans where the key takes them, '' for the default. */
function parseAssignment(text: string): [string, unknown] {
  const eq = text.indexOf('=');
  const key = eq < 0 ? text : text.slice(0, eq);
  if (eq < 0 || !(SETTINGS_KEYS as readonly string[]).includes(key)) {
    throw new ValidationError(`${text}: expected KEY=VALUE with KEY one of ${SETTINGS_KEYS.join(', ')}`);
  }
  const value = text.slice(eq + 1);
  if (value === '') return [key, null];
  if (BOOLEANS.has(key)) {
    if (value !== 'true' && value !== 'false') throw new ValidationError(`${key}: true or false`);
    return [key, value === 'true'];
  }
  if (NUMBERS.has(key)) {
    if (!/^\d+(\.\d+)?$/.test(value)) throw new ValidationError(`${key}: a number`);
    return [key, Number(value)];
  }
  return [key, value];
}

/** `sesame settings show | set KEY=VALUE…`: the tenant settings (the same as /api/v2/tenants/settings). */
export function settingsCommand(program: Command): void {
  const settings = program.command('settings').description('show or change the tenant settings');

  settings
    .command('show')
    .description('show the tenant settings')
    .option('--json', 'print one JSON object')
    .action(async (o, cmd) =>
      withRuntime(cmd, async (rt) => {
        const out = { ...(await getSettings(rt.storage)) };
        print(o.json, out, () =>
          Object.keys(out).length === 0 ? 'no settings (all defaults)' : fieldLines(out),
        );
      }),
    );

  settings
    .command('set <assignments...>')
    .description(`set KEY=VALUE (an empty VALUE restores the default); keys: ${SETTINGS_KEYS.join(', ')}`)
    .option('--json', 'print one JSON object')
    .action(async (assignments: string[], o, cmd) =>
      withRuntime(cmd, async (rt) => {
        const patch = Object.fromEntries(assignments.map(parseAssignment)) as TenantSettingsPatch;
        const out = { ...(await updateSettings(rt.storage, rt.clock, patch, rt.config.session.lifetime)) };
        print(o.json, out, () => fieldLines(out));
      }),
    );
}
