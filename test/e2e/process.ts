import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The repository root and the `sesame` binary (which runs dist/sesame.js, built by `npm run build`). */
export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
export const BIN = join(ROOT, 'bin', 'sesame.js');

/** Fails loudly when dist/ is missing, instead of every test failing on a module error. */
export function assertBuilt(): void {
  if (!existsSync(join(ROOT, 'dist', 'sesame.js'))) {
    throw new Error('dist/sesame.js is missing: run `npm run build` before these tests');
  }
}

/** Environment variables for a child: ours without any SESAME_* or PORT, plus `env`. */
export function childEnv(env: Record<string, string | undefined>): NodeJS.ProcessEnv {
  const out: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) {
    if (!k.startsWith('SESAME_') && k !== 'PORT' && v !== undefined) out[k] = v;
  }
  for (const [k, v] of Object.entries(env)) if (v !== undefined) out[k] = v;
  return out;
}

/** What a finished CLI command left behind. */
export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs `node bin/sesame.js ...args` to completion (with `input` on stdin); never throws on a non-zero exit. */
export function runCli(
  args: string[],
  env: Record<string, string | undefined>,
  opts: { timeoutMs?: number; cwd?: string; input?: string } = {},
): Promise<CliResult> {
  return new Promise((resolvePromise, reject) => {
    const child = execFile(
      process.execPath,
      [BIN, ...args],
      {
        env: childEnv(env),
        cwd: opts.cwd ?? tmpdir(),
        timeout: opts.timeoutMs ?? 30_000,
        killSignal: 'SIGKILL',
        maxBuffer: 10 * 1024 * 1024,
      },
      (err, stdout, stderr) => {
        if (err && typeof err.code !== 'number') {
          const how = err.killed ? `killed after timeout (${err.signal})` : err.message;
          reject(new Error(`sesame ${args.join(' ')}: ${how}\nstdout: ${stdout}\nstderr: ${stderr}`));
          return;
        }
        resolvePromise({ code: err ? (err.code as number) : 0, stdout, stderr });
      },
    );
    child.stdin?.end(opts.input ?? '');
  });
}

/** Runs a CLI command with --json (put before any `--`) that must succeed; returns its one JSON object. */
export async function runCliJson<T = Record<string, unknown>>(
  args: string[],
  env: Record<string, string | undefined>,
): Promise<T> {
  // options must come before a `--` that ends them (ids may start with '-')
  const end = args.indexOf('--');
  const withJson = end < 0 ? [...args, '--json'] : [...args.slice(0, end), '--json', ...args.slice(end)];
  const res = await runCli(withJson, env);
  if (res.code !== 0) {
    throw new Error(
      `sesame ${args.join(' ')} exited ${res.code}\nstderr: ${res.stderr}\nstdout: ${res.stdout}`,
    );
  }
  return JSON.parse(res.stdout) as T;
}

/** A TCP port that was free a moment ago on 127.0.0.1. */
export function freePort(): Promise<number> {
  return new Promise((resolvePromise, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const address = srv.address();
      srv.close(() => resolvePromise(typeof address === 'object' && address ? address.port : 0));
    });
  });
}

/** How a process ended. */
export interface Exit {
  code: number | null;
  signal: NodeJS.Signals | null;
}

/** A running `sesame start`. */
export interface SesameProcess {
  child: ChildProcess;
  /** Everything written so far. */
  stdout(): string;
  stderr(): string;
  /** Settles when the process has exited. */
  exited: Promise<Exit>;
  /** Null while running. */
  exit(): Exit | null;
  /** Resolves when GET `url` answers 200; rejects if the process exits or `timeoutMs` passes. */
  waitReady(url: string, timeoutMs?: number): Promise<void>;
  /** Sends `signal` and waits up to `timeoutMs` for the exit; SIGKILLs and rejects if it does not come. */
  stop(signal?: NodeJS.Signals, timeoutMs?: number): Promise<Exit>;
  /** SIGKILL if still running (for afterAll). */
  kill(): Promise<void>;
}

const running = new Set<SesameProcess>();

/** Starts `node bin/sesame.js start` (or `args`) with `env`; output is collected. */
export function startSesame(
  env: Record<string, string | undefined>,
  args: string[] = ['start'],
  cwd: string = tmpdir(),
): SesameProcess {
  const child = spawn(process.execPath, [BIN, ...args], {
    env: childEnv(env),
    cwd,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  let exit: Exit | null = null;
  child.stdout?.setEncoding('utf8').on('data', (d: string) => {
    out += d;
  });
  child.stderr?.setEncoding('utf8').on('data', (d: string) => {
    err += d;
  });
  const exited = new Promise<Exit>((resolvePromise) => {
    child.once('close', (code, signal) => {
      exit = { code, signal };
      running.delete(proc);
      resolvePromise(exit);
    });
    child.once('error', (e) => {
      err += `\nspawn error: ${e.message}`;
    });
  });
  const describe = () => `stdout:\n${out}\nstderr:\n${err}`;
  const proc: SesameProcess = {
    child,
    stdout: () => out,
    stderr: () => err,
    exited,
    exit: () => exit,
    async waitReady(url, timeoutMs = 30_000) {
      const deadline = Date.now() + timeoutMs;
      while (Date.now() < deadline) {
        if (exit)
          throw new Error(`sesame exited (${JSON.stringify(exit)}) before it was ready\n${describe()}`);
        try {
          const res = await fetch(url, { signal: AbortSignal.timeout(2_000) });
          await res.arrayBuffer();
          if (res.status === 200) return;
        } catch {
          // not listening yet
        }
        await new Promise((r) => setTimeout(r, 100));
      }
      throw new Error(`sesame was not ready at ${url} within ${timeoutMs} ms\n${describe()}`);
    },
    async stop(signal = 'SIGTERM', timeoutMs = 10_000) {
      if (exit) return exit;
      child.kill(signal);
      let timer: NodeJS.Timeout | undefined;
      const timeout = new Promise<null>((r) => {
        timer = setTimeout(() => r(null), timeoutMs);
      });
      const result = await Promise.race([exited, timeout]);
      clearTimeout(timer);
      if (result === null) {
        child.kill('SIGKILL');
        await exited;
        throw new Error(`sesame did not exit within ${timeoutMs} ms of ${signal}\n${describe()}`);
      }
      return result;
    },
    async kill() {
      if (exit) return;
      child.kill('SIGKILL');
      await exited;
    },
  };
  running.add(proc);
  return proc;
}

/** SIGKILLs every `sesame` this module started that is still running. */
export async function killAll(): Promise<void> {
  await Promise.all([...running].map((p) => p.kill()));
}

/** Polls `check` every `intervalMs` until it returns a value other than undefined, or throws at the deadline. */
export async function eventually<T>(
  check: () => Promise<T | undefined>,
  timeoutMs: number,
  what: string,
  intervalMs = 200,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`${what}: not within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}

/** The pids whose parent is `pid` (from /proc). */
export function children(pid: number): number[] {
  const out: number[] = [];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const stat = readFileSync(`/proc/${name}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      if (ppid === pid) out.push(Number(name));
    } catch {
      // gone meanwhile
    }
  }
  return out.sort();
}
