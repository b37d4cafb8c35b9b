import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import type { Context } from 'hono';

const require = createRequire(import.meta.url);

/** The console's only static files, served from their npm packages (never from a CDN). */
const ASSETS: Record<string, { module: string; type: string }> = {
  'htmx.min.js': { module: 'htmx.org/dist/htmx.min.js', type: 'text/javascript; charset=utf-8' },
  'pico.min.css': { module: '@picocss/pico/css/pico.min.css', type: 'text/css; charset=utf-8' },
};

const cache = new Map<string, Buffer>();

/** GET /console/assets/:name: htmx 2 and Pico CSS, cached by browsers for a day. */
export function consoleAsset(c: Context): Response {
  const name = c.req.param('name') ?? '';
  const asset = ASSETS[name];
  if (!asset) return c.text('Not found', 404);
  let body = cache.get(name);
  if (!body) {
    body = readFileSync(require.resolve(asset.module));
    cache.set(name, body);
  }
  return c.body(new Uint8Array(body), 200, {
    'Content-Type': asset.type,
    'Cache-Control': 'public, max-age=86400',
  });
}
