// The runs besides the rounds: startup times, the RSS of an idle `node`, the metrics' cost in
// pairs, Sesame on the whole machine (`--workers N`, unpinned) and the CPU profiles of missed
// targets. Each takes `run`:
// { cfg, work, log, cpu (the servers' CPU or undefined), startArgs (`--workers 1` or none) }.
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { combine, measureOnce } from './measure.mjs';
import { freePort, memoryParts, rssMB, spawnServer, stopChild } from './proc.mjs';
import { summarizeHeapProfile, summarizeProfile } from './profile.mjs';
import { median } from './report.mjs';
import { SCENARIOS } from './scenarios.mjs';
import { ROOT, sesameEnv, startPeer, startSesame } from './servers.mjs';

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const labelOf = (id) => SCENARIOS.find((s) => s.id === id)?.label ?? id;

/**
 * What metrics cost, measured in pairs: Sesame and Sesame with metrics on take turns back to
 * back on scenario 1, `pairs` times, the order flipped every pair, 1 s of warm-up and 3 s each.
 * Each pair gives the ratio of their CPU per request. A slow spell of the machine then falls on
 * both halves of a pair, where in the rounds it can fall between the two servers' turns (three
 * others come between them). `off` and `on` should have served the same (run.mjs starts two
 * new servers for this): of the rounds' two, the one that had served every scenario took up to
 * 24% more CPU a token. Each new server first gets one turn of its own that is not counted: in
 * their first seconds V8 is still compiling their paths, and a first pair read up to +95%.
 * `{ ratios, median }`: ratios of metrics on to off.
 */
export async function metricsPairs(run, off, on, pairs) {
  for (const side of [off, on]) {
    run.log(`metrics cost: ${side.label} warms up`);
    await measureOnce('cc-es256', side, run.cfg, run.log, { warmup: 1, duration: 5 });
  }
  const ratios = [];
  for (let i = 0; i < pairs; i++) {
    run.log(`metrics cost: pair ${i + 1} of ${pairs}`);
    const got = new Map();
    for (const side of i % 2 ? [on, off] : [off, on])
      got.set(side, await measureOnce('cc-es256', side, run.cfg, run.log, { warmup: 1, duration: 3 }));
    ratios.push(got.get(on).cpuMsPerOk / got.get(off).cpuMsPerOk);
  }
  return { ratios, median: median(ratios) };
}

/** Startup times, unpinned: `cfg.starts` new data directories, each started twice. */
export async function measureStartup(run) {
  const cold = [];
  const warm = [];
  for (let i = 0; i < run.cfg.starts; i++) {
    const dataDir = mkdtempSync(join(run.work, 'startup-'));
    const env = sesameEnv({ port: await freePort(), dataDir });
    for (const list of [cold, warm]) {
      const opts = { args: run.startArgs };
      const { child, readyMs } = await startSesame(env, join(run.work, 'sesame-startup.log'), opts);
      list.push(readyMs);
      await stopChild(child);
    }
    rmSync(dataDir, { recursive: true, force: true });
  }
  const list = (v) => v.map((n) => n.toFixed(0)).join(', ');
  run.log(`startup: new data dir ${list(cold)} ms; warm ${list(warm)} ms`);
  return { cold, warm };
}

/**
 * Idle memory once settled: Sesame (a new data directory, so it makes its keys, as the rounds'
 * Sesame did) and, with `peer`, the peer, started side by side and left alone for
 * `cfg.settleSeconds`. In its first idle seconds V8 gives back what starting the process took
 * (its memory reducer runs about 8 s after the last garbage collection); the reading one second
 * after start (the rounds' servers) still holds it.
 */
export async function settledIdle(run, peer) {
  const dataDir = mkdtempSync(join(run.work, 'idle-'));
  const env = sesameEnv({ port: await freePort(), dataDir });
  const sesame = await startSesame(env, join(run.work, 'sesame-idle.log'), { args: run.startArgs });
  let other = null;
  try {
    if (peer) other = await startPeer(join(run.work, 'peer-idle.log'));
    await sleep(run.cfg.settleSeconds * 1000);
    const out = {
      seconds: run.cfg.settleSeconds,
      sesame: memoryParts(sesame.child.pid),
      peer: other ? memoryParts(other.child.pid) : null,
    };
    const mb = (p) => (p ? `${p.rss.toFixed(0)} MB` : 'n/a');
    run.log(`idle after ${out.seconds} s: Sesame ${mb(out.sesame)}, peer ${mb(out.peer)}`);
    return out;
  } finally {
    await stopChild(sesame.child);
    if (other) await stopChild(other.child);
    rmSync(dataDir, { recursive: true, force: true });
  }
}

