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

/**
 * Runs a write that a unique index guards, after the caller's own check: when two requests pass
 * that check at once, the index refuses one, and `taken()` then tells a ConflictError with
 * `message` from any other failure.
 */
export async function unique<T>(
  write: () => Promise<T>,
  taken: () => Promise<unknown>,
  message: string,
): Promise<T> {
  try {
    return await write();
  } catch (err) {
    if (await taken()) throw new ConflictError(message);
    throw err;
  }
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
