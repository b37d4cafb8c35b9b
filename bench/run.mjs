// Sesame's benchmark: Sesame and node-oidc-provider side by side on this machine, in one run.
// `npm run bench` from the repository root (builds, installs bench/'s dependencies, runs this).
//
// 1. Startup: process start → first 200 from /readyz, on a new data directory and again on it.
// 2. Servers started once and kept running, each pinned to the same one CPU (taskset): Sesame on
//    SQLite, node-oidc-provider ("the peer"), the ceiling (bench/ceiling.mjs), Sesame on
//    PostgreSQL, Sesame with its metrics port. Each scenario is measured in BENCH_ROUNDS rounds;
//    within a round the servers take turns (Sesame, peer, Sesame on PostgreSQL, metrics, and in
//    scenario 1 the ceiling), only one under load at a time, driven by a load-generator process
//    (bench/lib/load.mjs) pinned to another CPU, with a warm-up and a bounded duration, only on
//    127.0.0.1. Medians are reported.
// 3. The whole machine: `sesame start --workers N`, unpinned, client credentials and refresh.
// 4. Targets → PASS/MISS; Sesame is profiled (`node --cpu-prof`) under the scenario of each miss.
// 5. The table goes to stdout and into bench/README.md.
//
// Settings (environment): BENCH_ROUNDS (3), BENCH_DURATION (s per round, 5), BENCH_WARMUP (s, 2),
// BENCH_CONNECTIONS (16), BENCH_STORM_CONNECTIONS (8), BENCH_PROBE_RATE (/healthz req/s during
// the storm, 100), BENCH_STARTS (startup tries, 3), BENCH_PIN (1; 0: nothing pinned),
// BENCH_PROFILE (auto: for misses | 0 | 1: every target), BENCH_PROFILE_DURATION (s, 5),
// BENCH_SCENARIOS (comma-separated ids, default all), BENCH_NO_PG=1, BENCH_NO_README=1 (do not
// rewrite bench/README.md), BENCH_MAX_MINUTES (25), BENCH_SETTLE_SECONDS (idle memory, 30).
import { existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { signedInBrowser } from './lib/browser.mjs';
import {
  measureStartup,
  metricsPairs,
  nodeFloor,
  profiles,
  settledIdle,
  wholeMachine,
} from './lib/extra-runs.mjs';
import { request } from './lib/http.mjs';
import { combine, measureOnce } from './lib/measure.mjs';
import { machine } from './lib/meta.mjs';
import { startCluster } from './lib/postgres.mjs';
import {
  cpusOf,
  freePort,
  killAllSync,
  memoryParts,
  pinning,
  setCpus,
  stopAll,
  stopChild,
} from './lib/proc.mjs';
import { printable, resultsMarkdown, writeReadme } from './lib/report.mjs';
import { SCENARIOS } from './lib/scenarios.mjs';
import {
  ROOT,
  sesameContext,
  sesameEnv,
  sesameHasWorkers,
  sesameTarget,
  startCeiling,
  startPeer,
  startSesame,
} from './lib/servers.mjs';
import { evaluate, metricsCost } from './lib/targets.mjs';

const num = (name, dflt) => {
  const v = Number(process.env[name] ?? dflt);
  if (!Number.isFinite(v) || v <= 0) throw new Error(`${name} must be a positive number`);
  return v;
};
const cfg = {
  rounds: num('BENCH_ROUNDS', 3),
  duration: num('BENCH_DURATION', 5),
  warmup: Number(process.env.BENCH_WARMUP ?? 2),
  connections: num('BENCH_CONNECTIONS', 16),
  stormConnections: num('BENCH_STORM_CONNECTIONS', 8),
  probeRate: num('BENCH_PROBE_RATE', 100),
  starts: num('BENCH_STARTS', 3),
  pin: process.env.BENCH_PIN !== '0',
  profile: process.env.BENCH_PROFILE ?? 'auto',
  profileDuration: num('BENCH_PROFILE_DURATION', 5),
  only: process.env.BENCH_SCENARIOS ? new Set(process.env.BENCH_SCENARIOS.split(',')) : null,
  pg: process.env.BENCH_NO_PG !== '1',
  readme: process.env.BENCH_NO_README !== '1',
  maxMinutes: num('BENCH_MAX_MINUTES', 25),
  settleSeconds: num('BENCH_SETTLE_SECONDS', 30),
  metricsPairs: Number(process.env.BENCH_METRICS_PAIRS ?? 8),
};
const README = join(ROOT, 'bench', 'README.md');
const work = mkdtempSync(join(tmpdir(), 'sesame-bench-'));
const began = performance.now();
const log = (...args) =>
  console.log(`[bench ${((performance.now() - began) / 1000).toFixed(0).padStart(3)} s]`, ...args);
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const wanted = (id) => !cfg.only || cfg.only.has(id);
const running = []; // the servers of the rounds: { key, label, target, state, child, idle }
let cluster = null;

/** Starts one server of the rounds, reads its idle memory, signs a browser in when `browser`. */
async function addServer(key, label, start, browser = true) {
  log(`${label}: starting`);
  const { child, target } = await start();
  const side = { key, label, target, child, state: {} };
  running.push(side);
  await sleep(1000);
  side.idle = memoryParts(child.pid);
  if (browser) {
    const { jar } = await signedInBrowser(target);
    side.state = { jar, poolSize: Math.max(64, cfg.connections * 8) };
  }
  return side;
}

/** Sesame with SESAME_METRICS_PORT on the SQLite data directory; null when GET /metrics does not answer 200. */
async function metricsServer(sqlite, startArgs, cpu, skipped) {
  const [port, metricsPort] = [await freePort(), await freePort()];
  const env = sesameEnv({ port, dataDir: sqlite.dataDir, configFile: sqlite.configFile, metricsPort });
  const start = async () => ({
    ...(await startSesame(env, join(work, 'sesame-metrics.log'), { args: startArgs, cpu })),
    target: sesameTarget(port, sqlite.clients),
  });
  const side = await addServer('metrics', 'Sesame (metrics on)', start);
  const res = await request(`http://127.0.0.1:${metricsPort}/metrics`).catch((err) => ({ status: err.code }));
  if (res.status === 200) return side;
  skipped.push(
    `Metrics cost skipped: with SESAME_METRICS_PORT=${metricsPort}, GET /metrics on that port gave ${res.status}, not 200 (this build has no metrics endpoint).`,
  );
  running.splice(running.indexOf(side), 1);
  await stopChild(side.child);
  return null;
}

/**
 * The metrics' cost in pairs (extra-runs.mjs), on two new servers that have each signed one
 * browser in and served nothing else, so that neither the rounds' history nor these runs' own
 * load on the rounds' servers (their heap, hence the RSS figures) differ between them.
 */
async function newPairs(run, sqlite, opts, pin) {
  const off = await addServer('pairs', 'Sesame (pairs)', async () => ({
    ...(await startSesame(sqlite.env, join(work, 'sesame-pairs.log'), opts)),
    target: sqlite.target,
  }));
  try {
    const on = await metricsServer(sqlite, opts.args, pin.server, []);
    return on ? await metricsPairs(run, off, on, cfg.metricsPairs) : undefined;
  } finally {
    for (const side of running.splice(0)) await stopChild(side.child);
  }
}

/** Every round of one scenario: the servers take turns; the medians go to `results[side.key]`. */
async function roundsOf(scenario, sides, results, pin) {
  const repin = scenario.allCpus && !pin.reason;
  for (const side of repin ? sides : []) {
    setCpus(side.child.pid, pin.all);
    log(`${side.label} on CPUs ${cpusOf(side.child.pid)} for ${scenario.id}`);
  }
  try {
    await turns(scenario, sides, results);
  } finally {
    for (const side of repin ? sides : []) {
      try {
        setCpus(side.child.pid, pin.server);
      } catch {} // it died: the error on its way says so
    }
  }
}

async function turns(scenario, sides, results) {
  const runs = sides.map(() => ({ ok: [], failed: [] }));
  for (let round = 1; round <= cfg.rounds; round++) {
    log(`${scenario.id}: round ${round} of ${cfg.rounds}`);
    for (const [i, side] of sides.entries()) {
      try {
        runs[i].ok.push(await measureOnce(side.scenario ?? scenario.id, side, cfg, log));
      } catch (err) {
        await sleep(200); // let a dead server's exit event arrive
        if (side.child.exitCode !== null || side.child.signalCode !== null) throw err;
        log(`  ${side.label} ${scenario.id} FAILED: ${err.message}`);
        runs[i].failed.push(err.message.split('\n')[0]);
      }
    }
  }
  for (const [i, side] of sides.entries())
    results[side.key].scenarios[side.scenario ?? scenario.id] = combine(runs[i].ok, runs[i].failed);
}

/** The peak RSS of a Sesame over its scenarios, and the scenario it was reached in. */
function peakRss(data) {
  const peaks = Object.entries(data.scenarios).map(([id, r]) => [id, r.storm?.rssMax ?? r.rssMax ?? 0]);
  const [peakScenario, loadRss] = peaks.reduce((a, b) => (b[1] > a[1] ? b : a), ['', 0]);
  Object.assign(data, { peakScenario, loadRss });
}

async function main() {
  if (!existsSync(join(ROOT, 'dist', 'sesame.js')))
    throw new Error('dist/ is missing: run `npm run build` first');
  log(`work directory ${work}`);
  const pin = pinning(cfg.pin);
  cfg.loadCpu = pin.load;
  log(
    pin.reason
      ? `unpinned: ${pin.reason}`
      : `servers on CPU ${pin.server}, load generators on CPU ${pin.load}`,
  );
  const hasWorkers = await sesameHasWorkers();
  const run = { cfg, work, log, cpu: pin.server, startArgs: hasWorkers ? ['--workers', '1'] : [] };
  const results = { skipped: [] };
  results.startup = await measureStartup(run);
  results.nodeFloor = await nodeFloor(run);
  results.settled = await settledIdle(
    run,
    SCENARIOS.some((s) => s.peer !== false && !s.ceiling && wanted(s.id)),
  );

  const opts = { args: run.startArgs, cpu: pin.server };
  const sqlite = await sesameContext('sqlite', work, log);
  const sesame = await addServer('sesame', 'Sesame', async () => ({
    ...(await startSesame(sqlite.env, sqlite.logFile, opts)),
    target: sqlite.target,
  }));
  const pinCheck = cpusOf(sesame.child.pid);
  const peer = SCENARIOS.some((s) => s.peer !== false && !s.ceiling && wanted(s.id))
    ? await addServer('peer', 'peer', () => startPeer(join(work, 'peer.log'), { cpu: pin.server }))
    : null;
  const ceiling = wanted('ceiling')
    ? await addServer(
        'ceiling',
        'node:http',
        () => startCeiling(join(work, 'ceiling.log'), sqlite.clients.m2m, { cpu: pin.server }),
        false,
      )
    : null;
  let pg = null;
  if (cfg.pg && SCENARIOS.some((s) => s.pg && wanted(s.id))) {
    cluster = await startCluster();
    if (!cluster) results.skipped.push('PostgreSQL scenarios skipped: initdb/pg_ctl not found.');
    else {
      const ctx = await sesameContext('postgres', work, log, cluster.url);
      pg = await addServer('sesamePg', 'Sesame (PostgreSQL)', async () => ({
        ...(await startSesame(ctx.env, ctx.logFile, opts)),
        target: ctx.target,
      }));
      pg.child.dbPid = cluster.pid();
    }
  }
  const metrics = wanted('cc-es256')
    ? await metricsServer(sqlite, run.startArgs, pin.server, results.skipped)
    : null;
  // The ceiling takes its turn in scenario 1's rounds (its own request, the same bytes), so that a
  // slow or fast spell of the machine moves both figures its share compares; alone only without it.
  const withCeiling = ceiling && wanted('cc-es256') ? { ...ceiling, scenario: 'ceiling' } : null;
  const order = [
    'Sesame',
    peer && 'the peer',
    pg && 'Sesame on PostgreSQL',
    metrics && 'Sesame with metrics on (scenario 1)',
    withCeiling && 'the ceiling (its own request, in scenario 1)',
  ];
  results.meta = {
    ...machine(cfg, pin, order.filter(Boolean).join(', ')),
    pinCheck,
    postgres: cluster?.version ?? '',
  };

  for (const side of running) results[side.key] = { idle: side.idle, scenarios: {} };
  for (const s of SCENARIOS.filter((v) => wanted(v.id) && !(v.ceiling && withCeiling))) {
    const sides = s.ceiling
      ? [ceiling]
      : [
          sesame,
          s.peer !== false && peer,
          s.pg && pg,
          s.id === 'cc-es256' && metrics,
          s.id === 'cc-es256' && withCeiling,
        ].filter(Boolean);
    await roundsOf(s, sides, results, pin);
  }
  for (const side of running.splice(0)) await stopChild(side.child);
  if (metrics && cfg.metricsPairs > 0) results.metricsPairs = await newPairs(run, sqlite, opts, pin);
  cluster?.stop();
  cluster = null;
  for (const data of [results.sesame, results.sesamePg]) if (data) peakRss(data);
  results.metricsCost = metricsCost(results);

  const whole = ['cc-es256', 'refresh'].filter(wanted);
  if (!hasWorkers) {
    results.skipped.push(
      'Whole machine skipped: `sesame start --help` does not list `--workers` (this build has no workers).',
    );
  } else if (whole.length) {
    results.wholeMachine = await wholeMachine(run, sqlite, sesame.state, whole, availableParallelism());
  }

  results.targets = evaluate(results);
  results.profiles = await profiles(run, results.targets, sqlite, sesame.state, wanted);
  writeFileSync(join(work, 'results.json'), JSON.stringify(results, null, 2));
  console.log(`\n${printable(results)}\n`);
  if (cfg.readme) {
    writeReadme(README, resultsMarkdown(results));
    log(`results written to ${README}`);
  }
  log(`logs, profiles and results.json in ${work}`);
}

async function cleanup() {
  await stopAll();
  cluster?.stop();
  cluster = null;
  for (const entry of existsSync(work) ? readdirSync(work) : []) {
    // keep logs, profiles and results.json; data directories go
    if (
      entry.startsWith('sesame-sqlite-') ||
      entry.startsWith('sesame-postgres-') ||
      entry.startsWith('startup')
    )
      rmSync(join(work, entry), { recursive: true, force: true });
  }
}

process.on('exit', () => {
  killAllSync();
  cluster?.stop();
});
for (const signal of ['SIGINT', 'SIGTERM']) {
  process.once(signal, () => {
    console.error(`\n${signal}: stopping every child process`);
    cleanup().finally(() => process.exit(130));
  });
}
const deadline = setTimeout(() => {
  console.error(`the benchmark ran over BENCH_MAX_MINUTES=${cfg.maxMinutes}; stopping`);
  cleanup().finally(() => process.exit(1));
}, cfg.maxMinutes * 60_000);
deadline.unref();

try {
  await main();
} catch (err) {
  console.error(err);
  process.exitCode = 1;
} finally {
  await cleanup();
}
