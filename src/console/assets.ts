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
  'console.css': { module: '', type: 'text/css; charset=utf-8' },
};

/**
 * The console's own style sheet, over Pico's. A file rather than an inline style: a page fetched
 * by htmx (the user search) brought its own inline style, which the CSP refused in the browser.
 */
const CONSOLE_CSS = `:root{--pico-font-size:95%}body>header,body>main,body>footer{padding-block:.5rem}
nav.console ul:first-child li a{font-weight:700}nav.console a[aria-current=page]{text-decoration:underline}
.field-error{color:var(--pico-del-color);font-size:.9em;margin-top:-.5rem}.flash{padding:.75rem;border-radius:.5rem;background:var(--pico-ins-color);color:#fff}
.alert{padding:.75rem;border-radius:.5rem;background:var(--pico-del-color);color:#fff}.secret{font-family:monospace;word-break:break-all}
table{font-size:.92em;display:block;overflow-x:auto}nav.console,nav.console ul{flex-wrap:wrap}
@media (max-width:600px){nav.console ul{gap:0}nav.console li{padding:.25rem .4rem}}.muted{color:var(--pico-muted-color)}.inline{display:inline}
.inline button{padding:.25rem .6rem;margin:0;width:auto}.row{display:flex;gap:1rem;flex-wrap:wrap}.row>*{flex:1 1 14rem}
pre{white-space:pre-wrap;word-break:break-all}.bars{display:flex;align-items:flex-end;gap:2px;height:120px}
.bars span{flex:1;background:var(--pico-primary);min-height:1px}.bars span.f{background:var(--pico-del-color)}
.skip{position:absolute;left:.5rem;top:-3rem;padding:.5rem .75rem;background:var(--pico-background-color);z-index:10}.skip:focus{top:.5rem}
code{overflow-wrap:anywhere}
`;

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
const consoleCss = Buffer.from(CONSOLE_CSS);
cache.set('console.css', { body: consoleCss, etag: etagOf(consoleCss) });

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
