import type { Context } from 'hono';
import { HTTPException } from 'hono/http-exception';
import type { ZodError } from 'zod';
import { ConflictError, ForbiddenError, NotFoundError, ValidationError } from '../admin/errors.js';
import { unavailableReason } from '../http/error-handler.js';
import { NO_STORE } from '../http/respond.js';

const REASONS: Record<number, string> = {
  400: 'Bad Request',
  401: 'Unauthorized',
  403: 'Forbidden',
  404: 'Not Found',
  405: 'Method Not Allowed',
  409: 'Conflict',
  413: 'Payload Too Large',
  415: 'Unsupported Media Type',
  429: 'Too Many Requests',
  500: 'Internal Server Error',
  503: 'Service Unavailable',
};

/** A Management API error: Auth0's body `{statusCode, error, message, errorCode}`. */
export class ManagementError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly errorCode?: string,
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
  }

  toJSON() {
    return {
      statusCode: this.status,
      error: REASONS[this.status] ?? 'Error',
      message: this.message,
      ...(this.errorCode ? { errorCode: this.errorCode } : {}),
    };
  }
}

/** The error body and status for a response. */
export function managementErrorResponse(c: Context, err: ManagementError): Response {
  return c.newResponse(JSON.stringify(err), err.status as 400, {
    'Content-Type': 'application/json; charset=utf-8',
    ...NO_STORE,
    ...err.headers,
  });
}

/** One line per problem, each naming the field (`path.to.field`) or the unknown keys. */
export function describeZodError(error: ZodError): string {
  return error.issues
    .slice(0, 5)
    .map((issue) => {
      const path = issue.path.map(String).join('.');
      if (issue.code === 'unrecognized_keys') {
        const where = path ? ` in ${path}` : '';
        return `unknown or unsupported field${issue.keys.length > 1 ? 's' : ''}${where}: ${issue.keys.join(', ')}`;
      }
      return `${path || '(root)'}: ${issue.message}`;
    })
    .join('; ');
}

/** A request that failed its schema: 400 invalid_body, invalid_query_string or invalid_uri (a path parameter), naming the field. */
export function validationFailure(target: string, error: ZodError): ManagementError {
  const [prefix, code] =
    target === 'param'
      ? ['Path validation error', 'invalid_uri']
      : target === 'query'
        ? ['Query validation error', 'invalid_query_string']
        : ['Payload validation error', 'invalid_body'];
  return new ManagementError(400, `${prefix}: ${describeZodError(error)}`, code);
}

/** Rethrows a mistake found in the query string (a ValidationError) as 400 invalid_query_string. */
export function queryError(err: unknown): never {
  if (err instanceof ValidationError) {
    throw new ManagementError(400, `Query validation error: ${err.message}`, 'invalid_query_string');
  }
  throw err;
}

/** Turns whatever a management handler threw into the Auth0 error it means. */
export function toManagementError(err: unknown, path = ''): ManagementError | null {
  if (err instanceof ManagementError) return err;
  if (err instanceof ValidationError) return new ManagementError(400, err.message, 'invalid_body');
  if (err instanceof NotFoundError) return new ManagementError(404, err.message, 'inexistent_resource');
  if (err instanceof ConflictError) return new ManagementError(409, err.message, 'conflict');
  if (err instanceof ForbiddenError) return new ManagementError(403, err.message, 'operation_not_supported');
  if (err instanceof HTTPException) {
    const code =
      err.status === 400 ? 'invalid_body' : err.status === 415 ? 'unsupported_media_type' : undefined;
    // the one operation that takes a file (a users import) takes it as a form
    const takes = path.endsWith('/jobs/users-imports') ? 'multipart/form-data' : 'application/json';
    const message = err.status === 415 ? `Content-Type must be ${takes}` : err.message;
    return new ManagementError(err.status, message || (REASONS[err.status] ?? 'Error'), code);
  }
  const reason = unavailableReason(err);
  if (reason) {
    return new ManagementError(
      503,
      `${reason[0]!.toUpperCase()}${reason.slice(1)}; try again shortly`,
      'temporarily_unavailable',
      {
        'Retry-After': '1',
      },
    );
  }
  return null;
}
