import { Validator } from '@seriousme/openapi-schema-validator';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MANAGEMENT_SCOPES } from '../../src/admin/system.js';
import { managementApi } from '../../src/management/index.js';
import { startTestApp, type TestApp } from '../support/app.js';

/** Every operation the Management API serves, as `METHOD /path` with `{param}` placeholders. */
function servedOperations(t: TestApp): string[] {
  const app = managementApi(t.rt as never);
  return app.routes
    .filter((r) => r.method !== 'ALL' && !['/openapi.json', '/docs', '/docs/:asset'].includes(r.path))
    .map((r) => `${r.method} ${r.path.replace(/:(\w+)/g, '{$1}')}`);
}

describe('the OpenAPI document', () => {
  let t: TestApp;
  let doc: Record<string, any>;
  beforeAll(async () => {
    t = await startTestApp('sqlite');
    const res = await t.fetch(`${t.issuer}/api/v2/openapi.json`);
    expect(res.status).toBe(200);
    doc = (await res.json()) as Record<string, any>;
  });
  afterAll(() => t.close());

  it('is a valid OpenAPI 3.1 document', async () => {
    expect(doc.openapi).toBe('3.1.0');
    const result = await new Validator().validate(doc as never);
    expect(result.errors ?? []).toEqual([]);
    expect(result.valid).toBe(true);
  });

  it('describes every route, each with the scopes it requires', () => {
    const served = servedOperations(t);
    expect(served.length).toBeGreaterThan(30);
    for (const op of served) {
      const [method, path] = op.split(' ') as [string, string];
      const described = doc.paths[path]?.[method.toLowerCase()];
      expect(described, `${op} is not in the document`).toBeDefined();
      const alternatives = (described.security ?? []) as { oauth2: string[] }[];
      expect(alternatives.length, `${op} names no scope`).toBeGreaterThan(0);
      for (const { oauth2 } of alternatives) {
        expect(oauth2.length, `${op} names an empty scope set`).toBeGreaterThan(0);
        for (const scope of oauth2) {
          expect(Object.keys(MANAGEMENT_SCOPES)).toContain(scope);
          expect(described.description).toContain(`\`${scope}\``);
        }
      }
    }
    const documented = Object.entries(doc.paths).flatMap(([path, item]) =>
      Object.keys(item as object).map((m) => `${m.toUpperCase()} ${path}`),
    );
    expect(documented.sort()).toEqual([...new Set(served)].sort());
  });

  it('says that client secrets appear only when issued', () => {
    expect(doc.info.description).toMatch(/client_secret.*only in the answers to create and rotate-secret/);
    expect(doc.components.securitySchemes.oauth2.flows.clientCredentials.tokenUrl).toBe(
      `${t.issuer}/oauth/token`,
    );
  });

  it('is rendered at /api/v2/docs from Sesame itself, with no outside asset', async () => {
    const page = await t.fetch(`${t.issuer}/api/v2/docs`);
    expect(page.status).toBe(200);
    const html = await page.text();
    expect(html).not.toMatch(/https?:\/\//);
    expect(page.headers.get('content-security-policy')).toMatch(/script-src 'self'/);
    for (const asset of ['swagger-ui-bundle.js', 'swagger-ui.css', 'docs.js']) {
      const res = await t.fetch(`${t.issuer}/api/v2/docs/${asset}`);
      expect(res.status, asset).toBe(200);
      expect((await res.arrayBuffer()).byteLength).toBeGreaterThan(10);
    }
    expect((await t.fetch(`${t.issuer}/api/v2/docs/package.json`)).status).toBe(404);
  });
});
