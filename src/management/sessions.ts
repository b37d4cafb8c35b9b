import { type OpenAPIHono, z } from '@hono/zod-openapi';
import {
  deleteSession,
  deleteUserSessions,
  getSession,
  listUserSessions,
  revokeSession,
} from '../admin/sessions.js';
import { sessionLifetimes } from '../admin/settings.js';
import { localUserId } from '../admin/user-search.js';
import type { Deps } from '../http/context.js';
import { SESSION_ORDER } from '../storage/list-orders.js';
import type { SessionRecord } from '../storage/types.js';
import type { ManagementEnv } from './auth.js';
import { actsOnPeer } from './delegation.js';
import { checkpointBody, checkpointQuery, checkpointSlice } from './paging.js';
import { iso, operation } from './route.js';
import { getById } from './users.js';

export const Session = z
  .object({
    id: z.string(),
    user_id: z.string(),
    created_at: z.string(),
    updated_at: z.string(),
    authenticated_at: z.string(),
    last_interacted_at: z.string(),
    expires_at: z.string(),
    idle_expires_at: z.string(),
    device: z.object({ initial_ip: z.string().optional(), initial_user_agent: z.string().optional() }),
    authentication: z.object({ methods: z.array(z.object({ name: z.string(), timestamp: z.string() })) }),
  })
  .openapi('Session');

const IdParam = z.object({
  id: z
    .string()
    .max(64)
    .openapi({ param: { name: 'id', in: 'path' } }),
});
const TAG = 'Sessions';

/** /users/{id}/sessions and /sessions/{id}: SSO sessions (the id is the `sid` of ID tokens). */
export function sessionRoutes(app: OpenAPIHono<ManagementEnv>, deps: Deps): void {
  const { storage, clock } = deps;
  /** A session in Auth0's shape, with the tenant's idle lifetime read by the caller. */
  const view = (s: SessionRecord, idle: number): z.infer<typeof Session> => {
    return {
      id: s.sid,
      user_id: s.userId,
      created_at: iso(s.createdAt),
      updated_at: iso(s.lastSeenAt),
      authenticated_at: iso(s.authTime),
      last_interacted_at: iso(s.lastSeenAt),
      expires_at: iso(s.expiresAt),
      idle_expires_at: iso(Math.min(s.expiresAt, s.lastSeenAt + idle)),
      device: {
        ...(s.initialIp ? { initial_ip: s.initialIp } : {}),
        ...(s.initialUserAgent ? { initial_user_agent: s.initialUserAgent } : {}),
      },
      authentication: { methods: [{ name: 'pwd', timestamp: iso(s.authTime) }] },
    };
  };
  app.openapi(
    operation({
      method: 'get',
      path: '/users/{id}/sessions',
      scope: 'read:sessions',
      tag: TAG,
      summary: "List a user's SSO sessions",
      request: { params: IdParam, query: z.object(checkpointQuery) },
      status: 200,
      response: z.object({ sessions: z.array(Session), next: z.string().optional() }),
    }),
    async (c) => {
      const slice = checkpointSlice(c.req.valid('query'), SESSION_ORDER);
      const { idle } = await sessionLifetimes(deps);
      const list = await listUserSessions(storage, clock, localUserId(c.req.valid('param').id), idle, slice);
      return c.json(
        checkpointBody(
          'sessions',
          list.map((s) => view(s, idle)),
          slice,
          list.at(-1) && SESSION_ORDER.of(list.at(-1)!),
        ) as never,
        200,
      );
    },
  );
  app.openapi(
    operation({
      method: 'delete',
      path: '/users/{id}/sessions',
      scope: 'delete:sessions',
      tag: TAG,
      summary: 'Sign a user out everywhere',
      request: { params: IdParam },
      status: 204,
    }),
    async (c) => {
      // by id only: an email here would be looked up by the action and not by the check
      const { id: userId } = await getById(deps, c.req.valid('param').id);
      await actsOnPeer(c, deps, userId);
      await deleteUserSessions(storage, userId);
      return c.body(null, 204);
    },
  );
  app.openapi(
    operation({
      method: 'get',
      path: '/sessions/{id}',
      scope: 'read:sessions',
      tag: TAG,
      summary: 'Get an SSO session',
      request: { params: IdParam },
      status: 200,
      response: Session,
    }),
    async (c) => {
      const { idle } = await sessionLifetimes(deps);
      return c.json(view(await getSession(storage, clock, c.req.valid('param').id, idle), idle), 200);
    },
  );
  app.openapi(
    operation({
      method: 'delete',
      path: '/sessions/{id}',
      scope: 'delete:sessions',
      tag: TAG,
      summary: 'End an SSO session',
      request: { params: IdParam },
      status: 204,
    }),
    async (c) => {
      const { idle } = await sessionLifetimes(deps);
      const { id } = c.req.valid('param');
      // an ended session is a 404 whoever held it, as GET answers
      await actsOnPeer(c, deps, (await getSession(storage, clock, id, idle)).userId);
      await deleteSession(storage, clock, id, idle);
      return c.body(null, 204);
    },
  );
  app.openapi(
    operation({
      method: 'post',
      path: '/sessions/{id}/revoke',
      scope: 'delete:sessions',
      tag: TAG,
      summary: 'Revoke an SSO session and its refresh tokens',
      description:
        "Ends the session and the refresh tokens signed in through it, with the access tokens issued beside them (Auth0's revoke).",
      request: { params: IdParam },
      status: 202,
    }),
    async (c) => {
      const { id } = c.req.valid('param');
      await actsOnPeer(c, deps, (await storage.sessions.getBySid(id))?.userId);
      await revokeSession(storage, clock, id);
      return c.body(null, 202);
    },
  );
}
