// scripts/build-info.mjs: tsc's incremental record is dropped when a compiled file it counts on
// is gone from dist/ (else `npm run build` would skip writing it and the bundle would fail).
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';

const SCRIPT = join(import.meta.dirname, '..', '..', 'scripts', 'build-info.mjs');
let root: string;

/** A package root with src/a.ts, src/ui/b.tsx, src/types.d.ts, a record, and these compiled files. */
function project(compiled: string[]): string {
  root = mkdtempSync(join(tmpdir(), 'sesame-build-info-'));
  for (const dir of ['src/ui', 'dist/ui']) mkdirSync(join(root, dir), { recursive: true });
  for (const file of ['src/a.ts', 'src/ui/b.tsx', 'src/types.d.ts', 'dist/.tsbuildinfo', ...compiled])
    writeFileSync(join(root, file), '');
  execFileSync(process.execPath, [SCRIPT], { cwd: root, stdio: 'pipe' });
  return join(root, 'dist', '.tsbuildinfo');
}

afterEach(() => rmSync(root, { recursive: true, force: true }));

describe('the build’s incremental record', () => {
  it('stays while every source has its compiled file (a declaration file has none)', () => {
    expect(existsSync(project(['dist/a.js', 'dist/ui/b.js']))).toBe(true);
  });

  it('goes when a compiled file is missing, at the top or in a folder, .ts or .tsx', () => {
    expect(existsSync(project(['dist/ui/b.js']))).toBe(false);
    rmSync(root, { recursive: true, force: true });
    expect(existsSync(project(['dist/a.js']))).toBe(false);
  });
});
