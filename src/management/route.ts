import { createRoute, type RouteConfig, z } from '@hono/zod-openapi';
import { requireScope } from './auth.js';

/** The error body, as documented. */
export const ErrorBody = z
  .object({
    statusCode: z.number().int(),
    error: z.string(),
    message: z.string(),
    errorCode: z.string().optional(),
  })
  .openapi('Error');

const errors = {
  400: 'Invalid body or query string; the message names the field',
  401: 'Missing, expired, revoked or wrong-audience token',
  403: 'The token lacks the scope, or the resource is part of Sesame',
  404: 'No such resource',
  409: 'It exists already',
} as const;

type Request = NonNullable<RouteConfig['request']>;

interface Operation<Req extends Request> {
  method: 'get' | 'post' | 'patch' | 'put' | 'delete';
  path: string;
  /** The scope required, or alternatives each naming every scope it needs (any one will do). */
  scope: string | string[][];
  tag: string;
  summary: string;
  description?: string;
  request?: Req;
  /** Success status and its body schema (none for 204). */
  status: 200 | 201 | 202 | 204;
  response?: z.ZodType;
}

/**
 * A Management API operation: its OpenAPI description (with the OAuth 2.0 scope it requires)
 * and the scope check that runs before the request is validated.
 */
// biome-ignore lint/complexity/noBannedTypes: an operation without parameters
export function operation<const Req extends Request = {}>(op: Operation<Req>) {
  const success = op.response
    ? { description: 'Success', content: { 'application/json': { schema: op.response } } }
    : { description: 'Done' };
  const responses: RouteConfig['responses'] = { [op.status]: success };
  for (const [code, description] of Object.entries(errors)) {
    responses[code] = { description, content: { 'application/json': { schema: ErrorBody } } };
  }
  const alternatives = typeof op.scope === 'string' ? [[op.scope]] : op.scope;
  const needs = alternatives.map((all) => all.map((s) => `\`${s}\``).join(' and ')).join(', or ');
  return createRoute({
    method: op.method,
    path: op.path,
    tags: [op.tag],
    summary: op.summary,
    description: `${op.description ? `${op.description}\n\n` : ''}Requires the scope ${needs}.`,
    security: alternatives.map((all) => ({ oauth2: all })),
    middleware: [requireScope(alternatives)] as const,
    request: strictQuery(op.request ?? ({} as Req)),
    responses,
  });
}

/**
 * The query string takes only the parameters the operation names, as Auth0's does: one it does
 * not know (a filter Sesame lacks, a typo, `fields` where Sesame has none) is a 400 naming it
 * rather than ignored, which would answer as though it were applied. An operation that names
 * none takes none.
 */
function strictQuery<Req extends Request>(request: Req): Req {
  const query = request.query;
  if (query === undefined) return { ...request, query: NO_QUERY };
  return query instanceof z.ZodObject ? { ...request, query: query.strict() } : request;
}
const NO_QUERY = z.strictObject({});

/** A JSON request body that must be present and match `schema`. */
export const jsonBody = <T extends z.ZodType>(schema: T) => ({
  body: { required: true, content: { 'application/json': { schema } } },
});

/** An ISO 8601 time from seconds since the epoch. */
export const iso = (seconds: number): string => new Date(seconds * 1000).toISOString();

/** The `{id}` path parameter of an operation. */
export const IdParam = z.object({
  id: z
    .string()
    .max(64)
    .openapi({ param: { name: 'id', in: 'path' } }),
});
