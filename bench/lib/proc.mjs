// Child processes of the benchmark: spawned (pinned to a CPU with taskset when asked), tracked,
// always stopped; their CPU and memory read from /proc; free ports; readiness polling.
import { execFileSync, fork, spawn } from 'node:child_process';
import { createWriteStream, existsSync, readdirSync, readFileSync } from 'node:fs';
import { request } from 'node:http';
import { createServer } from 'node:net';
import { join } from 'node:path';

const children = new Set();

/** Clock ticks per second for /proc/PID/stat (`getconf CLK_TCK`, 100 on Linux). */
const CLK_TCK = (() => {
  try {
    return Number(execFileSync('getconf', ['CLK_TCK']).toString().trim()) || 100;
  } catch {
    return 100;
  }
})();

/** A free TCP port on 127.0.0.1. */
export function freePort() {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
  });
}

function track(child, name) {
  child.benchName = name;
  children.add(child);
  child.exited = new Promise((resolve) =>
    child.once('exit', (code, signal) => {
      children.delete(child);
      resolve({ code, signal });
    }),
  );
  return child;
}

/**
 * Where processes run: `{ server, load }`, two CPU numbers (the first two this process may use),
 * when `taskset` is installed, at least two CPUs are available and `enabled`; otherwise
 * `{ reason }` why everything runs unpinned.
 */
export function pinning(enabled) {
  if (!enabled) return { reason: 'BENCH_PIN=0' };
  const path = (process.env.PATH ?? '').split(':').find((dir) => dir && existsSync(join(dir, 'taskset')));
  if (!path) return { reason: 'taskset not found' };
  const status = readFileSync('/proc/self/status', 'utf8');
  const list = /Cpus_allowed_list:\s*(\S+)/.exec(status)?.[1] ?? '';
  const cpus = list.split(',').flatMap((part) => {
    const [a, b = a] = part.split('-').map(Number);
    return Array.from({ length: b - a + 1 }, (_, i) => a + i);
  });
  if (cpus.length < 2) return { reason: `only ${cpus.length} CPU available` };
  return { server: cpus[0], load: cpus[1], all: list };
}

/** Moves every thread of a running process to `cpus` (a taskset list such as `0` or `0-1`). */
export function setCpus(pid, cpus) {
  execFileSync('taskset', ['-a', '-p', '-c', String(cpus), String(pid)], { stdio: 'ignore' });
}

/** `cmd args` as run on CPU `cpu` (`taskset -c cpu cmd args`, the same pid), or as is when undefined. */
function onCpu(cpu, cmd, args) {
  return cpu === undefined ? [cmd, args] : ['taskset', ['-c', String(cpu), cmd, ...args]];
}

/** The CPUs a running process may use (its main thread's Cpus_allowed_list). */
export function cpusOf(pid) {
  return /Cpus_allowed_list:\s*(\S+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? '?';
}

/** Spawns a long-running process (a server), on CPU `cpu` if given; stdout and stderr go to `logFile`. */
export function spawnServer(name, command, commandArgs, { env, cwd, logFile, cpu }) {
  const [cmd, args] = onCpu(cpu, command, commandArgs);
  const child = spawn(cmd, args, { env, cwd, stdio: ['ignore', 'pipe', 'pipe'] });
  const log = createWriteStream(logFile, { flags: 'a' });
  child.stdout.pipe(log);
  child.stderr.pipe(log);
  return track(child, name);
}

/** Forks a Node module with an IPC channel (a load generator), on CPU `cpu` if given. */
export function forkWorker(name, modulePath, { cpu } = {}) {
  const [execPath, execArgv] = onCpu(cpu, process.execPath, []);
  const stdio = ['ignore', 'inherit', 'inherit', 'ipc'];
  return track(fork(modulePath, [], { stdio, execPath, execArgv }), name);
}

/** SIGTERM, then SIGKILL after `graceMs`; resolves when the process has exited. */
export async function stopChild(child, graceMs = 5000) {
  if (!child || child.exitCode !== null || child.signalCode !== null) return;
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
  await child.exited;
  clearTimeout(timer);
}

/** Stops every child still running (each by its own pid). */
export async function stopAll() {
  await Promise.all([...children].map((c) => stopChild(c, 3000)));
}

/** Last resort on exit: SIGKILL whatever is left, synchronously. */
export function killAllSync() {
  for (const c of children) {
    try {
      c.kill('SIGKILL');
    } catch {}
  }
}

/** CPU seconds (user + system) a process has used so far, from /proc/PID/stat. */
export function cpuSeconds(pid) {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  // fields after the command name, which is in parentheses and may contain spaces
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) / CLK_TCK; // utime, stime (fields 14, 15)
}

