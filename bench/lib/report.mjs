// The results: the side-by-side table, the targets (PASS/MISS), startup and memory, printed to
// stdout and written between the markers of bench/README.md's results section.
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { heapMarkdown, profileMarkdown } from './profile.mjs';
import { SCENARIOS } from './scenarios.mjs';

const START = '<!-- bench:results:start -->';
const END = '<!-- bench:results:end -->';

const int = (n) => (Number.isFinite(n) ? Math.round(n).toLocaleString('en-US') : 'n/a');
const ms = (n) => (Number.isFinite(n) ? (n < 10 ? n.toFixed(1) : Math.round(n).toString()) : 'n/a');
const ms3 = (n) => (n < 1 ? n.toFixed(3) : n.toFixed(2));
const mem = (p) => (p ? `${ms(p.rss)} MB (anonymous ${ms(p.anon)}, file-backed ${ms(p.file)})` : 'n/a');
const lat = (r) => (r && Number.isFinite(r.p50) ? `${ms(r.p50)} / ${ms(r.p99)}` : 'n/a');
const times = (v) => (Number.isFinite(v) ? `${v.toFixed(2)}×` : 'n/a');
const share = (v) => (Number.isFinite(v) ? `${(100 * v).toFixed(0)}%` : 'n/a');
/** CPU as % of one core (+ the PostgreSQL cluster's) · per request; `spread`: the rounds' min–max. */
function cpu(r, spread = false) {
  if (!Number.isFinite(r?.cpuPct)) return 'n/a';
  const pg = Number.isFinite(r.dbCpuPct) ? ` + pg ${Math.round(r.dbCpuPct)}%` : '';
  const each = (r.each ?? []).map((e) => e.cpuMsPerOk).filter(Number.isFinite);
  const range = spread && each.length > 1 ? ` (${ms3(Math.min(...each))}–${ms3(Math.max(...each))})` : '';
  return `${Math.round(r.cpuPct)}%${pg} · ${ms3(r.cpuMsPerOk)} ms${range}`;
}

/** Sesame req/s ÷ peer req/s, or NaN. */
export function rateRatio(a, b) {
  return a && b && b.rate > 0 ? a.rate / b.rate : Number.NaN;
}

/** Per core: the peer's CPU per request ÷ Sesame's (both pinned to one core), or NaN. */
export function perCore(a, b) {
  return a?.cpuMsPerOk > 0 && b?.cpuMsPerOk > 0 ? b.cpuMsPerOk / a.cpuMsPerOk : Number.NaN;
}

/** How close to the ceiling: the ceiling's CPU per request ÷ Sesame's, or NaN. */
export function ofCeiling(a, ceiling) {
  return a?.cpuMsPerOk > 0 && ceiling?.cpuMsPerOk > 0 ? ceiling.cpuMsPerOk / a.cpuMsPerOk : Number.NaN;
}

/** The rows of the main table: { label, a: Sesame (or the ceiling), b: peer, rss, sesame }. */
function rows(results) {
  const out = [];
  const peer = (s) => (s.peer === false ? null : results.peer?.scenarios[s.id]);
  for (const s of SCENARIOS) {
    if (s.ceiling) continue;
    if (s.id === 'login-storm') {
      const r = results.sesame?.scenarios['login-storm'];
      if (!r) continue;
      out.push({ label: '7a. failed logins POSTed to /u/login (the storm)', a: r.storm, rss: r.storm });
      out.push({ label: '7b. GET /healthz at a fixed rate during the storm', a: r.probe });
      continue;
    }
    const a = results.sesame?.scenarios[s.id];
    if (a) out.push({ label: s.label, a, b: peer(s), rss: a, sesame: true });
  }
  for (const s of SCENARIOS.filter((v) => v.pg)) {
    const a = results.sesamePg?.scenarios[s.id];
    if (a) out.push({ label: `${s.label}, PostgreSQL`, a, b: peer(s), rss: a, sesame: true });
  }
  const m = results.metrics?.scenarios['cc-es256'];
  if (m)
    out.push({
      label: `${SCENARIOS[1].label}, metrics on`,
      a: m,
      b: peer(SCENARIOS[1]),
      rss: m,
      sesame: true,
    });
  const c = results.ceiling?.scenarios.ceiling;
  if (c) out.push({ label: SCENARIOS.find((v) => v.ceiling).label, a: c });
  return out;
}

