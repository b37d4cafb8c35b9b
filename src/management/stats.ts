import { type OpenAPIHono, z } from '@hono/zod-openapi';
import { activeUsers, dailyStats, STATS_MAX_DAYS } from '../admin/stats.js';
import type { Deps } from '../http/context.js';
import type { ManagementEnv } from './auth.js';
import { queryError } from './errors.js';
import { operation } from './route.js';

const DailyStats = z
  .object({
    date: z.string().openapi({ description: 'The day, at 00:00 UTC.' }),
    logins: z.number().int(),
    signups: z.number().int(),
    leaked_passwords: z
      .number()
      .int()
      .openapi({ description: 'Always 0: Sesame has no breached-password detection.' }),
    failed_logins: z.number().int().openapi({
      description: "Sesame's own: failed sign-ins (wrong password, unknown user, too many failures).",
    }),
    created_at: z.string().optional().openapi({ description: "The day's first counted event." }),
    updated_at: z.string().optional().openapi({ description: "The day's last counted event." }),
  })
  .openapi('DailyStats');

const day = (what: string) =>
  z
    .string()
    .max(8)
    .optional()
    .openapi({ description: `The ${what} day of the range (included), as YYYYMMDD, UTC.` });

/** /stats: Auth0's daily counts and active users, counted from the log of events. */
export function statsRoutes(app: OpenAPIHono<ManagementEnv>, deps: Deps): void {
  const { storage, clock } = deps;
  app.openapi(
    operation({
      method: 'get',
      path: '/stats/daily',
      scope: 'read:stats',
      tag: 'Stats',
      summary: 'Sign-ins and sign-ups per day',
      description:
        `Every day from \`from\` to \`to\` (by default the last 30 days up to today), oldest first, at most ${STATS_MAX_DAYS} days; ` +
        'counted from the log of events, so as far back as it keeps them.',
      request: { query: z.object({ from: day('first'), to: day('last') }) },
      status: 200,
      response: z.array(DailyStats),
    }),
    async (c) => c.json(await dailyStats(storage, clock, c.req.valid('query')).catch(queryError), 200),
  );
  app.openapi(
    operation({
      method: 'get',
      path: '/stats/active-users',
      scope: 'read:stats',
      tag: 'Stats',
      summary: 'How many people signed in during the last 30 days',
      status: 200,
      response: z.number().int(),
    }),
    async (c) => c.json(await activeUsers(storage, clock), 200),
  );
}
