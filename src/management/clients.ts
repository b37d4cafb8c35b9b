import { type OpenAPIHono, z } from '@hono/zod-openapi';
import {
  type ApplicationInput,
  createApplication,
  deleteApplication,
  getApplication,
  listApplications,
  rotateSecret,
  updateApplication,
} from '../admin/applications.js';
import { URI_LIST } from '../admin/checks.js';
import type { Deps } from '../http/context.js';
import type { Application, ApplicationType } from '../storage/types.js';
import type { ManagementEnv } from './auth.js';
import { ManagementError } from './errors.js';
import { fieldsQuery, pageBody, pageQuery, pageSlice, project } from './paging.js';
import { iso, jsonBody, operation } from './route.js';

/** Auth0's app_type for each of Sesame's application types. */
const APP_TYPES: Record<ApplicationType, string> = {
  web: 'regular_web',
  spa: 'spa',
  native: 'native',
  m2m: 'non_interactive',
};
const AppType = z.enum(['regular_web', 'spa', 'native', 'non_interactive']);
const toSesameType = (t: string): ApplicationType =>
  (Object.entries(APP_TYPES).find(([, v]) => v === t)?.[0] as ApplicationType) ?? 'web';

/** `app_type` of a list: Auth0's names, comma-separated; an unknown one is refused by name. */
function appTypes(list: string): ApplicationType[] {
  return list.split(',').map((name) => {
    const t = name.trim();
    if (!AppType.safeParse(t).success) {
      throw new ManagementError(
        400,
        `Query validation error: app_type: ${t || '(empty)'} is not one of ${AppType.options.join(', ')}`,
        'invalid_query_string',
      );
    }
    return toSesameType(t);
  });
}

const uris = z.array(z.string().max(URI_LIST.length)).max(URI_LIST.items);

const fields = {
  name: z.string().max(255).openapi({ example: 'My App' }),
  description: z.string().max(140).nullable().openapi({ description: 'null or "" clears it.' }),
  logo_uri: z.string().max(2048).nullable().openapi({ description: 'null or "" clears it.' }),
  callbacks: uris.openapi({ description: 'Allowed redirect URIs (exact match).' }),
  allowed_logout_urls: uris.openapi({ description: 'Allowed post_logout_redirect_uri values.' }),
  web_origins: uris.openapi({ description: 'Origins the application calls from in a browser.' }),
  grant_types: z.array(z.string().max(100)).max(10),
  token_endpoint_auth_method: z.enum(['none', 'client_secret_post', 'client_secret_basic']),
  is_first_party: z.boolean().openapi({ description: 'First-party: people are not asked for consent.' }),
  oidc_conformant: z.literal(true).openapi({ description: 'Always true in Sesame.' }),
  jwt_configuration: z.strictObject({ alg: z.enum(['RS256', 'ES256', 'PS256', 'EdDSA']) }),
  client_metadata: z.record(z.string().max(255), z.string().max(255)),
  allow_offline_access: z.boolean().openapi({
    description: "Sesame's own: refresh tokens for sign-ins that name no API (offline_access).",
  }),
  require_pkce: z.boolean().openapi({
    description:
      "Sesame's own: PKCE required in the code flow (default true); only regular_web applications may turn it off, for old libraries.",
  }),
  hide_signup: z.boolean().openapi({
    description:
      "Sesame's own: no sign-up on this application's login page, even when the tenant allows sign-up.",
  }),
};

const CreateClient = z
  .strictObject({ ...fields, app_type: AppType.optional() })
  .partial({
    description: true,
    logo_uri: true,
    callbacks: true,
    allowed_logout_urls: true,
    web_origins: true,
    grant_types: true,
    token_endpoint_auth_method: true,
    is_first_party: true,
    oidc_conformant: true,
    jwt_configuration: true,
    client_metadata: true,
    allow_offline_access: true,
    require_pkce: true,
    hide_signup: true,
  })
  .openapi('ClientCreate');
const UpdateClient = z
  .strictObject({
    ...fields,
    app_type: AppType.openapi({
      description: 'Accepted when it is the type the application has: a type cannot be changed.',
    }),
    client_metadata: z.record(z.string().max(255), z.string().max(255).nullable()).openapi({
      description: 'Merged into what is stored: a key sent as null is removed, an empty object removes all.',
    }),
  })
  .partial()
  .openapi('ClientUpdate');

