import { build, type Metafile } from 'esbuild';
import { describe, expect, it } from 'vitest';
import { EXTERNAL } from '../../scripts/bundle-externals.mjs';

/**
 * #16, idle memory: the Management API and the console are loaded on their first request
 * (src/http/mount-later.ts). In the bundle, esbuild runs a module's top-level code at start only
 * when a module loaded at start imports it statically; one `import` of them from such a module
 * would bring back their zod schemas, OpenAPI registry and pages into every start and every idle
 * server. This follows the bundle's static imports from the entry point.
 */
describe('modules loaded on first use', () => {
  it('reaches the Management API, the console and @hono/zod-openapi from the entry point only through import()', async () => {
    const { metafile } = await build({
      entryPoints: ['src/main.ts'],
      bundle: true,
      write: false,
      metafile: true,
      platform: 'node',
      format: 'esm',
      outdir: 'unused',
      external: EXTERNAL,
      logLevel: 'silent',
    });
    const atStart = staticallyReached(metafile, 'src/main.ts');
    const lazy = (path: string) =>
      path.startsWith('src/management/') ||
      path.startsWith('src/console/') ||
      path.includes('node_modules/@hono/zod-openapi/') ||
      path.includes('node_modules/@asteasolutions/zod-to-openapi/');
    expect([...atStart].filter(lazy)).toEqual([]);
    // They are in the bundle, reached through import().
    const inputs = Object.keys(metafile.inputs);
    expect(inputs).toContain('src/management/index.ts');
    expect(inputs).toContain('src/console/index.ts');
    expect(inputs.filter(lazy).length).toBeGreaterThan(40);
    // The walk sees static imports at all (the server's own modules).
    expect(atStart).toContain('src/server.ts');
    expect(atStart).toContain('src/endpoints/token/index.ts');
  });
});

/** Every input reached from `entry` through imports other than `import()`. */
function staticallyReached(metafile: Metafile, entry: string): Set<string> {
  const seen = new Set<string>([entry]);
  const queue = [entry];
  for (let path = queue.pop(); path !== undefined; path = queue.pop()) {
    for (const edge of metafile.inputs[path]?.imports ?? []) {
      if (edge.kind === 'dynamic-import' || edge.external || seen.has(edge.path)) continue;
      seen.add(edge.path);
      queue.push(edge.path);
    }
  }
  return seen;
}
