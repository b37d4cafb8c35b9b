/** A management request that is not acceptable; the message names the field. */
export class ValidationError extends Error {
  override name = 'ValidationError';
}

/** A management request about something that does not exist. */
export class NotFoundError extends Error {
  override name = 'NotFoundError';
}