/** The cells of one row (Markdown: with the rounds' spread of CPU per request). */
function cells({ label, a, b, rss, sesame }, ceiling, markdown) {
  return [
    label,
    int(a?.rate),
    b ? int(b.rate) : 'n/a',
    times(rateRatio(a, b)),
    cpu(a, markdown),
    b ? cpu(b, markdown) : 'n/a',
    times(perCore(a, b)),
    sesame ? share(ofCeiling(a, ceiling)) : '',
    lat(a),
    lat(b),
    rss?.rssMax ? String(Math.round(rss.rssMax)) : '',
  ];
}

const HEAD = [
  'scenario',
  'Sesame req/s',
  'peer req/s',
  'req/s ratio',
  'Sesame CPU · per req',
  'peer CPU · per req',
  'per-core ratio',
  'of ceiling',
  'Sesame p50 / p99 ms',
  'peer p50 / p99 ms',
  'Sesame RSS MB',
];

/** The main table as Markdown. */
export function tableMarkdown(results) {
  const ceiling = results.ceiling?.scenarios.ceiling;
  const lines = [
    `| ${HEAD.join(' | ')} |`,
    `|---|${HEAD.slice(1)
      .map(() => '---:')
      .join('|')}|`,
  ];
  for (const row of rows(results)) lines.push(`| ${cells(row, ceiling, true).join(' | ')} |`);
  return lines.join('\n');
}

/** Sesame started with --workers on the whole machine: a small table and what caps it. */
function wholeMachineMarkdown(results) {
  const w = results.wholeMachine;
  if (!w) return [];
  const lines = [
    `**Whole machine (${w.workers} workers, unpinned)**: \`sesame start --workers ${w.workers}\` on the SQLite data directory of the run, neither it nor the load generator pinned, so the load generator takes its share of the same ${results.meta.nproc} CPUs; CPU = all of Sesame's processes.`,
    '',
    '| scenario | req/s | vs Sesame on one core | p50 / p99 ms | CPU · per req |',
    '|---|---:|---:|---:|---:|',
  ];
  for (const [id, r] of Object.entries(w.scenarios)) {
    const label = SCENARIOS.find((s) => s.id === id)?.label ?? id;
    const one = results.sesame?.scenarios[id];
    lines.push(
      r.failed
        ? `| ${label} | failed: ${r.failed} | | | |`
        : `| ${label} | ${int(r.rate)} | ${times(rateRatio(r, one))} | ${lat(r)} | ${cpu(r)} |`,
    );
  }
  lines.push(
    '',
    'SQLite has one writer: every write transaction holds the database’s single write lock, whatever the number of workers, so write-heavy flows such as refresh with rotation are capped by it; client credentials write nothing per request (their log events are written in batches), so the lock does not hold them back.',
    '',
  );
  return lines;
}

/** Targets with PASS/MISS. */
export function targetsMarkdown(targets) {
  const lines = ['| target | measured | result |', '|---|---:|---|'];
  for (const t of targets) lines.push(`| ${t.name} | ${t.shown} | ${t.result} |`);
  return lines.join('\n');
}

/** Every set of results with its label. */
const sides = (results) =>
  [
    ['Sesame', results.sesame],
    ['peer', results.peer],
    ['Sesame on PostgreSQL', results.sesamePg],
    ['Sesame with metrics on', results.metrics],
    ['ceiling', results.ceiling],
    ['whole machine', results.wholeMachine],
  ].filter(([, data]) => data);

/** Irregularities worth reading: failed rounds, non-success responses, errors, a starved token pool. */
function notes(results) {
  const out = [];
  for (const [server, data] of sides(results)) {
    for (const [id, r0] of Object.entries(data.scenarios ?? {})) {
      if (r0.failed) {
        out.push(`- ${server}, ${id}: failed: ${r0.failed}`);
        continue;
      }
      if (r0.failedRounds)
        out.push(`- ${server}, ${id}: ${r0.failedRounds.length} round(s) failed: ${r0.failedRounds[0]}`);
      for (const r of r0.storm ? [r0.storm, r0.probe] : [r0]) {
        const bad = (r.other ?? 0) + (r.errors ?? 0);
        if (bad > 0 || r.starved > 0) {
          const detail = Object.keys(r.statuses ?? {}).length
            ? JSON.stringify(r.statuses)
            : (r.firstError ?? '');
          out.push(
            `- ${server}, ${id}: ${bad} unexpected responses or errors of ${r.total} ${detail}${r.starved ? `, token pool empty ${r.starved}×` : ''}`,
          );
        }
      }
    }
  }
  return out;
}

