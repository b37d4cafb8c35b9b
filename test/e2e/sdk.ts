import { ManagementError } from 'auth0';

/** The error a call must fail with; fails the test when the call succeeds or throws anything else. */
export async function refusal(call: Promise<unknown>): Promise<ManagementError> {
  let result: unknown;
  try {
    result = await call;
  } catch (err) {
    if (err instanceof ManagementError) return err;
    throw err;
  }
  throw new Error(`expected a ManagementError, the call answered ${JSON.stringify(result)}`);
}

/** Auth0's error body: `{statusCode, error, message, errorCode}`. */
export const errorBody = (e: ManagementError) =>
  e.body as { statusCode: number; error: string; message: string; errorCode?: string };
