// Bundles the compiled server (dist/main.js, from tsc) and the packages it loads at start into
// one file, dist/sesame.js, which bin/sesame.js runs (#16: a start spent most of its time finding,
// reading and compiling a few hundred module files). Left outside, loaded from node_modules as
// before: native addons, packages imported only when a feature is used (PostgreSQL, SMTP), and
// files read as they are (Swagger UI's assets). prom-client is bundled: it is imported by the
// metrics module, itself imported only with a metrics port, and a package left outside would be
// imported at the top of the bundle, at every start; bundled, it runs only when first needed. The source map chains through tsc's maps to
// src/ (bench/lib/profile.mjs reads it; `node --enable-source-maps` uses it for stack traces).
import { readFileSync } from 'node:fs';
import { build } from 'esbuild';
import { EXTERNAL } from './bundle-externals.mjs';

await build({
  entryPoints: ['dist/main.js'],
  outfile: 'dist/sesame.js',
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'node20',
  external: EXTERNAL,
  sourcemap: 'linked',
  // Without comments the bundle is ASCII, and V8 keeps its source as one byte a character (a
  // single em dash in a comment made it two: 5.6 MB of heap, 2 MB now). Names are kept, for
  // stack traces and profiles.
  minifyWhitespace: true,
  minifySyntax: true,
  // CommonJS packages in an ES module still call require() for Node's built-ins.
  banner: {
    js: "import { createRequire as __sesameRequire } from 'node:module';\nconst require = __sesameRequire(import.meta.url);",
  },
  logLevel: 'warning',
});

// The ASCII the comment above counts on: a character beyond it doubles the source V8 keeps.
const bundled = readFileSync('dist/sesame.js');
const wide = bundled.findIndex((byte) => byte > 0x7f);
if (wide !== -1) {
  const around = bundled.subarray(Math.max(0, wide - 40), wide + 10).toString();
  throw new Error(`dist/sesame.js is not ASCII (at byte ${wide}: ${JSON.stringify(around)})`);
}
