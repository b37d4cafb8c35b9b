import { closeSync, existsSync, mkdirSync, openSync, statSync } from 'node:fs';
import { dirname, resolve } from 'node:path';

/** The data directory, as a refusal names it. */
export const DATA_DIRECTORY = 'the data directory (SESAME_DATA_DIR, dataDir)';

/**
 * Creates `dir` (and missing parents) readable by this user only: it holds secrets (`what` it is
 * names it when a file stands in its place). One level
 * at a time: Node's `recursive` loops forever under a directory that refuses new entries with
 * ENOENT, as /proc does.
 */
export function makePrivateDir(dir: string, what = DATA_DIRECTORY): void {
  const missing: string[] = [];
  for (let at = resolve(dir); !existsSync(at); at = dirname(at)) {
    missing.unshift(at);
    if (dirname(at) === at) break;
  }
  for (const d of missing) {
    try {
      mkdirSync(d, { mode: 0o700 });
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err; // made meanwhile
    }
  }
  if (!statSync(dir).isDirectory()) {
    const message = `${dir} exists and is not a directory: ${what} must be one`;
    throw Object.assign(new Error(message), { code: 'ENOTDIR' });
  }
}

/**
 * Creates `file` empty with mode 0600 when it does not exist yet, so that SQLite (which gives
 * its -wal and -shm files the database file's mode) never writes password hashes and encrypted
 * keys into a world-readable file.
 */
export function createPrivateFile(file: string): void {
  try {
    closeSync(openSync(file, 'wx', 0o600));
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
  }
}

/**
 * The paths among `paths` that exist and that other users may read or enter, with their modes.
 * Only files and directories count: a device (`sqlite:/dev/null`) is not Sesame's to tighten.
 */
export function looserThanPrivate(paths: string[]): { path: string; mode: string }[] {
  const out: { path: string; mode: string }[] = [];
  for (const path of paths) {
    let mode: number;
    try {
      const stat = statSync(path);
      if (!stat.isFile() && !stat.isDirectory()) continue;
      mode = stat.mode & 0o777;
    } catch {
      continue;
    }
    if ((mode & 0o077) !== 0) out.push({ path, mode: mode.toString(8).padStart(4, '0') });
  }
  return out;
}
