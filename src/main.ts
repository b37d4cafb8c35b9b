import { createRequire } from 'node:module';
import { Command } from 'commander';
import { adminCommand } from './cli/admin.js';
import { apisCommand } from './cli/apis.js';
import { appsCommand } from './cli/apps.js';
import { keysCommand } from './cli/keys.js';
import { logsCommand } from './cli/logs.js';
import { migrateCommand } from './cli/migrate.js';
import { rolesCommand } from './cli/roles.js';
import { settingsCommand } from './cli/settings.js';
import { startCommand } from './cli/start.js';
import { usersCommand } from './cli/users.js';

/** The `sesame` binary. Every command reads SESAME_* variables and the optional --config file. */
// dist/ (the bundle and tsc's output alike) sits beside package.json
const { version } = createRequire(import.meta.url)('../package.json') as { version: string };
const program = new Command('sesame')
  .description('Sesame: an OAuth 2.1 and OpenID Connect identity server')
  .version(version, '-V, --version', 'print the version')
  .option('--config <file>', 'JSON configuration file (also SESAME_CONFIG)')
  .showHelpAfterError()
  .enablePositionalOptions();

startCommand(program);
migrateCommand(program);
appsCommand(program);
apisCommand(program);
keysCommand(program);
usersCommand(program);
settingsCommand(program);
rolesCommand(program);
adminCommand(program);
logsCommand(program);

// A flag and its --no- form together (`--skip-consent --no-skip-consent`) would leave the last
// one standing without a word: refused, as any other contradiction.
program.hook('preAction', (_root, command) => {
  // the flags given, as commander reads them: an option's value (`--description --no-x`) is
  // no flag, nor is anything after `--`
  const options = [...program.options, ...command.options];
  const given = new Set<string>();
  const words = process.argv.slice(2);
  for (let i = 0; i < words.length && words[i] !== '--'; i++) {
    const [name, inline] = (words[i] as string).split('=');
    const option = options.find((o) => o.long === name || o.short === name);
    if (!option) continue;
    given.add(option.long ?? '');
    if ((option.required || option.optional) && inline === undefined) i++;
  }
  for (const no of command.options) {
    if (!no.negate || !no.long) continue;
    const yes = no.long.replace(/^--no-/, '--');
    if (given.has(no.long) && given.has(yes)) command.error(`error: ${yes} and ${no.long}: choose one`);
  }
});

// A reader that went away (`sesame logs | head -1`) is no failure of the command: what it has
// left to do (the change's log event) is done, and it exits with the status of its work.
process.stdout.on('error', (err: NodeJS.ErrnoException) => {
  if (err.code !== 'EPIPE' && err.code !== 'ERR_STREAM_DESTROYED') throw err;
});

await program.parseAsync(process.argv);