/** How busy the machine was with other processes while each server was measured. */
function backgroundLoad(results) {
  const parts = [];
  for (const [label, data] of sides(results)) {
    const v = Object.values(data.scenarios ?? {})
      .flatMap((r) => (r.storm ?? r).each ?? [])
      .map((e) => e.otherPct)
      .filter(Number.isFinite);
    if (v.length === 0) continue;
    const avg = v.reduce((a, b) => a + b, 0) / v.length;
    parts.push(`${label} ${Math.round(avg)}% on average (at most ${Math.round(Math.max(...v))}%)`);
  }
  return `**Background load**: CPU used by other processes on the machine during the measured windows (not the server, not the load generator; % of one core, of ${results.meta.nproc * 100}%): ${parts.join('; ')}.${results.meta.loadavg ? ` Load average at the start of the run: ${results.meta.loadavg}.` : ''}`;
}

/** Where the processes ran. */
function pinningMarkdown(m) {
  const p = m.pinning;
  if (p.reason) {
    return `**Unpinned** (${p.reason}): servers, load generators and PostgreSQL share every CPU, so CPU per request and the per-core ratios are the figures to read.`;
  }
  return `**Pinning**: Sesame, the peer and the ceiling each run on CPU ${p.server} (\`taskset -c ${p.server}\`; Sesame's Cpus_allowed_list read back: ${m.pinCheck}), only one of them under load at a time (except during the login storm, scenario 7, when Sesame may use CPUs ${p.all}: argon2 runs on libuv's threads, which on one core would starve the event loop the scenario watches); the load generators on CPU ${p.load}; PostgreSQL unpinned.`;
}

/** The whole results section (between the README markers). */
export function resultsMarkdown(results) {
  const m = results.meta;
  const st = results.startup;
  const lines = [
    `Latest run: ${m.date}, \`${m.command}\` (${m.settings}).`,
    '',
    `Machine: ${m.nproc} CPUs (nproc), ${m.cpu}, ${m.memory}, Node ${m.node}, ${m.os}. Sesame ${m.sesameVersion} (SQLite unless marked PostgreSQL ${m.postgres}), node-oidc-provider ${m.peerVersion}, autocannon ${m.autocannonVersion}.`,
    '',
    `${pinningMarkdown(m)} **Rounds**: every figure is the median of ${m.rounds} round${m.rounds === 1 ? '' : 's'}; within a round the servers take turns (${m.order}), all of them started once and kept running.`,
    '',
    tableMarkdown(results),
    '',
    'req/s counts successful responses only (flows/s for scenario 5, each flow = GET /authorize + POST token); req/s ratio = Sesame / peer; CPU = the server’s CPU time (user + system, /proc/PID/stat, with its child processes) over the measured window, as % of one core, and per successful request, in brackets the lowest and highest of the rounds; per-core ratio = the peer’s CPU per request ÷ Sesame’s; of ceiling = the ceiling’s CPU per request ÷ Sesame’s (the ceiling row, bare `node:http`, is in the Sesame columns); RSS = the peak VmRSS of the Sesame process over the rounds; "+ pg" = CPU of the PostgreSQL cluster (postmaster and backends) in the PostgreSQL rows, not counted in the per-request figure nor in the ratios.',
    '',
    '**Targets** (same run, this machine):',
    '',
    targetsMarkdown(results.targets),
    '',
  ];
  if (results.metricsCost)
    lines.push(
      `**Metrics on**: ${results.metricsCost.shown}, with \`SESAME_METRICS_PORT\` set (Prometheus \`GET /metrics\` on its own port; client credentials ES256, ${results.metricsPairs?.ratios.length ? 'in pairs of short runs back to back, after the rounds, on two new servers, one without metrics, the order flipped every pair' : 'in the same rounds as the normal start'}).`,
      '',
    );
  lines.push(...wholeMachineMarkdown(results));
  lines.push(
    `**Startup** (process start → first 200 from /readyz, ${st.cold.length} tries each, median): new data directory ${ms(median(st.cold))} ms (${st.cold.map(ms).join(', ')}); warm, second start on the same data directory, ${ms(median(st.warm))} ms (${st.warm.map(ms).join(', ')}). **Memory** (VmRSS): Sesame idle ${mem(results.settled?.sesame)} ${results.settled?.seconds} s after start, ${mem(results.sesame.idle)} one second after start; peak under load ${ms(results.sesame.loadRss)} MB (SQLite)${results.sesamePg ? `, ${ms(results.sesamePg.loadRss)} MB (PostgreSQL)` : ''}; for scale, an idle \`node -e 'setInterval(…)'\` ${mem(results.nodeFloor)}${results.peer ? `, node-oidc-provider idle ${ms(results.settled?.peer?.rss)} MB ${results.settled?.seconds} s after start (${ms(results.peer.idle?.rss)} MB after 1 s)` : ''}.`,
    '',
    backgroundLoad(results),
    '',
  );
  const n = notes(results);
  if (n.length) lines.push('Irregularities:', '', ...n, '');
  if (results.skipped?.length) lines.push(...results.skipped.map((s) => `- ${s}`), '');
  if (results.profiles?.length) {
    lines.push(
      '### Profiles of the missed targets (generated)',
      '',
      'Sesame started with `node --cpu-prof bin/sesame.js start` (idle memory: `--heap-prof`), pinned like the rounds, and driven by the scenario behind each missed target, on the SQLite data directory of the run; only the samples of the measured window count; percentages are of the busy (non-idle) main-thread time, which includes time blocked in synchronous calls (better-sqlite3); dist/ positions are mapped to src/ through the source maps. Async callers are invisible in V8 profiles, so database time shows up under kysely/better-sqlite3 rather than under the src/ function that awaited it.',
      '',
    );
    for (const p of results.profiles)
      lines.push(p.heap ? heapMarkdown(p.title, p.heap) : profileMarkdown(p.title, p.summary));
  }
  return lines.join('\n');
}

