// Summarises a V8 .cpuprofile (from `node --cpu-prof`): the functions with the most self time,
// the src/ functions with the most inclusive time, and time by area (src/ folder, npm package,
// Node internals, GC). Positions in dist/ are mapped back to src/*.ts through the source maps.
import { existsSync, readFileSync } from 'node:fs';
import { SourceMap } from 'node:module';
import { relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const maps = new Map();

function sourceMapFor(file) {
  if (!maps.has(file)) {
    let map = null;
    try {
      if (existsSync(`${file}.map`)) map = new SourceMap(JSON.parse(readFileSync(`${file}.map`, 'utf8')));
    } catch {}
    maps.set(file, map);
  }
  return maps.get(file);
}

/** A file under node_modules as `pkg (file:line)`, else null. */
function inPackage(file, line) {
  const nm = file.lastIndexOf('/node_modules/');
  if (nm < 0) return null;
  const rest = file.slice(nm + '/node_modules/'.length).split('/');
  const pkg = rest[0].startsWith('@') ? `${rest[0]}/${rest[1]}` : rest[0];
  return `${pkg} (${rest.slice(pkg.includes('/') ? 2 : 1).join('/')}:${line})`;
}

/**
 * Where a call frame is, as `src/…ts:line`, `pkg (file)`, `node:…` or '' for native code. A
 * position in dist/ (tsc's files, or the bundle, whose map leads to src/ and node_modules) is
 * mapped back first.
 */
function locate(frame, root) {
  const { url, lineNumber, columnNumber } = frame;
  if (!url) return '';
  if (url.startsWith('node:')) return url;
  const file = url.startsWith('file://') ? fileURLToPath(url) : url;
  const map = file.includes('/dist/') && !file.includes('/node_modules/') ? sourceMapFor(file) : null;
  const entry = map?.findEntry(lineNumber, columnNumber);
  if (entry?.originalSource) {
    const src = entry.originalSource.startsWith('file://')
      ? fileURLToPath(entry.originalSource)
      : entry.originalSource;
    const abs = src.startsWith('/') ? src : new URL(src, `file://${file}`).pathname;
    return inPackage(abs, entry.originalLine + 1) ?? `${relative(root, abs)}:${entry.originalLine + 1}`;
  }
  return inPackage(file, lineNumber + 1) ?? `${relative(root, file)}:${lineNumber + 1}`;
}

const SPECIAL = new Set(['(garbage collector)', '(program)', '(idle)', '(root)']);

function areaOf(name, where) {
  if (SPECIAL.has(name)) return name;
  if (where === '') return '(native code)';
  if (where.startsWith('src/')) return where.split('/').slice(0, 2).join('/');
  if (where.startsWith('node:')) return 'node internals';
  if (where.includes(' (')) return `npm ${where.slice(0, where.indexOf(' ('))}`;
  return where.split(':')[0];
}

/**
 * Summary of one profile: `top` self time, `inclusive` time of src/ functions, `areas`; every
 * percentage is of the busy (non-idle) time. `window` ([from, to] in µs of the monotonic clock,
 * `process.hrtime`'s, which V8's profile timestamps share) keeps only the samples taken in it.
 */
export function summarizeProfile(path, root, { limit = 15, window } = {}) {
  const profile = JSON.parse(readFileSync(path, 'utf8'));
  const parent = new Map();
  for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const label = new Map();
  for (const n of profile.nodes) {
    const name = n.callFrame.functionName || '(anonymous)';
    const where = locate(n.callFrame, root);
    label.set(n.id, { name, where, key: `${name} ${where}` });
  }
  /** Native frames are shown with the JS function that called them. */
  const describe = (id) => {
    const l = label.get(id);
    if (l.where !== '' || SPECIAL.has(l.name)) return l;
    let p = parent.get(id);
    while (p !== undefined && label.get(p).where === '') p = parent.get(p);
    const caller = p === undefined ? null : label.get(p);
    return caller ? { ...l, key: `${l.key} ← ${caller.key}`, via: caller } : l;
  };
  const self = new Map();
  const inclusive = new Map();
  const areas = new Map();
  let busy = 0;
  let idle = 0;
  let at = profile.startTime;
  for (let i = 0; i < profile.samples.length; i++) {
    at += profile.timeDeltas[i] ?? 0;
    if (window && (at < window[0] || at > window[1])) continue;
    const dt = (profile.timeDeltas[i + 1] ?? profile.timeDeltas[i] ?? 0) / 1000;
    const id = profile.samples[i];
    const d = describe(id);
    if (d.name === '(idle)') {
      idle += dt;
      continue;
    }
    busy += dt;
    const s = self.get(d.key) ?? { ...d, ms: 0 };
    s.ms += dt;
    self.set(d.key, s);
    const area = areaOf(d.name, d.via?.where ?? d.where);
    areas.set(area, (areas.get(area) ?? 0) + dt);
    const seen = new Set();
    for (let n = id; n !== undefined; n = parent.get(n)) {
      const l = label.get(n);
      if (!l.where.startsWith('src/') || seen.has(l.key)) continue;
      seen.add(l.key);
      const inc = inclusive.get(l.key) ?? { ...l, ms: 0 };
      inc.ms += dt;
      inclusive.set(l.key, inc);
    }
  }
  const pct = (ms) => (busy > 0 ? (100 * ms) / busy : 0);
  const rows = (m) =>
    [...m.values()]
      .sort((a, b) => b.ms - a.ms)
      .slice(0, limit)
      .map((r) => ({
        name: r.name,
        where: r.via ? `native, from ${r.via.name} ${r.via.where}` : r.where,
        ms: r.ms,
        pct: pct(r.ms),
      }));
  return {
    file: path,
    busyMs: busy,
    idleMs: idle,
    top: rows(self),
    inclusive: rows(inclusive),
    areas: [...areas.entries()]
      .sort((a, b) => b[1] - a[1])
      .slice(0, 12)
      .map(([area, ms]) => ({ area, ms, pct: pct(ms) })),
  };
}

/**
 * Summary of a sampling heap profile (`node --heap-prof`, written at exit): the live JS heap
 * the sampler saw, by area and by allocating function.
 */
export function summarizeHeapProfile(path, root, limit = 12) {
  const { head } = JSON.parse(readFileSync(path, 'utf8'));
  const byFn = new Map();
  const areas = new Map();
  let total = 0;
  const visit = (node) => {
    if (node.selfSize > 0) {
      const name = node.callFrame.functionName || '(anonymous)';
      const where = locate(node.callFrame, root);
      const key = `${name} ${where}`;
      const r = byFn.get(key) ?? { name, where, bytes: 0 };
      r.bytes += node.selfSize;
      byFn.set(key, r);
      const area = areaOf(name, where);
      areas.set(area, (areas.get(area) ?? 0) + node.selfSize);
      total += node.selfSize;
    }
    for (const c of node.children ?? []) visit(c);
  };
  visit(head);
  const mb = (b) => b / 2 ** 20;
  return {
    totalMB: mb(total),
    areas: [...areas.entries()]
      .sort((a, b) => b[1] - a[1])
      .slice(0, limit)
      .map(([area, b]) => ({ area, mb: mb(b) })),
    top: [...byFn.values()]
      .sort((a, b) => b.bytes - a.bytes)
      .slice(0, limit)
      .map((r) => ({ name: r.name, where: r.where, mb: mb(r.bytes) })),
  };
}

/** Markdown for a heap summary. */
export function heapMarkdown(title, s) {
  const f = (n) => n.toFixed(1);
  return [
    `#### ${title}`,
    '',
    `The sampling heap profiler saw ${f(s.totalMB)} MB of live JS objects. By area: ${s.areas.map((a) => `${a.area} ${f(a.mb)} MB`).join(', ')}.`,
    '',
    '| MB | allocated in | where |',
    '|---:|---|---|',
    ...s.top.map((r) => `| ${f(r.mb)} | \`${r.name}\` | ${r.where || 'native'} |`),
    '',
  ].join('\n');
}

/** Markdown for a summary. */
export function profileMarkdown(title, s) {
  const f = (n) => n.toFixed(1);
  const lines = [
    `#### ${title}`,
    '',
    `Busy ${f(s.busyMs / 1000)} s on the main thread, idle ${f(s.idleMs / 1000)} s. Time by area: ${s.areas
      .map((a) => `${a.area} ${f(a.pct)}%`)
      .join(', ')}.`,
    '',
    '| self % | function | where |',
    '|---:|---|---|',
    ...s.top.map((r) => `| ${f(r.pct)} | \`${r.name}\` | ${r.where || 'native'} |`),
    '',
    '| inclusive % | src/ function | where |',
    '|---:|---|---|',
    ...s.inclusive.map((r) => `| ${f(r.pct)} | \`${r.name}\` | ${r.where} |`),
    '',
  ];
  return lines.join('\n');
}
