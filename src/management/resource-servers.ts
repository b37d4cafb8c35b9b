import { type OpenAPIHono, z } from '@hono/zod-openapi';
import { type ApiInput, createApi, deleteApi, getApi, listApis, updateApi } from '../admin/apis.js';
import { ForbiddenError } from '../admin/errors.js';
import { MANAGEMENT_API_ID, MANAGEMENT_SCOPES } from '../admin/system.js';
import type { Deps } from '../http/context.js';
import { type Api, CLIENT_ACCESS_POLICIES, TOKEN_DIALECTS, USER_ACCESS_POLICIES } from '../storage/types.js';
import { browserFlowLifetime } from '../tokens/access-token.js';
import type { ManagementEnv } from './auth.js';
import { confersOnlyHeld } from './delegation.js';
import { fieldsQuery, listAnswer, pageBody, pageQuery, pageSlice, project, projectable } from './paging.js';
import { jsonBody, operation } from './route.js';

const Scope = z.strictObject({ value: z.string().max(280), description: z.string().max(500).optional() });

const Policies = z
  .strictObject({
    user: z.strictObject({ policy: z.enum(USER_ACCESS_POLICIES) }).optional(),
    client: z.strictObject({ policy: z.enum(CLIENT_ACCESS_POLICIES) }).optional(),
  })
  .openapi('SubjectTypeAuthorization', {
    description:
      'Which applications may get tokens for this API: for people (`user`: allow_all, deny_all, or require_client_grant with subject_type user) and for themselves (`client`).',
  });

const fields = {
  name: z.string().max(255),
  scopes: z.array(Scope).max(1000),
  signing_alg: z.enum(['ES256', 'RS256', 'PS256', 'EdDSA']),
  token_lifetime: z.number().int(),
  token_lifetime_for_web: z.number().int().nullable().openapi({
    description:
      'Lifetime (s) of access tokens issued at /authorize (implicit and hybrid flows): 60 up to token_lifetime. null goes back to the default: accessToken.implicitLifetime, or token_lifetime when shorter. The code flow with PKCE uses token_lifetime.',
  }),
  allow_offline_access: z.boolean(),
  skip_consent_for_verifiable_first_party_clients: z.boolean(),
  enforce_policies: z.boolean().openapi({
    description: 'RBAC: people get only the requested scopes their roles or own permissions hold.',
  }),
  token_dialect: z.enum(TOKEN_DIALECTS).openapi({
    description: 'Tokens are always RFC 9068 JWTs; the `_authz` dialects add the `permissions` claim.',
  }),
  subject_type_authorization: Policies,
};
const optional = Object.fromEntries(Object.keys(fields).map((k) => [k, true])) as {
  [K in keyof typeof fields]: true;
};

const CreateResourceServer = z
  .strictObject({ ...fields, identifier: z.string().max(2048) })
  .partial(optional)
  .openapi('ResourceServerCreate');
const UpdateResourceServer = z
  .strictObject({ ...fields, identifier: z.string().max(2048) })
  .partial()
  .openapi('ResourceServerUpdate');

export const ResourceServer = z
  .object({
    id: z.string(),
    identifier: z.string().openapi({ description: 'The audience (`aud`) of its access tokens.' }),
    name: z.string(),
    is_system: z.boolean(),
    scopes: z.array(z.object({ value: z.string(), description: z.string() })),
    signing_alg: z.string(),
    token_lifetime: z.number(),
    token_lifetime_for_web: z.number().openapi({
      description:
        'Lifetime (s) of access tokens issued at /authorize (implicit and hybrid flows): the one set, else accessToken.implicitLifetime, never above token_lifetime.',
    }),
    token_dialect: z.enum(TOKEN_DIALECTS),
    enforce_policies: z.boolean(),
    subject_type_authorization: z.object({
      user: z.object({ policy: z.enum(USER_ACCESS_POLICIES) }),
      client: z.object({ policy: z.enum(CLIENT_ACCESS_POLICIES) }),
    }),
    allow_offline_access: z.boolean(),
    skip_consent_for_verifiable_first_party_clients: z.boolean(),
  })
  .openapi('ResourceServer');

/** An API in Auth0's resource-server shape (`implicitLifetime`: config accessToken.implicitLifetime). */
export function resourceServerView(api: Api, implicitLifetime: number): z.infer<typeof ResourceServer> {
  return {
    id: api.id,
    identifier: api.identifier,
    name: api.name,
    is_system: api.isSystem,
    scopes: api.scopes.map((s) => ({ value: s.name, description: s.description })),
    signing_alg: api.signingAlg,
    token_lifetime: api.tokenLifetime,
    token_lifetime_for_web: browserFlowLifetime(api, implicitLifetime),
    token_dialect: api.options.tokenDialect ?? 'rfc9068_profile',
    enforce_policies: api.options.enforcePolicies === true,
    subject_type_authorization: {
      user: { policy: api.options.subjectTypeAuthorization?.user?.policy ?? 'allow_all' },
      client: { policy: api.options.subjectTypeAuthorization?.client?.policy ?? 'require_client_grant' },
    },
    allow_offline_access: api.allowOfflineAccess,
    skip_consent_for_verifiable_first_party_clients:
      api.options.skipConsentForVerifiableFirstPartyClients !== false,
  };
}

