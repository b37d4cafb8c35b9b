// One measurement: a job run by a load-generator process (lib/load.mjs) against one server,
// with the server's CPU time and peak RSS over the measured window; and the median of rounds.
import { join } from 'node:path';
import {
  forkWorker,
  machineBusySeconds,
  pidsCpuSeconds,
  processTree,
  rssMB,
  treeCpuSeconds,
} from './proc.mjs';
import { median } from './report.mjs';
import { pendingLogin, prepareJob } from './scenarios.mjs';
import { ROOT } from './servers.mjs';

const LOAD = join(ROOT, 'bench', 'lib', 'load.mjs');

/** The monotonic clock in µs, the clock of V8's CPU profiles. */
const microseconds = () => Number(process.hrtime.bigint() / 1000n);

/** Runs one job in a load-generator process (on CPU `cpu` if given); `onStarted` when its warm-up is over. */
export function runJob(job, cpu, onStarted) {
  return new Promise((resolve, reject) => {
    const child = forkWorker(`load ${job.name}`, LOAD, { cpu });
    let settled = false;
    const settle = (fn, value) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      fn(value);
    };
    const timer = setTimeout(
      () => {
        child.kill('SIGKILL');
        settle(reject, new Error(`${job.name}: load generator timed out`));
      },
      (job.warmup + job.duration + 90) * 1000,
    );
    child.on('message', (m) => {
      if (m.type === 'started') onStarted?.();
      else if (m.type === 'done') settle(resolve, m.result);
      else if (m.type === 'error') settle(reject, new Error(`${job.name}: ${m.message}`));
    });
    child.once('exit', (code) =>
      settle(reject, new Error(`${job.name}: load generator exited with ${code}`)),
    );
    child.send(job);
  });
}

/**
 * Runs a job against `server` (a child process; `server.dbPid` names a PostgreSQL postmaster),
 * reading over the measured window the CPU time and peak RSS of the server and its direct
 * children (workers), the cluster's CPU time, and what the rest of the machine used.
 */
async function measure(server, job, cpu, onStarted) {
  const dbCpu = () => (server.dbPid ? treeCpuSeconds(server.dbPid) : 0);
  let pids = [server.pid];
  let cpu0 = 0;
  let db0 = 0;
  let busy0 = 0;
  let t0 = 0;
  let from = 0;
  let rssMax = 0;
  let sampler;
  const sample = () => {
    try {
      rssMax = Math.max(rssMax, rssMB(...pids));
    } catch {}
  };
  let result;
  try {
    result = await runJob(job, cpu, () => {
      pids = processTree(server.pid);
      cpu0 = pidsCpuSeconds(pids);
      db0 = dbCpu();
      busy0 = machineBusySeconds();
      t0 = performance.now();
      from = microseconds();
      sample();
      sampler = setInterval(sample, 200);
      onStarted?.();
    });
  } finally {
    clearInterval(sampler);
  }
  const used = pidsCpuSeconds(pids) - cpu0;
  const db = dbCpu() - db0;
  const window = [from, microseconds()];
  const busy = machineBusySeconds() - busy0;
  const wall = (performance.now() - t0) / 1000;
  sample();
  if (server.exitCode !== null || server.signalCode !== null) throw new Error(`${job.name}: the server died`);
  return {
    ...result,
    cpuPct: (100 * used) / wall,
    cpuMsPerOk: result.ok > 0 ? (1000 * used) / result.ok : Number.NaN,
    rssMax,
    window,
    ...(server.dbPid ? { dbCpuPct: (100 * db) / wall } : {}),
    // CPU that neither the server (nor its database) nor this load generator used: other processes
    otherPct: Math.max(0, (100 * (busy - used - db - result.loadCpu)) / wall),
  };
}

const busyNote = (r) => `other processes ${r.otherPct.toFixed(0)}%`;

/**
 * One measurement of scenario `id` on one side ({ label, target, state, child }); `cfg` gives
 * connections, warm-up, duration, the load generator's CPU and the storm's settings.
 */
