import { type OpenAPIHono, z } from '@hono/zod-openapi';
import { ValidationError } from '../admin/errors.js';
import { getLog, type LogView, listLogs, logsAfter, logView, parseLogSearch } from '../admin/logs.js';
import type { Deps } from '../http/context.js';
import { endpointUrl } from '../protocol/issuer.js';
import type { LogEvent } from '../storage/types.js';
import type { ManagementEnv } from './auth.js';
import { queryError } from './errors.js';
import { fieldsQuery, listAnswer, pageQuery, pageSlice, project, projectable } from './paging.js';
import { IdParam, operation } from './route.js';
import { getById } from './users.js';

export const Log = z
  .object({
    log_id: z.string(),
    date: z.string(),
    type: z.string().openapi({ description: "Auth0's event type code (s, fp, seacft, sapi, …)." }),
    description: z.string(),
    client_id: z.string().optional(),
    client_name: z.string().optional(),
    ip: z.string().optional(),
    user_agent: z.string().optional(),
    user_id: z.string().optional(),
    user_name: z.string().optional(),
    audience: z.string().optional(),
    scope: z.string().optional(),
    hostname: z.string(),
    details: z.record(z.string(), z.unknown()),
  })
  .openapi('Log');

const SORT = z
  .enum(['date:1', 'date:-1'])
  .openapi({ description: 'Oldest first (1) or newest first (-1, the default).' });
const SCOPES = [['read:logs'], ['read:logs_users']];
const TAG = 'Logs';

/** /logs and /users/{id}/logs: the log of security events, in Auth0's shape. */
export function logRoutes(app: OpenAPIHono<ManagementEnv>, deps: Deps): void {
  const { storage } = deps;
  const hostname = new URL(deps.config.issuer).hostname;
  const view = (e: LogEvent) => logView(e, hostname);
  const projected = (views: LogView[], q: { fields?: string; include_fields?: boolean }) =>
    views.map((v) => project(v, q));
  const wrapped = (items: unknown[], start: number, limit: number, total: number) => ({
    start,
    limit,
    length: items.length,
    total,
    logs: items,
  });

  app.openapi(
    operation({
      method: 'get',
      path: '/logs',
      scope: SCOPES,
      tag: TAG,
      summary: 'Search log events',
      description:
        '`q` (or `search`) filters by `type`, `user_id`, `client_id` and `date` (e.g. `type:fp AND date:[2026-11-01 TO *]`). ' +
        'With `from` (a log_id) and/or `take`, the events after it, oldest first, with a `Link: <…>; rel="next"` header.',
      request: {
        query: z.object({
          ...pageQuery,
          q: z.string().max(1024).optional(),
          search: z.string().max(1024).optional(),
          sort: SORT.optional(),
          ...fieldsQuery,
          from: z.string().max(64).optional(),
          take: pageQuery.per_page,
        }),
      },
      status: 200,
      response: listAnswer('logs', projectable(Log)),
    }),
    async (c) => {
      const q = c.req.valid('query');
      let filter: ReturnType<typeof parseLogSearch>;
      try {
        filter = parseLogSearch(q.q ?? q.search);
      } catch (err) {
        queryError(err);
      }
      if (q.from !== undefined || q.take !== undefined) {
        const take = q.take ?? 50;
        if (take === 0) queryError(new ValidationError('take: must be from 1 to 100'));
        const events = await logsAfter(storage, filter, q.from, take).catch(queryError);
        const last = events.at(-1)?.logId ?? q.from;
        // From the issuer, never the request's Host (behind a proxy that would be its own name).
        const next = new URL(endpointUrl(deps.config.issuer, '/api/v2/logs'));
        next.search = new URL(c.req.url).search;
        if (last !== undefined) next.searchParams.set('from', last);
        next.searchParams.set('take', String(take));
        c.header('Link', `<${next.toString()}>; rel="next"`);
        return c.json(projected(events.map(view), q) as never, 200);
      }
      const slice = pageSlice(q);
      const { items, total } = await listLogs(storage, filter, slice, q.sort === 'date:1');
      const views = projected(items.map(view), q);
      if (!q.include_totals) return c.json(views as never, 200);
      return c.json(wrapped(views, slice.offset, slice.limit, await total()) as never, 200);
    },
  );
  app.openapi(
    operation({
      method: 'get',
      path: '/logs/{id}',
      scope: SCOPES,
      tag: TAG,
      summary: 'Get a log event',
      request: { params: IdParam },
      status: 200,
      response: Log,
    }),
    async (c) => c.json(view(await getLog(storage, c.req.valid('param').id)), 200),
  );
  app.openapi(
    operation({
      method: 'get',
      path: '/users/{id}/logs',
      scope: SCOPES,
      tag: TAG,
      summary: "A user's log events",
      request: { params: IdParam, query: z.object({ ...pageQuery, sort: SORT.optional() }) },
      status: 200,
      response: listAnswer('logs', Log),
    }),
    async (c) => {
      const q = c.req.valid('query');
      const user = await getById(deps, c.req.valid('param').id);
      const slice = pageSlice(q);
      const { items, total } = await listLogs(storage, { userId: user.id }, slice, q.sort === 'date:1');
      const views = items.map(view);
      if (!q.include_totals) return c.json(views as never, 200);
      return c.json(wrapped(views, slice.offset, slice.limit, await total()) as never, 200);
    },
  );
}
