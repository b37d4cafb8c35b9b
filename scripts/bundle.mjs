// Bundles the compiled server (dist/main.js, from tsc) and the packages it loads at start into
// one file, dist/sesame.js, which bin/sesame.js runs (#16: a start spent most of its time finding,
// reading and compiling a few hundred module files). Left outside, loaded from node_modules as
// before: native addons, and packages loaded only when a feature is used (PostgreSQL, SMTP,
// metrics) or read as files (Swagger UI's assets). The source map chains through tsc's maps to
// src/ (bench/lib/profile.mjs reads it; `node --enable-source-maps` uses it for stack traces).
import { build } from 'esbuild';

const EXTERNAL = ['better-sqlite3', '@node-rs/argon2', 'pg', 'nodemailer', 'prom-client', 'swagger-ui-dist'];

await build({
  entryPoints: ['dist/main.js'],
  outfile: 'dist/sesame.js',
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'node20',
  external: EXTERNAL,
  sourcemap: 'linked',
  // CommonJS packages in an ES module still call require() for Node's built-ins.
  banner: {
    js: "import { createRequire as __sesameRequire } from 'node:module';\nconst require = __sesameRequire(import.meta.url);",
  },
  logLevel: 'warning',
});
