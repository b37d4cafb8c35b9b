// The code a token, introspection, discovery or JWKS request runs builds no object literal that
// begins with a spread and goes on (`{ ...a, x }`): on Node 20 such a literal gets a new hidden
// class each time once optimized, about 1 µs, and fills the old generation under load (#16). Those
// places use `merged` (src/util/merged.ts). Other code (the Management API, the console, the CLI)
// may spread as it likes.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';

const ROOT = join(import.meta.dirname, '..', '..');
const HOT = [
  'src/http',
  'src/grants',
  'src/tokens',
  'src/protocol',
  'src/events',
  'src/keys',
  'src/endpoints/token',
  'src/endpoints/authorize',
  'src/endpoints/introspect.ts',
  'src/endpoints/jwks.ts',
  'src/endpoints/discovery.ts',
  'src/accounts/claims.ts',
  'src/storage/read-cache.ts',
  'src/storage/sql/precompiled.ts',
  'src/storage/sql/index.ts',
  'src/storage/sql/sqlite.ts',
  'src/storage/sql/wal-sync.ts',
];

function sources(path: string): string[] {
  const full = join(ROOT, path);
  if (!statSync(full).isDirectory()) return [full];
  return readdirSync(full, { recursive: true, encoding: 'utf8' })
    .filter((f) => /\.tsx?$/.test(f))
    .map((f) => join(full, f));
}

/** `file:line: text` of every object literal whose first member is a spread and that has more. */
function spreadFirstLiterals(file: string, text: string): string[] {
  const source = ts.createSourceFile(file, text, ts.ScriptTarget.Latest, true);
  const found: string[] = [];
  const visit = (node: ts.Node): void => {
    if (
      ts.isObjectLiteralExpression(node) &&
      node.properties.length > 1 &&
      ts.isSpreadAssignment(node.properties[0]!)
    ) {
      const { line } = source.getLineAndCharacterOfPosition(node.getStart());
      found.push(`${relative(ROOT, file)}:${line + 1}: ${node.getText().replace(/\s+/g, ' ').slice(0, 80)}`);
    }
    ts.forEachChild(node, visit);
  };
  visit(source);
  return found;
}

describe('object literals on the hot paths', () => {
  it('the scan finds a spread-first literal, and only that kind', () => {
    const code = 'const a = { ...x, y: 1 }; const b = { y: 1, ...x }; const c = { ...x }; f({ ...x, ...z });';
    expect(spreadFirstLiterals(join(ROOT, 'x.ts'), code).map((f) => f.slice(f.indexOf(': ') + 2))).toEqual([
      '{ ...x, y: 1 }',
      '{ ...x, ...z }',
    ]);
  });

  it('none begins with a spread and goes on (use merged)', () => {
    const files = HOT.flatMap(sources);
    expect(files.length).toBeGreaterThan(40);
    const found = files.flatMap((f) => spreadFirstLiterals(f, readFileSync(f, 'utf8')));
    expect(found).toEqual([]);
  });
});