export async function measureOnce(id, side, cfg, log, extra = {}) {
  const { target: t, state, child } = side;
  const base = (name, more = {}) => ({
    name: `${side.label} ${name}`,
    url: t.base,
    connections: cfg.connections,
    warmup: cfg.warmup,
    duration: cfg.duration,
    ...more,
  });
  if (id === 'login-storm') {
    state.login = await pendingLogin(t);
    const storm = {
      ...base(id, { connections: cfg.stormConnections, ...extra }),
      ...(await prepareJob(id, t, state)),
    };
    const probe = {
      ...base('healthz probe', { connections: 2, warmup: 0, duration: Math.max(3, storm.duration - 2) }),
      mode: 'fixed',
      method: 'GET',
      path: t.paths.healthz,
      overallRate: cfg.probeRate,
    };
    let probeRun;
    const s = await measure(child, storm, cfg.loadCpu, () => {
      probeRun = runJob(probe, cfg.loadCpu);
    });
    const p = await probeRun;
    // the probe is load generation too, not "other processes"
    s.otherPct = Math.max(0, s.otherPct - (100 * p.loadCpu) / ((s.window[1] - s.window[0]) / 1e6));
    log(
      `  ${side.label} ${id}: ${s.rate.toFixed(0)} failed logins/s, /healthz p99 ${p.p99} ms (${busyNote(s)})`,
    );
    return { storm: s, probe: p };
  }
  const job = { ...base(id, extra), ...(await prepareJob(id, t, state)) };
  const r = await measure(child, job, cfg.loadCpu);
  const db = r.dbCpuPct === undefined ? '' : ` + PostgreSQL ${r.dbCpuPct.toFixed(0)}%`;
  const bad = r.other || r.errors ? `, ${r.other} unexpected, ${r.errors ?? 0} errors` : '';
  log(
    `  ${side.label} ${id}: ${r.rate.toFixed(0)}/s p50 ${r.p50} p99 ${r.p99} ms, CPU ${r.cpuPct.toFixed(0)}%${db} · ${r.cpuMsPerOk.toFixed(3)} ms/req (${busyNote(r)}${bad})`,
  );
  return r;
}

const MEDIANS = ['rate', 'p50', 'p99', 'cpuPct', 'cpuMsPerOk', 'dbCpuPct', 'otherPct'];
const SUMS = ['ok', 'total', 'other', 'errors', 'timeouts', 'starved'];

/** Rounds of one measurement as one: medians of rates, latencies and CPU, sums of counts, peak RSS. */
function combineRuns(runs) {
  const out = { rounds: runs.length };
  for (const k of MEDIANS) if (runs.some((r) => r[k] !== undefined)) out[k] = median(runs.map((r) => r[k]));
  for (const k of SUMS)
    if (runs.some((r) => r[k] !== undefined)) out[k] = runs.reduce((n, r) => n + (r[k] ?? 0), 0);
  out.rssMax = Math.max(...runs.map((r) => r.rssMax ?? 0));
  out.statuses = {};
  for (const r of runs)
    for (const [k, v] of Object.entries(r.statuses ?? {})) out.statuses[k] = (out.statuses[k] ?? 0) + v;
  out.firstError = runs.find((r) => r.firstError)?.firstError;
  // every round's req/s and CPU per request, for the spread
  out.each = runs.map((r) => ({ rate: r.rate, cpuMsPerOk: r.cpuMsPerOk, otherPct: r.otherPct }));
  return out;
}

/** The rounds of one side as its result: `{ failed }` when none succeeded. */
export function combine(runs, failures) {
  if (runs.length === 0) return { failed: failures[0] ?? 'not measured' };
  const out = runs[0].storm
    ? { storm: combineRuns(runs.map((r) => r.storm)), probe: combineRuns(runs.map((r) => r.probe)) }
    : combineRuns(runs);
  if (failures.length) out.failedRounds = failures;
  return out;
}