export function median(values) {
  const v = [...values].sort((a, b) => a - b);
  if (v.length === 0) return Number.NaN;
  const mid = Math.floor(v.length / 2);
  return v.length % 2 ? v[mid] : (v[mid - 1] + v[mid]) / 2;
}

/** Replaces the results section of bench/README.md (adds the markers when they are missing). */
export function writeReadme(path, markdown) {
  const block = `${START}\n${markdown}\n${END}`;
  const text = existsSync(path) ? readFileSync(path, 'utf8') : '# Sesame benchmarks\n\n## Results\n\n';
  const a = text.indexOf(START);
  const b = text.indexOf(END);
  const next =
    a >= 0 && b > a
      ? text.slice(0, a) + block + text.slice(b + END.length)
      : `${text.trimEnd()}\n\n${block}\n`;
  writeFileSync(path, next);
}

/** A plain-text rendering of the tables and targets for stdout. */
export function printable(results) {
  const ceiling = results.ceiling?.scenarios.ceiling;
  const table = [HEAD, ...rows(results).map((row) => cells(row, ceiling, false))];
  const widths = table[0].map((_, i) => Math.max(...table.map((row) => row[i].length)));
  const fmt = (row) => row.map((c, i) => (i === 0 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join('  ');
  const m = results.meta;
  const out = [
    m.pinning.reason
      ? `unpinned (${m.pinning.reason})`
      : `servers on CPU ${m.pinning.server}, load generators on CPU ${m.pinning.load}; medians of ${m.rounds} round${m.rounds === 1 ? '' : 's'} (${m.order})`,
    '',
    fmt(table[0]),
    widths.map((w) => '-'.repeat(w)).join('  '),
    ...table.slice(1).map(fmt),
    '',
  ];
  const w = results.wholeMachine;
  for (const [id, r] of Object.entries(w?.scenarios ?? {})) {
    const one = results.sesame?.scenarios[id];
    out.push(
      `whole machine (${w.workers} workers, unpinned) ${id}: ${r.failed ? `failed: ${r.failed}` : `${int(r.rate)}/s (${times(rateRatio(r, one))} one core), p50/p99 ${lat(r)} ms, CPU ${cpu(r)}`}`,
    );
  }
  if (results.metricsCost) out.push(`metrics on: ${results.metricsCost.shown}`);
  for (const s of results.skipped ?? []) out.push(`skipped: ${s}`);
  out.push('');
  for (const t of results.targets) out.push(`${t.result.padEnd(4)}  ${t.name}: ${t.shown}`);
  return out.join('\n');
}
