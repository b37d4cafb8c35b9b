// makePrivateDir creates the data directory (and missing parents) 0700, one level at a time:
// Node's mkdirSync({recursive}) loops forever under /proc, which refuses new entries with ENOENT.
import { chmodSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, expect, it } from 'vitest';
import { looserThanPrivate, makePrivateDir } from '../../../src/storage/file-modes.js';

const root = mkdtempSync(join(tmpdir(), 'sesame-private-dir-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

const modeOf = (path: string) => (statSync(path).mode & 0o777).toString(8);

it('creates missing parents, each 0700, and leaves an existing directory as it is', () => {
  const dir = join(root, 'a', 'b', 'data');
  makePrivateDir(dir);
  expect([modeOf(join(root, 'a')), modeOf(join(root, 'a', 'b')), modeOf(dir)]).toEqual(['700', '700', '700']);
  makePrivateDir(dir);
  expect(statSync(dir).isDirectory()).toBe(true);
});

it('fails at once where no directory can be made (under /proc), instead of looping', () => {
  expect(() => makePrivateDir('/proc/sesame-nope/data')).toThrow(/ENOENT/);
});

it('a file where the directory should be is refused, saying so', () => {
  const file = join(root, 'a-file');
  writeFileSync(file, '');
  expect(() => makePrivateDir(file)).toThrow(
    `${file} exists and is not a directory: the data directory (SESAME_DATA_DIR, dataDir) must be one`,
  );
  expect(() => makePrivateDir(join(file, 'below'))).toThrow(/ENOTDIR/);
});

it('warns of files and directories open to others, never of a device such as /dev/null', () => {
  const file = join(root, 'open-file');
  writeFileSync(file, '', { mode: 0o644 });
  chmodSync(file, 0o644);
  const closed = join(root, 'closed-file');
  writeFileSync(closed, '', { mode: 0o600 });
  expect(looserThanPrivate([file, closed, '/dev/null', join(root, 'missing')])).toEqual([
    { path: file, mode: '0644' },
  ]);
});
