// The packages dist/sesame.js leaves outside the bundle (scripts/bundle.mjs says why), also read by
// the test that follows the bundle's static imports (test/performance/lazy-modules.test.ts).
export const EXTERNAL = [
  'better-sqlite3',
  '@node-rs/argon2',
  '@node-rs/bcrypt',
  'pg',
  'nodemailer',
  'swagger-ui-dist',
];
