/** A management request that is not acceptable; the message names the field. */
export class ValidationError extends Error {
  override name = 'ValidationError';
}

/** A management request about something that does not exist. */
export class NotFoundError extends Error {
  override name = 'NotFoundError';
}

/** A management request that would duplicate something unique (an identifier, an email, a grant). */
export class ConflictError extends Error {
  override name = 'ConflictError';
}

/** A management request that is never allowed (changing or deleting a system resource). */
export class ForbiddenError extends Error {
  override name = 'ForbiddenError';
}

/** Whether an error is one of the management layer's own, with a message meant for the caller. */
export const isAdminError = (err: unknown): err is Error =>
  err instanceof ValidationError ||
  err instanceof NotFoundError ||
  err instanceof ConflictError ||
  err instanceof ForbiddenError;
