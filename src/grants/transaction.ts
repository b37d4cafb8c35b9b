import type { Deps } from '../http/context.js';
import { KeyUnavailable } from '../keys/keystore.js';
import { OAuthError } from '../protocol/errors.js';

/**
 * Runs the writes of one token response in one transaction (#14 §7): they all commit, or none
 * do. An answer that is an OAuth error commits what led to it (a consumed code, a revoked
 * family: those must stand); any other failure rolls everything back.
 *
 * `fn` reaches the database only through the `deps` it is given: their storage is bound to the
 * transaction, and their keystore signs from memory (it is brought up to date just before). A
 * missing signing key is made outside the transaction, which then runs again.
 */
export async function inTokenTransaction<T>(deps: Deps, fn: (deps: Deps) => Promise<T>): Promise<T> {
  for (let attempt = 0; ; attempt++) {
    await deps.keys.prepare();
    const keys = deps.keys.pinned();
    try {
      const outcome = await deps.storage.transaction(async (storage) => {
        try {
          return { value: await fn({ ...deps, storage, keys }) };
        } catch (err) {
          if (err instanceof OAuthError) return { error: err };
          throw err;
        }
      });
      if ('error' in outcome) throw outcome.error;
      return outcome.value;
    } catch (err) {
      if (!(err instanceof KeyUnavailable) || attempt > 0) throw err;
      await deps.keys.ensure([err.alg]);
    }
  }
}
