import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import type { Context } from 'hono';
import { ManagementError } from './errors.js';

/** swagger-ui-dist's folder: the renderer is served from Sesame itself, never from a CDN. */
const SWAGGER = dirname(createRequire(import.meta.url).resolve('swagger-ui-dist/package.json'));

const ASSETS: Record<string, string> = {
  'swagger-ui.css': 'text/css; charset=utf-8',
  'swagger-ui-bundle.js': 'text/javascript; charset=utf-8',
  'docs.js': 'text/javascript; charset=utf-8',
};

/** Starts Swagger UI on the document next to it (a file of its own, so the CSP needs no inline script). */
const START = `window.addEventListener('load', () => {
  window.ui = SwaggerUIBundle({ url: './openapi.json', dom_id: '#docs', deepLinking: true });
});
`;

const CSP =
  "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; connect-src 'self'; font-src 'self' data:; base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

/** GET /api/v2/docs: the Management API reference, rendered by Swagger UI. */
export function docsPage(c: Context): Response {
  const html = `<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>Sesame Management API</title><link rel="stylesheet" href="docs/swagger-ui.css"></head>
<body><div id="docs"></div><script src="docs/swagger-ui-bundle.js"></script><script src="docs/docs.js"></script></body>
</html>`;
  return c.newResponse(html, 200, {
    'Content-Type': 'text/html; charset=utf-8',
    'Content-Security-Policy': CSP,
    'Cache-Control': 'no-cache',
  });
}

/** GET /api/v2/docs/ASSET: Swagger UI's own files, and the line that starts it. */
export async function swaggerAsset(c: Context): Promise<Response> {
  const name = c.req.param('asset') ?? '';
  const type = ASSETS[name];
  if (!type) throw new ManagementError(404, `No Swagger UI file ${name}`, 'inexistent_resource');
  const body = name === 'docs.js' ? START : await readFile(join(SWAGGER, name));
  return c.newResponse(body, 200, { 'Content-Type': type, 'Cache-Control': 'public, max-age=3600' });
}
