import { type OpenAPIHono, z } from '@hono/zod-openapi';
import {
  createClientGrant,
  deleteClientGrant,
  getClientGrant,
  listClientGrants,
  updateClientGrant,
} from '../admin/client-grants.js';
import type { Deps } from '../http/context.js';
import { CLIENT_GRANT_ORDER } from '../storage/list-orders.js';
import type { ClientGrant as Grant, Storage } from '../storage/types.js';
import type { ManagementEnv } from './auth.js';
import { confersOnlyHeld, grantChangesOnlyHeld, managementScopesOf } from './delegation.js';
import {
  checkpointBody,
  checkpointQuery,
  checkpointSlice,
  listAnswer,
  pageBody,
  pageQuery,
  pageSlice,
} from './paging.js';
import { jsonBody, operation } from './route.js';

const ScopeList = z.array(z.string().max(280)).max(1000);

const SubjectType = z.enum(['client', 'user']).openapi({
  description:
    "`client`: client-credentials tokens; `user`: may ask for people's tokens (APIs that require a client grant).",
});

export const ClientGrant = z
  .object({
    id: z.string(),
    client_id: z.string(),
    audience: z.string(),
    scope: z.array(z.string()),
    subject_type: SubjectType,
  })
  .openapi('ClientGrant');

/** Client grants in Auth0's shape, their APIs looked up once per API. */
async function views(storage: Storage, grants: Grant[]): Promise<z.infer<typeof ClientGrant>[]> {
  const identifiers = new Map<string, string>();
  for (const id of new Set(grants.map((g) => g.apiId))) {
    identifiers.set(id, (await storage.apis.get(id))?.identifier ?? id);
  }
  return grants.map((g) => ({
    id: g.id,
    client_id: g.clientId,
    audience: identifiers.get(g.apiId)!,
    scope: g.scopes,
    subject_type: g.subjectType ?? 'client',
  }));
}

const IdParam = z.object({
  id: z
    .string()
    .max(64)
    .openapi({ param: { name: 'id', in: 'path' } }),
});
const TAG = 'Client grants';

/** /client-grants: which API scopes an application may get with client credentials. */
export function clientGrantRoutes(app: OpenAPIHono<ManagementEnv>, deps: Deps): void {
  const { storage, clock } = deps;
  app.openapi(
    operation({
      method: 'get',
      path: '/client-grants',
      scope: 'read:client_grants',
      tag: TAG,
      summary: 'List client grants',
      description:
        'Paged by page/per_page, or by checkpoint with from/take (then the answer is {client_grants, next}).',
      request: {
        query: z.object({
          ...pageQuery,
          from: checkpointQuery.from,
          take: pageQuery.per_page,
          audience: z.string().max(2048).optional(),
          client_id: z.string().max(64).optional(),
          subject_type: SubjectType.optional(),
        }),
      },
      status: 200,
      response: listAnswer('client_grants', ClientGrant, 'checkpoint'),
    }),
    async (c) => {
      const q = c.req.valid('query');
      const filter = {
        ...(q.client_id !== undefined ? { clientId: q.client_id } : {}),
        ...(q.audience !== undefined ? { audience: q.audience } : {}),
        ...(q.subject_type !== undefined ? { subjectType: q.subject_type } : {}),
      };
      if (q.from !== undefined || q.take !== undefined) {
        const slice = checkpointSlice(q, CLIENT_GRANT_ORDER);
        const { items } = await listClientGrants(storage, filter, slice);
        return c.json(
          checkpointBody(
            'client_grants',
            await views(storage, items),
            slice,
            items.at(-1) && CLIENT_GRANT_ORDER.of(items.at(-1)!),
          ) as never,
          200,
        );
      }
      const slice = pageSlice(q);
      const { items, total } = await listClientGrants(storage, filter, slice);
      return c.json(
        (await pageBody(
          'client_grants',
          await views(storage, items),
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
      path: '/client-grants',
      scope: 'create:client_grants',
      tag: TAG,
      summary: 'Create a client grant',
      request: jsonBody(
        z
          .strictObject({
            client_id: z.string().max(64),
            audience: z.string().max(2048),
            scope: ScopeList.optional(),
            subject_type: SubjectType.optional(),
          })
          .openapi('ClientGrantCreate'),
      ),
      status: 201,
      response: ClientGrant,
    }),
    async (c) => {
      const b = c.req.valid('json');
      confersOnlyHeld(
        c,
        await managementScopesOf(
          deps,
          (b.scope ?? []).map((s) => ({ audience: b.audience, permission: s })),
        ),
      );
      const grant = await createClientGrant(storage, clock, {
        clientId: b.client_id,
        audience: b.audience,
        scopes: b.scope ?? [],
        ...(b.subject_type !== undefined ? { subjectType: b.subject_type } : {}),
      });
      return c.json((await views(storage, [grant]))[0]!, 201);
    },
  );
  app.openapi(
    operation({
      method: 'get',
      path: '/client-grants/{id}',
      scope: 'read:client_grants',
      tag: TAG,
      summary: 'Get a client grant',
      request: { params: IdParam },
      status: 200,
      response: ClientGrant,
    }),
    async (c) =>
      c.json((await views(storage, [await getClientGrant(storage, c.req.valid('param').id)]))[0]!, 200),
  );
  app.openapi(
    operation({
      method: 'patch',
      path: '/client-grants/{id}',
      scope: 'update:client_grants',
      tag: TAG,
      summary: "Replace a client grant's scopes",
      description: 'Without scope (an empty body), nothing changes and the grant comes back as it is.',
      request: {
        params: IdParam,
        ...jsonBody(z.strictObject({ scope: ScopeList.optional() }).openapi('ClientGrantUpdate')),
      },
      status: 200,
      response: ClientGrant,
    }),
    async (c) => {
      const { id } = c.req.valid('param');
      const { scope } = c.req.valid('json');
      const grant =
        scope === undefined
          ? await getClientGrant(storage, id)
          : await updateClientGrant(storage, id, scope, grantChangesOnlyHeld(c));
      return c.json((await views(storage, [grant]))[0]!, 200);
    },
  );
  app.openapi(
    operation({
      method: 'delete',
      path: '/client-grants/{id}',
      scope: 'delete:client_grants',
      tag: TAG,
      summary: 'Delete a client grant',
      request: { params: IdParam },
      status: 204,
    }),
    async (c) => {
      await deleteClientGrant(storage, c.req.valid('param').id, grantChangesOnlyHeld(c));
      return c.body(null, 204);
    },
  );
}