function input(b: z.infer<typeof UpdateResourceServer>): ApiInput {
  const out: ApiInput = {};
  if (b.name !== undefined) out.name = b.name;
  if (b.scopes !== undefined)
    out.scopes = b.scopes.map((s) => ({ name: s.value, description: s.description ?? s.value }));
  if (b.signing_alg !== undefined) out.signingAlg = b.signing_alg;
  if (b.token_lifetime !== undefined) out.tokenLifetime = b.token_lifetime;
  if (b.token_lifetime_for_web !== undefined) out.tokenLifetimeForWeb = b.token_lifetime_for_web;
  if (b.allow_offline_access !== undefined) out.allowOfflineAccess = b.allow_offline_access;
  if (b.skip_consent_for_verifiable_first_party_clients !== undefined)
    out.skipConsentForFirstParty = b.skip_consent_for_verifiable_first_party_clients;
  if (b.enforce_policies !== undefined) out.enforcePolicies = b.enforce_policies;
  if (b.token_dialect !== undefined) out.tokenDialect = b.token_dialect;
  const sta = b.subject_type_authorization;
  if (sta?.user) out.userPolicy = sta.user.policy;
  if (sta?.client) out.clientPolicy = sta.client.policy;
  return out;
}

const IdParam = z.object({
  id: z
    .string()
    .max(2048)
    .openapi({ param: { name: 'id', in: 'path' }, description: 'The id, or the URL-encoded identifier.' }),
});
const TAG = 'Resource servers';

/** /resource-servers: APIs. */
export function resourceServerRoutes(app: OpenAPIHono<ManagementEnv>, deps: Deps): void {
  const { storage, clock } = deps;
  const view = (api: Api) => resourceServerView(api, deps.config.accessToken.implicitLifetime);
  app.openapi(
    operation({
      method: 'get',
      path: '/resource-servers',
      scope: 'read:resource_servers',
      tag: TAG,
      summary: 'List APIs',
      request: {
        query: z.object({
          ...pageQuery,
          identifiers: z
            .union([z.string().max(2048), z.array(z.string().max(2048)).max(10)])
            .optional()
            .openapi({ description: 'Only the APIs with these identifiers (repeat it, at most 10 times).' }),
        }),
      },
      status: 200,
      response: listAnswer('resource_servers', ResourceServer),
    }),
    async (c) => {
      const q = c.req.valid('query');
      const slice = pageSlice(q);
      const ids = q.identifiers === undefined ? undefined : [q.identifiers].flat();
      const { items, total } = await listApis(storage, slice, ids);
      const body = await pageBody(
        'resource_servers',
        items.map((api) => view(api)),
        slice,
        q.include_totals,
        total,
      );
      return c.json(body as never, 200);
    },
  );
  app.openapi(
    operation({
      method: 'post',
      path: '/resource-servers',
      scope: 'create:resource_servers',
      tag: TAG,
      summary: 'Create an API',
      request: jsonBody(CreateResourceServer),
      status: 201,
      response: ResourceServer,
    }),
    async (c) => {
      const b = c.req.valid('json');
      const api = await createApi(
        storage,
        clock,
        { ...input(b), name: b.name ?? b.identifier, identifier: b.identifier },
        deps.config.accessToken.defaultLifetime,
      );
      await deps.keys.ensure([api.signingAlg]);
      return c.json(view(api), 201);
    },
  );
  app.openapi(
    operation({
      method: 'get',
      path: '/resource-servers/{id}',
      scope: 'read:resource_servers',
      tag: TAG,
      summary: 'Get an API by id or identifier',
      request: { params: IdParam, query: z.object(fieldsQuery) },
      status: 200,
      response: projectable(ResourceServer),
    }),
    async (c) =>
      c.json(
        project(view(await getApi(storage, c.req.valid('param').id)), c.req.valid('query')) as never,
        200,
      ),
  );
  app.openapi(
    operation({
      method: 'patch',
      path: '/resource-servers/{id}',
      scope: 'update:resource_servers',
      tag: TAG,
      summary: 'Update an API',
      description: 'The identifier cannot change. The Management API keeps its name and scopes.',
      request: { params: IdParam, ...jsonBody(UpdateResourceServer) },
      status: 200,
      response: ResourceServer,
    }),
    async (c) => {
      const b = c.req.valid('json');
      const current = await getApi(storage, c.req.valid('param').id);
      if (b.identifier !== undefined && b.identifier !== current.identifier) {
        throw new ForbiddenError(
          'identifier: an API keeps its identifier (tokens carry it as their audience)',
        );
      }
      // Who may get the Management API's tokens decides who keeps their access to it: a change is
      // for a caller holding all of it (else deny_all would cut off applications granted more).
      if (current.id === MANAGEMENT_API_ID && b.subject_type_authorization !== undefined)
        confersOnlyHeld(c, Object.keys(MANAGEMENT_SCOPES));
      const api = await updateApi(storage, clock, current.id, input(b));
      await deps.keys.ensure([api.signingAlg]);
      return c.json(view(api), 200);
    },
  );
  app.openapi(
    operation({
      method: 'delete',
      path: '/resource-servers/{id}',
      scope: 'delete:resource_servers',
      tag: TAG,
      summary: 'Delete an API',
      description: 'Its client grants go with it. The Management API cannot be deleted.',
      request: { params: IdParam },
      status: 204,
    }),
    async (c) => {
      await deleteApi(storage, c.req.valid('param').id);
      return c.body(null, 204);
    },
  );
}
