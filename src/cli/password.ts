import type { Command } from 'commander';
import { ValidationError } from '../admin/errors.js';

/** The password options of a command: --password-stdin, a prompt on a terminal, or (discouraged) --password. */
export function passwordOptions(cmd: Command, what: string): Command {
  return cmd
    .option('--password-stdin', `read ${what} from standard input (all of it, less one final line break)`)
    .option(
      '--password <password>',
      `${what}; avoid it: a password on the command line stays in shell history and shows in ps (use --password-stdin, or the prompt on a terminal)`,
    );
}

/** All of standard input as text. */
async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

/** Asks on the terminal without echo (stderr for the question, so stdout stays the answer). */
function ask(question: string): Promise<string> {
  const stdin = process.stdin;
  return new Promise((resolve, reject) => {
    let typed = '';
    // Echo off before the question: whatever is typed once it shows must not be echoed.
    stdin.setRawMode(true);
    process.stderr.write(question);
    stdin.resume();
    stdin.setEncoding('utf8');
    const done = (err: Error | null) => {
      stdin.setRawMode(false);
      stdin.pause();
      stdin.off('data', onData);
      process.stderr.write('\n');
      if (err) reject(err);
      else resolve(typed);
    };
    const onData = (text: string) => {
      for (const ch of text) {
        if (ch === '\r' || ch === '\n') return done(null);
        // Ctrl-C, or Ctrl-D (end of input) as a shell's prompt takes it
        if (ch === '\u0003' || ch === '\u0004') return done(new ValidationError('cancelled'));
        if (ch === '\u007f' || ch === '\b') typed = typed.slice(0, -1);
        else if (ch >= ' ') typed += ch;
      }
    };
    stdin.on('data', onData);
  });
}

/**
 * The password a command was given: from standard input (--password-stdin, one trailing line
 * break removed), else --password, else asked twice on the terminal without echo.
 */
export async function readPassword(o: { password?: string; passwordStdin?: boolean }): Promise<string> {
  if (o.passwordStdin && o.password !== undefined)
    throw new ValidationError('give the password one way: --password-stdin or --password');
  if (o.passwordStdin) return (await readStdin()).replace(/\r?\n$/, '');
  if (o.password !== undefined) return o.password;
  if (!process.stdin.isTTY)
    throw new ValidationError(
      'a password is required: pipe it with --password-stdin, or run on a terminal to be asked',
    );
  const first = await ask('Password: ');
  const again = await ask('Repeat the password: ');
  if (first !== again) throw new ValidationError('the two passwords differ');
  return first;
}
