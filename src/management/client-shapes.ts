import { z } from '@hono/zod-openapi';
import type { ApplicationInput } from '../admin/applications.js';
import { URI_LIST } from '../admin/checks.js';
import { ValidationError } from '../admin/errors.js';
import type { Application, ApplicationType } from '../storage/types.js';
import { queryError } from './errors.js';
import { iso } from './route.js';

/** Auth0's app_type for each of Sesame's application types. */
const APP_TYPES: Record<ApplicationType, string> = {
  web: 'regular_web',
  spa: 'spa',
  native: 'native',
  m2m: 'non_interactive',
};
export const AppType = z.enum(['regular_web', 'spa', 'native', 'non_interactive']);
export const toSesameType = (t: string): ApplicationType =>
  (Object.entries(APP_TYPES).find(([, v]) => v === t)?.[0] as ApplicationType) ?? 'web';

/** `app_type` of a list: Auth0's names, comma-separated; an unknown one is refused by name. */
export function appTypes(list: string): ApplicationType[] {
  return list.split(',').map((name) => {
    const t = name.trim();
    if (!AppType.safeParse(t).success) {
      queryError(
        new ValidationError(`app_type: ${t || '(empty)'} is not one of ${AppType.options.join(', ')}`),
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

export const CreateClient = z
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
export const UpdateClient = z
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
export function clientInput(b: z.infer<typeof UpdateClient>): ApplicationInput {
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
