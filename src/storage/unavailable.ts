const CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EPIPE',
  'SQLITE_BUSY',
  '57P01',
  '57P02',
  '57P03',
]);
const MESSAGES =
  /Connection terminated|timeout exceeded when trying to connect|Client has encountered a connection error|database is locked/i;

/**
 * True when an error means the database cannot be reached right now (connection refused or
 * lost, PostgreSQL shutting down, SQLite locked past its busy timeout), as opposed to a bug.
 */
export function isDatabaseUnavailable(err: unknown): boolean {
  if (!(err instanceof Error)) return false;
  const code = (err as { code?: unknown }).code;
  if (typeof code === 'string' && (CODES.has(code) || code.startsWith('08'))) return true;
  return MESSAGES.test(err.message);
}