/**
 * A process and its descendants (PostgreSQL: the postmaster and its backends; Sesame with
 * `--workers`: its workers), found by their parent pids in /proc/PID/stat.
 */
export function processTree(rootPid) {
  const children = new Map();
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      children.set(ppid, [...(children.get(ppid) ?? []), Number(entry)]);
    } catch {} // gone meanwhile
  }
  const pids = [rootPid];
  for (let i = 0; i < pids.length; i++) pids.push(...(children.get(pids[i]) ?? []));
  return pids;
}

/** CPU seconds of these processes together (one that has exited meanwhile counts 0). */
export function pidsCpuSeconds(pids) {
  let total = 0;
  for (const pid of pids) {
    try {
      total += cpuSeconds(pid);
    } catch {}
  }
  return total;
}

/** CPU seconds of a process and its descendants, as they are now. */
export function treeCpuSeconds(rootPid) {
  return pidsCpuSeconds(processTree(rootPid));
}

/** CPU seconds the whole machine has been busy (every CPU; /proc/stat: all but idle and iowait). */
export function machineBusySeconds() {
  const line = readFileSync('/proc/stat', 'utf8').split('\n')[0];
  const [user, nice, system, , , irq, softirq, steal] = line.trim().split(/\s+/).slice(1).map(Number);
  return (user + nice + system + irq + softirq + steal) / CLK_TCK;
}

/**
 * VmRSS and its parts (RssAnon: heaps and stacks; RssFile: mapped code; RssShmem) in MB, of a
 * process and its descendants together (Sesame started with workers).
 */
export function memoryParts(pid) {
  const sum = { rss: 0, anon: 0, file: 0, shmem: 0 };
  for (const p of processTree(pid)) {
    const status = readFileSync(`/proc/${p}/status`, 'utf8');
    const field = (name) => Number(new RegExp(`${name}:\\s+(\\d+)`).exec(status)?.[1] ?? Number.NaN) / 1024;
    sum.rss += field('VmRSS');
    sum.anon += field('RssAnon');
    sum.file += field('RssFile');
    sum.shmem += field('RssShmem');
  }
  return sum;
}

/** Resident set size in MB (VmRSS) of these processes together. */
export function rssMB(...pids) {
  let kb = 0;
  for (const pid of pids) {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    kb += Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? Number.NaN);
  }
  return kb / 1024;
}

function get(url) {
  return new Promise((resolve) => {
    const req = request(url, { agent: false, timeout: 2000 }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode));
    });
    req.on('timeout', () => req.destroy());
    req.on('error', () => resolve(0));
    req.end();
  });
}

/**
 * Polls `url` every `intervalMs` until it answers `status` (200); returns the milliseconds from `t0`
 * (performance.now() taken just before the spawn). Throws when the child exits or after `timeoutMs`.
 */
export async function waitReady(child, url, t0, { intervalMs = 5, timeoutMs = 30_000, status = 200 } = {}) {
  const deadline = t0 + timeoutMs;
  for (;;) {
    if (child.exitCode !== null || child.signalCode !== null) {
      throw new Error(
        `${child.benchName} exited (${child.exitCode ?? child.signalCode}) before ${url} was ready`,
      );
    }
    if ((await get(url)) === status) return performance.now() - t0;
    if (performance.now() > deadline)
      throw new Error(`${child.benchName}: ${url} not ready in ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}
