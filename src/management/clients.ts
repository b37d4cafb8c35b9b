import { type OpenAPIHono, z } from '@hono/zod-openapi';
import {
  createApplication,
  deleteApplication,
  getApplication,
  listApplications,
  rotateSecret,
  updateApplication,
} from '../admin/applications.js';
import { ValidationError } from '../admin/errors.js';
import type { Deps } from '../http/context.js';
import type { ManagementEnv } from './auth.js';
import {
  appTypes,
  Client,
  CreateClient,
  clientInput,
  clientView,
  toSesameType,
  UpdateClient,
} from './client-shapes.js';
import { actsOnPeerApplication } from './delegation.js';
import { ManagementError, queryError } from './errors.js';
import {
  booleanQuery,
  fieldsQuery,
  listAnswer,
  pageBody,
  pageQuery,
  pageSlice,
  project,
  projectable,
} from './paging.js';
import { IdParam, jsonBody, operation } from './route.js';

const TAG = 'Clients';

/** /clients: applications. */
export function clientRoutes(app: OpenAPIHono<ManagementEnv>, deps: Deps): void {
  const { storage, clock } = deps;
  app.openapi(
    operation({
      method: 'get',
      path: '/clients',
      scope: 'read:clients',
      tag: TAG,
      summary: 'List applications',
      request: {
        query: z.object({
          ...pageQuery,
          ...fieldsQuery,
          app_type: z
            .string()
            .max(100)
            .optional()
            .openapi({ description: 'Comma-separated types: regular_web, spa, native, non_interactive.' }),
          is_first_party: booleanQuery
            .optional()
            .openapi({ description: 'Only first-party applications (true), or only the others (false).' }),
          is_global: booleanQuery
            .optional()
            .openapi({ description: 'Sesame has no global application: `true` lists none.' }),
          client_ids: z
            .string()
            .max(10_000)
            .optional()
            .openapi({ description: 'Comma-separated client ids.' }),
          q: z.string().optional().openapi({
            description:
              'Auth0 takes only organization terms here; Sesame has no organizations, so any `q` is refused (400).',
          }),
        }),
      },
      status: 200,
      response: listAnswer('clients', projectable(Client)),
    }),
    async (c) => {
      const q = c.req.valid('query');
      const slice = pageSlice(q);
      if (q.q !== undefined)
        queryError(
          new ValidationError(
            'q: Sesame has no organizations to search clients by; use app_type, is_first_party or client_ids',
          ),
        );
      const filter = {
        ...(q.app_type === undefined ? {} : { types: appTypes(q.app_type) }),
        ...(q.is_first_party === undefined ? {} : { firstParty: q.is_first_party }),
        ...(q.client_ids === undefined ? {} : { clientIds: q.client_ids.split(',').map((id) => id.trim()) }),
        // no application is global: is_global=true matches none
        ...(q.is_global === true ? { clientIds: [] } : {}),
      };
      const { items, total } = await listApplications(storage, filter, slice);
      return c.json(
        (await pageBody(
          'clients',
          items.map((a) => project(clientView(a), q)),
          slice,
          q.include_totals,
          total,
        )) as never,
        200,
      );
    },
  );
  app.openapi(
    operation({
      method: 'post',
      path: '/clients',
      scope: 'create:clients',
      tag: TAG,
      summary: 'Create an application',
      description:
        'The answer holds `client_secret` for regular_web and non_interactive applications, only this once.',
      request: jsonBody(CreateClient),
      status: 201,
      response: Client,
    }),
    async (c) => {
      const b = c.req.valid('json');
      const { app: created, clientSecret } = await createApplication(storage, clock, {
        ...clientInput(b),
        name: b.name,
        type: toSesameType(b.app_type ?? 'regular_web'),
      });
      return c.json(clientView(created, clientSecret), 201);
    },
  );
  app.openapi(
    operation({
      method: 'get',
      path: '/clients/{id}',
      scope: 'read:clients',
      tag: TAG,
      summary: 'Get an application',
      request: { params: IdParam, query: z.object(fieldsQuery) },
      status: 200,
      response: projectable(Client),
    }),
    async (c) =>
      c.json(
        project(
          clientView(await getApplication(storage, c.req.valid('param').id)),
          c.req.valid('query'),
        ) as never,
        200,
      ),
  );
  app.openapi(
    operation({
      method: 'patch',
      path: '/clients/{id}',
      scope: 'update:clients',
      tag: TAG,
      summary: 'Update an application',
      request: { params: IdParam, ...jsonBody(UpdateClient) },
      status: 200,
      response: Client,
    }),
    async (c) => {
      const id = c.req.valid('param').id;
      const b = c.req.valid('json');
      // Its callbacks, type of party or grants changed, it could send its tokens elsewhere.
      await actsOnPeerApplication(c, deps, id);
      // Tools that send the whole application back (Terraform, a GET then PATCH) send its type.
      if (b.app_type !== undefined && toSesameType(b.app_type) !== (await getApplication(storage, id)).type) {
        throw new ManagementError(
          400,
          "Payload validation error: app_type: an application's type cannot be changed (it decides its secret and flows); create a new application",
          'invalid_body',
        );
      }
      const updated = await updateApplication(storage, clock, id, clientInput(b));
      return c.json(clientView(updated), 200);
    },
  );
  app.openapi(
    operation({
      method: 'delete',
      path: '/clients/{id}',
      scope: 'delete:clients',
      tag: TAG,
      summary: 'Delete an application',
      description:
        'Its client grants and consents go with it; its refresh tokens and access tokens stop working.',
      request: { params: IdParam },
      status: 204,
    }),
    async (c) => {
      await actsOnPeerApplication(c, deps, c.req.valid('param').id);
      await deleteApplication(storage, clock, c.req.valid('param').id);
      return c.body(null, 204);
    },
  );
  app.openapi(
    operation({
      method: 'post',
      path: '/clients/{id}/rotate-secret',
      scope: 'update:clients',
      tag: TAG,
      summary: 'Rotate the client secret',
      description: 'The old secret stops working at once; the answer holds the new one, only this once.',
      request: { params: IdParam },
      status: 200,
      response: Client,
    }),
    async (c) => {
      const id = c.req.valid('param').id;
      await actsOnPeerApplication(c, deps, id);
      const secret = await rotateSecret(storage, clock, id);
      return c.json(clientView(await getApplication(storage, id), secret), 200);
    },
  );
}
