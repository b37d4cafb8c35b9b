import { type OpenAPIHono, z } from '@hono/zod-openapi';
import { deleteGrant, deleteUserGrants, listGrants } from '../admin/grants.js';
import { localUserId } from '../admin/user-search.js';
import type { Deps } from '../http/context.js';
import type { Consent } from '../storage/types.js';
import type { ManagementEnv } from './auth.js';
import { actsOnPeer } from './delegation.js';
import { listAnswer, pageBody, pageQuery, pageSlice } from './paging.js';
import { operation } from './route.js';
import { getById } from './users.js';

export const Grant = z
  .object({
    id: z.string(),
    clientID: z.string(),
    user_id: z.string(),
    audience: z.string().openapi({ description: 'The API identifier; empty for a sign-in without an API.' }),
    scope: z.array(z.string()),
  })
  .openapi('Grant');

const view = (g: Consent): z.infer<typeof Grant> => ({
  id: g.id,
  clientID: g.clientId,
  user_id: g.userId,
  audience: g.audience,
  scope: g.scopes,
});

const TAG = 'Grants';

/** /grants: the consents people gave applications. */
export function grantRoutes(app: OpenAPIHono<ManagementEnv>, deps: Deps): void {
  const { storage, clock } = deps;
  app.openapi(
    operation({
      method: 'get',
      path: '/grants',
      scope: 'read:grants',
      tag: TAG,
      summary: "List people's consents",
      request: {
        query: z.object({
          ...pageQuery,
          user_id: z.string().max(64).optional(),
          client_id: z.string().max(64).optional(),
          audience: z.string().max(2048).optional(),
        }),
      },
      status: 200,
      response: listAnswer('grants', Grant),
    }),
    async (c) => {
      const q = c.req.valid('query');
      const slice = pageSlice(q);
      const filter = {
        ...(q.user_id !== undefined ? { userId: localUserId(q.user_id) } : {}),
        ...(q.client_id !== undefined ? { clientId: q.client_id } : {}),
        ...(q.audience !== undefined ? { audience: q.audience } : {}),
      };
      const { items, total } = await listGrants(storage, filter, slice);
      return c.json(
        (await pageBody('grants', items.map(view), slice, q.include_totals, total)) as never,
        200,
      );
    },
  );
  app.openapi(
    operation({
      method: 'delete',
      path: '/grants/{id}',
      scope: 'delete:grants',
      tag: TAG,
      summary: 'Revoke a consent',
      description:
        'The refresh tokens and access tokens issued under it stop working; the next sign-in asks again.',
      request: {
        params: z.object({
          id: z
            .string()
            .max(64)
            .openapi({ param: { name: 'id', in: 'path' } }),
        }),
      },
      status: 204,
    }),
    async (c) => {
      const { id } = c.req.valid('param');
      await actsOnPeer(c, deps, (await storage.consents.getById(id))?.userId);
      await deleteGrant(storage, clock, id);
      return c.body(null, 204);
    },
  );
  app.openapi(
    operation({
      method: 'delete',
      path: '/grants',
      scope: 'delete:grants',
      tag: TAG,
      summary: "Revoke all of a user's consents",
      request: { query: z.object({ user_id: z.string().max(64) }) },
      status: 204,
    }),
    async (c) => {
      const user = await getById(deps, c.req.valid('query').user_id);
      await actsOnPeer(c, deps, user.id);
      await deleteUserGrants(storage, clock, user);
      return c.body(null, 204);
    },
  );
}
