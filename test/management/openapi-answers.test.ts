// The OpenAPI document against what the Management API really answers: each list's answer,
// bare, with include_totals and, where it pages by checkpoint, with take, and each read that
// takes `fields` with them, is valid under the 200 schema the document gives for it (JSON
// Schema 2020-12, as OpenAPI 3.1 says).
import { Ajv2020 } from 'ajv/dist/2020.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createUser } from '../../src/admin/users.js';
import { startTestApp, type TestApp } from '../support/app.js';
import { type Call, caller, expectStatus, managementToken } from './support.js';

interface Parameter {
  name: string;
  in: string;
}

describe('the OpenAPI document describes the answers of every list', () => {
  let t: TestApp;
  let call: Call;
  // biome-ignore lint/suspicious/noExplicitAny: the document is read as JSON
  let doc: Record<string, any>;
  let ajv: Ajv2020;
  const ids: Record<string, string> = {};

  beforeAll(async () => {
    t = await startTestApp('sqlite');
    call = caller(t, (await managementToken(t)).token);
    doc = (await (await t.fetch(`${t.issuer}/api/v2/openapi.json`)).json()) as typeof doc;
    ajv = new Ajv2020({ strict: false, allErrors: true });
    ajv.addSchema({ ...doc, $id: 'sesame:openapi' });
    // something in every list: a user with a role and a permission, an API, a grant, log events
    const user = await createUser(t.rt.storage, t.clock, {
      email: 'listed@example.com',
      password: 'correct horse battery 7',
    });
    ids.users = user.id;
    ids.connections = 'con_sesame_database';
    const api = await call('POST', '/resource-servers', {
      body: { name: 'Listed', identifier: 'https://listed.example', scopes: [{ value: 'read:listed' }] },
    });
    expectStatus(api, 201);
    ids['resource-servers'] = api.body.id;
    const role = await call('POST', '/roles', { body: { name: 'listed-role' } });
    expectStatus(role, 200);
    ids.roles = role.body.id;
    const permissions = [
      { resource_server_identifier: 'https://listed.example', permission_name: 'read:listed' },
    ];
    expectStatus(await call('POST', `/roles/${ids.roles}/permissions`, { body: { permissions } }), 201);
    expectStatus(await call('POST', `/users/${ids.users}/roles`, { body: { roles: [ids.roles] } }), 204);
    expectStatus(await call('POST', `/users/${ids.users}/permissions`, { body: { permissions } }), 201);
    const app = await call('POST', '/clients', { body: { name: 'Listed app', app_type: 'non_interactive' } });
    expectStatus(app, 201);
    ids.clients = app.body.client_id;
    const grant = {
      client_id: app.body.client_id,
      audience: 'https://listed.example',
      scope: ['read:listed'],
    };
    expectStatus(await call('POST', '/client-grants', { body: grant }), 201);
    await t.rt.events.flush();
  });
  afterAll(() => t?.close());

  /** Every GET whose query pages or takes `fields`: its path, and which of these it takes. */
  function gets(): {
    path: string;
    checkpoint: boolean;
    offset: boolean;
    totals: boolean;
    fields: boolean;
  }[] {
    return Object.entries(doc.paths as Record<string, Record<string, { parameters?: Parameter[] }>>)
      .filter(([, item]) => item.get !== undefined)
      .map(([path, item]) => {
        const takes = (name: string) =>
          (item.get?.parameters ?? []).some((p) => p.in === 'query' && p.name === name);
        return {
          path,
          checkpoint: takes('take'),
          offset: takes('per_page'),
          totals: takes('include_totals'),
          fields: takes('fields'),
        };
      })
      .filter((g) => g.totals || g.fields);
  }

  /** The path with `{id}` filled in from the first part (users, roles, …). */
  function filled(path: string): string {
    return path.replace('{id}', () => {
      const id = ids[path.split('/')[1] as string];
      if (id === undefined) throw new Error(`no fixture id for ${path}`);
      return id;
    });
  }

  it('finds the lists (offset and checkpoint paging) and the reads that take fields', () => {
    const found = gets();
    expect(found.filter((g) => g.totals).length).toBeGreaterThanOrEqual(12);
    expect(found.filter((g) => g.checkpoint).length).toBeGreaterThanOrEqual(5);
    expect(found.filter((g) => g.fields).length).toBeGreaterThanOrEqual(9);
  });

  it('each answer is valid under its 200 schema: bare, with include_totals, by checkpoint, with fields', async () => {
    const problems: string[] = [];
    for (const { path, checkpoint, offset, totals, fields } of gets()) {
      const pointer = `sesame:openapi#/paths/${path.replaceAll('~', '~0').replaceAll('/', '~1')}/get/responses/200/content/application~1json/schema`;
      const validate = ajv.getSchema(pointer);
      if (!validate) throw new Error(`no 200 schema for GET ${path}`);
      const always: Record<string, string> =
        path === '/users-by-email' ? { email: 'listed@example.com' } : {};
      const queries: Record<string, string | number | boolean>[] = [
        {},
        ...(totals ? [{ include_totals: true }] : []),
        ...(offset ? [{ include_totals: true, per_page: 1 }] : []),
        ...(checkpoint ? [{ take: 1 }] : []),
        ...(fields ? [{ fields: 'name' }, { fields: 'name', include_fields: false }] : []),
      ];
      for (const query of queries) {
        const answer = await call('GET', filled(path), { query: { ...always, ...query } });
        expectStatus(answer, 200);
        if (!validate(answer.body)) {
          problems.push(
            `GET ${path}?${new URLSearchParams(query as never)}: ${ajv.errorsText(validate.errors)}\n  ${answer.text.slice(0, 300)}`,
          );
        }
      }
    }
    expect(problems).toEqual([]);
  });
});
