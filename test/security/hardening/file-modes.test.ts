// Issue #14 §9: the data directory and the SQLite files (password hashes, encrypted keys) were
// created world-readable (0755 and 0644). Now the directory is 0700 and the files 0600 from the
// first start, and a start on looser ones made by older versions warns, naming each path.
import { chmodSync, statSync } from 'node:fs';
import { join } from 'node:path';
import pino from 'pino';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { parseConfig } from '../../../src/config/load.js';
import { openRuntime } from '../../../src/runtime.js';
import { createTestDatabase, describeEachBackend, type TestDatabase } from '../../support/databases.js';

const modeOf = (path: string) => (statSync(path).mode & 0o777).toString(8).padStart(4, '0');

/** Opens and closes Sesame's runtime on `dataDir`, returning the warnings it logged. */
async function start(
  db: TestDatabase,
  dataDir: string,
  whileOpen: () => void = () => {},
): Promise<{ path: string; mode: string; msg: string }[]> {
  const lines: string[] = [];
  const logger = pino({ level: 'warn' }, { write: (line: string) => lines.push(line) });
  const config = parseConfig({
    dataDir,
    databaseUrl: db.url.startsWith('sqlite:') ? `sqlite:${join(dataDir, 'sesame.db')}` : db.url,
  });
  const rt = await openRuntime(config, { logger });
  whileOpen();
  await rt.events.flush();
  await rt.storage.close();
  return lines.map((l) => JSON.parse(l)).filter((l) => typeof l.path === 'string');
}

describeEachBackend('hardening: the data directory and database files are private (#14 §9)', (backend) => {
  let db: TestDatabase;
  let dataDir: string;

  beforeAll(async () => {
    db = await createTestDatabase(backend);
    dataDir = join(db.dataDir, 'fresh', 'data');
  });
  afterAll(async () => db?.drop());

  it('a first start creates the directory 0700 and the secret (and SQLite files) 0600', async () => {
    // SQLite's -wal file exists while the database is open (a clean close folds it back).
    const wal = join(dataDir, 'sesame.db-wal');
    let walMode = '';
    expect(await start(db, dataDir, () => (walMode = backend === 'sqlite' ? modeOf(wal) : ''))).toEqual([]);
    expect(modeOf(dataDir)).toBe('0700');
    expect(modeOf(join(dataDir, 'secret'))).toBe('0600');
    if (backend === 'sqlite') {
      expect(modeOf(join(dataDir, 'sesame.db'))).toBe('0600');
      expect(walMode).toBe('0600');
    }
  });

  it('a start on looser files warns about each one, and changes nothing itself', async () => {
    chmodSync(dataDir, 0o755);
    const looser = [dataDir];
    if (backend === 'sqlite') {
      chmodSync(join(dataDir, 'sesame.db'), 0o644);
      looser.push(join(dataDir, 'sesame.db'));
    }
    const warnings = await start(db, dataDir);
    expect(warnings.map((w) => w.path).sort()).toEqual(looser.sort());
    for (const w of warnings) expect(w.msg).toContain(`chmod go-rwx ${w.path}`);
    expect(modeOf(dataDir)).toBe('0755');
    chmodSync(dataDir, 0o700);
    if (backend === 'sqlite') chmodSync(join(dataDir, 'sesame.db'), 0o600);
    expect(await start(db, dataDir)).toEqual([]);
  });
});
