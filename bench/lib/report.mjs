// The results: the side-by-side table, the targets (PASS/MISS), startup and memory, printed to
// stdout and written between the markers of bench/README.md's results section.
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { heapMarkdown, profileMarkdown } from './profile.mjs';
import { SCENARIOS } from './scenarios.mjs';

const START = '<!-- bench:results:start -->';
const END = '<!-- bench:results:end -->';

const int = (n) => (Number.isFinite(n) ? Math.round(n).toLocaleString('en-US') : 'n/a');
const ms = (n) => (Number.isFinite(n) ? (n < 10 ? n.toFixed(1) : Math.round(n).toString()) : 'n/a');
const mem = (p) => (p ? `${ms(p.rss)} MB (anonymous ${ms(p.anon)}, file-backed ${ms(p.file)})` : 'n/a');
const lat = (r) => (r ? `${ms(r.p50)} / ${ms(r.p99)}` : 'n/a');
const cpu = (r) =>
  Number.isFinite(r?.cpuPct)
    ? `${Math.round(r.cpuPct)}%${Number.isFinite(r.dbCpuPct) ? ` + pg ${Math.round(r.dbCpuPct)}%` : ''} · ${r.cpuMsPerOk.toFixed(2)} ms`
    : 'n/a';

/** Ratio Sesame / peer of a scenario, or NaN. */
export function ratio(a, b) {
  return a && b && b.rate > 0 ? a.rate / b.rate : Number.NaN;
}

/** The rows of the main table: [label, sesame result, peer result, backend note]. */
function rows(results) {
  const out = [];
  for (const s of SCENARIOS) {
    if (s.id === 'login-storm') {
      const r = results.sesame.scenarios['login-storm'];
      out.push({
        label: '7a. failed logins POSTed to /u/login (the storm)',
        a: r?.storm,
        b: null,
        rss: r?.storm,
      });
      out.push({
        label: '7b. GET /healthz at a fixed rate during the storm',
        a: r?.probe,
        b: null,
        rss: null,
      });
      continue;
    }
    const a = results.sesame.scenarios[s.id];
    const b = s.peer === false ? null : results.peer?.scenarios[s.id];
    out.push({ label: s.label, a, b, rss: a });
  }
  for (const s of SCENARIOS.filter((x) => x.pg)) {
    const a = results.sesamePg?.scenarios[s.id];
    if (a) out.push({ label: `${s.label}, PostgreSQL`, a, b: results.peer?.scenarios[s.id], rss: a });
  }
  return out;
}

/** The main table as Markdown. */
export function tableMarkdown(results) {
  const lines = [
    '| scenario | Sesame req/s | peer req/s | ratio | Sesame p50 / p99 ms | peer p50 / p99 ms | Sesame CPU · per req | peer CPU · per req | Sesame RSS MB |',
    '|---|---:|---:|---:|---:|---:|---:|---:|---:|',
  ];
  for (const { label, a, b, rss } of rows(results)) {
    const r = ratio(a, b);
    lines.push(
      `| ${label} | ${int(a?.rate)} | ${b ? int(b.rate) : 'n/a'} | ${Number.isFinite(r) ? `${r.toFixed(2)}×` : 'n/a'} | ${lat(a)} | ${lat(b)} | ${cpu(a)} | ${cpu(b)} | ${rss?.rssMax ? Math.round(rss.rssMax) : ''} |`,
    );
  }
  return lines.join('\n');
}

/** Targets with PASS/MISS. */
export function targetsMarkdown(targets) {
  const lines = ['| target | measured | result |', '|---|---:|---|'];
  for (const t of targets) lines.push(`| ${t.name} | ${t.shown} | ${t.result} |`);
  return lines.join('\n');
}

