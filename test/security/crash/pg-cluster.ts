// A PostgreSQL cluster of this suite's own that it can take away and bring back: started by
// startTestCluster (test/support/postgres.ts), then stopped and started again with pg_ctl on its
// data directory the way postgres.ts runs it (as root: `runuser -u postgres --`). Its stop()
// deletes the directory, so it is only called at the very end.
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import pg from 'pg';
import { startTestCluster, type TestCluster } from '../../support/postgres.js';

/** A cluster that can go away (`kill`) and come back (`start`) on the same port and data. */
export interface OwnCluster {
  url: string;
  dataDir: string;
  /** `pg_ctl stop -m immediate`: every backend dies at once, as in a crash. */
  kill(): void;
  /** `pg_ctl start -w`: back on the same port (crash recovery first). */
  start(): void;
  /** Whether the postmaster is running now (`pg_ctl status`). */
  running(): boolean;
  /** Stops it (if it runs) and deletes it. */
  destroy(): void;
}

function findBin(name: string): string | null {
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

/** Starts a cluster of our own, or null when PostgreSQL is not installed. */
export async function startOwnCluster(): Promise<OwnCluster | null> {
  const pgCtl = findBin('pg_ctl');
  if (!pgCtl) return null;
  const cluster: TestCluster | null = await startTestCluster();
  if (!cluster) return null;
  const client = new pg.Client({ connectionString: cluster.url });
  await client.connect();
  const dataDir = (await client.query<{ data_directory: string }>('show data_directory')).rows[0]
    ?.data_directory;
  await client.end();
  if (!dataDir) throw new Error('PostgreSQL did not say where its data directory is');
  const dir = dirname(dataDir);
  const port = new URL(cluster.url).port;
  const asRoot = process.getuid?.() === 0;
  const run = (args: string[]) =>
    asRoot
      ? execFileSync('runuser', ['-u', 'postgres', '--', pgCtl, ...args], { cwd: dir, stdio: 'pipe' })
      : execFileSync(pgCtl, args, { cwd: dir, stdio: 'pipe' });
  const opts = `-p ${port} -k ${dir} -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=200`;
  const running = () => {
    try {
      run(['-D', dataDir, 'status']);
      return true;
    } catch {
      return false;
    }
  };
  return {
    url: cluster.url,
    dataDir,
    kill: () => run(['-D', dataDir, '-m', 'immediate', '-w', 'stop']),
    start: () => run(['-D', dataDir, '-l', join(dir, 'server.log'), '-w', '-t', '60', '-o', opts, 'start']),
    running,
    destroy() {
      try {
        cluster.stop();
      } catch {
        // it was stopped already (pg_ctl stop fails); stop() deleted the directory anyway
      }
    },
  };
}
