import { type OpenAPIHono, z } from '@hono/zod-openapi';
import { getSettings, updateSettings } from '../admin/settings.js';
import type { Deps } from '../http/context.js';
import type { ManagementEnv } from './auth.js';
import { fieldsQuery, project } from './paging.js';
import { jsonBody, operation } from './route.js';

const hours = z.number().openapi({ description: 'Hours.' });
const fields = {
  friendly_name: z.string().max(255),
  picture_url: z.string().max(2048).openapi({ description: 'The logo on sign-in pages.' }),
  support_email: z.string().max(320),
  support_url: z.string().max(2048),
  default_audience: z.string().max(2048).openapi({
    description: 'The API identifier a request that names no audience gets its access token for.',
  }),
  session_lifetime: hours,
  idle_session_lifetime: hours,
  signup_enabled: z.boolean().openapi({ description: "Sesame's own: people may sign up themselves." }),
  primary_color: z
    .string()
    .max(7)
    .openapi({ description: 'Buttons and links on sign-in pages: #rgb or #rrggbb.' }),
  password_reset_ends_sessions: z.boolean().openapi({
    description:
      "Sesame's own: a password reset signs the person out everywhere and ends their refresh tokens (default true).",
  }),
  account_deletion_enabled: z.boolean().openapi({
    description: "Sesame's own: people may delete their account on /account (default true).",
  }),
};

export const TenantSettings = z.object(fields).partial().openapi('TenantSettings');

/** Auth0's minutes: whole, from one to a year's. */
const MINUTES = z
  .number()
  .int('must be a whole number of minutes')
  .min(1, 'must be from 1 to 525600 minutes')
  .max(525_600, 'must be from 1 to 525600 minutes')
  .nullable();

const TenantSettingsUpdate = z
  .strictObject(
    Object.fromEntries(Object.entries(fields).map(([k, v]) => [k, v.nullable()])) as {
      [K in keyof typeof fields]: z.ZodNullable<(typeof fields)[K]>;
    },
  )
  .extend({
    session_lifetime_in_minutes: MINUTES,
    idle_session_lifetime_in_minutes: MINUTES,
  })
  .partial()
  .openapi('TenantSettingsUpdate');

const TAG = 'Tenant settings';

/** /tenants/settings. */
export function settingsRoutes(app: OpenAPIHono<ManagementEnv>, deps: Deps): void {
  app.openapi(
    operation({
      method: 'get',
      path: '/tenants/settings',
      scope: 'read:tenant_settings',
      tag: TAG,
      summary: 'Get the tenant settings',
      request: { query: z.object(fieldsQuery) },
      status: 200,
      response: TenantSettings,
    }),
    async (c) =>
      c.json(
        project(withDefaults(await getSettings(deps.storage), deps), c.req.valid('query')) as never,
        200,
      ),
  );
  app.openapi(
    operation({
      method: 'patch',
      path: '/tenants/settings',
      scope: 'update:tenant_settings',
      tag: TAG,
      summary: 'Update the tenant settings',
      description:
        'A null value restores the default. Every instance applies a change from its next request.',
      request: jsonBody(TenantSettingsUpdate),
      status: 200,
      response: TenantSettings,
    }),
    async (c) => {
      const next = await updateSettings(
        deps.storage,
        deps.clock,
        c.req.valid('json'),
        deps.config.session.lifetime,
      );
      return c.json(withDefaults(next, deps), 200);
    },
  );
}

/** The settings with the configured session lifetimes filled in where none are set. */
function withDefaults(s: z.infer<typeof TenantSettings>, deps: Deps) {
  const configured = deps.config.session.lifetime / 3600;
  return {
    ...s,
    session_lifetime: s.session_lifetime ?? configured,
    idle_session_lifetime: s.idle_session_lifetime ?? s.session_lifetime ?? configured,
    signup_enabled: s.signup_enabled ?? false,
    password_reset_ends_sessions: s.password_reset_ends_sessions ?? true,
    account_deletion_enabled: s.account_deletion_enabled ?? true,
  };
}
