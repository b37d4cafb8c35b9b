// The goals of issue #16 (and the earlier ones still held), PASS/MISS. Ratios to the peer are
// per core: the peer's CPU per request ÷ Sesame's, both pinned to the same one core; `profile`
// names the scenario to profile Sesame under when a goal is missed.
import { median, ofCeiling, perCore, rateRatio } from './report.mjs';
import { SCENARIOS } from './scenarios.mjs';

const x = (v) => `${v.toFixed(2)}×`;
const pct = (v) => `${(100 * v).toFixed(0)}%`;
const msReq = (r) => `${r.cpuMsPerOk.toFixed(3)} ms`;

export function evaluate(results) {
  const s = results.sesame?.scenarios ?? {};
  const p = results.peer?.scenarios ?? {};
  const ceiling = results.ceiling?.scenarios.ceiling;
  const out = [];
  const add = (name, value, pass, shown, profile = null) =>
    out.push({
      name,
      value,
      shown,
      result: Number.isFinite(value) ? (pass ? 'PASS' : 'MISS') : 'n/a',
      profile,
    });
  const vsPeer = (name, id, goal, backend = s) => {
    const a = backend[id];
    const b = p[id];
    const r = perCore(a, b);
    const rr = rateRatio(a, b);
    const shown = Number.isFinite(r)
      ? `${x(r)} per core (${msReq(a)} vs ${msReq(b)} per request); req/s ${x(rr)}`
      : 'n/a';
    add(name, r, r >= goal, shown, backend === s ? id : null);
  };
  vsPeer('client credentials ES256 ≥ 3× the peer', 'cc-es256', 3);
  const share = ofCeiling(s['cc-es256'], ceiling);
  add(
    'client credentials ES256 ≥ 35% of the ceiling',
    share,
    share >= 0.35,
    Number.isFinite(share)
      ? `${pct(share)} (${msReq(ceiling)} vs ${msReq(s['cc-es256'])} per request)`
      : 'n/a',
    'cc-es256',
  );
  vsPeer('introspection ≥ 2× the peer', 'introspect', 2);
  const intro = s.introspect?.rate ?? Number.NaN;
  add(
    'introspection ≥ 5,109 req/s on one core (Ory Hydra’s published figure)',
    intro,
    intro >= 5109,
    Number.isFinite(intro) ? `${Math.round(intro).toLocaleString('en-US')}/s` : 'n/a',
    'introspect',
  );
  vsPeer('refresh with rotation ≥ 1.7× the peer', 'refresh', 1.7);
  vsPeer('code + PKCE flow ≥ 2× the peer', 'code-flow', 2);
  vsPeer('discovery ≥ 2× the peer', 'discovery', 2);
  vsPeer('JWKS ≥ 2× the peer', 'jwks', 2);
  const idle = results.settled?.sesame?.rss ?? Number.NaN;
  const early = results.sesame?.idle?.rss ?? Number.NaN;
  add(
    'idle RSS < 70 MB',
    idle,
    idle < 70,
    `${idle.toFixed(0)} MB ${results.settled?.seconds} s after start (${early.toFixed(0)} MB after 1 s)`,
    'idle-memory',
  );
  const [peak = {}] = [results.sesame, results.sesamePg]
    .filter((d) => d?.loadRss)
    .sort((a, b) => b.loadRss - a.loadRss);
  const peakLabel = SCENARIOS.find((v) => v.id === peak.peakScenario)?.label ?? peak.peakScenario;
  const load = peak.loadRss ?? Number.NaN;
  add('RSS under load < 160 MB', load, load < 160, `${load.toFixed(0)} MB (peak: ${peakLabel})`);
  if (results.sesamePg) {
    const pg = results.sesamePg.scenarios;
    vsPeer('PostgreSQL: refresh ≥ 1.0× the peer', 'refresh', 1, pg);
    vsPeer('PostgreSQL: code + PKCE flow ≥ 1.0× the peer', 'code-flow', 1, pg);
  }
  const m = results.metricsCost;
  if (m) add('metrics on: ≤ 3% more CPU per request', m.pct, m.pct <= 3, m.shown);
  const cold = median(results.startup?.cold ?? []);
  add(
    'cold start (new data directory) to ready < 1 s',
    cold,
    cold < 1000,
    `${cold.toFixed(0)} ms`,
    'startup',
  );
  const p99 = s['login-storm']?.probe?.p99 ?? Number.NaN;
  add('/healthz p99 < 50 ms during a login storm', p99, p99 < 50, `${p99} ms`, 'login-storm');
  return out;
}

/**
 * Metrics on against off, cc-es256: `{ pct, shown }`, or null. The pairs measured back to back
 * when there are any (extra-runs.mjs, metricsPairs), else the medians of the rounds.
 */
export function metricsCost(results) {
  const on = results.metrics?.scenarios['cc-es256'];
  const off = results.sesame?.scenarios['cc-es256'];
  if (!on?.cpuMsPerOk || !off?.cpuMsPerOk) return null;
  const more = (ratio) => 100 * (ratio - 1);
  const said = (pct) => `${Math.abs(pct).toFixed(1)}% ${pct >= 0 ? 'more' : 'less'}`;
  const rounds = `${msReq(off)} → ${msReq(on)}; req/s ${Math.round(off.rate)} → ${Math.round(on.rate)}`;
  const pairs = results.metricsPairs;
  if (!pairs?.ratios.length) {
    const pct = more(on.cpuMsPerOk / off.cpuMsPerOk);
    return { pct, shown: `${said(pct)} CPU per request (${rounds})` };
  }
  const pct = more(pairs.median);
  const low = more(Math.min(...pairs.ratios));
  const high = more(Math.max(...pairs.ratios));
  const signed = (v) => `${v >= 0 ? '+' : '−'}${Math.abs(v).toFixed(1)}%`;
  return {
    pct,
    shown: `${said(pct)} CPU per request, the median of ${pairs.ratios.length} pairs measured back to back (${signed(low)} to ${signed(high)}); in the rounds ${said(more(on.cpuMsPerOk / off.cpuMsPerOk))} (${rounds})`,
  };
}
