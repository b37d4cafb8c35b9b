import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import type { Context } from 'hono';
import { etagMatches, etagOf } from '../http/respond.js';

const require = createRequire(import.meta.url);

/** The console's only static files, served from their npm packages (never from a CDN). */
const ASSETS: Record<string, { module: string; type: string }> = {
  'htmx.min.js': { module: 'htmx.org/dist/htmx.min.js', type: 'text/javascript; charset=utf-8' },
  'pico.min.css': { module: '@picocss/pico/css/pico.min.css', type: 'text/css; charset=utf-8' },
  'console.js': { module: '', type: 'text/javascript; charset=utf-8' },
};

/**
 * The console's own script: buttons with `data-copy="<input id>"` copy that input's value (the
 * only thing the console needs script for; everything else works without it).
 */
const CONSOLE_JS = `document.addEventListener('click', (e) => {
  const button = e.target instanceof Element ? e.target.closest('[data-copy]') : null;
  const input = button && document.getElementById(button.getAttribute('data-copy'));
  if (!input) return;
  navigator.clipboard.writeText(input.value).then(() => { button.textContent = 'Copied'; });
});
document.querySelectorAll('[data-copy]').forEach((b) => { b.hidden = false; });
`;

const cache = new Map<string, { body: Buffer; etag: string }>();
const consoleJs = Buffer.from(CONSOLE_JS);
cache.set('console.js', { body: consoleJs, etag: etagOf(consoleJs) });

/**
 * GET /console/assets/:name: htmx 2, Pico CSS and the copy buttons' script, cached by browsers for
 * a day and revalidated by ETag after that (304 when unchanged).
 */
export function consoleAsset(c: Context): Response {
  const name = c.req.param('name') ?? '';
  const asset = Object.hasOwn(ASSETS, name) ? ASSETS[name] : undefined;
  if (!asset) return c.text('Not found', 404);
  let file = cache.get(name);
  if (!file) {
    const body = readFileSync(require.resolve(asset.module));
    file = { body, etag: etagOf(body) };
    cache.set(name, file);
  }
  const headers = { ETag: file.etag, 'Cache-Control': 'public, max-age=86400' };
  if (etagMatches(c.req.header('If-None-Match'), file.etag)) return c.body(null, 304, headers);
  return c.body(new Uint8Array(file.body), 200, { 'Content-Type': asset.type, ...headers });
}
