import { type OpenAPIHono, z } from '@hono/zod-openapi';
import {
  deleteRefreshToken,
  deleteUserRefreshTokens,
  getRefreshToken,
  listUserRefreshTokens,
} from '../admin/refresh-tokens.js';
import { localUserId } from '../admin/user-search.js';
import type { Deps } from '../http/context.js';
import { REFRESH_TOKEN_ORDER } from '../storage/list-orders.js';
import type { RefreshTokenRecord } from '../storage/types.js';
import type { ManagementEnv } from './auth.js';
import { actsOnPeer } from './delegation.js';
import { checkpointBody, checkpointQuery, checkpointSlice } from './paging.js';
import { iso, operation } from './route.js';
import { getById } from './users.js';

export const RefreshToken = z
  .object({
    id: z.string().openapi({ description: 'The id of the rotating family (one per sign-in).' }),
    user_id: z.string(),
    client_id: z.string(),
    created_at: z.string().openapi({ description: 'When the family began (the sign-in).' }),
    last_exchanged_at: z
      .string()
      .optional()
      .openapi({ description: 'When the token was last exchanged (rotated); absent before.' }),
    idle_expires_at: z.string(),
    expires_at: z.string(),
    session_id: z.string().nullable(),
    rotating: z.literal(true),
    resource_servers: z.array(z.object({ audience: z.string(), scopes: z.string() })),
  })
  .openapi('RefreshToken');

function view(t: RefreshTokenRecord): z.infer<typeof RefreshToken> {
  const scopes = ((t.payload.scopes as string[] | undefined) ?? []).join(' ');
  const audience = t.payload.audience as string | undefined;
  // the live member's creation is the family's last exchange; families from before
  // familyCreatedAt was kept show their live member's
  const began = typeof t.payload.familyCreatedAt === 'number' ? t.payload.familyCreatedAt : t.createdAt;
  return {
    id: t.familyId,
    user_id: t.userId,
    client_id: t.clientId,
    created_at: iso(began),
    ...(t.createdAt > began ? { last_exchanged_at: iso(t.createdAt) } : {}),
    idle_expires_at: iso(t.expiresAt),
    expires_at: iso(t.familyExpiresAt),
    session_id: (t.payload.sid as string | undefined) ?? null,
    rotating: true,
    resource_servers: audience ? [{ audience, scopes }] : [],
  };
}

const IdParam = z.object({
  id: z
    .string()
    .max(64)
    .openapi({ param: { name: 'id', in: 'path' } }),
});
const TAG = 'Refresh tokens';

/** /users/{id}/refresh-tokens and /refresh-tokens/{id}. The token values are never shown. */
export function refreshTokenRoutes(app: OpenAPIHono<ManagementEnv>, deps: Deps): void {
  const { storage, clock } = deps;
  app.openapi(
    operation({
      method: 'get',
      path: '/users/{id}/refresh-tokens',
      scope: 'read:refresh_tokens',
      tag: TAG,
      summary: "List a user's refresh tokens",
      request: { params: IdParam, query: z.object(checkpointQuery) },
      status: 200,
      response: z.object({ tokens: z.array(RefreshToken), next: z.string().optional() }),
    }),
    async (c) => {
      const slice = checkpointSlice(c.req.valid('query'), REFRESH_TOKEN_ORDER);
      const list = await listUserRefreshTokens(storage, clock, localUserId(c.req.valid('param').id), slice);
      return c.json(
        checkpointBody(
          'tokens',
          list.map(view),
          slice,
          list.at(-1) && REFRESH_TOKEN_ORDER.of(list.at(-1)!),
        ) as never,
        200,
      );
    },
  );
  app.openapi(
    operation({
      method: 'delete',
      path: '/users/{id}/refresh-tokens',
      scope: 'delete:refresh_tokens',
      tag: TAG,
      summary: "Revoke all of a user's refresh tokens",
      description: 'Every rotating family, and the access tokens issued under their sign-ins.',
      request: { params: IdParam },
      status: 204,
    }),
    async (c) => {
      // by id only: an email here would be looked up by the action and not by the check
      const { id: userId } = await getById(deps, c.req.valid('param').id);
      await actsOnPeer(c, deps, userId);
      await deleteUserRefreshTokens(storage, clock, userId);
      return c.body(null, 204);
    },
  );
  app.openapi(
    operation({
      method: 'get',
      path: '/refresh-tokens/{id}',
      scope: 'read:refresh_tokens',
      tag: TAG,
      summary: 'Get a refresh token',
      request: { params: IdParam },
      status: 200,
      response: RefreshToken,
    }),
    async (c) => c.json(view(await getRefreshToken(storage, clock, c.req.valid('param').id)), 200),
  );
  app.openapi(
    operation({
      method: 'delete',
      path: '/refresh-tokens/{id}',
      scope: 'delete:refresh_tokens',
      tag: TAG,
      summary: 'Revoke a refresh token',
      description: 'The whole rotating family, and the access tokens issued under its sign-in.',
      request: { params: IdParam },
      status: 204,
    }),
    async (c) => {
      const { id } = c.req.valid('param');
      await actsOnPeer(c, deps, (await getRefreshToken(storage, clock, id)).userId);
      await deleteRefreshToken(storage, clock, id);
      return c.body(null, 204);
    },
  );
}
