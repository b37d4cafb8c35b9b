// What the report says about the run: the machine, versions, settings, where processes ran.
import { readFileSync } from 'node:fs';
import { availableParallelism, loadavg, release, totalmem, type } from 'node:os';
import { join } from 'node:path';
import { ROOT } from './servers.mjs';

/** A package's version, by its package.json under the repository root. */
export const packageVersion = (path) => JSON.parse(readFileSync(join(ROOT, path), 'utf8')).version;

/** What every benchmark says about the machine and how it was started (`npm run SCRIPT` or `node bench/FILE`). */
export function machineFacts(script, file) {
  const cpuinfo = readFileSync('/proc/cpuinfo', 'utf8');
  const overrides = Object.entries(process.env)
    .filter(([k]) => k.startsWith('BENCH_'))
    .map(([k, v]) => `${k}=${v} `)
    .join('');
  return {
    date: `${new Date().toISOString().slice(0, 16).replace('T', ' ')} UTC`,
    command: `${overrides}${process.env.npm_lifecycle_event === script ? `npm run ${script}` : `node bench/${file}`}`,
    nproc: availableParallelism(),
    cpu: /model name\s*:\s*(.*)/.exec(cpuinfo)?.[1] ?? 'unknown CPU',
    memory: `${Math.round(totalmem() / 2 ** 30)} GiB`,
    node: process.version,
    os: `${type()} ${release()}`,
    loadavg: loadavg()
      .map((v) => v.toFixed(2))
      .join(', '),
  };
}

/** The run's description: date, command, settings, pinning, round order, machine and versions. */
export function machine(cfg, pin, order) {
  return {
    ...machineFacts('bench', 'run.mjs'),
    settings: `${cfg.rounds} round${cfg.rounds === 1 ? '' : 's'} of ${cfg.warmup} s warm-up then ${cfg.duration} s per scenario and server, ${cfg.connections} connections; login storm ${cfg.stormConnections} connections with /healthz probed at ${cfg.probeRate} req/s`,
    pinning: pin,
    rounds: cfg.rounds,
    order,
    sesameVersion: packageVersion('package.json'),
    peerVersion: packageVersion('bench/node_modules/oidc-provider/package.json'),
    autocannonVersion: packageVersion('bench/node_modules/autocannon/package.json'),
    postgres: '',
  };
}