export const Client = z
  .object({
    client_id: z.string(),
    name: z.string(),
    app_type: AppType,
    description: z.string().optional(),
    logo_uri: z.string().optional(),
    is_first_party: z.boolean(),
    is_system: z.boolean().openapi({ description: "Sesame's own: part of Sesame, cannot be deleted." }),
    oidc_conformant: z.boolean(),
    callbacks: z.array(z.string()),
    allowed_logout_urls: z.array(z.string()),
    web_origins: z.array(z.string()),
    grant_types: z.array(z.string()),
    token_endpoint_auth_method: z.string(),
    jwt_configuration: z.object({ alg: z.string() }),
    client_metadata: z.record(z.string(), z.string()),
    allow_offline_access: z.boolean(),
    require_pkce: z.boolean(),
    hide_signup: z.boolean(),
    client_secret: z.string().optional().openapi({
      description: 'Only in the answers to create and rotate-secret: Sesame stores secrets only as hashes.',
    }),
    created_at: z.string(),
    updated_at: z.string(),
  })
  .openapi('Client');

/** An application in Auth0's client shape. */
export function clientView(app: Application, secret?: string): z.infer<typeof Client> {
  const s = app.settings;
  return {
    client_id: app.clientId,
    name: app.name,
    app_type: APP_TYPES[app.type] as z.infer<typeof AppType>,
    ...(s.description ? { description: s.description } : {}),
    ...(s.logoUri ? { logo_uri: s.logoUri } : {}),
    is_first_party: s.skipConsent === true,
    is_system: app.isSystem,
    oidc_conformant: true,
    callbacks: app.callbacks,
    allowed_logout_urls: app.logoutCallbacks,
    web_origins: s.webOrigins ?? [],
    grant_types: app.grantTypes,
    token_endpoint_auth_method:
      app.secretHash === null ? 'none' : (s.tokenEndpointAuthMethod ?? 'client_secret_basic'),
    jwt_configuration: { alg: s.idTokenSigningAlg ?? 'RS256' },
    client_metadata: s.clientMetadata ?? {},
    allow_offline_access: s.allowOfflineAccess === true,
    require_pkce: s.pkceOptional !== true,
    hide_signup: s.hideSignup === true,
    ...(secret ? { client_secret: secret } : {}),
    created_at: iso(app.createdAt),
    updated_at: iso(app.updatedAt),
  };
}

/** Auth0's client fields as the service layer's input. */
function input(b: z.infer<typeof UpdateClient>): ApplicationInput {
  const out: ApplicationInput = {};
  if (b.name !== undefined) out.name = b.name;
  if (b.description !== undefined) out.description = b.description ?? '';
  if (b.logo_uri !== undefined) out.logoUri = b.logo_uri ?? '';
  if (b.callbacks !== undefined) out.callbacks = b.callbacks;
  if (b.allowed_logout_urls !== undefined) out.logoutCallbacks = b.allowed_logout_urls;
  if (b.web_origins !== undefined) out.webOrigins = b.web_origins;
  if (b.grant_types !== undefined) out.grants = b.grant_types;
  if (b.token_endpoint_auth_method !== undefined) out.tokenEndpointAuthMethod = b.token_endpoint_auth_method;
  if (b.is_first_party !== undefined) out.skipConsent = b.is_first_party;
  if (b.jwt_configuration !== undefined) out.idTokenSigningAlg = b.jwt_configuration.alg;
  if (b.client_metadata !== undefined) out.clientMetadata = b.client_metadata;
  if (b.allow_offline_access !== undefined) out.allowOfflineAccess = b.allow_offline_access;
  if (b.require_pkce !== undefined) out.requirePkce = b.require_pkce;
  if (b.hide_signup !== undefined) out.hideSignup = b.hide_signup;
  return out;
}

const IdParam = z.object({
  id: z
    .string()
    .max(64)
    .openapi({ param: { name: 'id', in: 'path' } }),
});
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
        }),
      },
      status: 200,
      response: z.union([
        z.array(Client),
        z.object({ clients: z.array(Client), total: z.number() }).passthrough(),
      ]),
    }),
    async (c) => {
      const q = c.req.valid('query');
      const slice = pageSlice(q);
      const types = q.app_type === undefined ? {} : { types: appTypes(q.app_type) };
      const { items, total } = await listApplications(storage, types, slice);
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
        ...input(b),
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
      response: Client,
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
      // Tools that send the whole application back (Terraform, a GET then PATCH) send its type.
      if (b.app_type !== undefined && toSesameType(b.app_type) !== (await getApplication(storage, id)).type) {
        throw new ManagementError(
          400,
          "Payload validation error: app_type: an application's type cannot be changed (it decides its secret and flows); create a new application",
          'invalid_body',
        );
      }
      const updated = await updateApplication(storage, clock, id, input(b));
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
      const secret = await rotateSecret(storage, clock, id);
      return c.json(clientView(await getApplication(storage, id), secret), 200);
    },
  );
}