/** Irregularities worth reading: non-success responses, errors, a starved token pool. */
function notes(results) {
  const out = [];
  for (const [server, data] of [
    ['Sesame', results.sesame],
    ['peer', results.peer],
    ['Sesame (PostgreSQL)', results.sesamePg],
  ]) {
    for (const [id, r0] of Object.entries(data?.scenarios ?? {})) {
      if (r0.failed) {
        out.push(`- ${server}, ${id}: failed: ${r0.failed}`);
        continue;
      }
      for (const r of r0.storm ? [r0.storm, r0.probe] : [r0]) {
        if (!r) continue;
        const bad = (r.other ?? 0) + (r.errors ?? 0);
        if (bad > 0 || r.starved > 0) {
          const detail = r.statuses ? JSON.stringify(r.statuses) : (r.firstError ?? '');
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
  const part = (label, data) => {
    const v = Object.values(data?.scenarios ?? {})
      .map((r) => r.otherPct ?? r.storm?.otherPct)
      .filter(Number.isFinite);
    if (v.length === 0) return null;
    const avg = v.reduce((a, b) => a + b, 0) / v.length;
    return `${label} ${Math.round(avg)}% on average (at most ${Math.round(Math.max(...v))}%)`;
  };
  const parts = [
    part('Sesame', results.sesame),
    part('peer', results.peer),
    part('Sesame on PostgreSQL', results.sesamePg),
  ].filter(Boolean);
  return `**Background load**: CPU used by other processes on the machine during the measured windows (not the server, not the load generator; % of one core, of ${results.meta.nproc * 100}%): ${parts.join('; ')}.${results.meta.loadavg ? ` Load average at the start of the run: ${results.meta.loadavg}.` : ''}`;
}

/** Which scenarios were measured twice because the machine was busy. */
function remeasured(results) {
  const out = [];
  for (const [label, data] of [
    ['Sesame', results.sesame],
    ['peer', results.peer],
    ['Sesame on PostgreSQL', results.sesamePg],
  ]) {
    const ids = Object.entries(data?.scenarios ?? {})
      .filter(([, r]) => r.remeasured)
      .map(([id]) => id);
    if (ids.length) out.push(`${label}: ${ids.join(', ')}`);
  }
  return out.length
    ? `Measured twice because other processes were busy during the first try (the quieter try counts): ${out.join('; ')}.`
    : '';
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
    tableMarkdown(results),
    '',
    'req/s counts successful responses only (flows/s for scenario 5, each flow = GET /authorize + POST token); ratio = Sesame / peer; CPU = server CPU time (user + system, /proc/PID/stat) over the measured window, as % of one core, and per successful request; RSS = the peak VmRSS of the Sesame process during that scenario; "+ pg" = CPU of the PostgreSQL cluster (postmaster and backends) in the PostgreSQL rows, not counted in the per-request figure.',
    '',
    '**Targets** (same run, this machine):',
    '',
    targetsMarkdown(results.targets),
    '',
    `**Startup** (process start → first 200 from /readyz, ${st.cold.length} tries each, median): new data directory ${ms(median(st.cold))} ms (${st.cold.map(ms).join(', ')}); warm, second start on the same data directory, ${ms(median(st.warm))} ms (${st.warm.map(ms).join(', ')}). **Memory** (VmRSS): Sesame idle ${mem(results.sesame.idle)} one second after start; peak under load ${ms(results.sesame.loadRss)} MB (SQLite)${results.sesamePg ? `, ${ms(results.sesamePg.loadRss)} MB (PostgreSQL)` : ''}; for scale, an idle \`node -e 'setInterval(…)'\` ${mem(results.nodeFloor)}${results.peer ? `, node-oidc-provider idle ${ms(results.peer.idleRss)} MB` : ''}.`,
    '',
  ];
  lines.push(backgroundLoad(results), '');
  const again = remeasured(results);
  if (again) lines.push(again, '');
  const n = notes(results);
  if (n.length) lines.push('Irregularities:', '', ...n, '');
  if (results.skipped?.length) lines.push(...results.skipped.map((s) => `- ${s}`), '');
  if (results.profiles?.length) {
    lines.push(
      '### Profiles of the missed targets (generated)',
      '',
      'Sesame started with `node --cpu-prof bin/sesame.js start` (idle memory: `--heap-prof`) and driven by the scenario behind each missed target, on the SQLite data directory of the run; only the samples of the measured window count; percentages are of the busy (non-idle) main-thread time, which includes time blocked in synchronous calls (better-sqlite3); dist/ positions are mapped to src/ through the source maps. Async callers are invisible in V8 profiles, so database time shows up under kysely/better-sqlite3 rather than under the src/ function that awaited it.',
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

/** A plain-text rendering of the table and targets for stdout. */
export function printable(results) {
  const table = [
    [
      'scenario',
      'Sesame/s',
      'peer/s',
      'ratio',
      'Sesame p50/p99',
      'peer p50/p99',
      'Sesame CPU',
      'peer CPU',
      'RSS',
    ],
  ];
  for (const { label, a, b, rss } of rows(results)) {
    const r = ratio(a, b);
    table.push([
      label,
      int(a?.rate),
      b ? int(b.rate) : 'n/a',
      Number.isFinite(r) ? `${r.toFixed(2)}x` : 'n/a',
      lat(a),
      lat(b),
      cpu(a),
      cpu(b),
      rss?.rssMax ? String(Math.round(rss.rssMax)) : '',
    ]);
  }
  const widths = table[0].map((_, i) => Math.max(...table.map((row) => row[i].length)));
  const fmt = (row) => row.map((c, i) => (i === 0 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join('  ');
  const out = [fmt(table[0]), widths.map((w) => '-'.repeat(w)).join('  '), ...table.slice(1).map(fmt), ''];
  for (const t of results.targets) out.push(`${t.result.padEnd(4)}  ${t.name}: ${t.shown}`);
  return out.join('\n');
}