/** RSS of an idle `node` doing nothing: the floor under any Node server on this machine. */
export async function nodeFloor(run) {
  const child = spawnServer('node floor', process.execPath, ['-e', 'setInterval(() => {}, 1000)'], {
    env: process.env,
    cwd: run.work,
    logFile: join(run.work, 'node-floor.log'),
  });
  await sleep(1000);
  const parts = memoryParts(child.pid);
  await stopChild(child);
  return parts;
}

/**
 * Sesame as `sesame start --workers N` (N = CPUs) on the SQLite context `ctx`, neither it nor
 * the load generator pinned: one measurement of each of `ids`.
 */
export async function wholeMachine(run, ctx, state, ids, workers) {
  run.log(`whole machine: sesame start --workers ${workers}, unpinned`);
  const { child } = await startSesame(ctx.env, ctx.logFile, { args: ['--workers', String(workers)] });
  const side = { label: `Sesame ×${workers}`, target: ctx.target, state, child };
  const scenarios = {};
  try {
    await sleep(1000);
    for (const id of ids) {
      try {
        scenarios[id] = combine(
          [await measureOnce(id, side, { ...run.cfg, loadCpu: undefined }, run.log)],
          [],
        );
      } catch (err) {
        if (child.exitCode !== null || child.signalCode !== null) throw err;
        scenarios[id] = { failed: err.message.split('\n')[0] };
      }
    }
  } finally {
    await stopChild(child);
  }
  return { workers, scenarios };
}

function newestProfile(dir) {
  const files = existsSync(dir) ? readdirSync(dir).filter((f) => f.endsWith('.cpuprofile')) : [];
  if (files.length === 0) throw new Error(`no .cpuprofile in ${dir}`);
  return join(dir, files.sort().at(-1));
}

/** CPU profiles of Sesame (pinned like the rounds) for the missed targets (or all with BENCH_PROFILE=1). */
export async function profiles(run, targets, ctx, state, wanted) {
  const { cfg, work, log } = run;
  if (cfg.profile === '0') return [];
  const keys = new Set(
    targets
      .filter((t) => t.profile && (cfg.profile === '1' || t.result === 'MISS'))
      .map((t) => t.profile)
      .filter((key) => !SCENARIOS.some((s) => s.id === key) || wanted(key)),
  );
  const out = [];
  for (const key of keys) {
    const dir = join(work, 'profiles', key);
    mkdirSync(dir, { recursive: true });
    const nodeArgs = ['--cpu-prof', `--cpu-prof-dir=${dir}`];
    const opts = { args: run.startArgs, cpu: run.cpu, nodeArgs };
    const logFile = join(work, 'sesame-profile.log');
    log(`profiling Sesame: ${key}`);
    if (key === 'idle-memory') {
      const heapArgs = ['--heap-prof', `--heap-prof-dir=${dir}`];
      const { child } = await startSesame(ctx.env, logFile, { ...opts, nodeArgs: heapArgs });
      await sleep(1000);
      const rss = rssMB(child.pid);
      await stopChild(child, 15_000);
      const file = join(dir, readdirSync(dir).find((f) => f.endsWith('.heapprofile')) ?? 'missing');
      out.push({ title: `idle memory (RSS ${rss.toFixed(0)} MB)`, heap: summarizeHeapProfile(file, ROOT) });
      continue;
    }
    if (key === 'startup') {
      const dataDir = mkdtempSync(join(work, 'startup-profile-'));
      const env = sesameEnv({ port: await freePort(), dataDir });
      const { child, readyMs } = await startSesame(env, logFile, { ...opts, cpu: undefined });
      await stopChild(child);
      out.push({
        title: `startup on a new data directory (ready after ${readyMs.toFixed(0)} ms under the profiler)`,
        summary: summarizeProfile(newestProfile(dir), ROOT),
      });
      continue;
    }
    const allCpus = SCENARIOS.find((s) => s.id === key)?.allCpus;
    const { child } = await startSesame(ctx.env, logFile, allCpus ? { ...opts, cpu: undefined } : opts);
    try {
      const side = { label: 'Sesame (profiled)', target: ctx.target, state, child };
      const r = await measureOnce(key, side, cfg, log, { warmup: 1, duration: cfg.profileDuration });
      const rate = r.storm ? `${r.probe.p99} ms /healthz p99` : `${r.rate.toFixed(0)}/s under the profiler`;
      await stopChild(child, 15_000);
      out.push({
        title: `${labelOf(key)} (${rate})`,
        summary: summarizeProfile(newestProfile(dir), ROOT, { window: (r.storm ?? r).window }),
      });
    } finally {
      await stopChild(child);
    }
  }
  return out;
}
