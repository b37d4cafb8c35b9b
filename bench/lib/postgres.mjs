// A throwaway PostgreSQL cluster for the PostgreSQL scenarios: the machine's initdb/pg_ctl in
// a temp directory on a free port, listening on 127.0.0.1 only. As root, PostgreSQL's tools run
// as the postgres user (`runuser -u postgres --`) in a directory that user owns. The same
// approach as test/support/postgres.ts.
import { execFileSync } from 'node:child_process';
import { chownSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from './proc.mjs';

function findBin(name) {
  for (const dir of (process.env.PATH ?? '').split(':')) {
    if (dir && existsSync(join(dir, name))) return join(dir, name);
  }
  const root = '/usr/lib/postgresql';
  if (existsSync(root)) {
    for (const v of readdirSync(root).sort().reverse()) {
      const p = join(root, v, 'bin', name);
      if (existsSync(p)) return p;
    }
  }
  return null;
}

/** Starts a cluster; null when PostgreSQL is not installed. `stop()` is synchronous and idempotent. */
export async function startCluster() {
  const initdb = findBin('initdb');
  const pgCtl = findBin('pg_ctl');
  if (!initdb || !pgCtl) return null;
  const dir = mkdtempSync(join(tmpdir(), 'sesame-bench-pg-'));
  const asRoot = process.getuid?.() === 0;
  if (asRoot) {
    const id = (flag) => Number(execFileSync('id', [flag, 'postgres']).toString().trim());
    chownSync(dir, id('-u'), id('-g'));
  }
  const run = (bin, args) =>
    asRoot
      ? execFileSync('runuser', ['-u', 'postgres', '--', bin, ...args], {
          cwd: dir,
          stdio: 'pipe',
          timeout: 120_000,
        })
      : execFileSync(bin, args, { cwd: dir, stdio: 'pipe', timeout: 120_000 });
  const data = join(dir, 'data');
  let started = false;
  const stop = () => {
    try {
      if (started) run(pgCtl, ['-D', data, '-m', 'immediate', '-w', 'stop']);
    } catch {
    } finally {
      started = false;
      rmSync(dir, { recursive: true, force: true });
    }
  };
  try {
    run(initdb, ['-D', data, '-A', 'trust', '-U', 'postgres', '-E', 'UTF8', '--locale=C', '--no-sync']);
    const port = await freePort();
    const opts = `-p ${port} -k ${dir} -c listen_addresses=127.0.0.1 -c max_connections=200`;
    started = true;
    run(pgCtl, ['-D', data, '-l', join(dir, 'server.log'), '-w', '-t', '60', '-o', opts, 'start']);
    const version = execFileSync(pgCtl, ['--version'])
      .toString()
      .trim()
      .replace(/^pg_ctl \(PostgreSQL\) /, '');
    /** The postmaster's pid (first line of postmaster.pid). */
    const pid = () => Number(readFileSync(join(data, 'postmaster.pid'), 'utf8').split('\n')[0]);
    return { url: `postgres://postgres@127.0.0.1:${port}/postgres`, version, pid, stop };
  } catch (err) {
    stop();
    throw err;
  }
}
