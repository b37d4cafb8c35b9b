import { existsSync } from 'node:fs';
import { dirname } from 'node:path';
import { createInterface } from 'node:readline';
import type { Command } from 'commander';
import pino from 'pino';
import { isAdminError, ValidationError } from '../admin/errors.js';
import { ConfigError, loadConfig } from '../config/load.js';
import type { Config } from '../config/schema.js';
import { openRuntime, type Runtime } from '../runtime.js';
import { sqliteFile } from '../storage/sql/index.js';

/** The configuration for a command: SESAME_* variables over the --config file. */
export function commandConfig(cmd: Command): Config {
  const { config } = cmd.optsWithGlobals<{ config?: string }>();
  return loadConfig(process.env, {}, config);
}

/**
 * Control characters other than line breaks and tabs, as a terminal would act on them (ESC starts
 * its escape sequences): stored names may hold them, since the Management API takes them.
 */
const CONTROLS = /(?![\n\t])\p{Cc}/gu;

/** `text` with its control characters shown as `\u…` (line breaks and tabs kept). */
export const visible = (text: string): string =>
  text.replace(CONTROLS, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);

/** Prints a result: one JSON object with --json, else the human lines (`visible`). */
export function print(json: boolean | undefined, value: unknown, human: () => string): void {
  process.stdout.write(json ? `${JSON.stringify(value, null, 2)}\n` : `${visible(human())}\n`);
}

/** One `key: value` line per field, objects and arrays as JSON (the human form of `show`). */
export const fieldLines = (o: Record<string, unknown>): string =>
  Object.entries(o)
    .map(([k, v]) => `${k}: ${typeof v === 'object' ? JSON.stringify(v) : v}`)
    .join('\n');

/**
 * The options the command line named, and only those. commander gives an option defined as
 * `--no-x` a default of true, so its value alone cannot tell "not given" from "--x": an update
 * must change only what it was asked to.
 */
export function given(cmd: Command): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [name, value] of Object.entries(cmd.opts())) {
    if (cmd.getOptionValueSource(name) === 'cli') out[name] = value;
  }
  return out;
}

/** A whole number option from `min` to `max` (no more digits than `max` has), or a ValidationError naming it. */
export function wholeNumber(flag: string, value: string, min: number, max: number): number {
  const digits = new RegExp(`^\\d{1,${String(max).length}}$`);
  const n = digits.test(value) ? Number(value) : Number.NaN;
  if (!(n >= min && n <= max)) throw new ValidationError(`${flag}: a whole number from ${min} to ${max}`);
  return n;
}

/**
 * Collects a repeatable option into an array; an empty value (`--web-origin ''`) adds nothing, so
 * that on its own it gives an empty list: the way to empty one on update.
 */
export const collect = (value: string, previous: string[] = []): string[] =>
  value.trim() === '' ? previous : [...previous, value];

/**
 * Codes of a machine that refuses, not of a bug: errno (ENOENT, ECONNREFUSED…), SQLite's file
 * and disk errors, and PostgreSQL's connection (08), authorization (28), unknown database (3D000),
 * resources (53) and shutdown (57P) classes.
 */
const REFUSALS =
  /^(E[A-Z]+|SQLITE_(NOTADB|CANTOPEN|CORRUPT|READONLY|PERM|FULL|IOERR|BUSY)\w*|08\w{3}|28\w{3}|3D000|53\w{3}|57P\w{2})$/;

/** What the operator declined when asked (`confirm`): nothing was changed. */
export class Declined extends Error {
  override name = 'Declined';
}

/**
 * Asks on the terminal before what cannot be undone (a deletion, a key's revocation), as Auth0's
 * CLI does; anything but y or yes is a no (`Declined`). `--force` skips the question, and so does
 * running without a terminal (a script, a pipe): the command goes on.
 */
