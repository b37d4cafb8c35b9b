import { type OpenAPIHono, z } from '@hono/zod-openapi';
import { NotFoundError } from '../admin/errors.js';
import { CONNECTION_ID } from '../admin/user-import.js';
import type { ListOrder } from '../storage/list-orders.js';
import type { ManagementEnv } from './auth.js';
import {
  checkpointBody,
  checkpointQuery,
  checkpointSlice,
  fieldsQuery,
  listAnswer,
  pageBody,
  pageQuery,
  pageSlice,
  project,
  projectable,
} from './paging.js';
import { IdParam, operation } from './route.js';
import { CONNECTION } from './user-shapes.js';

export const Connection = z
  .object({
    id: z.string(),
    name: z.string(),
    display_name: z.string(),
    strategy: z.string(),
    realms: z.array(z.string()),
    is_domain_connection: z.boolean(),
    options: z.object({ requires_username: z.boolean(), import_mode: z.boolean() }),
  })
  .openapi('Connection');

/** Sesame's one connection: its own database of emails and passwords. */
const THE_CONNECTION: z.infer<typeof Connection> = {
  id: CONNECTION_ID,
  name: CONNECTION,
  display_name: CONNECTION,
  strategy: 'auth0',
  realms: [CONNECTION],
  is_domain_connection: false,
  options: { requires_username: false, import_mode: false },
};
const TAG = 'Connections';

/** The order a checkpoint page of connections follows. */
const BY_ID: ListOrder<{ id: string }> = { columns: [['id', 'asc', 'string']], of: (k) => [k.id] };

/** /connections: read-only, for the id a users import names (Auth0's shapes). */
export function connectionRoutes(app: OpenAPIHono<ManagementEnv>): void {
  app.openapi(
    operation({
      method: 'get',
      path: '/connections',
      scope: 'read:connections',
      tag: TAG,
      summary: 'List connections',
      description: 'Sesame has one connection, its own database of emails and passwords.',
      request: {
        query: z.object({
          ...pageQuery,
          from: checkpointQuery.from,
          take: checkpointQuery.take,
          ...fieldsQuery,
          strategy: z
            .union([z.string(), z.array(z.string())])
            .optional()
            .openapi({ description: 'Only connections of these strategies (auth0 is the one here).' }),
          name: z.string().max(255).optional(),
        }),
      },
      status: 200,
      response: listAnswer('connections', projectable(Connection), 'checkpoint'),
    }),
    async (c) => {
      const q = c.req.valid('query');
      const strategies = q.strategy === undefined ? undefined : [q.strategy].flat();
      const all = [THE_CONNECTION].filter(
        (k) =>
          (!strategies || strategies.includes(k.strategy)) && (q.name === undefined || q.name === k.name),
      );
      if (q.from !== undefined || q.take !== undefined) {
        // Checkpoint paging (what Auth0's SDKs send): `{connections, next}`, ordered by id.
        const slice = checkpointSlice(q, BY_ID);
        const after = slice.after?.[0];
        const items = all.filter((k) => after === undefined || k.id > after).slice(0, slice.limit);
        const last = items.at(-1);
        const page = items.map((k) => project(k, q));
        return c.json(checkpointBody('connections', page, slice, last && BY_ID.of(last)) as never, 200);
      }
      const slice = pageSlice(q);
      const items = all.slice(slice.offset, slice.offset + slice.limit).map((k) => project(k, q));
      return c.json(
        (await pageBody('connections', items, slice, q.include_totals, async () => all.length)) as never,
        200,
      );
    },
  );
  app.openapi(
    operation({
      method: 'get',
      path: '/connections/{id}',
      scope: 'read:connections',
      tag: TAG,
      summary: 'Get a connection',
      request: { params: IdParam, query: z.object(fieldsQuery) },
      status: 200,
      response: projectable(Connection),
    }),
    async (c) => {
      const { id } = c.req.valid('param');
      if (id !== CONNECTION_ID) throw new NotFoundError(`connection ${id} not found`);
      return c.json(project(THE_CONNECTION, c.req.valid('query')) as never, 200);
    },
  );
}