export async function confirm(o: { force?: boolean }, question: string): Promise<void> {
  if (o.force || !process.stdin.isTTY || !process.stderr.isTTY) return;
  const prompt = createInterface({ input: process.stdin, output: process.stderr });
  const answer = await new Promise<string>((resolve) => {
    prompt.once('close', () => resolve('')); // Ctrl-D or Ctrl-C: a no
    // names are checked for control characters when set; rows older than that check are shown too
    prompt.question(`${visible(question)} [y/N] `, resolve);
  });
  prompt.close();
  if (!/^y(es)?$/i.test(answer.trim())) throw new Declined('not confirmed: nothing was changed');
}

/** The option `confirm` reads. */
export const FORCE: [string, string] = [
  '--force',
  'do not ask for confirmation (it is never asked without a terminal)',
];

/** Known failures as one line on stderr with exit code 1; anything else with its stack. */
export function fail(err: unknown): never {
  if (isAdminError(err) || err instanceof ConfigError || err instanceof Declined) {
    process.stderr.write(`error: ${visible(err.message)}\n`);
  } else if (err instanceof Error && REFUSALS.test(String((err as NodeJS.ErrnoException).code))) {
    // The system's or the database's own refusal (ECONNREFUSED, EEXIST, SQLITE_NOTADB…): its
    // message says what is wrong; a stack trace would only hide it. Other errors are bugs.
    const code = String((err as NodeJS.ErrnoException).code);
    const hint = code.startsWith('SQLITE_BUSY')
      ? ": another connection held the SQLite database's write lock longer than the busy timeout (10 s): a process writing to it (a long command, a backup) or one that hangs; try again once it is done"
      : '';
    process.stderr.write(`error: ${err.message || code}${hint}\n`);
  } else {
    process.stderr.write(`error: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  }
  process.exit(1);
}

/** Commands that only read; every other management command is a change, and a log event. */
const READS = new Set(['list', 'show', 'logs', 'permissions']);

/** `sapi`/`fapi` for a change made from the command line: the command, its arguments and options. */
async function logChange(rt: Runtime, cmd: Command, error?: unknown): Promise<void> {
  if (READS.has(cmd.name())) return;
  const path: string[] = [];
  for (let c: Command | null = cmd; c?.parent; c = c.parent) path.unshift(c.name());
  const command = path.join(' ');
  await rt.events.record({
    type: error === undefined ? 'sapi' : 'fapi',
    description: `${error === undefined ? 'Success' : 'Failed'} CLI operation: sesame ${command}`,
    clientName: 'Sesame CLI',
    details: {
      request: { channel: 'cli', command, args: cmd.args, options: cmd.opts() },
      ...(error instanceof Error ? { error: error.message } : {}),
    },
  });
}

/**
 * A command that only reads, run where there is no Sesame data (the SQLite file and its directory
 * both missing: most often the wrong working directory), is refused rather than answered from a
 * new, empty tenant it would make.
 */
function refuseReadWithoutData(cmd: Command, config: Config): void {
  if (!READS.has(cmd.name())) return;
  const file = sqliteFile(config);
  if (file === null || existsSync(file) || existsSync(dirname(file))) return;
  throw new ConfigError(
    `no Sesame data at ${dirname(file)}: a command that only reads makes none. Run it where the server runs, or set SESAME_DATA_DIR (or SESAME_DATABASE_URL) to the server's`,
  );
}

/** Runs a management command against the database (migrated first), logs it, then closes it. */
export async function withRuntime(cmd: Command, fn: (rt: Runtime) => Promise<void>): Promise<void> {
  let rt: Runtime | undefined;
  try {
    const config = commandConfig(cmd);
    refuseReadWithoutData(cmd, config);
    // Warnings by default (a command's output stays readable); SESAME_LOG_LEVEL may ask for more or less.
    const level = config.logLevel === 'info' ? 'warn' : config.logLevel;
    rt = await openRuntime(config, { logger: pino({ level }, pino.destination(2)) });
    await fn(rt);
    await logChange(rt, cmd);
  } catch (err) {
    if (rt && isAdminError(err)) await logChange(rt, cmd, err).catch(() => {});
    await rt?.mail.stop().catch(() => {});
    await rt?.storage.close().catch(() => {});
    fail(err);
  }
  // a delivery run a command's email started (it may have taken others' mail too) ends first
  await rt.mail.stop();
  await rt.storage.close();
}
